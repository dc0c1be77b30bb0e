"""Template fields, each party's mapping, the readiness checklist, and the partner's view."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput, NotFound, PermissionDenied

from .conftest import USERS_CSV, connect, emails_csv

TEMPLATE = [
    {"macro": "@exposures", "party": "owner", "description": "who saw the campaign",
     "fields": [{"macro": "@user_id", "required": True}, {"macro": "@region", "required": True, "type": "text"},
                {"macro": "@spend", "required": False, "type": "numeric"}]},
    {"macro": "@conversions", "party": "partners",
     "fields": [{"macro": "@user_id", "required": True}, {"macro": "@amount", "required": True, "type": "numeric"}]},
]


@pytest.fixture
def provisioned(pair):
    pub = connect(pair.owner, emails_csv(40), name="pub")
    adv = connect(pair.partner, emails_csv(30), name="adv")
    pub_ds = pair.owner.provision_dataset(pair.room.id, pub.id, "exposures")
    adv_ds = pair.partner.provision_dataset(pair.room.id, adv.id, "sales", partners_may_assign=False)
    return pub_ds, adv_ds


def test_room_turns_active_only_when_every_party_mapped_every_required_field(pair, provisioned):
    pub_ds, adv_ds = provisioned
    tmpl = pair.owner.set_template(pair.room.id, TEMPLATE, runs="partners", receives="all")
    assert [d.macro for d in tmpl.datasets] == ["exposures", "conversions"]
    assert (tmpl.terms.runs, tmpl.terms.receives) == ("partners", "all")
    start = pair.partner.readiness(pair.room.id)
    assert start.status == "draft" and len(start.items) == 2
    assert start.missing == ["@exposures: Publisher has not mapped a dataset",
                             "@conversions: Advertiser has not mapped a dataset"]
    half = pair.owner.map_dataset(pair.room.id, "@exposures", pub_ds.id, {"user_id": "email", "region": "region"})
    assert half.status == "draft" and half.missing == ["@conversions: Advertiser has not mapped a dataset"]
    partial = pair.partner.map_dataset(pair.room.id, "conversions", adv_ds.id, {"user_id": "email"})
    assert partial.missing == ["@conversions: Advertiser has not mapped @amount"]
    done = pair.partner.map_dataset(pair.room.id, "conversions", adv_ds.id, {"user_id": "email", "amount": "spend"})
    assert done.status == "active" and done.ready and done.missing == []
    assert pair.owner.readiness(pair.room.id) == done
    events = pair.owner.audit(room_id=pair.room.id, action="room.readiness")
    assert [e.detail["status"] for e in events][0] == "active"


@pytest.mark.parametrize("fields, message", [
    ({"user_id": "nosuch"}, "'nosuch' is not a queryable column"),
    ({"nosuch": "email"}, "@exposures has no field @nosuch"),
    ({"user_id": "email", "region": "spend"}, "@region expects text values but 'spend' is integer"),
    ({"user_id": "email", "spend": "region"}, "@spend expects numeric values but 'region' is text"),
], ids=["unknown-column", "unknown-field", "type-text", "type-numeric"])
def test_bad_mappings_are_refused(pair, provisioned, fields, message):
    pair.owner.set_template(pair.room.id, TEMPLATE)
    with pytest.raises(InvalidInput, match=message):
        pair.owner.map_dataset(pair.room.id, "@exposures", provisioned[0].id, fields)
    assert pair.owner.readiness(pair.room.id).items[0].dataset_id is None


def test_party_and_assignment_rules(pair, provisioned):
    pub_ds, adv_ds = provisioned
    pair.owner.set_template(pair.room.id, TEMPLATE)
    with pytest.raises(InvalidInput, match="brought by the owner party"):
        pair.partner.map_dataset(pair.room.id, "@exposures", adv_ds.id, {"user_id": "email"})
    with pytest.raises(PermissionDenied, match="does not let partners assign it"):
        pair.owner.map_dataset(pair.room.id, "@conversions", adv_ds.id, {"user_id": "email", "amount": "spend"})
    with pytest.raises(NotFound, match="no dataset macro @nosuch"):
        pair.owner.map_dataset(pair.room.id, "@nosuch", pub_ds.id, {})


def test_partners_may_assign_lets_the_other_party_map_it(pair):
    adv = connect(pair.partner, emails_csv(30), name="adv")
    adv_ds = pair.partner.provision_dataset(pair.room.id, adv.id, "sales", partners_may_assign=True)
    pair.owner.set_template(pair.room.id, TEMPLATE[1:])
    done = pair.owner.map_dataset(pair.room.id, "@conversions", adv_ds.id, {"user_id": "email", "amount": "spend"})
    assert done.items[0].org_name == "Advertiser" and done.ready


def test_only_the_owner_declares_the_template(pair):
    with pytest.raises(PermissionDenied, match="owner organisation only"):
        pair.partner.set_template(pair.room.id, TEMPLATE)


@pytest.mark.parametrize("datasets, message", [
    ([{"macro": "bad macro", "fields": [{"macro": "x"}]}], "must be a name of letters"),
    ([{"macro": "a", "fields": [{"macro": "x"}]}, {"macro": "A", "fields": [{"macro": "x"}]}], "declared twice"),
    ([{"macro": "a", "fields": [{"macro": "x", "required": False}]}], "at least one required field"),
    ([{"macro": "a", "party": "someone", "fields": [{"macro": "x"}]}], "party of @a must be"),
    ([{"macro": "a", "fields": [{"macro": "x", "type": "blob"}]}], "unknown type 'blob'"),
], ids=["macro-name", "twice", "no-required", "party", "type"])
def test_bad_templates_are_refused(pair, datasets, message):
    with pytest.raises(InvalidInput, match=message):
        pair.owner.set_template(pair.room.id, datasets)
    assert pair.owner.template(pair.room.id).datasets == []


def test_changing_the_template_drops_mappings_of_removed_fields(pair, provisioned):
    pub_ds, _ = provisioned
    pair.owner.set_template(pair.room.id, TEMPLATE[:1])
    pair.owner.map_dataset(pair.room.id, "@exposures", pub_ds.id, {"user_id": "email", "region": "region", "spend": "spend"})
    pair.owner.set_template(pair.room.id, [{"macro": "@exposures", "fields": [{"macro": "@user_id"}]}])
    item = pair.owner.readiness(pair.room.id).items[0]
    assert item.mapped_fields == {"user_id": "email"} and item.ready


def test_partner_sees_metadata_rules_and_usage_but_not_rows(pair, provisioned):
    pub_ds, adv_ds = provisioned
    pair.owner.set_analysis_rules(pair.room.id, pub_ds.id, [
        {"name": "email", "join": True}, {"name": "region", "group_by": True, "public_values": ["north", "south"]}])
    pair.owner.set_template(pair.room.id, TEMPLATE)
    pair.owner.map_dataset(pair.room.id, "@exposures", pub_ds.id, {"user_id": "email", "region": "region"})
    seen = {d.name: d for d in pair.partner.datasets(pair.room.id)}
    theirs = seen["exposures"]
    assert not theirs.mine and theirs.org_name == "Publisher" and theirs.connection_id is None
    assert [(c.name, c.type, c.pii, c.identity) for c in theirs.columns] == [
        ("email", "text", True, True), ("region", "text", False, False), ("spend", "integer", False, False)]
    assert theirs.rules.version == 2 and theirs.used_by[0].dataset_macro == "exposures"
    assert theirs.used_by[0].fields == {"region": "region", "user_id": "email"}
    assert theirs.row_count == 40 and not theirs.row_count_exact and "rounded" in theirs.row_count_note
    assert seen["sales"].mine and seen["sales"].connection_id is not None
    assert not hasattr(theirs, "rows")


def test_row_counts_below_k_min_are_never_shown(pair):
    tiny = connect(pair.owner, USERS_CSV, name="tiny")  # 3 rows kept; room k-min is 3
    ds = pair.owner.provision_dataset(pair.room.id, tiny.id, "tiny", row_filter="region = 'north'")
    view = pair.partner.dataset(pair.room.id, ds.id)
    assert view.row_count is None and "crowd size (3)" in view.row_count_note
    assert view.row_filter is None and view.has_row_filter
    assert pair.owner.dataset(pair.room.id, ds.id).row_filter == "region = 'north'"

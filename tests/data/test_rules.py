"""Analysis rules: versioned, audited, checked against the columns and the global PII rule."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput, PermissionDenied

from .conftest import USERS_CSV, connect


@pytest.fixture
def dataset(pair):
    conn = connect(pair.owner, USERS_CSV, pii=["name"])
    return pair.owner.provision_dataset(pair.room.id, conn.id, "users")


RULES = [
    {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"], "input_k_min": 2},
    {"name": "region", "group_by": True, "public_values": ["north", "south", "east", "west"]},
    {"name": "spend", "aggregations": ["SUM", "AVG", "COUNT"], "lower": 0, "upper": 50},
]


def test_rules_start_minimal_and_every_change_is_a_new_audited_version(pair, dataset):
    first = pair.owner.analysis_rules(pair.room.id, dataset.id)
    assert first.version == 1 and [c.name for c in first.columns] == ["email"]
    assert first.pii == ["email", "name"] and first.identity == "email"
    second = pair.owner.set_analysis_rules(pair.room.id, dataset.id, RULES)
    third = pair.owner.set_analysis_rules(pair.room.id, dataset.id, RULES[:1])
    assert (second.version, third.version) == (2, 3)
    spend = next(c for c in second.columns if c.name == "spend")
    assert (spend.aggregations, spend.lower, spend.upper) == (["AVG", "COUNT", "SUM"], 0.0, 50.0)
    assert pair.owner.analysis_rules(pair.room.id, dataset.id, version=2) == second
    assert [r.version for r in pair.owner.analysis_rules_history(pair.room.id, dataset.id)] == [1, 2, 3]
    events = pair.owner.audit(room_id=pair.room.id, action="dataset.rules.version")
    assert sorted(e.detail["version"] for e in events) == [2, 3]
    set_events = pair.owner.audit(room_id=pair.room.id, action="dataset.rules.set")
    assert len(set_events) == 2 and all(e.outcome == "allowed" for e in set_events)
    assert all("north" not in str(e.detail) for e in events + set_events)


@pytest.mark.parametrize("rule, message", [
    ({"name": "name", "group_by": True}, "'name' is labelled PII: PII columns are never projected"),
    ({"name": "email", "group_by": True}, "'email' is labelled PII"),
    ({"name": "spend", "aggregations": ["SUM"]}, "SUM/AVG need clamping bounds"),
    ({"name": "spend", "aggregations": ["SUM"], "lower": 5, "upper": 1}, "lower bound 5.0 is above upper 1.0"),
    ({"name": "region", "aggregations": ["AVG"], "lower": 0, "upper": 1}, "'region' is text; SUM and AVG need a numeric"),
    ({"name": "spend", "aggregations": ["MEDIAN"]}, "unknown aggregation"),
    ({"name": "nosuch"}, "'nosuch' is not a queryable column"),
    ({"name": "region", "public_values": ["north"]}, "public values but is not a group key"),
    ({"name": "email", "input_k_min": 0}, "input_k_min must be at least 1"),
], ids=["pii-group", "identity-group", "no-bounds", "bounds-order", "text-avg", "unknown-agg",
        "unknown-column", "values-no-group", "kmin-zero"])
def test_bad_rules_are_refused_and_the_version_stays(pair, dataset, rule, message):
    with pytest.raises(InvalidInput, match=message):
        pair.owner.set_analysis_rules(pair.room.id, dataset.id, [rule])
    assert pair.owner.analysis_rules(pair.room.id, dataset.id).version == 1


def test_the_same_column_twice_is_refused(pair, dataset):
    with pytest.raises(InvalidInput, match="name 'EMAIL' twice|name 'email' twice"):
        pair.owner.set_analysis_rules(pair.room.id, dataset.id, [{"name": "email"}, {"name": "EMAIL"}])


def test_partners_read_rules_but_cannot_change_them(pair, dataset):
    pair.owner.set_analysis_rules(pair.room.id, dataset.id, RULES)
    assert pair.partner.analysis_rules(pair.room.id, dataset.id).version == 2
    with pytest.raises(PermissionDenied, match="only the organisation that provisioned"):
        pair.partner.set_analysis_rules(pair.room.id, dataset.id, RULES)

"""Dataset manager driven in-process over a real store: upload, connect, provision, rules, mapping."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from widgets import DatasetManager
from widgets._common import is_shown

CSV = (b"email,region,phone,spend\n"
       + b"".join(f"u{i}@ex.com,{['north', 'south'][i % 2]},555{i},{i}\n".encode() for i in range(30))
       + b"not-an-email,north,1,2\n,south,2,3\n")


def _choose_file(manager: DatasetManager, name: str, data: bytes) -> None:
    """What the browser sends when a file is picked in the FileUpload widget."""
    manager.file.value = ({"name": name, "type": "text/csv", "size": len(data), "content": memoryview(data),
                           "last_modified": dt.datetime.now(dt.timezone.utc)},)


@pytest.fixture
def room(admin, make_org):
    """A room with a partner and a template: @publisher (owner: email, region), @advertiser (partners)."""
    partner = make_org("Advertiser")
    room = admin.create_room("Campaign room", k_min=1)
    admin.invite_partner(room.id, partner.id)
    partner.admin.accept_invitation(room.id)
    admin.set_template(room.id, [
        {"macro": "publisher", "party": "owner", "fields": [{"macro": "email"}, {"macro": "region"}]},
        {"macro": "advertiser", "party": "partners", "fields": [{"macro": "email"}, {"macro": "amount"}]},
    ])
    return room


def test_upload_moves_the_bar_per_chunk_shows_the_schema_and_the_ingest_report(admin):
    manager = DatasetManager(admin, chunk_bytes=64)
    seen: list[int] = []
    manager.progress.observe(lambda change: seen.append(change["new"]), names="value")
    assert not is_shown(manager.connect_form)
    _choose_file(manager, "users.csv", CSV)
    assert "uploaded" in manager.status.text, manager.status.text
    assert len(seen) > 5 and seen == sorted(seen) and seen[-1] == 100 and manager.progress.description == "Uploaded"
    assert "32 rows, 4 columns detected" in manager.schema_table.value
    assert "<td style='padding:2px 8px'>spend</td><td style='padding:2px 8px'>integer</td>" in manager.schema_table.value
    assert manager.identity.value == "email" and manager.fields.value == ("email", "region", "phone", "spend")

    manager.pii.value = ("phone",)
    manager.fields.value = ("email", "region", "phone")  # spend stays out
    manager.create.click()
    assert "30 of 32 rows kept" in manager.status.text, manager.status.text
    report = manager.report.value
    assert "<span class='wb-rows-read'>32</span>" in report and "<span class='wb-rows-kept'>30</span>" in report
    assert "<span class='wb-rows-rejected'>2</span>" in report
    assert "not an email address" in report and "empty value" in report
    assert "PII, hashed" in report and "spend" not in report
    [conn] = admin.connections()
    assert conn.name == "users" and manager.connection == conn.id
    assert [c.name for c in conn.columns] == ["email", "region", "phone"]


def test_a_bad_file_is_a_message_and_the_bar_says_failed(admin):
    manager = DatasetManager(admin)
    _choose_file(manager, "notes.docx", b"hello")
    assert "cannot tell the format" in manager.status.text
    assert manager.progress.description == "Failed" and not is_shown(manager.connect_form)
    manager.create.click()
    assert "upload a file first" in manager.status.text


def test_provision_rules_mapping_readiness_and_unlink(admin, room):
    manager = DatasetManager(admin)
    frame = pd.DataFrame({"email": [f"u{i}@ex.com" for i in range(40)],
                          "region": ["north", "south"] * 20, "spend": list(range(40))})
    manager.upload(frame, file_name="users.parquet")
    manager.create.click()
    assert manager.room_pick.value == room.id
    assert "still missing @publisher: Publisher has not mapped a dataset" in manager.readiness.value
    assert is_shown(manager.prov_box) and is_shown(manager.map_box)

    manager.row_filter.value = "region = "
    manager.provision.click()
    assert "row filter does not parse" in manager.room_status.text
    manager.row_filter.value = "region = 'north'"
    manager.prov_columns.value = ("email", "region", "spend")
    manager.provision.click()
    assert "provisioned (20 rows)" in manager.room_status.text, manager.room_status.text
    assert [r.name for r in manager.rule_rows] == ["email", "region", "spend"]

    rows = {r.name: r for r in manager.rule_rows}
    rows["email"].join.value = True
    rows["region"].group_by.value = True
    rows["region"].public_values.value = "north, south"
    rows["spend"].aggregations.value = ("SUM", "AVG")
    rows["spend"].lower.value, rows["spend"].upper.value = "0", "lots"
    manager.save_rules.click()
    assert "upper bound of spend must be a number" in manager.room_status.text
    rows["spend"].upper.value = "100"
    manager.save_rules.click()
    assert "analysis rules saved (version 2, 3 columns)" in manager.room_status.text, manager.room_status.text
    [ds] = admin.datasets(room.id)
    spend = next(c for c in ds.rules.columns if c.name == "spend")
    assert sorted(spend.aggregations) == ["AVG", "SUM"] and (spend.lower, spend.upper) == (0, 100)
    assert next(c for c in ds.rules.columns if c.name == "region").public_values == ["north", "south"]
    assert {r.name: r for r in manager.rule_rows}["spend"].upper.value == "100"  # reloaded from the service

    assert manager.map_item.value == ("publisher", admin.whoami().org.id)
    assert {f: p.value for f, p in manager.field_picks.items()} == {"email": "email", "region": "region"}
    manager.map.click()
    assert "@publisher mapped for Publisher" in manager.room_status.text
    ready = manager.readiness.value
    assert "still missing @advertiser: Advertiser has not mapped a dataset" in ready
    assert "@publisher: Publisher" not in ready and "email → email, region → region" in ready

    manager.unlink.click()
    assert manager.confirm_unlink.text.startswith("Unlink ") and admin.datasets(room.id) != []
    manager.confirm_unlink.yes.click()
    assert "dataset unlinked" in manager.room_status.text
    assert admin.datasets(room.id) == []
    assert "still missing @publisher" in manager.readiness.value
    assert not is_shown(manager.mine_box)


def test_a_viewer_without_data_rights_sees_no_data_controls(admin, room, user_client):
    client, user_id = user_client(admin, "vic")
    viewer_role = next(r.id for r in admin.roles(room.id) if r.name == "Viewer")
    admin.add_member(room.id, user_id, viewer_role)
    manager = DatasetManager(client)
    assert not is_shown(manager.conn_box)
    assert "cannot manage data connections" in manager.connection_id_note.value
    assert manager.room_pick.value == room.id and is_shown(manager.room_box)
    assert "still missing @publisher" in manager.readiness.value  # the checklist is for everyone
    assert not any(is_shown(w) for w in (manager.prov_box, manager.map_box))


def test_the_checklist_of_a_mapped_room_offers_only_assignable_datasets(admin, make_org):
    from tests.runs.room import build_room

    room = build_room(admin, make_org)  # both parties mapped; the partner's dataset is not assignable
    manager = DatasetManager(admin)
    assert "Room <b style='color:#1b6e20'>active" in manager.readiness.value
    assert [label for label, _ in manager.map_ds.options] == ["publisher users (Publisher)"]
    manager.map_item.value = ("advertiser", room.partner_org)
    assert manager.map_ds.value == room.publisher_dataset

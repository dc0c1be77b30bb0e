"""Provisioning into a room: a view over the org's table, columns, a checked row filter, rules."""

from __future__ import annotations

import pytest

from workbench.data import resolve
from workbench.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RoomExpired
from workbench.service.local import local_app

from .conftest import connect, emails_csv


def store_of(store_dir):
    return local_app(store_dir).state.store


def test_a_provisioned_dataset_is_a_view_with_only_the_chosen_columns_and_rows(pair, store_dir):
    conn = connect(pair.owner, emails_csv(100))
    ds = pair.owner.provision_dataset(pair.room.id, conn.id, "users", columns=["email", "region"],
                                      row_filter="region = 'north' OR region = 'south'")
    assert [c.name for c in ds.columns] == ["email", "region"]
    assert ds.row_count == 50 and ds.row_filter == "region = 'north' OR region = 'south'"
    with store_of(store_dir).reader() as cur:
        resolved = resolve(cur, pair.room.id, ds.id)
        kind = cur.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'prov' AND view_name = ?",
                           [resolved.view.split(".")[1]]).fetchone()[0]
        rows = cur.execute(f"SELECT DISTINCT region FROM {resolved.view} ORDER BY 1").fetchall()
        cols = [d[0] for d in cur.execute(f"SELECT * FROM {resolved.view} LIMIT 0").description]
        tables = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ds'").fetchone()[0]
    assert kind == 1 and rows == [("north",), ("south",)] and cols == ["email", "region"]
    assert tables == 1  # nothing copied: one table for the connection, the room sees a view


@pytest.mark.parametrize("row_filter, message", [
    ("region IN (SELECT region FROM ds.x)", "may not contain subqueries"),
    ("read_csv('/etc/passwd') IS NOT NULL", r"calls read_csv\(\), which is not allowed"),
    ("getenv('HOME') = 'x'", r"calls getenv\(\)"),
    ("nosuch = 1", "'nosuch', which is not a column of this dataset"),
    ("spend > 1; DROP TABLE orgs", "one expression, without ';'"),
    ("region = ", "does not parse"),
    ("spend = 'abc'", "does not work on this dataset"),
    ("spend", "must be a condition"),
], ids=["subquery", "read-file", "getenv", "unknown-column", "two-statements", "syntax", "bad-cast", "not-boolean"])
def test_row_filters_are_parsed_and_checked(pair, store_dir, row_filter, message):
    conn = connect(pair.owner, emails_csv(10))
    with pytest.raises(InvalidInput, match=message):
        pair.owner.provision_dataset(pair.room.id, conn.id, "users", row_filter=row_filter)
    assert pair.owner.datasets(pair.room.id) == []
    with store_of(store_dir).reader() as cur:
        assert cur.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'prov'").fetchone()[0] == 0


def test_filter_text_is_rendered_from_the_parsed_tree(pair, store_dir):
    conn = connect(pair.owner, emails_csv(8))
    ds = pair.owner.provision_dataset(pair.room.id, conn.id, "users", row_filter="region = 'it''s' -- comment")
    with store_of(store_dir).reader() as cur:
        sql = cur.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'prov'").fetchone()[0]
    assert "comment" not in sql and "region = 'it''s'" in sql
    assert ds.row_count == 0 and ds.row_count_exact  # the owner sees its own count exactly
    assert pair.partner.dataset(pair.room.id, ds.id).row_count is None  # the partner: below k-min


def test_provisioning_checks_columns_names_and_ownership(pair, make_org):
    conn = connect(pair.owner, emails_csv(10))
    with pytest.raises(InvalidInput, match="'nosuch' is not a column"):
        pair.owner.provision_dataset(pair.room.id, conn.id, "a", columns=["email", "nosuch"])
    with pytest.raises(InvalidInput, match="identity column 'email' must be queryable"):
        pair.owner.provision_dataset(pair.room.id, conn.id, "a", columns=["region"])
    pair.owner.provision_dataset(pair.room.id, conn.id, "a")
    with pytest.raises(Conflict, match="already has a dataset named 'A'"):
        pair.owner.provision_dataset(pair.room.id, conn.id, "A")
    with pytest.raises(NotFound, match="no data connection"):
        pair.partner.provision_dataset(pair.room.id, conn.id, "mine-now")


def test_provisioning_needs_manage_datasets(pair, user_client):
    conn = connect(pair.owner, emails_csv(10))
    viewer, uid = user_client(pair.owner, "viola", ["data_connections"])
    viewer_role = next(r for r in pair.owner.roles(pair.room.id) if r.kind == "viewer")
    pair.owner.add_member(pair.room.id, uid, viewer_role.id)
    own = connect(viewer, emails_csv(10), name="violas")
    with pytest.raises(PermissionDenied, match="Manage Datasets"):
        viewer.provision_dataset(pair.room.id, own.id, "x")
    ds = pair.owner.provision_dataset(pair.room.id, conn.id, "users")
    with pytest.raises(PermissionDenied, match="Manage Datasets"):
        viewer.set_analysis_rules(pair.room.id, ds.id, [])
    assert [d.name for d in viewer.datasets(pair.room.id)] == ["users"]


def test_outsiders_do_not_see_the_room(pair, make_org):
    outsider = make_org("Stranger")
    with pytest.raises(NotFound):
        outsider.admin.datasets(pair.room.id)


def test_expired_room_refuses_new_datasets_but_allows_unlinking(publisher, past_room, store_dir):
    conn = connect(publisher.admin, emails_csv(10))
    with pytest.raises(RoomExpired, match="read-only"):
        publisher.admin.provision_dataset(past_room.id, conn.id, "late")


def test_unlinking_is_allowed_after_the_end_date(publisher):
    import datetime as dt

    room = publisher.admin.create_room("Ends", k_min=1)
    conn = connect(publisher.admin, emails_csv(10))
    ds = publisher.admin.provision_dataset(room.id, conn.id, "users")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    publisher.admin.update_room(room.id, start_date=yesterday - dt.timedelta(days=5), end_date=yesterday)
    with pytest.raises(RoomExpired):
        publisher.admin.set_analysis_rules(room.id, ds.id, [])
    gone = publisher.admin.unprovision_dataset(room.id, ds.id)
    assert gone.views_dropped == 1 and publisher.admin.datasets(room.id) == []


def test_resolve_gives_view_rules_and_field_mapping(pair, store_dir):
    conn = connect(pair.owner, emails_csv(10))
    ds = pair.owner.provision_dataset(pair.room.id, conn.id, "users")
    pair.owner.set_template(pair.room.id, [{"macro": "@pub", "party": "owner",
                                             "fields": [{"macro": "@uid"}, {"macro": "@area", "required": False}]}])
    pair.owner.map_dataset(pair.room.id, "@pub", ds.id, {"uid": "email", "area": "region"})
    with store_of(store_dir).reader() as cur:
        got = resolve(cur, pair.room.id, "@pub")
        with pytest.raises(NotFound, match="not mapped"):
            resolve(cur, pair.room.id, "@nothing")
    assert got.view.startswith("prov.v_") and got.dataset_id == ds.id and got.org_id == pair.owner_org
    assert got.fields == {"area": "region", "uid": "email"}
    assert got.rules.identity == "email" and got.rules.column("EMAIL").join
    assert got.types["spend"] == "integer"

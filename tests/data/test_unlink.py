"""Unlinking and deleting leave no residue: not in any table, view or rule, nor in the file bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workbench.errors import NotFound, PermissionDenied
from workbench.service.local import close_local, local_app
from workbench.store import Store

from ..conftest import TEST_KEY
from .conftest import connect

SECRET_REGION = "zebra-region-7781"
SECRET_NAME = "Quintessa Marlowe"
EMAILS = [f"residue.{i}@witness.example" for i in range(50)]
CSV = ("email,region,spend,name\n" + "".join(
    f"{e},{SECRET_REGION if i % 2 else 'north'},{i},{SECRET_NAME}\n" for i, e in enumerate(EMAILS))).encode()
DIGESTS = [hashlib.sha256(e.encode()).hexdigest() for e in EMAILS]
NEEDLES = [SECRET_REGION, SECRET_NAME, hashlib.sha256(SECRET_NAME.lower().encode()).hexdigest(), *DIGESTS[:5]]


def logical_residue(cur) -> list[str]:
    """Needles found in any row of any table, or in any view definition, of the store."""
    found = []
    tables = cur.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'store'").fetchall()
    for schema, table in tables:
        text = str(cur.execute(f'SELECT * FROM store."{schema}"."{table}"').fetchall())
        found += [f"{schema}.{table}: {n}" for n in NEEDLES if n in text]
    views = " ".join(s for (s,) in cur.execute(
        "SELECT sql FROM duckdb_views() WHERE database_name = 'store' AND NOT internal").fetchall())
    found += [f"view: {n}" for n in NEEDLES if n in views]
    return found


def byte_residue(store_dir: Path) -> list[str]:
    found = []
    for path in store_dir.iterdir():
        if path.name.startswith("workbench.duckdb"):
            data = path.read_bytes()
            found += [f"{path.name}: {n}" for n in NEEDLES if n.encode() in data]
    return found


def build(pair):
    conn = connect(pair.owner, CSV, name="witness", pii=["name"])
    ds = pair.owner.provision_dataset(pair.room.id, conn.id, "witness",
                                      row_filter=f"region <> '{SECRET_REGION}' OR spend > 0")
    pair.owner.set_analysis_rules(pair.room.id, ds.id, [
        {"name": "email", "join": True},
        {"name": "region", "group_by": True, "public_values": ["north", SECRET_REGION]}])
    pair.owner.set_template(pair.room.id, [{"macro": "@pub", "fields": [{"macro": "@uid"}, {"macro": "@area"}]}])
    pair.owner.map_dataset(pair.room.id, "@pub", ds.id, {"uid": "email", "area": "region"})
    return conn, ds


def test_delete_leaves_no_value_anywhere_even_after_checkpoint(pair, store_dir):
    conn, ds = build(pair)
    store = local_app(store_dir).state.store
    store.checkpoint()
    with store.reader() as cur:
        before = logical_residue(cur)
    assert any(SECRET_REGION in f for f in before) and any(DIGESTS[0] in f for f in before)
    assert byte_residue(store_dir) == []  # the file is encrypted: no plaintext even while present

    gone = pair.owner.delete_connection(conn.id)
    assert (gone.datasets_unlinked, gone.views_dropped, gone.rule_versions_removed, gone.rows_deleted) == (1, 1, 2, 50)
    assert gone.mappings_removed == 3
    with store.reader() as cur:
        assert logical_residue(cur) == []
    close_local(store_dir)  # checkpoints and closes the file
    assert byte_residue(store_dir) == []
    reopened = Store.open(store_dir, TEST_KEY)
    try:
        with reopened.reader() as cur:
            assert logical_residue(cur) == []
            assert cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ds'").fetchone()[0] == 0
            assert cur.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'prov'").fetchone()[0] == 0
    finally:
        reopened.close()


def test_unlink_from_a_room_removes_view_rules_and_mappings_but_keeps_the_connection(pair, store_dir):
    conn, ds = build(pair)
    with pytest.raises(PermissionDenied, match="only the organisation that provisioned"):
        pair.partner.unprovision_dataset(pair.room.id, ds.id)
    gone = pair.owner.unprovision_dataset(pair.room.id, ds.id)
    assert (gone.views_dropped, gone.rule_versions_removed, gone.mappings_removed) == (1, 2, 3)
    assert pair.owner.datasets(pair.room.id) == [] and pair.partner.datasets(pair.room.id) == []
    ready = pair.owner.readiness(pair.room.id)
    assert ready.status == "draft" and ready.items[0].dataset_id is None
    with pytest.raises(NotFound):
        pair.owner.analysis_rules(pair.room.id, ds.id)
    assert pair.owner.connection(conn.id).provisioned_in == []
    store = local_app(store_dir).state.store
    with store.reader() as cur:
        views = " ".join(s for (s,) in cur.execute("SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall())
        rules = str(cur.execute("SELECT * FROM analysis_rules").fetchall())
    assert SECRET_REGION not in views and SECRET_REGION not in rules
    events = pair.owner.audit(room_id=pair.room.id)
    assert "dataset.unlinked" in {e.action for e in events}
    assert all(SECRET_REGION not in str(e.detail) for e in events)


def test_unlink_hooks_remove_derived_objects_in_the_same_transaction(pair):
    from workbench.data import hooks

    calls = []

    def hook(cur, room_id, dataset_id):
        calls.append((room_id, dataset_id))
        return 2

    hooks.on_unlink(hook)
    try:
        conn, ds = build(pair)
        gone = pair.owner.unprovision_dataset(pair.room.id, ds.id)
    finally:
        hooks._HOOKS.remove(hook)
    assert calls == [(pair.room.id, ds.id)] and gone.derived_removed == 2

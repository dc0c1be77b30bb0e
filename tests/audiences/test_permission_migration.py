"""Migration 0410: per-user activation grants become the room permission Activate Audiences,
held through roles; every granted user keeps the right and nobody else gains it."""

from __future__ import annotations

import duckdb

from workbench.store._store import migrations


def test_grants_become_role_permissions() -> None:
    con = duckdb.connect()
    for version, _, sql in migrations():
        if version >= 410:
            break
        con.execute(sql)
    con.execute("INSERT INTO rooms (id, name, owner_org_id, start_date, k_min, dp_enabled,"
                " epsilon_budget, delta_budget, intelligence, flows) VALUES"
                " ('r', 'room', 'pub', DATE '2026-01-01', 5, true, '10', '0', false, false)")
    con.execute("INSERT INTO users (id, org_id, name) VALUES ('admin', 'pub', 'a'),"
                " ('runner', 'pub', 'b'), ('peer', 'pub', 'c'), ('adv', 'ad', 'd')")
    con.execute("INSERT INTO room_roles (id, room_id, org_id, name, kind, permissions) VALUES"
                " ('ra', 'r', 'pub', 'Administrator', 'administrator', []),"
                " ('rr', 'r', 'pub', 'Runner', 'custom', ['create_delete_question_runs']),"
                " ('rp', 'r', 'ad', 'Administrator', 'administrator', [])")
    con.execute("INSERT INTO room_members (room_id, user_id, role_id) VALUES ('r', 'admin', 'ra'),"
                " ('r', 'runner', 'rr'), ('r', 'peer', 'rr'), ('r', 'adv', 'rp')")
    con.execute("INSERT INTO partner_permissions VALUES ('r', 'ad', 'view_reports')")
    con.execute("INSERT INTO activation_grants (room_id, user_id, granted_by) VALUES"
                " ('r', 'admin', 'admin'), ('r', 'runner', 'admin'), ('r', 'adv', 'adv')")
    (sql,) = [s for v, _, s in migrations() if v == 410]
    con.execute(sql)

    def role_of(user: str) -> tuple[str, str, list[str]]:
        return con.execute("SELECT r.name, r.kind, r.permissions FROM room_members m JOIN"
                           " room_roles r ON r.id = m.role_id WHERE m.user_id = ?",
                           [user]).fetchone()

    assert role_of("admin") == ("Administrator", "administrator", [])  # holds all available
    assert role_of("runner") == ("Runner (activation)", "custom",
                                 ["create_delete_question_runs", "activate_audiences"])
    assert role_of("peer") == ("Runner", "custom", ["create_delete_question_runs"])
    assert sorted(p for (p,) in con.execute(
        "SELECT permission FROM partner_permissions WHERE org_id = 'ad'").fetchall()) == \
        ["activate_audiences", "view_reports"]
    tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    assert "activation_grants" not in tables

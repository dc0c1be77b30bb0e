"""SQL injection through every place a user's text meets SQL: question parameters, dataset and
field macros, uploaded column names, row filters, analysis-rule fields, names of things."""

from __future__ import annotations

import pandas as pd
import pytest

import workbench as wb
from tests.runs.room import REGIONS, build_room
from tests.security.conftest import add

INJECTIONS = [
    "north' OR '1'='1",
    "north'; DROP TABLE runs; --",
    "north\" OR \"1\"=\"1",
    "north' UNION SELECT hash FROM tokens --",
    "north'); COPY runs TO 'x.csv'; --",
    "$1", ":region", "?", "north\\'", "north\x00",
]


def _alive(room) -> None:
    """The store still answers for runs, tokens and questions after an attempt."""
    assert room.owner.whoami().org.id == room.owner_org
    room.owner.runs(room.id)
    room.owner.questions(room.id)


def test_text_parameters_are_bound_not_pasted(admin, make_org):
    """Text parameters exist only in DP rooms (exact rooms refuse them, issue 10.4); a huge
    epsilon makes the noise vanish after rounding, so the counts are the exact ones."""
    room = build_room(admin, make_org, dp=True, k_min=1, epsilon_budget="1e12")
    qid = add(room, "SELECT p.age_band, COUNT(*) AS n FROM publisher p WHERE p.region = :region "
                    "GROUP BY p.age_band", [{"name": "region", "type": "text", "pattern": ".*"}])
    north = room.owner.run_result(room.id, room.owner.run(room.id, qid, {"region": "north"},
                                                          epsilon="1e9").id)
    assert sum(r[1] for r in north.rows) == 100
    for value in INJECTIONS:
        try:
            run = room.owner.run(room.id, qid, {"region": value}, epsilon="1e9")
        except wb.errors.InvalidInput:
            continue  # refused as a value (e.g. NUL)
        assert all(r[1] == 0 for r in room.owner.run_result(room.id, run.id).rows), value
    _alive(room)


def test_one_of_integer_date_parameters_refuse_what_is_not_their_type(admin, make_org):
    room = build_room(admin, make_org, dp=True, k_min=1)
    qid = add(room, "SELECT p.age_band, COUNT(*) AS n FROM publisher p WHERE p.region = :region "
                    "GROUP BY p.age_band",
              [{"name": "region", "type": "one_of", "choices": REGIONS}])
    for value in ["north' OR '1'='1", "NORTH", ["north"], {"x": 1}, 1, True, None]:
        with pytest.raises(wb.errors.InvalidInput):
            room.owner.run(room.id, qid, {"region": value})
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.run(room.id, qid, {"region": "north", "extra": "1; DROP TABLE runs"})
    q2 = add(room, "SELECT p.region, SUM(a.amount) AS s FROM publisher p JOIN advertiser a "
                   "ON p.email = a.email WHERE a.amount >= :m GROUP BY p.region",
             [{"name": "m", "type": "integer"}])
    for value in ["1; DROP TABLE runs", "1 OR 1=1", "0x10", 1.5, "1e3", 2**70, float("nan")]:
        with pytest.raises((wb.errors.InvalidInput, ValueError)):
            room.owner.run(room.id, q2, {"m": value})
    _alive(room)


def test_parameter_names_and_patterns_cannot_carry_sql(dp_room):
    room = dp_room
    for name in ["x; DROP TABLE runs", "x'", "X", "_x", "x" * 80, "p_"]:
        with pytest.raises(wb.errors.InvalidInput):
            room.owner.create_question(room.id, "q", f"SELECT p.region, COUNT(*) AS n FROM "
                                       f"publisher p WHERE p.region = :x GROUP BY p.region",
                                       parameters=[{"name": name, "type": "text",
                                                    "pattern": ".*"}])
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.create_question(room.id, "q", "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                   "WHERE p.region = :x GROUP BY p.region",
                                   parameters=[{"name": "x", "type": "text", "pattern": "(("}])


def test_engine_parameter_names_cannot_be_overridden(dp_room):
    """The engine binds its own values as ``__*``; a question cannot declare or reach them."""
    room = dp_room
    for sql in ("SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region = :__salt "
                "GROUP BY p.region",
                "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region = $__hi0 "
                "GROUP BY p.region"):
        with pytest.raises(wb.errors.InvalidInput):
            room.owner.create_question(room.id, "q", sql)


@pytest.mark.parametrize("macro", ['x"; DROP TABLE runs; --', "x'y", "a b", "x;y", "prov.v",
                                   "../x", "store.main.tokens", ""])
def test_dataset_and_field_macros_are_plain_names(dp_room, macro):
    room = dp_room
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.set_template(room.id, [
            {"macro": macro, "party": "owner", "fields": [{"macro": "email"}]}])
    with pytest.raises(wb.errors.InvalidInput):
        room.owner.set_template(room.id, [
            {"macro": "publisher", "party": "owner", "fields": [{"macro": macro}]}])
    assert room.owner.template(room.id).datasets[0].macro == "publisher"


HOSTILE_FILTERS = [
    "region = 'north' OR (SELECT 1) = 1",
    "region IN (SELECT region FROM rooms)",
    "EXISTS (SELECT 1)",
    "read_csv('x.csv') IS NOT NULL",
    "getenv('HOME') = 'x'",
    "current_setting('threads') = '1'",
    "region = 'north'; DROP TABLE runs",
    "region = 'x') OR (1=1",
    "region = (SELECT hash FROM tokens LIMIT 1)",
    "region = $1",
    "tokens.hash = 'x'",
    "region = 'north' AND md5(email) = 'x'",
    "region = 'north' AND CAST(email AS BLOB) IS NOT NULL",
    "PRAGMA database_list",
    "region",
]


def test_row_filters_refuse_subqueries_files_settings_and_statements(dp_room):
    room = dp_room
    conn = room.owner.connections()[0].id
    accepted = []
    for text in HOSTILE_FILTERS:
        try:
            room.owner.provision_dataset(room.id, conn, f"filtered {len(accepted)}",
                                         row_filter=text)
        except wb.errors.InvalidInput:
            continue
        accepted.append(text)
    assert accepted == []
    assert len(room.owner.datasets(room.id)) == 2
    _alive(room)


@pytest.mark.parametrize("header", ['reg"ion', "x'; DROP TABLE runs; --", "a;b", "a b",
                                    "__pu", "x)--"])
def test_uploaded_column_names_with_quotes_and_semicolons_are_refused(dp_room, header):
    """Header names become identifiers of a view, so only plain names are accepted, and a
    refused upload leaves no connection behind."""
    room = dp_room
    before = {c.id for c in room.owner.connections()}
    frame = pd.DataFrame({"email": [f"u{i}@example.com" for i in range(10)], header: ["z"] * 10})
    with pytest.raises(wb.errors.InvalidInput, match="names must start with a letter"):
        room.owner.connect_dataset(frame, "weird", identity_column="email",
                                   identity_kind="email", progress=False)
    assert {c.id for c in room.owner.connections()} == before
    _alive(room)


def test_analysis_rule_fields_cannot_carry_sql(dp_room):
    room = dp_room
    ds = room.publisher_dataset
    version = room.owner.analysis_rules(room.id, ds).version
    bad_rule_sets = [
        [{"name": 'region"; DROP TABLE runs; --', "group_by": True}],
        [{"name": "region", "aggregations": ["SUM); DROP TABLE runs; --"]}],
        [{"name": "region", "aggregations": ["MAX"]}],
        [{"name": "region", "lower": "0; DROP", "upper": 1}],
        [{"name": "region", "input_k_min": "1 OR 1=1"}],
        [{"name": "region", "input_k_min": 0}],
    ]
    accepted = []
    for rules in bad_rule_sets:
        try:
            room.owner.set_analysis_rules(room.id, ds, rules)
        except wb.errors.InvalidInput:
            continue
        accepted.append(rules)
    assert accepted == []
    assert room.owner.analysis_rules(room.id, ds).version == version


def test_public_values_with_quotes_are_data(admin, make_org):
    """Public key values travel as bound parameters: a quote in one is just a character."""
    room = build_room(admin, make_org)
    room.owner.set_analysis_rules(room.id, room.publisher_dataset, [
        {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
        {"name": "region", "group_by": True,
         "public_values": REGIONS + ["x'); DROP TABLE runs; --"]},
        {"name": "age_band", "group_by": True}])
    qid = add(room, "SELECT p.region, COUNT(DISTINCT p.email) AS n FROM publisher p "
                    "GROUP BY p.region")
    result = room.owner.run_result(room.id, room.owner.run(room.id, qid, epsilon="1").id)
    assert sorted(r[0] for r in result.rows) == sorted(REGIONS + ["x'); DROP TABLE runs; --"])
    _alive(room)


@pytest.mark.parametrize("name", ["x'; DROP TABLE rooms; --", 'Robert"); --', "名前", "a" * 150])
def test_names_of_rooms_roles_questions_are_stored_as_text(dp_room, name):
    room = dp_room
    created = room.owner.create_room(name)
    assert room.owner.room(created.id).name == name
    role = room.owner.create_role(room.id, name[:100], ["view_reports"])
    assert role.name == name[:100]
    q = room.owner.create_question(room.id, name, "SELECT p.region, COUNT(*) AS n FROM "
                                   "publisher p GROUP BY p.region")
    assert room.owner.question(room.id, q.id).name == name
    _alive(room)

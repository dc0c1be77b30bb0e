"""Exact (DP-off) rooms cannot be differenced (issue 10.4), tried over the live service.

Without noise, k-min alone lets two allowed results differ by one person. An exact room accepts
only shapes whose filters pick released groups: so every attempt below is either refused when the
question is saved (naming exact_rooms or identity_joins), or allowed and provably useless: the
same group gets the same number whatever the filter, so a difference of two results is zero.
"""

from __future__ import annotations

import pytest

import workbench as wb
from tests.security.conftest import add

REFUSED = {
    "complementary filter (NOT)": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                  "WHERE NOT p.region = 'north' GROUP BY p.region",
    "not equal": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region <> 'north' "
                 "GROUP BY p.region",
    "NOT IN": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region NOT IN ('north') "
              "GROUP BY p.region",
    "filter on a column not grouped by": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                         "WHERE p.age_band = '55+' GROUP BY p.region",
    "range on a metric": "SELECT p.region, SUM(a.amount) AS s FROM publisher p JOIN advertiser a "
                         "ON p.email = a.email WHERE a.amount > 290 GROUP BY p.region",
    "equality on a metric": "SELECT p.region, COUNT(*) AS n FROM publisher p JOIN advertiser a "
                            "ON p.email = a.email WHERE a.amount = 7 GROUP BY p.region",
    "NULL test": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region IS NULL "
                 "GROUP BY p.region",
    "IS NOT NULL": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region IS NOT NULL "
                   "GROUP BY p.region",
    "OR": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region = 'north' OR "
          "p.region = 'south' GROUP BY p.region",
    "CASE key": "SELECT CASE WHEN p.region = 'north' THEN 'n' ELSE 'o' END AS r, COUNT(*) AS n "
                "FROM publisher p GROUP BY CASE WHEN p.region = 'north' THEN 'n' ELSE 'o' END",
    "COALESCE key": "SELECT COALESCE(p.region, 'x') AS r, COUNT(*) AS n FROM publisher p "
                    "GROUP BY COALESCE(p.region, 'x')",
    "string function on a key": "SELECT lower(p.region) AS r, COUNT(*) AS n FROM publisher p "
                                "GROUP BY lower(p.region)",
    "string function in a filter": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                   "WHERE upper(p.region) = 'NORTH' GROUP BY p.region",
    "LIKE": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region LIKE 'n%' "
            "GROUP BY p.region",
    "value outside the public list": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                     "WHERE p.region = 'nowhere' GROUP BY p.region",
    "self-join filtering the other side": "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                          "JOIN publisher q ON p.email = q.email "
                                          "WHERE q.age_band = '55+' GROUP BY p.region",
    "outer join": "SELECT p.region, COUNT(DISTINCT p.email) AS n FROM publisher p LEFT JOIN "
                  "advertiser a ON p.email = a.email GROUP BY p.region",
    "WITH clause": "WITH t AS (SELECT p.region, p.email FROM publisher p) "
                   "SELECT t.region, COUNT(*) AS n FROM t GROUP BY t.region",
    "UNION": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region UNION ALL "
             "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region",
    "HAVING": "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region "
              "HAVING COUNT(*) > 1",
    "EXISTS": "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE EXISTS (SELECT 1 FROM "
              "advertiser a WHERE a.amount > 290) GROUP BY p.region",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_differencing_shapes_are_refused_when_saved(exact_room, sql):
    with pytest.raises(wb.errors.RuleViolation):
        exact_room.owner.create_question(exact_room.id, "attack", sql)


def test_parameters_other_than_listed_choices_are_refused(exact_room):
    sql = ("SELECT p.region, SUM(a.amount) AS s FROM publisher p JOIN advertiser a "
           "ON p.email = a.email WHERE a.amount >= :lo GROUP BY p.region")
    with pytest.raises(wb.errors.RuleViolation, match="exact_rooms"):
        exact_room.owner.create_question(exact_room.id, "attack", sql,
                                         parameters=[{"name": "lo", "type": "number"}])
    sql = "SELECT p.region, COUNT(*) AS n FROM publisher p WHERE p.region = :r GROUP BY p.region"
    with pytest.raises(wb.errors.RuleViolation, match="exact_rooms"):
        exact_room.owner.create_question(
            exact_room.id, "attack", sql,
            parameters=[{"name": "r", "type": "text", "pattern": "[a-z]+"}])
    with pytest.raises(wb.errors.RuleViolation, match="public value list"):
        exact_room.owner.create_question(
            exact_room.id, "attack", sql,
            parameters=[{"name": "r", "type": "one_of", "choices": ["north", "atlantis"]}])


def _rows(room, qid, parameters=None) -> dict[str, list]:
    run = room.owner.run(room.id, qid, parameters or {})
    result = room.owner.run_result(room.id, run.id)
    return {row[0]: row[1:] for row in result.rows}


def test_allowed_filters_only_pick_groups_so_differences_are_zero(exact_room):
    """The whole list, the list minus one value, and a one_of parameter: a region's numbers are
    the same in every result, so subtracting results isolates nobody."""
    base = ("SELECT p.region, COUNT(DISTINCT p.email) AS n, SUM(a.amount) AS s FROM publisher p "
            "JOIN advertiser a ON p.email = a.email {where} GROUP BY p.region")
    full = _rows(exact_room, add(exact_room, base.format(where="")))
    listed = _rows(exact_room, add(exact_room, base.format(
        where="WHERE p.region IN ('north', 'east', 'west')")))
    chosen = _rows(exact_room, add(exact_room, base.format(where="WHERE p.region = :r"),
                                   [{"name": "r", "type": "one_of",
                                     "choices": ["north", "east"]}]), {"r": "east"})
    # buyers are every second publisher user: north and east (west has none, so no row)
    assert set(listed) == {"north", "east"} and set(chosen) == {"east"}
    for region, values in [*listed.items(), *chosen.items()]:
        assert values == full[region], region


def test_check_says_the_room_is_exact_and_weaker(exact_room, dp_room):
    sql = "SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region"
    report = exact_room.owner.check_question(exact_room.id, "q", sql)
    assert report.ok and report.dp is False and "weaker than differential privacy" in report.notice
    report = dp_room.owner.check_question(dp_room.id, "q", sql)
    assert report.ok and report.dp is True and report.notice is None


def test_every_released_row_passes_k_min(admin, make_org):
    """A group of fewer than k people is never released exactly, grouped or not."""
    import pandas as pd

    from tests.runs.room import advertiser_frame, build_room

    publisher = pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(43)],
        "region": ["north"] * 40 + ["south"] * 3,
        "age_band": ["18-34"] * 43,
    })
    room = build_room(admin, make_org, dp=False, k_min=5, publisher=publisher,
                      advertiser=advertiser_frame(86))
    rows = _rows(room, add(room, "SELECT p.region, COUNT(*) AS n FROM publisher p "
                                 "GROUP BY p.region"))
    assert set(rows) == {"north"}, rows

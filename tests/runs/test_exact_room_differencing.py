"""Exact (DP-off) rooms cannot be differenced (issue 10.4), tried over a live service.

Without noise, k-min on each row does not stop two allowed results from being subtracted: (a) a
total minus its released parts, (b) a count over one dataset minus the same count joined to
another, (c) ``IN ('a', 'b')`` minus ``= 'a'``, (d) a question grouped by region minus one grouped
by region and age, each repeated with other parameter values, reworded SQL and the row counts
the room shows. An exact run reads only people whose whole public profile (datasets they are
in, region, age band, whether their amount is empty) at least k people share.

The proof is model-free: two rooms with the same parties, rules and questions, one holding the
data below and one the same data without the people in crowds under k. Every attack question
releases exactly the same table in both, so no combination of released tables can tell
anything about those people; the explicit differences then only find crowds of at least k.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import workbench as wb
from tests.runs.room import Room, build_room

K = 5

#: (region, age band, buyers, non-buyers) of the publisher's users
CELLS = [
    ("north", "18-34", 20, 0),
    ("north", "35-54", 5, 5),
    ("north", "55+", 1, 1),  # two crowds of one: a buyer and a non-buyer
    ("south", "18-34", 11, 1),  # one non-buyer: (b) joined minus unjoined would find him
    ("south", "35-54", 0, 8),
    ("east", "18-34", 3, 0),  # a cell of 3: (a) total minus parts, (c) IN lists
    ("west", "18-34", 6, 0),
    ("west", "55+", 0, 6),
]
STRANGERS = 7  # buyers the publisher does not know: a crowd of 7


def _people() -> list[dict]:
    people, i = [], 0
    for region, band, buyers, others in CELLS:
        for j in range(buyers + others):
            amount = float(10 + (7 * i) % 90)
            if (region, band) == ("north", "18-34") and j == 0:
                amount = None  # a buyer whose amount is empty: SUM/AVG would count him apart
            people.append({"email": f"user{i}@example.com", "region": region, "age_band": band,
                           "buyer": j < buyers, "amount": amount})
            i += 1
    for s in range(STRANGERS):
        people.append({"email": f"stranger{s}@example.com", "region": None, "age_band": None,
                       "buyer": True, "amount": float(20 + s)})
    return people


def _small(p: dict) -> bool:
    """In a crowd under K: its whole profile is shared by fewer than K people."""
    if p["region"] is None:
        return False
    if p["buyer"] and p["amount"] is None:
        return True
    same = [q for q in _people() if (q["region"], q["age_band"], q["buyer"], q["amount"] is None)
            == (p["region"], p["age_band"], p["buyer"], p["amount"] is None)]
    return len(same) < K


def _frames(people: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    pub = [p for p in people if p["region"] is not None]
    adv = [p for p in people if p["buyer"]]
    publisher = pd.DataFrame({"email": [p["email"] for p in pub],
                              "region": [p["region"] for p in pub],
                              "age_band": [p["age_band"] for p in pub]})
    advertiser = pd.DataFrame({"email": [p["email"] for p in adv],
                               "amount": pd.array([p["amount"] for p in adv], dtype="Float64")})
    return publisher, advertiser


ATTACKS: dict[str, tuple[str, list[dict] | None, list[dict]]] = {
    # (a) and (d): a total, its parts, and finer parts
    "total": ("SELECT COUNT(*) AS n, COUNT(DISTINCT p.email) AS people FROM publisher p",
              None, [{}]),
    "by region": ("SELECT p.region, COUNT(*) AS n FROM publisher p GROUP BY p.region", None, [{}]),
    "by region and age": ("SELECT p.region, p.age_band, COUNT(DISTINCT p.email) AS n "
                          "FROM publisher p GROUP BY p.region, p.age_band", None, [{}]),
    # (b): the same counts and sums joined to the advertiser, and the advertiser alone
    "joined total": ("SELECT COUNT(*) AS n, SUM(a.amount) AS s, AVG(a.amount) AS m "
                     "FROM publisher p JOIN advertiser a ON p.email = a.email", None, [{}]),
    "joined by region": ("SELECT p.region, COUNT(DISTINCT p.email) AS n, SUM(a.amount) AS s, "
                         "AVG(a.amount) AS m FROM publisher p JOIN advertiser a "
                         "ON p.email = a.email GROUP BY p.region", None, [{}]),
    "joined by region and age": ("SELECT p.region, p.age_band, COUNT(*) AS n, SUM(a.amount) AS s "
                                 "FROM publisher p JOIN advertiser a ON p.email = a.email "
                                 "GROUP BY p.region, p.age_band", None, [{}]),
    "advertiser alone": ("SELECT COUNT(*) AS n, COUNT(DISTINCT a.email) AS people, "
                         "SUM(a.amount) AS s, AVG(a.amount) AS m FROM advertiser a", None, [{}]),
    # the same question reworded: the join the other way round
    "joined, reworded": ("SELECT COUNT(DISTINCT a.email) AS n, SUM(a.amount) AS s "
                         "FROM advertiser a JOIN publisher p ON a.email = p.email", None, [{}]),
    # (c): IN lists and a one_of parameter run with every value
    "in list": ("SELECT p.region, COUNT(*) AS n FROM publisher p "
                "WHERE p.region IN ('north', 'east') GROUP BY p.region", None, [{}]),
    "one region at a time": (
        "SELECT p.region, p.age_band, COUNT(*) AS n FROM publisher p WHERE p.region = :r "
        "GROUP BY p.region, p.age_band",
        [{"name": "r", "type": "one_of", "choices": ["north", "south", "east", "west"]}],
        [{"r": "north"}, {"r": "south"}, {"r": "east"}, {"r": "west"}]),
}


def _build(live_service, people: list[dict]) -> Room:
    publisher, advertiser = _frames(people)
    return build_room(live_service.client(live_service.admin_token), live_service.make_org,
                      dp=False, k_min=K, publisher=publisher, advertiser=advertiser)


def _released(room: Room) -> dict[tuple[str, int], list[list]]:
    out = {}
    for name, (sql, parameters, runs) in ATTACKS.items():
        q = room.owner.create_question(room.id, name, sql, parameters=parameters or [])
        room.owner.add_question(room.id, q.id)
        for i, values in enumerate(runs):
            run = room.owner.run(room.id, q.id, values)
            out[(name, i)] = sorted(room.owner.run_result(room.id, run.id).rows,
                                    key=lambda r: [str(v) for v in r])
    return out


@pytest.fixture(scope="module")
def rooms(live_service) -> Iterator[dict]:
    """The same room twice: with everyone, and without the people in crowds under K."""
    everyone = _people()
    assert sum(_small(p) for p in everyone) == 7  # 1 + 1 + 1 + 3 + the empty amount
    full = _build(live_service, everyone)
    without = _build(live_service, [p for p in everyone if not _small(p)])
    yield {"room": full, "full": _released(full), "without": _released(without)}


def test_every_attack_releases_the_same_whether_or_not_small_crowds_exist(rooms):
    """No released table depends on anyone in a crowd under k, so no difference, sum or other
    combination of them (across questions, parameter values and rewordings) can isolate them."""
    assert rooms["full"].keys() == rooms["without"].keys()
    for key, rows in rooms["full"].items():
        assert rows == rooms["without"][key], key


def test_explicit_differences_find_only_crowds_of_k(rooms):
    r = {k[0] if k[1] == 0 and k[0] != "one region at a time" else k: v
         for k, v in rooms["full"].items()}
    by_region = {row[0]: row[1] for row in r["by region"]}
    # (a) the total is the sum of its released parts: nothing suppressed is left to subtract
    total, people = r["total"][0]
    assert total == people == sum(by_region.values()) == 60
    assert "east" not in by_region  # the east cell of 3 is not in any result
    fine: dict[str, int] = {}
    for region, _band, n in r["by region and age"]:
        fine[region] = fine.get(region, 0) + n
    assert fine == by_region  # (d) finer minus coarser is zero
    # (b) unjoined minus joined: only whole crowds of non-buyers (north 5, south 8, west 6)
    joined = {row[0]: row for row in r["joined by region"]}
    assert {g: by_region[g] - (joined[g][1] if g in joined else 0) for g in by_region} == \
        {"north": 5, "south": 8, "west": 6}
    n, s, m = r["joined total"][0]
    assert n == sum(row[1] for row in joined.values())
    assert s == pytest.approx(sum(row[2] for row in joined.values()))
    assert round(s / m) == n  # SUM / AVG counts the same people: no empty amount among them
    adv_n, adv_people, adv_s, _ = r["advertiser alone"][0]
    assert adv_n == adv_people and adv_n - n == STRANGERS  # the strangers: a crowd of 7
    assert r["joined, reworded"][0] == [n, s]
    # (c) an IN list and a one_of parameter only pick released rows: the same numbers
    assert {row[0]: row[1] for row in r["in list"]} == {"north": by_region["north"]}
    assert rooms["full"][("one region at a time", 2)] == []  # east: nobody left to show
    per_value = [rooms["full"][("one region at a time", i)] for i in range(4)]
    assert sorted(row for rows in per_value for row in rows) == sorted(r["by region and age"])
    # and k-min holds on every released row of every result
    people_at = {"by region": 1, "by region and age": 2, "joined by region": 1,
                 "joined by region and age": 2, "in list": 1, "one region at a time": 2}
    counts = [row[people_at[name]] for (name, _), rows in rooms["full"].items()
              if name in people_at for row in rows]
    assert counts and min(counts) >= K


def test_filters_that_do_not_pick_released_rows_are_refused(rooms):
    """(c) with the filtered column not grouped by: IN ('north', 'east') minus = 'north' would
    count the east cell of 3. Refused when saved, like grouping by values nobody published."""
    room = rooms["room"]
    for sql in ("SELECT p.age_band, COUNT(*) AS n FROM publisher p "
                "WHERE p.region IN ('north', 'east') GROUP BY p.age_band",
                "SELECT COUNT(*) AS n FROM publisher p WHERE p.region = 'north'"):
        with pytest.raises(wb.errors.RuleViolation, match="exact_rooms"):
            room.owner.create_question(room.id, "attack", sql)


def test_row_counts_tell_how_many_were_left_out_not_who(rooms):
    """What remains: the publisher's row count the partner sees (two significant digits; here
    exact, 67) minus the released total (60) says 7 people were left out; every result above is
    the same as in a room without them, so nothing says where they are."""
    room = rooms["room"]
    shown = next(d for d in room.partner.datasets(room.id) if d.id == room.publisher_dataset)
    assert shown.row_count == 67 and not shown.row_count_exact
    assert rooms["full"][("total", 0)] == [[60, 60]]


def test_plan_and_result_say_what_an_exact_room_protects(rooms):
    room = rooms["room"]
    q = next(q for q in room.owner.questions(room.id) if q.name == "total")
    plan = room.owner.plan(room.id, q.id)
    assert not plan.dp and "share their whole public profile" in plan.notes[0]
    run = room.owner.runs(room.id)[0]
    result = room.owner.run_result(room.id, run.id)
    assert "left out of every result" in result.metadata["notes"][0]
    assert result.metadata["suppressed_rows"] == 0


def test_a_new_dataset_cannot_single_a_person_out_between_runs(rooms):
    """The partner provisions a one-row dataset holding a target: her profile would be hers
    alone, she would drop out of every result, and the totals before and after would differ by
    exactly her. Once an exact room has released a result, it releases only over the same
    datasets and columns: the run and its preview are refused (nothing read), and work again
    once the probe is unlinked."""
    room = rooms["room"]
    target = pd.DataFrame({"email": ["user1@example.com"]})  # a north 18-34 buyer
    probe = room.partner.connect_dataset(target, "probe", identity_column="email",
                                         identity_kind="email", progress=False)
    provisioned = room.partner.provision_dataset(room.id, probe.id, "probe")
    q = next(q for q in room.owner.questions(room.id) if q.name == "joined total")
    for attempt in (lambda: room.owner.plan(room.id, q.id),
                    lambda: room.owner.run(room.id, q.id)):
        with pytest.raises(wb.errors.Conflict, match="added"):
            attempt()
    room.partner.unprovision_dataset(room.id, provisioned.id)
    run = room.owner.run(room.id, q.id)
    assert room.owner.run_result(room.id, run.id).rows == rooms["full"][("joined total", 0)]

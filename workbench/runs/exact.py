"""Exact (DP-off) rooms: every released number is a sum over crowds of at least k people who
share their whole public profile, so no difference of released numbers isolates fewer (issue 10.4).

Without noise, k-min on each released row does not stop differencing: a total minus its released
parts gives the suppressed part, a count over one dataset minus the same count joined to another
gives the unmatched people, ``IN ('a', 'b')`` minus ``= 'a'`` gives cell b, and a question grouped
by region minus one grouped by region and age gives the small (region, age) cells.

The fix is a fixed lattice per room, the same for every question and every run:

- a person's *profile* is, for every dataset of the room with an identity column, whether the
  person is in it and, if so, the set of (values of the columns with a public value list, and
  whether each aggregatable column is NULL) over the person's rows there;
- people whose profile fewer than k people share (their *crowd*) are left out of every exact run
  before anything is grouped, joined or summed.

The static exact_rooms check makes every released row a union of profile cells: inner joins on
the identity only, group keys and filters only on columns with a public value list, aggregates of
plain columns. So every released value (a count of people or rows, a sum, the parts of an average)
is a sum of per-crowd totals, each over at least k people who are in exactly the same cells; any
linear combination of released values, from any questions, parameters or runs over the same data
and rules, is a combination of those crowd totals. A group of fewer than k people never shows up
in one on its own, and k-min on each row holds by construction.

What stays weaker than differential privacy is stated in the room's notice: whole crowds are
exact, so background knowledge about all but one member of a crowd tells the last one's values;
results from another room over changed data can be compared with this room's (within a room,
:func:`ensure_pinned` keeps every exact run on the lattice of the first: a new dataset holding
one person would give that person a crowd of one); a party that
shapes its own dataset around people it knows (k-1 known people plus a target) defeats any crowd
rule; and a party comparing a released count with its own exact count of the same group learns
how many of its people were left out, not who.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp, parse_one

from workbench.errors import Conflict
from workbench.questions.compile import Compiled
from workbench.questions.template import DIALECT
from workbench.runs import _records as rec

#: the bound parameter holding the crowd size
K_PARAM = "__crowd_k"

NOTE = ("differential privacy is OFF in this room: exact aggregates over crowds of at least "
        "k-min people who share their whole public profile (datasets they are in, public-list "
        "values, which measures are empty); people in smaller crowds are left out of every "
        "result, so no difference of results isolates them")


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What one dataset contributes to a person's profile."""

    #: the provisioned dataset and the data connection behind it (immutable once uploaded)
    dataset_id: str
    connection_id: str
    #: the provisioned view (``schema.view``)
    view: str
    #: its identity column (the person)
    identity: str
    #: columns with a public value list: their values are part of the profile
    values: tuple[str, ...]
    #: aggregatable columns: whether each is NULL is part of the profile
    presence: tuple[str, ...]


def room_profiles(cur: Any, room_id: str) -> list[Profile]:
    """The profile lattice of a room: every provisioned dataset with an identity column."""
    from workbench.data import provisioning

    out: list[Profile] = []
    connections = dict(rec.room_datasets(cur, room_id))
    for dataset_id in sorted(connections):
        resolved = provisioning.resolve(cur, room_id, dataset_id)
        rules = resolved.rules
        if rules.identity is None:
            continue  # no question can read it (privacy_unit), so it splits no crowd
        present = {c.lower() for c in resolved.types} or None
        ident = rules.identity.lower()
        values, presence = [], []
        for name, rule in sorted(rules.columns.items()):
            if name.lower() == ident or (present is not None and name.lower() not in present):
                continue
            if rule.public_values is not None:
                values.append(name)
            elif rule.aggregations:
                presence.append(name)
        out.append(Profile(dataset_id=dataset_id, connection_id=connections[dataset_id],
                           view=resolved.view, identity=rules.identity, values=tuple(values),
                           presence=tuple(presence)))
    return out


def lattice(profiles: Sequence[Profile]) -> tuple[str, str]:
    """The fingerprint of a room's lattice, and the lattice as JSON."""
    text = json.dumps([dataclasses.asdict(p) for p in profiles], sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), text


def ensure_pinned(cur: Any, room_id: str, profiles: Sequence[Profile]) -> tuple[str, str]:
    """Refuse (Conflict, nothing read or spent) an exact run over another lattice than the
    room's first exact result: a dataset provisioned or unlinked (a new one-row dataset gives its
    person a crowd of one), or a public or aggregatable column changed since. Results from before
    and after would differ by exactly the people the change moved. Returns :func:`lattice`."""
    fingerprint, text = lattice(profiles)
    pinned = rec.exact_lattice(cur, room_id)
    if pinned is None or pinned[0] == fingerprint:
        return fingerprint, text
    before = {p["dataset_id"]: p for p in json.loads(pinned[1])}
    now = {p.dataset_id: dataclasses.asdict(p) for p in profiles}
    changes = [f"dataset {d} added" for d in sorted(set(now) - set(before))]
    changes += [f"dataset {d} unlinked" for d in sorted(set(before) - set(now))]
    changes += [f"the identity, public-list or aggregatable columns of dataset {d} changed"
                for d in sorted(set(now) & set(before)) if now[d] != before[d]]
    raise Conflict(
        "this exact room released its first result over other datasets or columns ("
        + "; ".join(changes) + "). Without noise, results from before and after such a change "
        "could be subtracted to single people out, so an exact room keeps releasing over the "
        "data of its first result: restore it, or use a room with differential privacy",
        changes=changes)


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=DIALECT)


def _table(view: str) -> str:
    return ".".join(_q(part) for part in view.split("."))


def _cell(p: Profile) -> str:
    """One row's cell of a dataset, as text; length-prefixed so distinct cells stay distinct."""
    parts = []
    for c in p.values:
        text = f"CAST({_q(c)} AS VARCHAR)"
        parts.append(f"COALESCE('v' || CAST(LENGTH({text}) AS VARCHAR) || ':' || {text}, 'n')")
    for c in p.presence:
        parts.append(f"CASE WHEN {_q(c)} IS NULL THEN 'n' ELSE 'v' END")
    return " || ".join(parts) if parts else "''"


def crowds_sql(profiles: Sequence[Profile]) -> str:
    """SQL of the people (``__pu`` as text) whose profile at least ``$__crowd_k`` people share."""
    per_dataset = [
        f"SELECT {i} AS __d, CAST({_q(p.identity)} AS VARCHAR) AS __pu, "
        f"ARRAY_TO_STRING(LIST_SORT(ARRAY_AGG(DISTINCT {_cell(p)})), ',') AS __s "
        f"FROM {_table(p.view)} WHERE {_q(p.identity)} IS NOT NULL GROUP BY {_q(p.identity)}"
        for i, p in enumerate(profiles)]
    sigs = [f"MAX(CASE WHEN __d = {i} THEN __s END) AS __s{i}" for i in range(len(profiles))]
    people = (f"SELECT __pu, {', '.join(sigs)} FROM ({' UNION ALL '.join(per_dataset)}) AS __all "
              "GROUP BY __pu")
    crowd = ", ".join(f"__s{i}" for i in range(len(profiles)))
    return (f"SELECT __pu FROM (SELECT __pu, COUNT(*) OVER (PARTITION BY {crowd}) AS __n "
            f"FROM ({people}) AS __people) AS __c WHERE __n >= ${K_PARAM}")


def _in_crowds(identity: exp.Expr) -> exp.Expr:
    """``identity`` is one of the people in crowds of at least k."""
    return exp.In(this=exp.cast(identity.copy(), "VARCHAR"),
                  query=exp.Subquery(this=exp.select("__pu").from_("__crowds")))


def _input_k_min_counts(tree: exp.Expr) -> list[tuple[exp.Select, exp.Expr]]:
    """The compiler's input k-min counts (``SELECT col FROM view AS __kmin ... HAVING
    COUNT(DISTINCT identity) >= k``), each with the identity it counts."""
    out = []
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_")
        having = select.args.get("having")
        distinct = having.find(exp.Distinct) if having is not None else None
        if isinstance(source, exp.From) and source.this.alias == "__kmin" and distinct is not None:
            out.append((select, distinct.expressions[0]))
    return out


def restrict(compiled: Compiled, profiles: Sequence[Profile], k_min: int) -> Compiled:
    """The compiled exact question reading only people in crowds of at least ``k_min``."""
    if compiled.mode != "exact" or compiled.tree is None or k_min <= 1 or not profiles:
        return compiled
    tree = compiled.tree.copy()
    with_ = tree.args.get("with_")
    src = next((c.this for c in with_.expressions if c.alias == "__src"), None) if with_ else None
    if with_ is None or not isinstance(src, exp.Select) or not src.expressions \
            or src.expressions[0].alias != "__pu":
        raise RuntimeError("an exact question compiled without its __src person column")
    pu = src.expressions[0].this.copy()
    crowds = parse_one(crowds_sql(profiles), dialect=DIALECT)
    with_.set("expressions", [exp.CTE(this=crowds, alias=exp.TableAlias(
        this=exp.to_identifier("__crowds"))), *with_.expressions])
    where = src.args.get("where")
    member = _in_crowds(pu)
    src.set("where", exp.Where(this=exp.and_(where.this, member) if where else member))
    for counted, identity in _input_k_min_counts(tree):
        # a value's input k-min counts only people the run may read: whether a group shows must
        # not depend on someone left out of every result
        counted.set("where", exp.Where(this=_in_crowds(identity)))
    return dataclasses.replace(compiled, sql=tree.sql(dialect=DIALECT), tree=tree,
                               params={**compiled.params, K_PARAM: k_min})

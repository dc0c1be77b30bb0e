"""The audiences package's SQL: every statement over cohorts, members, scores, activation and
connections lives here and returns frozen records (or plain counts and arrays for bulk data).

Members and scores are digests of the activation party's identities; functions here never hand
them to anything but the export writer and the lookalike trainer inside the service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.data.identity import quote_ident as q
from workbench.store import fetch_all, fetch_one, scalar

@dataclass(frozen=True, slots=True, kw_only=True)
class Terms:
    """Who activates in a room and the largest lookalike seed it allows."""

    room_id: str
    activation_org_id: str
    max_seed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetInfo:
    """A provisioned dataset as audiences need it: its owner, view, identity and kind."""

    id: str
    room_id: str
    org_id: str
    name: str
    view_name: str
    columns: list[str]
    identity_column: str
    identity_kind: str
    rows_rejected: int
    rejections: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnInfo:
    """One provisioned column of a dataset: type and labels."""

    name: str
    type: str
    pii: bool
    is_identity: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Cohort:
    """A cohort's metadata (never its members)."""

    id: str
    room_id: str
    name: str
    kind: str
    status: str
    question_id: str | None
    question_version: int | None
    parameters: str
    seed_cohort_id: str | None
    activation_org_id: str
    member_dataset_id: str
    datasets: list[str]
    version: int
    noisy_size: int | None
    size_ci95: float | None
    metadata: str
    created_by: str
    created_at: Any
    refreshed_at: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """Where the activation party's exports go (a folder under the service's root)."""

    id: str
    room_id: str
    org_id: str
    name: str
    format: str
    path: str
    settings: str
    created_by: str
    created_at: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Activation:
    """One export of a cohort's membership."""

    id: str
    room_id: str
    cohort_id: str
    cohort_name: str
    cohort_version: int
    destination_id: str
    format: str
    frequency_cap: str
    files: str
    manifest: str
    created_by: str
    created_at: Any
    #: the export's folder relative to the activation root (None: made before it was recorded)
    folder: str | None = None
    #: None while every dataset the cohort read is linked; "source unlinked" after
    source_status: str | None = None
    source_unlinked_at: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """A publisher's connection to an advertiser org and what it allows."""

    publisher_org_id: str
    advertiser_org_id: str
    insights: bool
    matched_cohorts: bool
    modeled_cohorts: bool
    activation: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The data owner's activation consent for one provisioned dataset."""

    dataset_id: str
    allowed: bool


# -- terms ---------------------------------------------------------------------------------------

def terms(cur: Any, room_id: str) -> Terms | None:
    """The room's audience terms, when the owner set them."""
    return fetch_one(cur, Terms, "SELECT room_id, activation_org_id, max_seed FROM audience_terms"
                     " WHERE room_id = ?", [room_id])


def set_terms(cur: Any, room_id: str, activation_org_id: str, max_seed: int, user_id: str) -> None:
    """Insert or replace the room's audience terms."""
    cur.execute("DELETE FROM audience_terms WHERE room_id = ?", [room_id])
    cur.execute("INSERT INTO audience_terms (room_id, activation_org_id, max_seed, updated_by)"
                " VALUES (?, ?, ?, ?)", [room_id, activation_org_id, max_seed, user_id])


def room_orgs(cur: Any, room_id: str) -> list[str]:
    """The owner and every accepted partner of a room."""
    rows = cur.execute(
        "SELECT owner_org_id FROM rooms WHERE id = ? UNION SELECT org_id FROM room_partners"
        " WHERE room_id = ? AND status = 'accepted'", [room_id, room_id]).fetchall()
    return sorted(o for (o,) in rows)


# -- datasets ------------------------------------------------------------------------------------

_DATASET = (
    "SELECT p.id, p.room_id, p.org_id, p.name, p.view_name, p.columns,"
    " (SELECT c.name FROM data_columns c WHERE c.connection_id = p.connection_id AND c.is_identity"
    "  LIMIT 1) AS identity_column, d.identity_kind, d.rows_rejected,"
    " CAST(d.rejections AS VARCHAR) AS rejections"
    " FROM provisioned_datasets p JOIN data_connections d ON d.id = p.connection_id"
)


def dataset(cur: Any, room_id: str, dataset_id: str) -> DatasetInfo | None:
    """One provisioned dataset of a room."""
    return fetch_one(cur, DatasetInfo, _DATASET + " WHERE p.id = ? AND p.room_id = ?",
                     [dataset_id, room_id])


def datasets(cur: Any, room_id: str) -> list[DatasetInfo]:
    """Every provisioned dataset of a room, by org then name."""
    return fetch_all(cur, DatasetInfo, _DATASET + " WHERE p.room_id = ? ORDER BY p.org_id, p.name",
                     [room_id])


def columns(cur: Any, dataset_id: str) -> list[ColumnInfo]:
    """The provisioned columns of a dataset with their labels."""
    return fetch_all(cur, ColumnInfo,
                     "SELECT c.name, c.type, c.pii, c.is_identity FROM provisioned_datasets p"
                     " JOIN data_columns c ON c.connection_id = p.connection_id"
                     " WHERE p.id = ? AND list_contains(p.columns, c.name) ORDER BY c.position",
                     [dataset_id])


def distinct_identities(cur: Any, views: list[tuple[str, str]]) -> int:
    """Distinct identities over the union of (view, identity column) pairs."""
    if not views:
        return 0
    union = _union(views)
    return int(scalar(cur, f"SELECT count(DISTINCT i) FROM ({union}) WHERE i IS NOT NULL"))


def matched_identities(cur: Any, left: list[tuple[str, str]], right: list[tuple[str, str]]) -> int:
    """Distinct identities present on both sides (each side a union of views)."""
    if not left or not right:
        return 0
    return int(scalar(cur, f"SELECT count(*) FROM (({_union(left)}) INTERSECT ({_union(right)}))"
                           " WHERE i IS NOT NULL"))


def _union(views: list[tuple[str, str]]) -> str:
    """The identities of several views (names from our own tables, quoted anyway)."""
    return " UNION ".join(f"SELECT {q(col)} AS i FROM prov.{q(view)}" for view, col in views)


# -- cohorts -------------------------------------------------------------------------------------

_COHORT = ("SELECT id, room_id, name, kind, status, question_id, question_version,"
           " CAST(parameters AS VARCHAR) AS parameters, seed_cohort_id, activation_org_id,"
           " member_dataset_id, datasets, version, noisy_size, size_ci95,"
           " CAST(metadata AS VARCHAR) AS metadata, created_by, created_at, refreshed_at"
           " FROM cohorts")


def cohort(cur: Any, room_id: str, cohort_id: str) -> Cohort | None:
    """One cohort of a room."""
    return fetch_one(cur, Cohort, _COHORT + " WHERE id = ? AND room_id = ?", [cohort_id, room_id])


def cohorts(cur: Any, room_id: str) -> list[Cohort]:
    """Every cohort of a room, oldest first."""
    return fetch_all(cur, Cohort, _COHORT + " WHERE room_id = ? ORDER BY created_at, name",
                     [room_id])


def name_taken(cur: Any, room_id: str, name: str) -> bool:
    """Whether the room already has a cohort of this name (any case)."""
    return scalar(cur, "SELECT count(*) FROM cohorts WHERE room_id = ? AND lower(name) = lower(?)",
                  [room_id, name]) > 0


def insert_cohort(cur: Any, *, id: str, room_id: str, name: str, kind: str, status: str,
                  question_id: str | None, question_version: int | None,
                  parameters: dict[str, Any], seed_cohort_id: str | None,
                  activation_org_id: str, member_dataset_id: str, datasets: list[str],
                  metadata: dict[str, Any], created_by: str) -> None:
    """A new cohort at version 0 (nothing built yet)."""
    cur.execute(
        "INSERT INTO cohorts (id, room_id, name, kind, status, question_id, question_version,"
        " parameters, seed_cohort_id, activation_org_id, member_dataset_id, datasets, version,"
        " metadata, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0,?,?)",
        [id, room_id, name, kind, status, question_id, question_version,
         json.dumps(parameters, default=str), seed_cohort_id, activation_org_id,
         member_dataset_id, datasets, json.dumps(metadata, default=str), created_by])


def update_cohort(cur: Any, cohort_id: str, *, status: str, noisy_size: int | None,
                  size_ci95: float | None, metadata: dict[str, Any], new_version: bool,
                  question_version: int | None = None,
                  parameters: dict[str, Any] | None = None,
                  datasets: list[str] | None = None, member_dataset_id: str | None = None) -> None:
    """Record a build: status, released size, metadata; a new version when members changed.

    ``datasets`` joins the datasets the cohort was ever derived from (a refresh of a changed
    question may read others): consent, charges and unlink clean-up go by all of them.
    """
    cur.execute(
        "UPDATE cohorts SET status = ?, noisy_size = ?, size_ci95 = ?, metadata = ?,"
        " version = version + ?, question_version = coalesce(?, question_version),"
        " parameters = coalesce(?, parameters),"
        " datasets = list_sort(list_distinct(list_concat(datasets, coalesce(?::VARCHAR[], [])))),"
        " member_dataset_id = coalesce(?, member_dataset_id), refreshed_at = now() WHERE id = ?",
        [status, noisy_size, size_ci95, json.dumps(metadata, default=str), int(new_version),
         question_version, None if parameters is None else json.dumps(parameters, default=str),
         datasets, member_dataset_id, cohort_id])


def delete_cohort(cur: Any, cohort_id: str) -> None:
    """A cohort, its members and scores."""
    cur.execute("DELETE FROM cohort_members WHERE cohort_id = ?", [cohort_id])
    cur.execute("DELETE FROM cohort_scores WHERE cohort_id = ?", [cohort_id])
    cur.execute("DELETE FROM cohorts WHERE id = ?", [cohort_id])


def seeded_by(cur: Any, cohort_id: str) -> list[str]:
    """Ids of the modeled cohorts seeded by a cohort."""
    rows = cur.execute("SELECT id FROM cohorts WHERE seed_cohort_id = ?", [cohort_id]).fetchall()
    return [i for (i,) in rows]


def cohorts_reading(cur: Any, room_id: str, dataset_id: str) -> list[str]:
    """Ids of the cohorts of a room derived from a dataset (directly, through their seed, or as
    the dataset whose identities are their members)."""
    rows = cur.execute("SELECT id FROM cohorts WHERE room_id = ? AND (list_contains(datasets, ?)"
                       " OR member_dataset_id = ?)", [room_id, dataset_id, dataset_id]).fetchall()
    return [i for (i,) in rows]


def replace_members(cur: Any, cohort_id: str, sql: str, params: dict[str, Any]) -> int:
    """Members := the distinct non-null values of the compiled user-list ``sql``; their count."""
    cur.execute("DELETE FROM cohort_members WHERE cohort_id = ?", [cohort_id])
    cur.execute(f"INSERT INTO cohort_members SELECT $__cohort, __m FROM ({sql})",
                {**params, "__cohort": cohort_id})
    return member_count(cur, cohort_id)


def member_count(cur: Any, cohort_id: str) -> int:
    """How many members the cohort's current version has (inside the service only)."""
    return int(scalar(cur, "SELECT count(*) FROM cohort_members WHERE cohort_id = ?", [cohort_id]))


def members(cur: Any, cohort_id: str, batch: int = 100_000) -> Iterator[list[str]]:
    """The members in digest order, in batches (the export writer's only source)."""
    result = cur.execute("SELECT member FROM cohort_members WHERE cohort_id = ? ORDER BY member",
                         [cohort_id])
    while True:
        rows = result.fetchmany(batch)
        if not rows:
            return
        yield [m for (m,) in rows]


# -- lookalike -----------------------------------------------------------------------------------

def feature_frame(cur: Any, view: str, identity: str, features: list[str], seed_cohort_id: str
                  ) -> Any:
    """One row per activation-party identity (in digest order): its features (the smallest value
    when a user has several rows) and whether it is a seed member, as a pandas DataFrame."""
    cols = ", ".join(f"min(v.{q(f)}) AS {q(f)}" for f in features)
    ident = f"v.{q(identity)}"
    return cur.execute(
        f"SELECT {ident} AS __member, {cols}, bool_or(s.member IS NOT NULL) AS __seed"
        f" FROM prov.{q(view)} v LEFT JOIN (SELECT member FROM cohort_members WHERE cohort_id = ?)"
        f" s ON s.member = {ident} WHERE {ident} IS NOT NULL GROUP BY {ident} ORDER BY {ident}",
        [seed_cohort_id]).fetchdf()


def store_scores(cur: Any, cohort_id: str, scores: Any) -> None:
    """Replace a modeled cohort's scores with ``scores`` (an Arrow table: member, score)."""
    cur.execute("DELETE FROM cohort_scores WHERE cohort_id = ?", [cohort_id])
    cur.register("__scores", scores)
    try:
        cur.execute("INSERT INTO cohort_scores SELECT ?, member, score FROM __scores", [cohort_id])
    finally:
        cur.unregister("__scores")


def score_count(cur: Any, cohort_id: str) -> int:
    """How many users a modeled cohort scored."""
    return int(scalar(cur, "SELECT count(*) FROM cohort_scores WHERE cohort_id = ?", [cohort_id]))


def members_from_scores(cur: Any, cohort_id: str, top_n: int) -> int:
    """Members := the ``top_n`` best-scored users (ties by digest); their count."""
    cur.execute("DELETE FROM cohort_members WHERE cohort_id = ?", [cohort_id])
    cur.execute("INSERT INTO cohort_members SELECT cohort_id, member FROM cohort_scores"
                " WHERE cohort_id = ? ORDER BY score DESC, member LIMIT ?", [cohort_id, top_n])
    return member_count(cur, cohort_id)


# -- activation ----------------------------------------------------------------------------------

def policy(cur: Any, dataset_id: str) -> Policy | None:
    """The activation consent of a dataset (None: never set, which means no)."""
    return fetch_one(cur, Policy, "SELECT dataset_id, allowed FROM activation_policies"
                     " WHERE dataset_id = ?", [dataset_id])


def set_policy(cur: Any, room_id: str, dataset_id: str, allowed: bool, user_id: str) -> None:
    """Insert or replace a dataset's activation consent."""
    cur.execute("DELETE FROM activation_policies WHERE dataset_id = ?", [dataset_id])
    cur.execute("INSERT INTO activation_policies (dataset_id, room_id, allowed, set_by)"
                " VALUES (?, ?, ?, ?)", [dataset_id, room_id, allowed, user_id])


def drop_policy(cur: Any, dataset_id: str) -> None:
    """Forget a removed dataset's activation consent."""
    cur.execute("DELETE FROM activation_policies WHERE dataset_id = ?", [dataset_id])


def user_org(cur: Any, user_id: str) -> str | None:
    """The org of a user."""
    return scalar(cur, "SELECT org_id FROM users WHERE id = ?", [user_id])


_DEST = ("SELECT id, room_id, org_id, name, format, path, CAST(settings AS VARCHAR) AS settings,"
         " created_by, created_at FROM activation_destinations")


def destination(cur: Any, room_id: str, destination_id: str) -> Destination | None:
    """One destination of a room."""
    return fetch_one(cur, Destination, _DEST + " WHERE id = ? AND room_id = ?",
                     [destination_id, room_id])


def destinations(cur: Any, room_id: str, org_id: str) -> list[Destination]:
    """An org's destinations in a room."""
    return fetch_all(cur, Destination, _DEST + " WHERE room_id = ? AND org_id = ? ORDER BY name",
                     [room_id, org_id])


def insert_destination(cur: Any, d: Destination) -> None:
    """Store a destination."""
    cur.execute("INSERT INTO activation_destinations (id, room_id, org_id, name, format, path,"
                " settings, created_by) VALUES (?,?,?,?,?,?,?,?)",
                [d.id, d.room_id, d.org_id, d.name, d.format, d.path, d.settings, d.created_by])


def destination_name_taken(cur: Any, room_id: str, name: str) -> bool:
    """Whether the room already has a destination of this name."""
    return scalar(cur, "SELECT count(*) FROM activation_destinations WHERE room_id = ?"
                  " AND lower(name) = lower(?)", [room_id, name]) > 0


_ACT = ("SELECT id, room_id, cohort_id, cohort_name, cohort_version, destination_id, format,"
        " CAST(frequency_cap AS VARCHAR) AS frequency_cap, CAST(files AS VARCHAR) AS files,"
        " CAST(manifest AS VARCHAR) AS manifest, created_by, created_at, folder, source_status,"
        " source_unlinked_at FROM activations")


def insert_activation(cur: Any, a: Activation) -> None:
    """Store an export's record."""
    cur.execute("INSERT INTO activations (id, room_id, cohort_id, cohort_name, cohort_version,"
                " destination_id, format, frequency_cap, files, manifest, created_by, folder)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [a.id, a.room_id, a.cohort_id, a.cohort_name, a.cohort_version, a.destination_id,
                 a.format, a.frequency_cap, a.files, a.manifest, a.created_by, a.folder])


def activations(cur: Any, room_id: str) -> list[Activation]:
    """Every export in a room, newest first."""
    return fetch_all(cur, Activation, _ACT + " WHERE room_id = ? ORDER BY created_at DESC, id",
                     [room_id])


def activations_from(cur: Any, room_id: str, dataset_id: str, cohort_ids: list[str]
                     ) -> list[Activation]:
    """Every export of the room computed from this dataset whose source is still linked: by the
    datasets its manifest records (so a deleted cohort's exports are found too), or, for exports
    made before manifests recorded them, by its cohort."""
    return fetch_all(cur, Activation, _ACT + " WHERE room_id = ? AND source_status IS NULL"
                     " AND (list_contains(?, cohort_id) OR list_contains(coalesce(CAST("
                     "json_extract(manifest, '$.datasets') AS VARCHAR[]), []), ?))"
                     " ORDER BY created_at, id", [room_id, cohort_ids, dataset_id])


def mark_source_unlinked(cur: Any, activation_id: str) -> None:
    """An export whose cohort was computed from data now unlinked: kept as the audit of the
    export, its files gone."""
    cur.execute("UPDATE activations SET source_status = 'source unlinked',"
                " source_unlinked_at = now() WHERE id = ?", [activation_id])


def activation(cur: Any, room_id: str, activation_id: str) -> Activation | None:
    """One export of a room."""
    return fetch_one(cur, Activation, _ACT + " WHERE id = ? AND room_id = ?",
                     [activation_id, room_id])


# -- connections ---------------------------------------------------------------------------------

_CONN = ("SELECT publisher_org_id, advertiser_org_id, insights, matched_cohorts, modeled_cohorts,"
         " activation FROM audience_connections")


def connection(cur: Any, publisher_org_id: str, advertiser_org_id: str) -> Connection | None:
    """A publisher's connection to one advertiser."""
    return fetch_one(cur, Connection, _CONN + " WHERE publisher_org_id = ? AND advertiser_org_id = ?",
                     [publisher_org_id, advertiser_org_id])


def connections(cur: Any, publisher_org_id: str) -> list[Connection]:
    """A publisher's connections."""
    return fetch_all(cur, Connection, _CONN + " WHERE publisher_org_id = ? ORDER BY advertiser_org_id",
                     [publisher_org_id])


def has_connections(cur: Any, publisher_org_id: str) -> bool:
    """Whether a publisher keeps a connection list at all (none: nothing is gated)."""
    return scalar(cur, "SELECT count(*) FROM audience_connections WHERE publisher_org_id = ?",
                  [publisher_org_id]) > 0


def set_connection(cur: Any, c: Connection, user_id: str) -> None:
    """Insert or replace a connection."""
    cur.execute("DELETE FROM audience_connections WHERE publisher_org_id = ?"
                " AND advertiser_org_id = ?", [c.publisher_org_id, c.advertiser_org_id])
    cur.execute("INSERT INTO audience_connections (publisher_org_id, advertiser_org_id, insights,"
                " matched_cohorts, modeled_cohorts, activation, updated_by) VALUES (?,?,?,?,?,?,?)",
                [c.publisher_org_id, c.advertiser_org_id, c.insights, c.matched_cohorts,
                 c.modeled_cohorts, c.activation, user_id])


def delete_connection(cur: Any, publisher_org_id: str, advertiser_org_id: str) -> None:
    """Remove a connection."""
    cur.execute("DELETE FROM audience_connections WHERE publisher_org_id = ?"
                " AND advertiser_org_id = ?", [publisher_org_id, advertiser_org_id])


def org_exists(cur: Any, org_id: str) -> bool:
    """Whether an org exists."""
    return scalar(cur, "SELECT count(*) FROM orgs WHERE id = ?", [org_id]) > 0

"""External (zero-copy) Parquet and Delta connections, end to end through a live service.

Two real `workbench serve` processes read the same files in place: one on DuckDB, one on Spark
(`--engine spark --spark-master local[2]`). Nothing is uploaded; each registers the publisher's
Parquet directory (raw emails, hashed at read) and the advertiser's Delta table (pre-hashed
identities, named by a file:// URI), provisions, sets rules, maps, runs a DP question, reads the
audit, unlinks and deletes; the files are still there afterwards. The path attacks try every
way out of the external data root, as paths and as URIs.

The Spark service also reads a local Spark catalog (a Hive metastore in Derby and a warehouse
directory, written by `saveAsTable` in a short-lived JVM before the service starts): catalog
tables register and run there and are refused on DuckDB. Changed data refuses the run before
anything is read or charged, on both engines.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import workbench as wb
from tests.conftest import ROOT, TEST_KEY, free_port
from tests.engine.conftest import LOG_CONF, TINY_DATA, spark_available
from tests.engine.make_catalog import catalog_conf
from workbench import demo
from workbench.demo import wait_http_ok
from workbench.errors import InvalidInput, RuleViolation
from workbench.governance.orgs import bootstrap
from workbench.store import Store

N_USERS, N_CUSTOMERS = 6000, 4000
#: a URI prefix the services may read (only Spark reads URIs; nothing here serves it)
BUCKET = "s3a://lake-bucket/shared"


def _sha(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's external data root: a Parquet directory and a Delta table, plus outside files."""
    base = tmp_path_factory.mktemp("external")
    root = base / "lake"
    users = demo.publisher_users(N_USERS)
    (root / "publisher").mkdir(parents=True)
    half = N_USERS // 2
    pq.write_table(pa.Table.from_pandas(users.iloc[:half], preserve_index=False),
                   root / "publisher" / "part-0.parquet")
    pq.write_table(pa.Table.from_pandas(users.iloc[half:], preserve_index=False),
                   root / "publisher" / "part-1.parquet")
    customers = demo.advertiser_customers(N_CUSTOMERS, N_USERS)
    customers = pd.DataFrame({"email_sha": customers["email"].map(_sha),
                              "amount": customers["amount"]})
    delta = root / "advertiser"
    (delta / "_delta_log").mkdir(parents=True)
    third = N_CUSTOMERS // 3
    parts = {"part-0.parquet": customers.iloc[:third], "part-1.parquet": customers.iloc[third:],
             # removed by the second commit: a reader that ignores the log counts these twice
             "part-stale.parquet": customers.iloc[third:]}
    for name, frame in parts.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), delta / name)
    protocol = {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}
    meta = {"metaData": {"id": "t", "format": {"provider": "parquet"}, "partitionColumns": [],
                         "schemaString": "{}", "configuration": {}}}
    commits = [[protocol, meta, {"add": {"path": "part-0.parquet"}},
                {"add": {"path": "part-stale.parquet"}}],
               [{"remove": {"path": "part-stale.parquet"}}, {"add": {"path": "part-1.parquet"}}]]
    for version, actions in enumerate(commits):
        (delta / "_delta_log" / f"{version:020d}.json").write_text(
            "\n".join(json.dumps(a) for a in actions) + "\n")
    outside = base / "outside"
    outside.mkdir()
    pq.write_table(pa.Table.from_pandas(users.iloc[:10], preserve_index=False),
                   outside / "secret.parquet")
    return root


@dataclass
class Catalog:
    conf: dict[str, str]
    warehouse: Path
    writer: subprocess.Popen | None


@pytest.fixture(scope="module")
def catalog(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    """A local Spark catalog, written by a short-lived JVM started now (it runs while the DuckDB
    service's tests do) and awaited when the Spark service starts."""
    base = tmp_path_factory.mktemp("catalog")
    conf = catalog_conf(str(base / "warehouse"), str(base / "metastore"))
    advertiser = ",".join(str(data_root / "advertiser" / f"part-{i}.parquet") for i in (0, 1))
    writer = None
    if spark_available():
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.make_catalog", json.dumps(conf),
             str(data_root / "publisher"), advertiser], cwd=ROOT, env=_java_env(base),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield Catalog(conf=conf, warehouse=base / "warehouse", writer=writer)
    if writer is not None:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()


def _java_env(base: Path) -> dict[str, str]:
    """Quiet JVMs whose Derby writes its log under ``base``, not the working directory."""
    return {**os.environ, "WORKBENCH_STORE_KEY": TEST_KEY, "SPARK_LOCAL_IP": "127.0.0.1",
            "JDK_JAVA_OPTIONS": f"-Dlog4j2.configurationFile={LOG_CONF.as_uri()} "
                                f"-Dderby.system.home={base}"}


@dataclass
class Served:
    engine: str
    url: str
    admin: wb.Client
    log: Path
    proc: subprocess.Popen


def _serve(base: Path, engine: str, roots: list[Path | str],
           spark_conf: dict[str, str] | None = None) -> Served:
    store = base / "store"
    s = Store.open(store, TEST_KEY, create=True)
    created = bootstrap(s, "Publisher", "alice")
    s.close()
    port = free_port()
    log_path = base / "serve.log"
    command = [sys.executable, "-m", "workbench.cli", "serve", "--store", str(store),
               "--host", "127.0.0.1", "--port", str(port), "--engine", engine,
               "--external-database", "lake"]
    for root in roots:
        command += ["--external-root", str(root)]
    for key, value in (spark_conf or {}).items():
        command += ["--spark-conf", f"{key}={value}"]
    env = _java_env(base)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{url}/api/v1/health", proc, timeout=600.0)  # a cold JVM on a busy machine
    except Exception as exc:
        proc.terminate()
        proc.wait(timeout=60)
        raise RuntimeError(log_path.read_text()[-3000:]) from exc
    return Served(engine, url, wb.connect(url, created.token.secret), log_path, proc)


def _stop(served: Served) -> None:
    served.admin.close()
    served.proc.terminate()
    try:
        served.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()


@pytest.fixture(scope="module", params=["duckdb", "spark"])
def served(request: pytest.FixtureRequest, data_root: Path, catalog: Catalog,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    conf = None
    if request.param == "spark":
        if not spark_available():
            pytest.skip("PySpark or Java is missing: pip install -e '.[spark]' and install Java 17")
        assert catalog.writer is not None
        out, _ = catalog.writer.communicate(timeout=900)
        assert catalog.writer.returncode == 0, out.decode()[-3000:]
        conf = {**catalog.conf, **TINY_DATA}
    service = _serve(tmp_path_factory.mktemp(f"serve-{request.param}"), request.param,
                     [data_root, BUCKET], conf)
    yield service
    _stop(service)


def test_external_connections_end_to_end(served: Served, data_root: Path) -> None:
    owner = served.admin
    created = owner.create_org("Advertiser", "ada")
    partner = wb.connect(served.url, created.token.secret)
    try:
        pub = owner.connect_external("publisher users", "publisher", identity_column="email",
                                     identity_kind="email")
        # a file:// URI, scheme in mixed case (schemes are case-insensitive), host "localhost"
        uri = "FiLe://localhost" + (data_root / "advertiser").as_uri().removeprefix("file://")
        adv = partner.connect_external("customers", uri, format="delta",
                                       identity_column="email_sha", identity_kind="sha256")
        # registered in place: counts, hashing mode and a digest; the stale Delta file is not read
        assert (pub.files, pub.identity_mode, pub.connection.rows_read) == (2, "hash_at_read", N_USERS)
        assert pub.connection.distinct_identities == N_USERS
        assert (adv.files, adv.identity_mode, adv.connection.rows_read) == (2, "prehashed", N_CUSTOMERS)
        assert adv.location == "advertiser"
        assert len(pub.content_digest) == 64 and pub.content_digest != adv.content_digest
        again = owner.connect_external("publisher users again", "publisher/", identity_column="email",
                                       identity_kind="email")
        assert again.content_digest == pub.content_digest
        owner.delete_connection(again.connection.id)

        room, question, pds = _room(owner, partner, created.org.id, pub.connection.id,
                                    adv.connection.id, "External data room")
        run = owner.run(room.id, question.id, {"min_amount": 0}, epsilon="5")
        assert run.status == "succeeded"
        result = owner.run_result(room.id, run.id)
        assert result.columns[:2] == ["region", "age_band"]
        # every public key group: the smallest holds about 60 matched people, far above k-min
        assert {tuple(r[:2]) for r in result.rows} == {(r, b) for r in demo.REGIONS for b in demo.BANDS}
        assert "engine_seconds" not in result.metadata
        if served.engine == "spark":
            assert "spark ran a compiled question" in served.log.read_text()

        events = owner.audit(room_id=room.id, action="run.completed")
        assert [e.resource_id for e in events] == [run.id]
        registered = partner.audit(action="data.connection.create")
        assert any(e.resource_id == adv.connection.id and e.detail.get("external") == "delta"
                   and e.detail.get("content_digest") == adv.content_digest for e in registered)

        gone = owner.unprovision_dataset(room.id, pds.id)
        assert gone.datasets_unlinked == 1 and gone.derived_removed >= 1
        assert owner.runs(room.id) == []
        owner.delete_connection(pub.connection.id)
        partner.delete_connection(adv.connection.id)
        assert owner.connections() == [] and partner.connections() == []
        # zero-copy both ways: nothing was copied in, and deleting removes none of their files
        assert len(list((data_root / "publisher").glob("*.parquet"))) == 2
        assert (data_root / "advertiser" / "part-stale.parquet").exists()
    finally:
        partner.close()


def _room(owner: wb.Client, partner: wb.Client, partner_org: str, pub_id: str, adv_id: str,
          name: str) -> tuple[Any, Any, Any]:
    """A room over two connections (publisher: email, region, age_band; advertiser: email_sha,
    amount) with rules, template, mapping and the demo reach question."""
    room = owner.create_room(name, k_min=5, epsilon_budget="10")
    owner.invite_partner(room.id, partner_org)
    partner.accept_invitation(room.id)
    pds = owner.provision_dataset(room.id, pub_id, "publisher users")
    owner.set_analysis_rules(room.id, pds.id, [
        {"name": "email", "join": True, "aggregations": ["COUNT_DISTINCT"]},
        {"name": "region", "group_by": True, "public_values": demo.REGIONS},
        {"name": "age_band", "group_by": True, "public_values": demo.BANDS}])
    ads = partner.provision_dataset(room.id, adv_id, "customers")
    partner.set_analysis_rules(room.id, ads.id, [
        {"name": "email_sha", "join": True},
        {"name": "amount", "aggregations": ["SUM", "AVG"], "lower": 0, "upper": 250}])
    owner.set_template(room.id, [
        {"macro": "publisher", "party": "owner",
         "fields": [{"macro": "email"}, {"macro": "region"}, {"macro": "age_band"}]},
        {"macro": "advertiser", "party": partner_org,
         "fields": [{"macro": "email"}, {"macro": "amount"}]},
    ], runs="all", receives="owner")
    owner.map_dataset(room.id, "publisher", pds.id,
                      {"email": "email", "region": "region", "age_band": "age_band"})
    partner.map_dataset(room.id, "advertiser", ads.id, {"email": "email_sha", "amount": "amount"})
    question = owner.create_question(room.id, "reach", demo.REACH_SQL, parameters=[
        {"name": "min_amount", "type": "number", "default": 0, "minimum": 0}])
    owner.add_question(room.id, question.id)
    return room, question, pds


@pytest.fixture(scope="module")
def partner_of(served: Served) -> Iterator[tuple[wb.Client, str]]:
    """A second organisation on the service (the advertiser) and its client."""
    created = served.admin.create_org("Advertiser B", "bea")
    client = wb.connect(served.url, created.token.secret)
    yield client, created.org.id
    client.close()


def _attack_locations(data_root: Path) -> list[tuple[str, str]]:
    outside = data_root.parent / "outside"
    link = data_root / "escape"
    if not link.exists():
        link.symlink_to(outside, target_is_directory=True)
    linked_dir = data_root / "mixed"
    if not linked_dir.exists():
        linked_dir.mkdir()
        (linked_dir / "ok.parquet").write_bytes((data_root / "publisher" / "part-0.parquet").read_bytes())
        (linked_dir / "inner").symlink_to(outside, target_is_directory=True)
    evil_delta = data_root / "evil_delta"
    if not evil_delta.exists():
        (evil_delta / "_delta_log").mkdir(parents=True)
        (evil_delta / "_delta_log" / f"{0:020d}.json").write_text(json.dumps(
            {"add": {"path": "../../outside/secret.parquet"}}) + "\n")
    hidden = data_root / ".hidden"
    hidden.mkdir(exist_ok=True)
    (hidden / "x.parquet").write_bytes((outside / "secret.parquet").read_bytes())
    return [
        ("dot-dot out of the root", "../outside/secret.parquet"),
        ("dot-dot inside an absolute path", f"{data_root}/publisher/../../outside/secret.parquet"),
        ("absolute path outside", str(outside / "secret.parquet")),
        ("system file", "/etc/passwd"),
        ("file URI outside", (outside / "secret.parquet").as_uri()),
        ("remote URI", "s3://bucket/secret.parquet"),
        ("symlink to outside", "escape/secret.parquet"),
        ("directory holding a symlink", "mixed"),
        ("hidden directory", ".hidden"),
        ("NUL byte", "publisher\x00/../../outside"),
        ("file URI dot-dot", f"file://{data_root}/../outside/secret.parquet"),
        ("file URI /root/../etc", "file:///root/../etc/passwd"),
        ("file URI encoded dots", f"file://{data_root}/%2e%2e/outside/secret.parquet"),
        ("file URI encoded slash and dots", f"file://{data_root}/publisher%2F%2E%2E%2F%2E%2E%2Foutside"),
        ("file URI double-encoded dots", f"file://{data_root}/%252e%252e/outside/secret.parquet"),
        ("file URI mixed-case scheme outside", "FiLe://" + str(outside / "secret.parquet")),
        ("file URI with a host", f"file://evil.example{data_root}/publisher"),
        ("file URI without slashes", f"file:{outside}/secret.parquet"),
        ("file URI encoded NUL", f"file://{data_root}/publisher%00/../../outside"),
        ("URI prefix dot-dot", f"{BUCKET}/../private/x.parquet"),
        ("URI prefix encoded dot-dot", f"{BUCKET}/%2e%2e/private"),
        ("URI prefix boundary", f"{BUCKET}-private/x.parquet"),
        ("URI with user info", "s3a://admin@lake-bucket/shared/x"),
        ("URI another scheme", "s3://lake-bucket/shared/x"),
        ("URI with a query", f"{BUCKET}/x?versionId=1"),
        ("URI with a glob", f"{BUCKET}/*"),
        ("scheme without slashes", "s3a:lake-bucket/shared/x"),
        ("scheme inside a scheme", f"parquet:{BUCKET}/x"),
    ]


@pytest.mark.parametrize("index", range(28))
def test_path_escapes_are_refused_and_change_nothing(index: int, served: Served,
                                                     data_root: Path) -> None:
    if served.engine != "duckdb":
        pytest.skip("path checks run before any engine; once is enough")
    what, location = _attack_locations(data_root)[index]
    owner = served.admin
    before = owner.connections()
    with pytest.raises(InvalidInput, match="external|symbolic|hidden|malformed|roots"):
        owner.connect_external(f"attack {index}", location, identity_column="email",
                               identity_kind="email")
    assert owner.connections() == before, what


def test_delta_log_cannot_point_outside_its_table(served: Served, data_root: Path) -> None:
    if served.engine != "duckdb":
        pytest.skip("path checks run before any engine; once is enough")
    _attack_locations(data_root)
    with pytest.raises(InvalidInput, match="outside its table"):
        served.admin.connect_external("evil delta", "evil_delta", format="delta",
                                      identity_column="email", identity_kind="email")


def test_question_sql_cannot_read_files_even_under_the_root(served: Served, data_root: Path) -> None:
    """The store may read the roots (for connections' views), but question SQL names only macros."""
    if served.engine != "duckdb":
        pytest.skip("the checks run before any engine; once is enough")
    owner = served.admin
    room = owner.create_room("Attack room", k_min=5)
    path = data_root / "publisher" / "part-0.parquet"
    for sql in (f"SELECT COUNT(*) AS n FROM read_parquet('{path}')",
                f"SELECT COUNT(*) AS n FROM '{path}'",
                f"SELECT COUNT(*) AS n FROM ds.x_00000000000000000000000000000000"):
        with pytest.raises((RuleViolation, InvalidInput)):
            owner.create_question(room.id, "read files", sql)


def test_a_service_without_roots_reads_no_external_data(tmp_path: Path, data_root: Path) -> None:
    service = _serve(tmp_path, "duckdb", [])
    try:
        with pytest.raises(InvalidInput, match="--external-root"):
            service.admin.connect_external("x", str(data_root / "publisher"),
                                           identity_column="email", identity_kind="email")
    finally:
        _stop(service)


def test_a_uri_under_a_prefix_is_read_only_by_spark(served: Served) -> None:
    """The prefix is allowed on both services; DuckDB refuses it, Spark tries to read it (no
    s3a file system and no network here: the refusal is Spark's, reported without its text)."""
    owner = served.admin
    for location in (f"{BUCKET}/sales", "S3A://Lake-Bucket/shared/sales/"):
        if served.engine == "duckdb":
            with pytest.raises(InvalidInput, match="--engine spark"):
                owner.connect_external("bucket", location, identity_column="email",
                                       identity_kind="email")
        else:
            with pytest.raises(InvalidInput, match="Spark could not read 's3a://lake-bucket/shared/sales'"):
                owner.connect_external("bucket", location, identity_column="email",
                                       identity_kind="email")
    assert "bucket" not in {c.name for c in owner.connections()}


def test_catalog_tables_end_to_end_on_spark(served: Served, catalog: Catalog,
                                            partner_of: tuple[wb.Client, str]) -> None:
    owner, (partner, partner_org) = served.admin, partner_of
    if served.engine == "duckdb":
        with pytest.raises(InvalidInput, match="catalog table.*--engine spark"):
            owner.connect_external("catalog", "lake.customers", format="table",
                                   identity_column="email_sha", identity_kind="sha256")
        return
    pub = owner.connect_external("catalog users", "lake.publisher_users", format="table",
                                 identity_column="email", identity_kind="email")
    adv = partner.connect_external("catalog customers", "LAKE.customers", format="table",
                                   identity_column="email_sha", identity_kind="sha256")
    assert adv.location == "spark_catalog.lake.customers" and adv.files >= 1
    assert (pub.identity_mode, pub.connection.rows_read) == ("hash_at_read", N_USERS)
    assert pub.connection.distinct_identities == N_USERS
    assert (adv.connection.rows_read, adv.connection.rows_kept) == (N_CUSTOMERS, N_CUSTOMERS)
    assert len(adv.content_digest) == 64
    # copied nothing: the warehouse still holds the only copy of the data
    assert not list(Path(served.log.parent / "store").rglob("*.parquet"))
    room, question, _ = _room(owner, partner, partner_org, pub.connection.id, adv.connection.id,
                              "Catalog room")
    run = owner.run(room.id, question.id, {"min_amount": 0}, epsilon="1")
    assert run.status == "succeeded"
    rows = owner.run_result(room.id, run.id).rows
    assert {tuple(r[:2]) for r in rows} == {(r, b) for r in demo.REGIONS for b in demo.BANDS}
    assert [e.resource_id for e in owner.audit(room_id=room.id, action="run.completed")] == [run.id]

    for location, refusal in (("private.customers", "not one this service may read"),
                              ("lake.v_customers", "view, not a table"),
                              ("lake.missing", "no table 'lake.missing'"),
                              ("customers", "not a catalog table name"),
                              ("global_temp.customers", "not one this service may read"),
                              ("lake.customers; DROP TABLE lake.customers", "not a catalog table")):
        with pytest.raises(InvalidInput, match=refusal):
            partner.connect_external("catalog attack", location, format="table",
                                     identity_column="email_sha", identity_kind="sha256")
    assert "catalog attack" not in {c.name for c in partner.connections()}


def test_changed_data_refuses_the_run_before_reading_or_charging(
        served: Served, data_root: Path, catalog: Catalog,
        partner_of: tuple[wb.Client, str]) -> None:
    """Registered data rewritten afterwards: the run is refused, nothing is charged or kept."""
    owner, (partner, partner_org) = served.admin, partner_of
    changing = data_root / f"changing-{served.engine}"
    shutil.copytree(data_root / "publisher", changing)
    pub = owner.connect_external(f"changing {served.engine}", changing.name,
                                 identity_column="email", identity_kind="email")
    if served.engine == "spark":  # a catalog table whose files are rewritten in the warehouse
        adv = partner.connect_external("changing customers", "lake.changing", format="table",
                                       identity_column="email_sha", identity_kind="sha256")
        rewritten = sorted((catalog.warehouse / "lake.db" / "changing").glob("part-*"))[0]
    else:
        adv = partner.connect_external("changing customers", str(data_root / "advertiser"),
                                       format="delta", identity_column="email_sha",
                                       identity_kind="sha256")
        rewritten = changing / "part-0.parquet"
    room, question, _ = _room(owner, partner, partner_org, pub.connection.id, adv.connection.id,
                              f"Changing room {served.engine}")
    first = owner.run(room.id, question.id, {"min_amount": 0}, epsilon="1")
    assert first.status == "succeeded"
    # the same bytes with a new modification time: hashed again, equal, the run goes ahead
    os.utime(rewritten, ns=(rewritten.stat().st_atime_ns, rewritten.stat().st_mtime_ns + 10**9))
    assert owner.run(room.id, question.id, {"min_amount": 0}, epsilon="1").status == "succeeded"
    budget, runs = owner.budget(room.id), owner.runs(room.id)

    table = pq.read_table(rewritten)
    pq.write_table(table.slice(0, table.num_rows - 1), rewritten)  # one row fewer
    # as a Hadoop writer would: no stale checksum beside the new bytes (Spark's local file
    # system would report a checksum error, not the change)
    rewritten.with_name(f".{rewritten.name}.crc").unlink(missing_ok=True)
    with pytest.raises(InvalidInput, match="changed since it was registered.*charged nothing"):
        owner.run(room.id, question.id, {"min_amount": 0}, epsilon="1")
    assert owner.budget(room.id) == budget and owner.runs(room.id) == runs
    refused = owner.audit(room_id=room.id, action="run.refused")
    assert [e.outcome for e in refused if "changed since" in (e.reason or "")] == ["denied"]

"""Audiences and twins read through the store's DuckDB: a dataset whose data only Spark reads (a
URI or a catalog table) is refused before anything is charged, never read as empty."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.audiences.conftest import add_user_list
from workbench.data import _external_records as ext
from workbench.service.local import local_app


def _make_spark_only(store, dataset_id: str) -> None:
    """What registering a Spark catalog table leaves in the store, in place of an upload."""
    with store.transaction() as cur:
        conn_id, table = cur.execute(
            "SELECT c.id, c.table_name FROM provisioned_datasets p JOIN data_connections c"
            " ON c.id = p.connection_id WHERE p.id = ?", [dataset_id]).fetchone()
        cols = cur.execute("SELECT name, type FROM data_columns WHERE connection_id = ?"
                           " ORDER BY position", [conn_id]).fetchall()
        cur.execute(f"DROP TABLE ds.{table}")
        ext.create_spark_only_view(cur, table, cols, "read by Spark only")
        ext.insert_external(cur, ext.ExternalRecord(
            connection_id=conn_id, format="table", location="spark_catalog.lake.sales", files=[],
            select_sql="SELECT * FROM __external", content_digest="0" * 64,
            identity_mode="prehashed", reader="spark", catalog_table="spark_catalog.lake.sales",
            file_stats="[]"))


def test_spark_only_data_is_refused_before_any_charge(room, store_dir):
    store = local_app(store_dir).state.store
    qid = add_user_list(room)
    _make_spark_only(store, room.advertiser_dataset)
    before = (room.owner.budget(room.id).epsilon_spent, room.partner.budget(room.id).epsilon_spent)
    attempts = [
        lambda: room.owner.match_rates(room.id, epsilon="1"),
        lambda: room.owner.create_cohort(room.id, "buyers", qid, {"min_amount": 0}, epsilon="1"),
        lambda: room.partner.publish_twin(room.id, room.advertiser_dataset, epsilon="1",
                                          bounds={"amount": [0, 1000]}),
    ]
    for attempt in attempts:
        with pytest.raises(wb.InvalidInput, match="--engine spark"):
            attempt()
    assert (room.owner.budget(room.id).epsilon_spent,
            room.partner.budget(room.id).epsilon_spent) == before


def test_a_spark_only_view_fails_however_it_is_read(admin, store_dir):
    store = local_app(store_dir).state.store
    with store.transaction() as cur:
        ext.create_spark_only_view(cur, "only_spark", [("email", "text"), ("amount", "double")],
                                   "read by Spark only")
    with store.reader() as cur:
        for sql in ("SELECT count(*) FROM ds.only_spark WHERE email IS NOT NULL",
                    "SELECT email FROM ds.only_spark WHERE amount > 5",
                    "SELECT 1 FROM ds.only_spark JOIN range(3) r ON email = r.range::VARCHAR"):
            with pytest.raises(Exception, match="read by Spark only"):
                cur.execute(sql).fetchall()

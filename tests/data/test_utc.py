"""Dates the data package handles are UTC (issue 10.10): uploaded instants with a time zone are
stored as their UTC time, and CURRENT_DATE in a row filter is today's date in UTC."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.data import files
from workbench.data.row_filter import check_row_filter


def _parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def test_instants_with_a_zone_are_stored_as_utc_time():
    paris = dt.timezone(dt.timedelta(hours=2))
    data = _parquet(pa.table({
        "email": ["a@x.com", "b@x.com"],
        "seen": pa.array([dt.datetime(2026, 6, 1, 12, 0, tzinfo=paris), dt.datetime(2026, 6, 1, 1, 30, tzinfo=paris)],
                         pa.timestamp("ms", tz="+02:00")),
        "naive": pa.array([dt.datetime(2026, 6, 1, 12, 0)] * 2, pa.timestamp("s")),
    }))
    parsed = files.parse_parquet(data)
    assert [c.type for c in parsed.columns] == ["text", "timestamp", "timestamp"]
    assert parsed.table.schema.field("seen").type == pa.timestamp("us")  # no zone left to reinterpret
    assert parsed.table.column("seen").to_pylist() == [dt.datetime(2026, 6, 1, 10, 0), dt.datetime(2026, 5, 31, 23, 30)]
    assert parsed.table.column("naive").to_pylist() == [dt.datetime(2026, 6, 1, 12, 0)] * 2


def test_current_date_in_a_row_filter_is_the_utc_date():
    assert "CURRENT_TIMESTAMP AT TIME ZONE 'UTC'" in check_row_filter("d >= current_date - 7", ["d"])


def test_a_row_filter_on_today_works_over_a_live_service(live_service):
    client = live_service.client(live_service.admin_token)
    today = dt.datetime.now(dt.timezone.utc).date()
    days = [today - dt.timedelta(days=i) for i in range(20)]
    csv = "email,day\n" + "".join(f"u{i}@x.com,{d.isoformat()}\n" for i, d in enumerate(days))
    conn = client.connect_dataset(csv.encode(), f"days {uuid.uuid4().hex[:6]}", file_name="d.csv",
                                  identity_column="email", identity_kind="email", progress=False)
    room = client.create_room(f"utc {uuid.uuid4().hex[:6]}", k_min=1)
    ds = client.provision_dataset(room.id, conn.id, "recent", row_filter="day > current_date - 7")
    assert ds.row_count == 7

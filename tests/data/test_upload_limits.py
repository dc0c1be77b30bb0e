"""Upload limits over a live service (issue 10.6): uploads in flight per user, the staging byte
budget, and decoded-size limits checked while decoding (decompression bombs, very wide CSVs).

The service of this module starts with small limits (set before it starts), so the attacks stay
small files: a Parquet file of a few kilobytes that decodes to megabytes, a CSV of empty cells.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import workbench as wb
from workbench.errors import Busy, PayloadTooLarge

from .conftest import emails_csv

LIMITS = {
    "WORKBENCH_MAX_UPLOADS_IN_FLIGHT": "2",
    "WORKBENCH_STAGING_BYTES": "6000000",
    "WORKBENCH_MAX_DECODED_CELLS": "200000",
    "WORKBENCH_MAX_EXPANSION": "20",
    "WORKBENCH_DECODED_FLOOR_BYTES": "1000000",
}


@pytest.fixture(scope="module", autouse=True)
def _small_limits():
    """Runs before the module's live service starts (autouse fixtures come first in a scope)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in LIMITS.items():
            mp.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def client(live_service) -> wb.Client:
    return live_service.client(live_service.admin_token)


def _parquet(table: pa.Table, **kw) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **kw)
    return out.getvalue()


def test_a_user_has_at_most_n_uploads_in_flight(client):
    first = client.start_upload("a.csv", 100)
    second = client.start_upload("b.csv", 100)
    with pytest.raises(Busy, match="2 uploads in progress.*cancel one") as info:
        client.start_upload("c.csv", 100)
    assert info.value.details["limit"] == 2
    client.cancel_upload(first.id)
    third = client.start_upload("c.csv", 100)
    for up in (second, third):
        client.cancel_upload(up.id)


def test_staged_bytes_have_a_budget_for_the_whole_service(live_service, client):
    other = live_service.make_org("Budget Co").admin
    held = client.start_upload("big.csv", 5_000_000)
    with pytest.raises(Busy, match="staging budget of 6,000,000 bytes"):
        other.start_upload("more.csv", 2_000_000)
    client.cancel_upload(held.id)
    other.cancel_upload(other.start_upload("more.csv", 2_000_000).id)


def test_a_parquet_bomb_is_refused_while_decoding(client):
    """150k copies of one number: 1.2 MB decoded from a file of a few KB, whose footer claims
    little; the second decoded batch passes the 1 MB limit and decoding stops there. Nothing is
    kept and the slot is free again."""
    bomb = _parquet(pa.table({"email": pa.array(np.zeros(150_000, dtype=np.int64))}))
    assert len(bomb) * 20 < 1_000_000
    with pytest.raises(PayloadTooLarge, match="decodes to more than 1,000,000 bytes"):
        client.upload(bomb, file_name="bomb.parquet", progress=False)
    ok = client.upload(emails_csv(10), file_name="ok.csv", progress=False)
    assert ok.rows == 10
    client.cancel_upload(ok.upload_id)


def test_a_parquet_footer_claiming_too_many_cells_is_refused_before_decoding(client):
    bomb = _parquet(pa.table({"email": pa.array(np.zeros(300_000, dtype=np.int8))}))
    with pytest.raises(PayloadTooLarge, match="more than 200,000 cells"):
        client.upload(bomb, file_name="tall.parquet", progress=False)


def test_a_dictionary_bomb_whose_footer_looks_small_is_refused_while_decoding(client):
    """One 50 kB text repeated 400 times, dictionary-encoded: the decoded batches (counted after
    expanding the dictionary) pass the limit, so decoding stops there."""
    value = "x" * 50_000
    table = pa.table({"email": pa.array([value] * 400).dictionary_encode()})
    bomb = _parquet(table, compression="zstd", row_group_size=100)
    assert len(bomb) * 20 < 1_000_000 < 400 * 50_000
    with pytest.raises(PayloadTooLarge, match="decodes to more than 1,000,000 bytes"):
        client.upload(bomb, file_name="dict.parquet", progress=False)


def test_a_csv_with_very_many_cells_is_refused_while_decoding(client):
    """400 columns of empty cells: each cell is one byte in the file; 250k cells pass the limit."""
    header = ",".join(f"c{i}" for i in range(400))
    wide = (header + "\n" + "\n".join("," * 399 for _ in range(625)) + "\n").encode()
    with pytest.raises(PayloadTooLarge, match="more than 200,000 cells"):
        client.upload(wide, file_name="wide.csv", progress=False)


def test_a_csv_with_more_columns_than_supported_is_refused_at_its_header(client):
    header = ",".join(f"c{i}" for i in range(5_000))
    with pytest.raises(wb.InvalidInput, match="5000 columns; at most 500"):
        client.upload((header + "\n" + "," * 4_999 + "\n").encode(), file_name="w.csv", progress=False)


def test_refused_uploads_leave_nothing_staged(client):
    """After the bombs above, both in-flight slots and the whole budget are free."""
    ups = [client.start_upload(f"{i}.csv", 2_900_000) for i in range(2)]
    for up in ups:
        client.cancel_upload(up.id)

"""The store at rest: encrypted (no names in plaintext, WAL included) and unreadable without the key."""

from __future__ import annotations

import os
import stat

import pytest

import workbench as wb
from workbench.service.local import close_local
from workbench.store import Store, create_key_file, read_key

from tests.conftest import TEST_KEY

NAMES = ["Zanzibar Media Group", "Quokka Retail Holdings", "Room of Vermilion Secrets", "Xavier Plimpton"]


def _all_bytes(store_dir) -> bytes:
    return b"".join(p.read_bytes() for p in store_dir.iterdir() if p.is_file())


def test_no_names_in_plaintext_before_and_after_checkpoint(publisher, store_dir, make_org) -> None:
    other = make_org(NAMES[0])
    admin = publisher.admin
    admin.create_org(NAMES[1], "ops")
    room = admin.create_room(NAMES[2], description="quarterly reach")
    admin.create_user(NAMES[3])
    admin.invite_partner(room.id, other.id)
    data = _all_bytes(store_dir)          # WAL not yet checkpointed
    close_local(store_dir)                 # checkpoint into the main file
    data += _all_bytes(store_dir)
    assert len(data) > 10_000
    for name in NAMES + ["quarterly reach"]:
        assert name.encode() not in data
        assert name.encode("utf-16-le") not in data


def test_wrong_key_is_refused(publisher, store_dir) -> None:
    close_local(store_dir)
    with pytest.raises(wb.InvalidInput, match="wrong key or damaged file"):
        Store.open(store_dir, "x" * 32)


def test_key_file_is_owner_only(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WORKBENCH_STORE_KEY", raising=False)
    path = create_key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_key(tmp_path)) == 64
    with pytest.raises(FileExistsError):
        create_key_file(tmp_path)
    os.chmod(path, 0o644)
    with pytest.raises(wb.InvalidInput, match="chmod 600"):
        read_key(tmp_path)


def test_store_sql_cannot_read_files(publisher, store_dir) -> None:
    from workbench.service.local import local_app

    store = local_app(store_dir).state.store
    with store.reader() as cur:
        with pytest.raises(Exception, match="disabled by configuration"):
            cur.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(Exception, match="locked"):
            cur.execute("SET enable_external_access = true")


def test_a_store_in_use_says_so(publisher, store_dir) -> None:
    import subprocess
    import sys

    code = f"from workbench.store import Store; Store.open({str(store_dir)!r}, {TEST_KEY!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "in use by another process" in done.stderr

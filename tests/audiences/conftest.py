"""Audience rooms: the runs tests' two-party room with a publisher dataset that has features
(segment, visits) that predict who bought from the advertiser, and an activation root."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from tests.runs.room import Room, advertiser_frame, build_room
from workbench.audiences.destinations import ROOT_ENV
from workbench.demo import BANDS, REGIONS

N = 600
BUYERS_SQL = ("SELECT p.email FROM publisher p JOIN advertiser a ON p.email = a.email "
              "WHERE a.amount >= :min_amount")
ADVERTISER_SQL = ("SELECT a.email FROM publisher p JOIN advertiser a ON p.email = a.email")


def digest(email: str) -> str:
    """The stored form of an email identity."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def publisher_with_features(n: int = N) -> pd.DataFrame:
    """Even users (the advertiser's buyers) mostly read sport and visit often."""
    return pd.DataFrame({
        "email": [f"User{i}@Example.com " for i in range(n)],
        "region": [REGIONS[i % 4] for i in range(n)],
        "age_band": [BANDS[i % 3] for i in range(n)],
        "segment": ["sport" if (i % 2 == 0) != (i % 7 == 0) else "news" for i in range(n)],
        "visits": [(20 + i % 5) if i % 2 == 0 else (i % 6) for i in range(n)],
        "phone": [f"+44 7700 {i:06d}" for i in range(n)],
    })


def advertiser_with_strangers() -> pd.DataFrame:
    """The runs tests' 200 buyers (publisher users 0, 2, 4...) plus 50 people only the
    advertiser knows: their digests must never reach an export."""
    buyers = advertiser_frame()
    strangers = pd.DataFrame({"email": [f"stranger{i}@example.org" for i in range(50)],
                              "amount": [10.0] * 50})
    return pd.concat([buyers, strangers], ignore_index=True)


def stranger_digests() -> set[str]:
    """Digests of the advertiser-only people."""
    return {digest(f"stranger{i}@example.org") for i in range(50)}


def buyer_digests() -> set[str]:
    """Digests of the publisher's users who bought (the matched cohort at min_amount 0)."""
    return {digest(f"user{2 * i}@example.com") for i in range(200)}


@pytest.fixture
def activation_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The service's activation root (the in-process service reads the setting per call)."""
    root = tmp_path / "exports"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root


class _PhoneIsPII:
    """The owner's client, labelling the publisher's phone column PII when it connects data."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def connect_dataset(self, *args, **kwargs):
        return self._client.connect_dataset(*args, pii=["phone"], **kwargs)


@pytest.fixture
def room(admin, make_org) -> Room:
    """DP on, k-min 5, a generous budget; the publisher's phone column labelled PII."""
    built = build_room(_PhoneIsPII(admin), make_org, dp=True, k_min=5, epsilon_budget="50",
                       publisher=publisher_with_features(),
                       advertiser=advertiser_with_strangers())
    built.owner = admin
    return built


def add_user_list(room: Room, sql: str = BUYERS_SQL, *, author=None) -> str:
    """A user-list question authored by the owner (or ``author``) and added to the room."""
    params = [{"name": "min_amount", "type": "number", "default": 0}] if ":min_amount" in sql \
        else []
    q = (author or room.owner).create_question(room.id, "buyers", sql, parameters=params,
                                               kind="user_list")
    room.owner.add_question(room.id, q.id)
    return q.id

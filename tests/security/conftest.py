"""Fixtures for attacks on the running product: real two-party rooms built through the client.

Every attack in this package goes through ``workbench.client`` or raw HTTP, the way a malicious
partner or analyst would; nothing here opens the store.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.runs.room import Room, build_room


def hashed(email: str) -> str:
    """The stored form of an email identity (trimmed, lowercased, SHA-256), as an attacker
    who knows a target's address would compute it."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@pytest.fixture
def dp_room(admin, make_org) -> Room:
    """Differential privacy on, crowd size 5."""
    return build_room(admin, make_org, dp=True, k_min=5)


@pytest.fixture
def exact_room(admin, make_org) -> Room:
    """Differential privacy off: exact aggregates protected only by crowd size 5."""
    return build_room(admin, make_org, dp=False, k_min=5)


def add(room: Room, sql: str, parameters: list[dict] | None = None, *, author=None) -> str:
    """Author a question (as the owner by default) and add it to the room."""
    q = (author or room.owner).create_question(room.id, "attack", sql, parameters=parameters or [])
    room.owner.add_question(room.id, q.id)
    return q.id

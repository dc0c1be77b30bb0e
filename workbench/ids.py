"""Identifiers: one way to make them and one way to check the ones callers send."""

from __future__ import annotations

import uuid

from workbench.errors import NotFound


def new_id() -> str:
    """A fresh random identifier (UUID4, canonical text form)."""
    return str(uuid.uuid4())


def parse_uuid(value: object, what: str) -> str:
    """The canonical form of a caller's id; anything that is not a UUID is simply not found.

    Answering "not found" rather than "invalid" keeps garbage ids indistinguishable from ids of
    resources the caller may not see.
    """
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value!r}") from None

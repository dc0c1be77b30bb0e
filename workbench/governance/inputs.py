"""Checks of values callers send to governance operations, with errors that name the fix."""

from __future__ import annotations

from workbench.errors import InvalidInput
from workbench.privacy import to_fraction


def required_name(value: str, what: str) -> str:
    """A name without surrounding blanks; a blank name is refused."""
    name = value.strip()
    if not name:
        raise InvalidInput(f"the {what} name must not be blank")
    return name


def budget_text(value: str, what: str) -> str:
    """A budget as an exact fraction string; the one parser of amounts is the privacy package's."""
    return str(to_fraction(value, name=what))

"""Privacy-budget arithmetic: exact numbers, conservative display.

Pure functions over ledger entries; storing the entries (and doing check + reserve in one store
transaction) is the caller's job. Every figure is a ``Fraction`` so no rounding ever lets spending
creep past the budget; figures shown to people are rounded in the safe direction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction
from typing import Literal

from workbench.errors import BudgetExceeded, InvalidInput

State = Literal["reserved", "committed", "released"]
STATES: tuple[State, ...] = ("reserved", "committed", "released")
FIX = "ask the room owner to raise the budget, or plan with a smaller"


#: amounts are 0 or between 1e-60 and 1e60: an exact Fraction of "1e999999999" would take
#: minutes to build (under the store's write lock), and the noise planner works in floats
EXPONENT = 60
_EXPONENT_PART = re.compile(r"[eE]\s*([+-]?\d+)")
_PLAIN_NUMBER = re.compile(r"[0-9.eE+\-/ ]+")


def to_fraction(x: object, *, name: str = "value") -> Fraction:
    """Exactly parse a non-negative, finite amount of budget, 0 or between 1e-60 and 1e60.

    Strings and Decimals are read as written ("0.1" is 1/10, "1/3" and "1e-6" work). A float is
    read as its shortest decimal form, i.e. what was typed: 0.1 is 1/10, not the binary
    0.1000000000000000055...
    """
    out_of_range = InvalidInput(f"{name} must be 0 or between 1e-{EXPONENT} and 1e{EXPONENT}, got {x!r:.70}")
    if isinstance(x, str):
        text = x.strip()
        if len(text) > 64 or any(abs(int(e)) > 10 * EXPONENT for e in _EXPONENT_PART.findall(text)):
            raise out_of_range
        if text.lower().lstrip("+-") not in {"nan", "inf", "infinity", "snan"} and not _PLAIN_NUMBER.fullmatch(text):
            raise InvalidInput(f"{name} must be a number such as 0.5 or 1/3, got {x!r:.70}")
    elif isinstance(x, Decimal) and x.is_finite() and x and abs(x.adjusted()) > 10 * EXPONENT:
        raise out_of_range
    if isinstance(x, bool):
        raise InvalidInput(f"{name} must be a number, got {x!r}")
    try:
        if isinstance(x, Fraction):
            value = x
        elif isinstance(x, int):
            value = Fraction(x)
        elif isinstance(x, float):
            if not math.isfinite(x):
                raise InvalidInput(f"{name} must be finite, got {x!r}")
            value = Fraction(repr(x))
        elif isinstance(x, Decimal):
            if not x.is_finite():
                raise InvalidInput(f"{name} must be finite, got {x!r}")
            value = Fraction(x)
        elif isinstance(x, str):
            text = x.strip()
            if text.lower().lstrip("+-") in {"nan", "inf", "infinity", "snan"}:
                raise InvalidInput(f"{name} must be finite, got {x!r}")
            value = Fraction(text)
        else:
            raise InvalidInput(f"{name} must be a number or numeric string, got {type(x).__name__}")
    except (ValueError, ZeroDivisionError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(f"{name} must be a number such as 0.5 or 1/3, got {x!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative, got {x!r}")
    if value and not Fraction(1, 10**EXPONENT) <= value <= 10**EXPONENT:
        raise out_of_range
    return value


def ledger_state(value: str) -> State:
    """A ledger state read from the store, checked."""
    for state in STATES:
        if value == state:
            return state
    raise InvalidInput(f"unknown ledger state {value!r}; use one of {STATES}")


def display(x: Fraction, *, up: bool, digits: int = 6) -> str:
    """``x`` to ``digits`` significant figures, rounded up (``up``) or down, never the other way."""
    if x == 0:
        return "0"
    ctx = Context(prec=digits, rounding=ROUND_CEILING if up else ROUND_FLOOR)
    value = ctx.divide(Decimal(x.numerator), Decimal(x.denominator))
    return format(value.normalize(ctx), "f") if value.adjusted() > -7 else format(value.normalize(ctx), "e")


@dataclass(frozen=True, kw_only=True)
class Budget:
    """An amount of (epsilon, delta) privacy budget, exact."""

    #: pure-DP part
    epsilon: Fraction
    #: probability of failure part
    delta: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", to_fraction(self.epsilon, name="epsilon"))
        object.__setattr__(self, "delta", to_fraction(self.delta, name="delta"))
        if self.delta > 1:
            raise InvalidInput(f"delta is a probability and must be at most 1, got {self.delta}")

    def __add__(self, other: Budget) -> Budget:
        return Budget(epsilon=self.epsilon + other.epsilon, delta=self.delta + other.delta)

    def covers(self, other: Budget) -> bool:
        """True when this budget is at least ``other`` in both epsilon and delta."""
        return other.epsilon <= self.epsilon and other.delta <= self.delta

    def describe(self, *, up: bool) -> str:
        """Human text, rounded up (amounts spent) or down (amounts left)."""
        return f"epsilon {display(self.epsilon, up=up)}, delta {display(self.delta, up=up)}"


ZERO = Budget(epsilon=Fraction(0), delta=Fraction(0))


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    """One event of one charge in the append-only budget ledger.

    A charge (one run) is ``reserved`` before the mechanism runs, then ``committed`` once the
    result is released, or ``released`` (refunded) if the run failed; runs now commit when they
    start and never release. Entries may be the full event log or just each charge's deciding
    state: both give the same figures. The first commit or release of a charge decides it.
    """

    #: identifies the charge (e.g. the run id); events of one charge share it
    charge_id: str
    #: what happened to the charge
    state: State
    #: the amount reserved or committed
    epsilon: Fraction
    delta: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise InvalidInput(f"unknown ledger state {self.state!r}; use one of {STATES}")
        if not self.charge_id:
            raise InvalidInput("a ledger entry needs a charge_id")
        object.__setattr__(self, "epsilon", to_fraction(self.epsilon, name="epsilon"))
        object.__setattr__(self, "delta", to_fraction(self.delta, name="delta"))

    @property
    def budget(self) -> Budget:
        return Budget(epsilon=self.epsilon, delta=self.delta)


def spent(entries: Iterable[LedgerEntry]) -> Budget:
    """Budget held by the ledger: committed charges, plus reservations not (yet) released.

    Entries are read in ledger order, and a charge's first commit or release decides it: a
    committed charge stays spent whatever comes after it (a release cannot refund noise that was
    already shown), and a released charge stays refunded (a later commit would spend budget that
    no check ever reserved). If a charge has several entries of one kind, the largest counts.
    """
    reserved: dict[str, Budget] = {}
    committed: dict[str, Budget] = {}
    released: set[str] = set()
    for entry in entries:
        charge = entry.charge_id
        if entry.state == "committed":
            if charge not in released:
                committed[charge] = _max(committed.get(charge, ZERO), entry.budget)
        elif entry.state == "reserved":
            reserved[charge] = _max(reserved.get(charge, ZERO), entry.budget)
        elif charge not in committed:
            released.add(charge)
    total = ZERO
    for charge_id in reserved.keys() | committed.keys():
        if charge_id in committed:
            total += committed[charge_id]
        elif charge_id not in released:
            total += reserved[charge_id]
    return total


def _max(a: Budget, b: Budget) -> Budget:
    return Budget(epsilon=max(a.epsilon, b.epsilon), delta=max(a.delta, b.delta))


def remaining(total: Budget, entries: Iterable[LedgerEntry]) -> Budget:
    """What is left of ``total`` after reserved and committed charges (never below zero)."""
    used = spent(entries)
    return Budget(
        epsilon=max(total.epsilon - used.epsilon, Fraction(0)),
        delta=max(total.delta - used.delta, Fraction(0)),
    )


def check_spend(total: Budget, entries: Iterable[LedgerEntry], request: Budget, *,
                whose: str = "", fix: str = FIX) -> None:
    """Refuse a charge that does not fit in what is left, with the figures and the fix.

    ``whose`` names the budget (a party, a data connection) when there are several; ``fix`` is
    the start of the advice, completed with the amount that ran out. Figures are conservative for
    display: the request is rounded up, what is left rounded down.
    """
    left = remaining(total, entries)
    if left.covers(request):
        return
    too_much = "epsilon" if request.epsilon > left.epsilon else "delta"
    requested = request.describe(up=True)
    remains = left.describe(up=False)
    of = f" of {whose}" if whose else ""
    raise BudgetExceeded(
        f"not enough privacy budget{of}: this needs {requested} but only {remains} is left; "
        f"{fix} {too_much}.",
        requested=requested,
        remaining=remains,
    )

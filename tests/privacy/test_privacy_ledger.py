"""Budget arithmetic: exact parsing, safe rounding, and a ledger that never overspends."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import BudgetExceeded, InvalidInput
from workbench.privacy import Budget, LedgerEntry, check_spend, display, remaining, spent, to_fraction

# --- to_fraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0.1", Fraction(1, 10), id="decimal-string"),
        pytest.param(0.1, Fraction(1, 10), id="float-as-typed"),
        pytest.param("1/3", Fraction(1, 3), id="ratio-string"),
        pytest.param("1e-6", Fraction(1, 10**6), id="exponent-string"),
        pytest.param(" 2 ", Fraction(2), id="whitespace"),
        pytest.param(3, Fraction(3), id="int"),
        pytest.param(Decimal("0.25"), Fraction(1, 4), id="decimal"),
        pytest.param(Fraction(2, 7), Fraction(2, 7), id="fraction"),
        pytest.param(0, Fraction(0), id="zero"),
    ],
)
def test_to_fraction_reads_values_exactly(value, expected) -> None:
    assert to_fraction(value) == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        pytest.param(-0.5, "must not be negative", id="negative"),
        pytest.param("-1/3", "must not be negative", id="negative-string"),
        pytest.param(float("nan"), "finite", id="nan"),
        pytest.param(float("inf"), "finite", id="inf"),
        pytest.param("inf", "finite", id="inf-string"),
        pytest.param("NaN", "finite", id="nan-string"),
        pytest.param(Decimal("NaN"), "finite", id="nan-decimal"),
        pytest.param("lots", "such as 0.5", id="garbage"),
        pytest.param("1/0", "such as 0.5", id="zero-denominator"),
        pytest.param(True, "must be a number", id="bool"),
        pytest.param(None, "must be a number", id="none"),
    ],
)
def test_to_fraction_rejects_what_is_not_a_budget(value, match) -> None:
    with pytest.raises(InvalidInput, match=match):
        to_fraction(value)


@given(st.decimals(min_value=0, max_value=10**6, allow_nan=False, allow_infinity=False, places=12))
def test_to_fraction_is_exact_for_decimal_text(d: Decimal) -> None:
    assert to_fraction(str(d)) == Fraction(d) == to_fraction(d)


@given(st.one_of(st.just(0.0), st.floats(min_value=1e-60, max_value=1e12)))
def test_to_fraction_float_round_trips(x: float) -> None:
    value = to_fraction(x)
    assert float(value) == x
    assert value == Fraction(repr(x))


@given(st.fractions(min_value=0, max_value=10**6, max_denominator=10**12))
def test_to_fraction_of_ratio_text_is_identity(f: Fraction) -> None:
    assert to_fraction(str(f)) == f


@pytest.mark.parametrize("value", ["1e99999999", "1e-61", "1e61", 1e-70, Decimal("1e-999"), "1_0",
                                   "\uff11", "1" * 65])
def test_to_fraction_refuses_sizes_and_spellings_no_budget_means(value) -> None:
    with pytest.raises(InvalidInput, match="between 1e-60 and 1e60|must be a number"):
        to_fraction(value)


def test_tenths_add_up_exactly() -> None:
    assert sum((to_fraction("0.1") for _ in range(10)), Fraction(0)) == 1
    assert to_fraction(0.1) + to_fraction(0.2) == to_fraction(0.3)


@given(st.fractions(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=12))
def test_display_rounds_in_the_safe_direction(x: Fraction, digits: int) -> None:
    assert Fraction(Decimal(display(x, up=True, digits=digits))) >= x
    assert Fraction(Decimal(display(x, up=False, digits=digits))) <= x


# --- check_spend ------------------------------------------------------------------------------


def test_check_spend_message_has_the_figures_and_the_fix() -> None:
    total = Budget(epsilon=Fraction(1), delta=Fraction(0))
    entries = [LedgerEntry(charge_id="r1", state="committed", epsilon=Fraction(2, 3))]
    fix = r"ask the room owner to raise the budget, or plan with a smaller epsilon\.$"
    with pytest.raises(BudgetExceeded, match=fix) as err:
        check_spend(total, entries, Budget(epsilon=Fraction(1, 2)))
    assert err.value.requested == "epsilon 0.5, delta 0"
    assert err.value.remaining == "epsilon 0.333333, delta 0"  # 1/3 rounded down, never overstated
    assert "0.333333" in err.value.message and "0.5" in err.value.message
    assert err.value.details == {"requested": "epsilon 0.5, delta 0", "remaining": "epsilon 0.333333, delta 0"}


def test_check_spend_rounds_the_request_up() -> None:
    with pytest.raises(BudgetExceeded) as err:
        check_spend(Budget(epsilon=Fraction(1, 10)), [], Budget(epsilon=Fraction(2, 3)))
    assert err.value.requested.startswith("epsilon 0.666667")


def test_check_spend_names_delta_when_delta_is_short() -> None:
    total = Budget(epsilon=Fraction(10), delta=Fraction(1, 10**6))
    with pytest.raises(BudgetExceeded, match=r"or plan with a smaller delta\.$"):
        check_spend(total, [], Budget(epsilon=Fraction(1), delta=Fraction(2, 10**6)))


def test_exact_fit_is_allowed() -> None:
    total = Budget(epsilon=Fraction(1), delta=Fraction(1, 10**6))
    entries = [LedgerEntry(charge_id=f"r{i}", state="committed", epsilon="0.1") for i in range(7)]
    check_spend(total, entries, Budget(epsilon="0.3", delta="1e-6"))
    assert remaining(total, entries) == Budget(epsilon="0.3", delta="1e-6")


def test_states() -> None:
    total = Budget(epsilon=Fraction(3))
    entries = [
        LedgerEntry(charge_id="a", state="reserved", epsilon=1),
        LedgerEntry(charge_id="a", state="committed", epsilon=1),
        LedgerEntry(charge_id="b", state="reserved", epsilon=1),
        LedgerEntry(charge_id="b", state="released", epsilon=1),
        LedgerEntry(charge_id="c", state="reserved", epsilon="0.5"),
        LedgerEntry(charge_id="a", state="released", epsilon=1),  # cannot refund what was shown
    ]
    assert spent(entries) == Budget(epsilon="1.5")
    assert remaining(total, entries) == Budget(epsilon="1.5")
    with pytest.raises(InvalidInput, match="unknown ledger state"):
        LedgerEntry(charge_id="x", state="spent", epsilon=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at most 1"):
        Budget(epsilon=1, delta=2)


# --- the ledger never overspends across random histories -------------------------------------

amounts = st.fractions(min_value=0, max_value=2, max_denominator=1000)
ops = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "commit", "release"]),
        st.integers(min_value=0, max_value=5),  # which charge
        amounts,
        st.fractions(min_value=0, max_value=Fraction(1, 10**5), max_denominator=10**7),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(
    total_eps=st.fractions(min_value=0, max_value=3, max_denominator=100),
    total_delta=st.fractions(min_value=0, max_value=Fraction(1, 10**5), max_denominator=10**7),
    history=ops,
)
def test_ledger_never_goes_negative_nor_overspends(total_eps, total_delta, history) -> None:
    total = Budget(epsilon=total_eps, delta=total_delta)
    log: list[LedgerEntry] = []
    state: dict[str, tuple[str, Budget]] = {}
    for op, which, eps, delta in history:
        charge = f"run-{which}"
        current = state.get(charge)
        if op == "reserve" and current is None:
            request = Budget(epsilon=eps, delta=delta)
            before = remaining(total, log)
            try:
                check_spend(total, log, request)
            except BudgetExceeded:
                assert not before.covers(request)
                continue
            assert before.covers(request)
            entry = LedgerEntry(charge_id=charge, state="reserved", epsilon=eps, delta=delta)
        elif op in ("commit", "release") and current is not None:
            # callers may try anything (even release after commit); the arithmetic must hold
            held = current[1]
            entry = LedgerEntry(
                charge_id=charge, state="committed" if op == "commit" else "released",
                epsilon=held.epsilon, delta=held.delta,
            )
        else:
            continue
        log.append(entry)
        state[charge] = (entry.state, current[1] if current else entry.budget)

        used, left = spent(log), remaining(total, log)
        assert total.covers(used), "spending went past the budget"
        assert left.epsilon >= 0 and left.delta >= 0
        assert used + left == total  # exact bookkeeping, no rounding drift
        # the latest-state view gives the same figures as the full event log
        assert spent(_deciding(log).values()) == used


def _deciding(log: list[LedgerEntry]) -> dict[str, LedgerEntry]:
    """Each charge's deciding entry: its first commit or release, else its reservation."""
    out: dict[str, LedgerEntry] = {}
    for e in log:
        if e.charge_id not in out or out[e.charge_id].state == "reserved":
            out[e.charge_id] = e
    return out


def test_a_commit_after_a_release_spends_nothing_more():
    """Found by the property above: a refunded charge committed later would have spent budget
    that a newer reservation had already taken (overspend). The first commit or release decides."""
    total = Budget(epsilon=Fraction(34, 57))
    log = [LedgerEntry(charge_id="a", state="reserved", epsilon=Fraction(4, 7)),
           LedgerEntry(charge_id="a", state="released", epsilon=Fraction(4, 7))]
    check_spend(total, log, Budget(epsilon=Fraction(17, 29)))
    log += [LedgerEntry(charge_id="b", state="reserved", epsilon=Fraction(17, 29)),
            LedgerEntry(charge_id="a", state="committed", epsilon=Fraction(4, 7))]
    assert spent(log) == Budget(epsilon=Fraction(17, 29))
    assert total.covers(spent(log))

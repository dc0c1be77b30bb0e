"""The hash chain: any edit, removal, reorder or type change of an entry is found at its index."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.contract.chain import GENESIS, Entry, canonical, head, link, verify


def build(payloads: list[dict]) -> list[Entry]:
    entries, prev = [], GENESIS
    for payload in payloads:
        entry_hash = link(prev, payload)
        entries.append(Entry(prev_hash=prev, entry_hash=entry_hash, payload=payload))
        prev = entry_hash
    return entries


payloads = st.lists(
    st.fixed_dictionaries({"seq": st.integers(0, 10**6), "epsilon": st.fractions(), "org": st.text(max_size=8)}),
    min_size=2,
    max_size=8,
)


@given(payloads)
def test_an_intact_chain_verifies(items: list[dict]) -> None:
    entries = build(items)
    assert verify(entries) is None
    assert head(entries) == entries[-1].entry_hash


@given(payloads, st.data())
def test_deleting_any_entry_is_found_where_it_was(items: list[dict], data: st.DataObject) -> None:
    entries = build(items)
    index = data.draw(st.integers(0, len(entries) - 2))
    del entries[index]
    assert verify(entries) == index


@given(payloads, st.data())
def test_editing_any_payload_is_found_at_that_entry(items: list[dict], data: st.DataObject) -> None:
    entries = build(items)
    index = data.draw(st.integers(0, len(entries) - 1))
    forged = dict(entries[index].payload, epsilon=entries[index].payload["epsilon"] + 1)
    entries[index] = Entry(prev_hash=entries[index].prev_hash, entry_hash=entries[index].entry_hash, payload=forged)
    assert verify(entries) == index


def test_a_rehashed_forgery_still_breaks_the_next_link() -> None:
    entries = build([{"n": 1}, {"n": 2}, {"n": 3}])
    forged = {"n": 99}
    entries[1] = Entry(prev_hash=entries[1].prev_hash, entry_hash=link(entries[1].prev_hash, forged), payload=forged)
    assert verify(entries) == 2


def test_a_truncated_chain_does_not_extend_a_later_head() -> None:
    entries = build([{"n": 1}, {"n": 2}, {"n": 3}])
    assert verify(entries[2:], start=entries[1].entry_hash) is None
    assert verify(entries[2:], start=entries[2].entry_hash) == 0


@pytest.mark.parametrize(
    ("left", "right"),
    [(1, 1.0), (1, True), (1, "1"), (Fraction(1, 2), 0.5), (None, "None"), ([1], (1,)), ({"a": 1}, [["a", 1]])],
    ids=["int-float", "int-bool", "int-str", "fraction-float", "none-str", "list-tuple", "map-pairs"],
)
def test_canonical_keeps_types_apart(left: object, right: object) -> None:
    if isinstance(left, list) and isinstance(right, tuple):
        assert canonical({"v": left}) == canonical({"v": right})
    else:
        assert canonical({"v": left}) != canonical({"v": right})


def test_canonical_ignores_key_order_and_refuses_unknown_types() -> None:
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    with pytest.raises(TypeError, match="convert it to str"):
        canonical({"v": object()})
    with pytest.raises(ValueError, match="GENESIS"):
        link("nothex", {})

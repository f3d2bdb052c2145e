"""The one-bucket persistent-map writes build exactly what pyrsistent's own writes build."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap, pset

from kcore import persistent
from kcore.persistent import pmap_set, pset_add


class _Colliding:
    """A key whose hash collides with every other one of the same `h`: fills one bucket."""

    def __init__(self, h: int, name: str) -> None:
        self.h, self.name = h, name

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Colliding) and (self.h, self.name) == (other.h, other.name)


_keys = st.one_of(
    st.text(max_size=3),
    st.integers(-50, 50),
    st.builds(_Colliding, st.integers(0, 3), st.sampled_from("abcd")),
)


@given(
    st.lists(st.tuples(_keys, st.integers(0, 3)), max_size=40),
    st.lists(st.tuples(_keys, st.integers(0, 3)), min_size=1, max_size=40),
)
def test_pmap_set_builds_what_pmap_set_builds(start: list[tuple[object, int]], writes: list[tuple[object, int]]) -> None:
    """The same map as `PMap.set` after every write: equal, same size, same iteration order
    (the same buckets), the very same object when nothing changes; across bucket
    collisions, replacements, re-sets of the identical value and growth of the vector."""
    values = [object() for _ in range(4)]
    slow = fast = pmap({k: values[v] for k, v in start})
    for k, v in writes:
        slow2, fast2 = slow.set(k, values[v]), pmap_set(fast, k, values[v])
        assert list(fast2.items()) == list(slow2.items())
        assert len(fast2) == len(slow2)
        assert (fast2 is fast) == (slow2 is slow)
        slow, fast = slow2, fast2


@given(st.lists(_keys, max_size=40), st.lists(_keys, min_size=1, max_size=60))
def test_pset_add_builds_what_pset_add_builds(start: list[object], adds: list[object]) -> None:
    slow = fast = pset(start)
    for k in adds:
        slow2, fast2 = slow.add(k), pset_add(fast, k)
        assert list(fast2) == list(slow2) and len(fast2) == len(slow2)
        assert (fast2 is fast) == (slow2 is slow)
        slow, fast = slow2, fast2


def test_the_one_bucket_writes_know_the_installed_pyrsistent_and_fall_back_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert persistent.layout_known()  # the installed pyrsistent: the fast path is on
    monkeypatch.setattr(persistent, "_LAYOUT_KNOWN", False)
    m = pmap({"a": 1})
    assert persistent.pmap_set(m, "b", 2) == m.set("b", 2)
    assert persistent.pset_add(pset({"a"}), "b") == pset({"a", "b"})

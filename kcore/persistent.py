"""Persistent-map writes without pyrsistent's evolver: the one place that knows its layout.

Owns `pmap_set(m, key, val)` and `pset_add(s, element)`: `m.set(key, val)` and
`s.add(element)`, the identical values, built with one bucket write.

Theory: `PMap.set` builds an evolver over the bucket vector, sets one bucket and freezes
it again: several Python frames for what is one `PVector.set`. Every write to the
cluster state stores through two or three of them (the kind's table, the tables, an
index), so these do that one bucket write themselves and build exactly the value
`set`/`add` would: the same size, the same buckets, each bucket in the same order (so
iteration order is unchanged too). A write that must grow the bucket vector is handed to
`PMap.set` itself.

Rules: the private layout (`_size`, `_buckets`, a PSet's `_map`) is read only here, and
only after the import-time self-check (`layout_known`) found it on a small map grown and
overwritten key by key; without it both functions are `set`/`add` themselves.

Mirrors pyrsistent's `PMap._Evolver.set_with_hash` and `PSet.add` (pyrsistent/_pmap.py,
_pset.py).
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, cast

from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

_K = TypeVar("_K")
_V = TypeVar("_V")
_PMapType: Final[Any] = type(pmap())
_PSetType: Final[Any] = type(pset())


def pmap_set(m: PMap[_K, _V], key: _K, val: _V) -> PMap[_K, _V]:
    """`m.set(key, val)`, the identical value, built with one bucket write (or by
    `m.set` itself when the installed pyrsistent does not have the layout above)."""
    if not _LAYOUT_KNOWN:
        return m.set(key, val)
    return _one_bucket_set(m, key, val)


def _one_bucket_set(m: PMap[_K, _V], key: _K, val: _V) -> PMap[_K, _V]:
    raw: Any = m  # pyrsistent's layout (see above): `_size` and the `_buckets` PVector
    buckets = raw._buckets
    size: int = raw._size
    n = len(buckets)
    index = hash(key) % n
    bucket = buckets[index]
    built: PMap[_K, _V]
    if bucket:
        for k, v in bucket:
            if k == key:
                if v is val:
                    return m
                # `not ==` as pyrsistent's own (it does not rely on `__ne__`)
                replaced = [(k2, v2) if not (k2 == k) else (k2, val) for k2, v2 in bucket]  # noqa: SIM201
                built = _PMapType(size, buckets.set(index, replaced))
                return built
        if n < 0.67 * size:  # PMap.set reallocates first
            return m.set(key, val)
        built = _PMapType(size + 1, buckets.set(index, [(key, val), *bucket]))
        return built
    if n < 0.67 * size:
        return m.set(key, val)
    built = _PMapType(size + 1, buckets.set(index, [(key, val)]))
    return built


def layout_known() -> bool:
    """Whether pyrsistent stores a PMap as `_size` + a `_buckets` PVector of (key, value)
    lists and a PSet as a PMap `_map`, so the one-bucket writes build what `set`/`add`
    would: checked once at import on a small map grown and overwritten key by key."""
    try:
        m: Any = pmap()
        fast: Any = pmap()
        for i in (*range(40), *range(0, 40, 3)):
            m = m.set(i, -i)
            fast = _one_bucket_set(fast, i, -i)
            if fast != m or list(fast.items()) != list(m.items()) or len(fast) != len(m):
                return False
        return _PSetType(m)._map is m and isinstance(pset()._map, _PMapType)  # type: ignore[attr-defined]
    except (AttributeError, TypeError, IndexError):
        return False


_LAYOUT_KNOWN: Final = layout_known()


def pset_add(s: PSet[_K], element: _K) -> PSet[_K]:
    """`s.add(element)`, the identical value (a PSet is a PMap of its elements to True)."""
    if not _LAYOUT_KNOWN:
        return s.add(element)
    inner: PMap[_K, bool] = cast(Any, s)._map  # pyrsistent's layout, see above
    added = pmap_set(inner, element, True)
    if added is inner:
        return s
    built: PSet[_K] = _PSetType(added)
    return built

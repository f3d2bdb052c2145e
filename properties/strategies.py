"""Hypothesis strategies for kcore values, derived generically from the model classes.

`objects(kind)` draws an arbitrary well-typed object of a kind (every field respecting its
type hint; collections small); `any_object()` draws one of any kind. Nothing here names a
kind's fields: the strategy walks the attrs fields and type hints, as the codec does.
Values are valid-ish, not validated: names are DNS labels, label keys qualified names,
quantities come from a small canonical set, times are whole seconds (MicroTime adds
microseconds), namespaces follow the kind's scope.

Other property suites import these; build special cases on top (`.map(attrs.evolve...)`).
"""

from __future__ import annotations

import enum
import functools
import string
import types
import typing
from collections.abc import Mapping
from typing import Final

import attrs
from hypothesis import strategies as st
from pyrsistent import pmap, pset, pvector
from pyrsistent import typing as ptyping

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, MicroTime, ObjectMeta, OwnerReference, Time
from kcore.api.registry import class_for
from kcore.quantity import Quantity, parse_quantity

MAX_ITEMS: Final = 2

_ALNUM: Final = string.ascii_lowercase + string.digits

names: Final[st.SearchStrategy[str]] = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(string.ascii_lowercase),
    st.text(alphabet=_ALNUM, max_size=8),
)
"""DNS-1123 labels (valid object names, namespace names, label values)."""

label_keys: Final[st.SearchStrategy[str]] = st.builds(
    lambda prefix, name: prefix + name,
    st.sampled_from(["", "", "example.com/", "app.kubernetes.io/"]),
    names,
)
label_values: Final[st.SearchStrategy[str]] = st.one_of(st.just(""), names)
labels: Final[st.SearchStrategy[ptyping.PMap[str, str]]] = st.dictionaries(
    label_keys, label_values, max_size=3
).map(pmap)

QUANTITIES: Final = ("0", "1", "2", "100m", "250m", "500m", "1k", "10M", "64Mi", "128Mi", "1Gi")
quantities: Final[st.SearchStrategy[Quantity]] = st.sampled_from(QUANTITIES).map(parse_quantity)

times: Final[st.SearchStrategy[Time]] = st.integers(1_600_000_000, 1_900_000_000).map(
    lambda s: Time(float(s))
)
micro_times: Final[st.SearchStrategy[MicroTime]] = st.builds(
    lambda s, us: MicroTime(s + us / 1_000_000),
    st.integers(1_600_000_000, 1_900_000_000),
    st.integers(0, 999_999),
)
int_or_strings: Final[st.SearchStrategy[int | str]] = st.one_of(
    st.integers(0, 65535), names, st.sampled_from(["0%", "25%", "100%"])
)
uids: Final[st.SearchStrategy[str]] = st.uuids().map(str)


def _namespaces(kind: Kind) -> st.SearchStrategy[str]:
    return st.sampled_from(["default", "team-a"]) if kind.info.namespaced else st.just("")


def owner_references() -> st.SearchStrategy[OwnerReference]:
    return st.builds(
        OwnerReference,
        api_version=st.sampled_from(["v1", "apps/v1", "batch/v1"]),
        kind=st.sampled_from(["ReplicaSet", "Deployment", "Job", "StatefulSet"]),
        name=names,
        uid=uids,
        controller=st.none() | st.booleans(),
        block_owner_deletion=st.none() | st.booleans(),
    )


def object_meta(kind: Kind) -> st.SearchStrategy[ObjectMeta]:
    """metadata of a kind: a DNS-label name, a namespace matching the kind's scope."""
    return st.builds(
        ObjectMeta,
        name=names,
        generate_name=st.just("") | names.map(lambda n: n + "-"),
        namespace=_namespaces(kind),
        uid=st.just("") | uids,
        resource_version=st.integers(0, 10_000),
        generation=st.integers(0, 100),
        creation_timestamp=st.none() | times,
        deletion_timestamp=st.none() | times,
        deletion_grace_period_seconds=st.none() | st.integers(0, 60),
        labels=labels,
        annotations=labels,
        owner_references=st.lists(owner_references(), max_size=MAX_ITEMS).map(tuple),
        finalizers=st.lists(label_keys, max_size=MAX_ITEMS, unique=True).map(tuple),
    )


def objects(kind: Kind) -> st.SearchStrategy[ApiObject]:
    """An arbitrary well-typed object of `kind` (not necessarily one validation accepts)."""
    return _object_strategy(kind)


def any_object() -> st.SearchStrategy[ApiObject]:
    """An arbitrary well-typed object of any kind."""
    return st.sampled_from(list(Kind)).flatmap(objects)


@functools.cache  # keyed by kind; the strategy depends on the class alone
def _object_strategy(kind: Kind) -> st.SearchStrategy[ApiObject]:
    strategy: st.SearchStrategy[ApiObject] = _class_strategy(
        class_for(kind), {"metadata": object_meta(kind)}
    )
    return strategy


def for_type(tp: object) -> st.SearchStrategy[typing.Any]:
    """A strategy for any type hint the model conventions allow."""
    return _for_type(tp)


@functools.cache  # keyed by type hint; strategies are immutable
def _for_type(tp: object) -> st.SearchStrategy[typing.Any]:
    simple = _SIMPLE.get(tp)
    if simple is not None:
        return simple
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _for_type(supertype)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and attrs.has(tp):
        return st.deferred(lambda: _class_strategy(tp, {}))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is types.UnionType or origin is typing.Union:
        members = tuple(a for a in args if a is not type(None))
        if set(members) == {int, str}:
            inner = int_or_strings
        else:
            inner = st.one_of(*(_for_type(m) for m in members))
        return st.none() | inner if type(None) in args else inner
    if origin is tuple:
        return st.lists(_for_type(args[0]), max_size=MAX_ITEMS).map(tuple)
    if origin is ptyping.PVector:
        return st.lists(_for_type(args[0]), max_size=MAX_ITEMS).map(pvector)
    if origin is ptyping.PSet:
        return st.lists(_for_type(args[0]), max_size=MAX_ITEMS).map(pset)
    if origin in (ptyping.PMap, Mapping):
        return st.dictionaries(label_keys, _for_type(args[1]), max_size=MAX_ITEMS).map(pmap)
    if origin is typing.Literal:
        return st.sampled_from(args)
    raise TypeError(f"no strategy for the type {tp!r}")


_SIMPLE: Final[Mapping[object, st.SearchStrategy[typing.Any]]] = {
    str: st.just("") | names,
    int: st.integers(0, 10_000),
    float: st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    bool: st.booleans(),
    bytes: st.binary(max_size=12),
    Time: times,
    MicroTime: micro_times,
    Quantity: quantities,
}


def _class_strategy(
    cls: type, overrides: Mapping[str, st.SearchStrategy[typing.Any]]
) -> st.SearchStrategy[typing.Any]:
    hints = typing.get_type_hints(cls)
    fields = {
        (a.alias or a.name): overrides[a.name] if a.name in overrides else _for_type(hints[a.name])
        for a in attrs.fields(cls)
    }
    return st.builds(cls, **fields)

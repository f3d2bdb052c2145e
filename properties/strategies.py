"""Hypothesis strategies for kcore values, derived generically from the model classes.

`objects(kind)` draws an arbitrary well-typed object of a kind (every field respecting its
type hint; collections small); `any_object()` draws one of any kind. Nothing here names a
kind's fields: the strategy walks the attrs fields and type hints, as the codec does.
Values are valid-ish, not validated: names are DNS labels, label keys qualified names,
quantities come from a small canonical set, times are whole seconds (MicroTime adds
microseconds), namespaces follow the kind's scope.

Other property suites import these; build special cases on top (`.map(attrs.evolve...)`).
The end of the module holds such special cases where a suite needs values that validation
accepts: NetworkPolicy specs over a small world of labels, addresses and ports.
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
from kcore.api.networking import (
    IPBlock,
    NetworkPolicyEgressRule,
    NetworkPolicyIngressRule,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    NetworkPolicySpec,
    PolicyType,
)
from kcore.api.pod import LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Protocol
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


# --- NetworkPolicy specs over a small world of labels, addresses and ports ----------------


def label_selectors(keys: Mapping[str, typing.Sequence[str]]) -> st.SearchStrategy[LabelSelector]:
    """Valid selectors over `keys` (label key -> the values it takes): empty (everything),
    one `matchLabels` pair, or one expression of each operator."""
    pairs = st.sampled_from(sorted((k, v) for k, vs in keys.items() for v in vs))
    key_names = st.sampled_from(sorted(keys))

    def expression(key: str, op: LabelSelectorOperator, data: st.DataObject) -> LabelSelector:
        values: tuple[str, ...] = ()
        if op in (LabelSelectorOperator.IN, LabelSelectorOperator.NOT_IN):
            values = tuple(data.draw(st.lists(st.sampled_from(tuple(keys[key])), min_size=1, max_size=2, unique=True)))
        return LabelSelector(match_expressions=(LabelSelectorRequirement(key=key, operator=op, values=values),))

    return st.one_of(
        st.just(LabelSelector()),
        pairs.map(lambda kv: LabelSelector(match_labels=pmap({kv[0]: kv[1]}))),
        st.builds(expression, key_names, st.sampled_from(list(LabelSelectorOperator)), st.data()),
    )


def network_policy_peers(
    pod_keys: Mapping[str, typing.Sequence[str]],
    namespace_keys: Mapping[str, typing.Sequence[str]],
    blocks: typing.Sequence[tuple[str, tuple[str, ...]]],
) -> st.SearchStrategy[NetworkPolicyPeer]:
    """A peer: a podSelector, a namespaceSelector, both, or one of `blocks` (cidr, except)."""
    pods = label_selectors(pod_keys)
    namespaces = label_selectors(namespace_keys)
    return st.one_of(
        st.builds(NetworkPolicyPeer, pod_selector=pods),
        st.builds(NetworkPolicyPeer, namespace_selector=namespaces),
        st.builds(NetworkPolicyPeer, pod_selector=pods, namespace_selector=namespaces),
        st.sampled_from(tuple(blocks)).map(lambda b: NetworkPolicyPeer(ip_block=IPBlock(cidr=b[0], except_=b[1]))),
    )


def network_policy_ports(
    numbers: typing.Sequence[int], names: typing.Sequence[str]
) -> st.SearchStrategy[NetworkPolicyPort]:
    """A valid port: every port of a protocol, a number, a range up to `endPort`
    (`numbers` give the starts, the ends run to the next ones), or a name."""
    protocols = st.none() | st.sampled_from((Protocol.TCP, Protocol.UDP))
    ordered = sorted(numbers)
    ranges = st.sampled_from([(a, b) for i, a in enumerate(ordered) for b in ordered[i:]])
    return st.one_of(
        st.builds(NetworkPolicyPort, protocol=protocols),
        st.builds(NetworkPolicyPort, protocol=protocols, port=st.sampled_from(ordered)),
        st.builds(lambda r, p: NetworkPolicyPort(protocol=p, port=r[0], end_port=r[1]), ranges, protocols),
        st.builds(NetworkPolicyPort, protocol=protocols, port=st.sampled_from(tuple(names))),
    )


def network_policy_specs(
    pod_keys: Mapping[str, typing.Sequence[str]],
    namespace_keys: Mapping[str, typing.Sequence[str]],
    blocks: typing.Sequence[tuple[str, tuple[str, ...]]],
    numbers: typing.Sequence[int],
    names: typing.Sequence[str],
) -> st.SearchStrategy[NetworkPolicySpec]:
    """A valid NetworkPolicy spec: its podSelector, 0-2 ingress and egress rules (each with
    0-2 peers, none = every peer, and 0-2 ports, none = every port) and its policyTypes
    (unset: the API defaults them from the rules)."""
    peers = network_policy_peers(pod_keys, namespace_keys, blocks)
    ports = st.lists(network_policy_ports(numbers, names), max_size=2).map(tuple)
    some_peers = st.lists(peers, max_size=2).map(tuple)
    return st.builds(
        NetworkPolicySpec,
        pod_selector=label_selectors(pod_keys),
        ingress=st.lists(st.builds(NetworkPolicyIngressRule, ports=ports, from_=some_peers), max_size=2).map(tuple),
        egress=st.lists(st.builds(NetworkPolicyEgressRule, ports=ports, to=some_peers), max_size=2).map(tuple),
        policy_types=st.sampled_from(
            ((), (PolicyType.INGRESS,), (PolicyType.EGRESS,), (PolicyType.INGRESS, PolicyType.EGRESS))
        ),
    )

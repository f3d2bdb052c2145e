"""kube-proxy: every node's Service rules, programmed minSyncPeriod after a change.

Owns `KubeProxy` (the component "kube-proxy"), its state `ProxyState`, the timer key
`Timer`, `node_rules` (a node's programmed rules: what the routing model and `kcore net
rules` read) and `rules_of_service` (one Service's rules on one node).

One component for every node. Upstream runs a kube-proxy per node (a DaemonSet pod),
each computing the same rules from the same watches; only Local traffic policies make
them differ. kcore models them as ONE component holding every node's programmed table,
because the tables are one value: the shared map Service -> rules plus per-node
overrides (`kcore.network.rules.RuleTable`). 5,000 per-node components would each fold
every Service and EndpointSlice event (5,000 deliveries per change, and 5,000 copies of
the work); one component does the work once and every node's table changes with it.

Theory of operation:
- The informer view (`follow`) holds Services, EndpointSlices and Nodes. `desired` is
  the table the view asks for, kept in step one event at a time: a Service or slice
  event recomputes that one Service's entry (`service_entry`), a Node event that node's
  InternalIP. `slices` indexes each Service's slices (the `kubernetes.io/service-name`
  label), so that costs the Service's slices, never the cluster.
- `programmed` is what the nodes run. A change that makes `desired` differ asks for a
  sync at now + `MIN_SYNC_PERIOD` (1 s, kube-proxy's --iptables-min-sync-period), in
  motion so `kcore apply` settles through it; changes until then join the same sync.
  The sync sets `programmed` to `desired`: O(1), every node at once.
- A node whose Ready condition is not True (down, partitioned) keeps the rules it had:
  `frozen[node]` is `programmed` as of the event that showed it not Ready; it follows
  `programmed` again once Ready. `node_rules` reads the frozen table for it.
- Writes nothing through the apiserver and records no Events: its output is its state.
- `init` (start and crash) lists everything and programs at once, as kube-proxy's first
  sync runs as soon as its informers have synced; a not-Ready node then freezes at that
  table (a restart loses the older one). `Resynced` (a relist) rebuilds `desired` and
  syncs after the period.
- Watch filter (`wants`): a Node update passes only when its InternalIP or Ready
  condition changed (heartbeats do not); every Service and EndpointSlice event passes.

Deviations from upstream (docs/semantics.md): no periodic full resync (syncPeriod; a
kcore table cannot drift), no conntrack, no masquerade, no topology hints.

Pure. Mirrors cmd/kube-proxy and pkg/proxy/iptables/proxier.go (the sync runner:
BoundedFrequencyRunner with minSyncPeriod), pkg/proxy/config (the informer handlers).
"""

from __future__ import annotations

import enum
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import EventSource, Node, Service
from kcore.api.discovery import EndpointSlice
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import Effect, WakeMeAt
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.network.rules import (
    EMPTY_TABLE,
    NodeRules,
    RuleTable,
    ServiceRules,
    node_ip,
    node_ready,
    service_entry,
    service_of_slice,
    service_rules_on,
    table_rules,
    with_node,
    with_service,
    without_node,
)
from kcore.state import ClusterState, get, list_objects

NAME: Final = "kube-proxy"
MIN_SYNC_PERIOD: Final = 1.0
"""kube-proxy's --iptables-min-sync-period default: the programming latency."""

SliceName = tuple[str, str]  # (namespace, name)


class Timer(enum.Enum):
    SYNC = "sync"


@attrs.frozen(kw_only=True)
class ProxyState:
    view: ClusterState
    desired: RuleTable = EMPTY_TABLE  # what the view asks for
    programmed: RuleTable = EMPTY_TABLE  # what every Ready node runs
    frozen: PMap[str, RuleTable] = pmap()  # not-Ready nodes: the table they last had
    slices: PMap[ObjectKey, PSet[SliceName]] = pmap()  # Service -> its slices
    slice_service: PMap[SliceName, ObjectKey] = pmap()  # slice -> its Service
    sync_due: Time | None = None  # the sync asked for and not yet run


@attrs.frozen
class KubeProxy:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # records none
    watches: frozenset[Kind] = frozenset({Kind.SERVICE, Kind.ENDPOINT_SLICE, Kind.NODE})

    def init(self, view: ClusterState, now: Time) -> tuple[ProxyState, tuple[Effect, ...]]:
        s = rebuilt(ProxyState(view=view))
        s = attrs.evolve(s, programmed=s.desired)
        return refreeze(s), ()

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """Every Service and slice event; a Node update only when its InternalIP or
        readiness changed."""
        new = event.obj
        if event.type is not WatchType.MODIFIED or not isinstance(new, Node) or not isinstance(old, Node):
            return True
        return node_ip(new) != node_ip(old) or node_ready(new) != node_ready(old)

    def step(self, s: ProxyState, ev: Event) -> tuple[ProxyState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return s, ()
            case Resynced(view=view):
                s = refreeze(rebuilt(attrs.evolve(s, view=view)))
                return _schedule(s, ev.now)
            case WatchDelivered(event=w):
                s = attrs.evolve(s, view=follow(s.view, ev))
                return _schedule(absorb(s, w), ev.now)
            case TimerFired(key=Timer.SYNC):
                return attrs.evolve(s, programmed=s.desired, sync_due=None), ()
            case TimerFired() | ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


# --- reading the programmed tables --------------------------------------------------------


def node_rules(s: ProxyState, node: str) -> NodeRules | None:
    """Node `node`'s programmed rules (its frozen table when not Ready); None when the
    view has no such Node."""
    table = s.frozen.get(node)
    if table is None and get(s.view, _node_key(node)) is None:
        return None
    return table_rules(s.programmed if table is None else table, node, frozen=table is not None)


def rules_of_service(s: ProxyState, node: str, service: ObjectKey) -> ServiceRules | None:
    """Service `service`'s rules as node `node` runs them (None: it has none there)."""
    return service_rules_on(s.frozen.get(node, s.programmed), node, service)


# --- keeping `desired` in step ------------------------------------------------------------


def absorb(s: ProxyState, w: WatchEvent) -> ProxyState:
    """`s` after one watch event: the entries it concerns recomputed from the view."""
    obj = w.obj
    deleted = w.type is WatchType.DELETED
    if isinstance(obj, Service):
        return recompute(s, w.key)
    if isinstance(obj, EndpointSlice):
        name = (obj.metadata.namespace, obj.metadata.name)
        old = s.slice_service.get(name)
        new = None if deleted else service_of_slice(obj)
        s = _reindex(s, name, old, new)
        for svc in sorted({k for k in (old, new) if k is not None}):
            s = recompute(s, svc)
        return s
    if isinstance(obj, Node):
        return _node_changed(s, obj, deleted)
    return s


def recompute(s: ProxyState, key: ObjectKey) -> ProxyState:
    """Service `key`'s entry in `desired` from the view (dropped when it is gone)."""
    svc = get(s.view, key)
    slices = [sl for sl in (get(s.view, _slice_key(n)) for n in sorted(s.slices.get(key, pset()))) if isinstance(sl, EndpointSlice)]
    shared, overrides = service_entry(svc, slices) if isinstance(svc, Service) else (None, pmap())
    desired = s.desired
    current = {n: desired.overrides[n][key] for n in desired.override_nodes.get(key, pset())}
    if desired.services.get(key) == shared and current == dict(overrides):
        return s
    return attrs.evolve(s, desired=with_service(desired, key, shared, overrides))


def _node_changed(s: ProxyState, node: Node, deleted: bool) -> ProxyState:
    name = node.metadata.name
    if deleted:
        return attrs.evolve(s, desired=without_node(s.desired, name), frozen=s.frozen.discard(name))
    s = attrs.evolve(s, desired=with_node(s.desired, name, node_ip(node)))
    return _freeze_or_thaw(s, name, node_ready(node))


def _freeze_or_thaw(s: ProxyState, name: str, ready: bool) -> ProxyState:
    if ready:
        return attrs.evolve(s, frozen=s.frozen.discard(name)) if name in s.frozen else s
    return s if name in s.frozen else attrs.evolve(s, frozen=s.frozen.set(name, s.programmed))


def _reindex(s: ProxyState, name: SliceName, old: ObjectKey | None, new: ObjectKey | None) -> ProxyState:
    if old == new:
        return s
    slices, owner = s.slices, s.slice_service
    if old is not None:
        rest = slices.get(old, pset()).discard(name)
        slices = slices.set(old, rest) if rest else slices.discard(old)
        owner = owner.discard(name)
    if new is not None:
        slices = slices.set(new, slices.get(new, pset()).add(name))
        owner = owner.set(name, new)
    return attrs.evolve(s, slices=slices, slice_service=owner)


def rebuilt(s: ProxyState) -> ProxyState:
    """`s` with the slice index and `desired` computed from scratch from its view."""
    slices: dict[ObjectKey, set[SliceName]] = {}
    owner: dict[SliceName, ObjectKey] = {}
    for sl in list_objects(s.view, Kind.ENDPOINT_SLICE):
        assert isinstance(sl, EndpointSlice)
        svc = service_of_slice(sl)
        if svc is not None:
            name = (sl.metadata.namespace, sl.metadata.name)
            slices.setdefault(svc, set()).add(name)
            owner[name] = svc
    s = attrs.evolve(
        s, desired=EMPTY_TABLE, slices=pmap({k: pset(v) for k, v in slices.items()}), slice_service=pmap(owner)
    )
    for obj in list_objects(s.view, Kind.SERVICE):
        s = recompute(s, ObjectKey(kind=Kind.SERVICE, namespace=obj.metadata.namespace, name=obj.metadata.name))
    ips = {n.metadata.name: node_ip(n) for n in list_objects(s.view, Kind.NODE) if isinstance(n, Node)}
    return attrs.evolve(s, desired=attrs.evolve(s.desired, node_ips=pmap(ips)))


def refreeze(s: ProxyState) -> ProxyState:
    """Every node of the view frozen or thawed by its readiness; gone nodes forgotten."""
    nodes = [n for n in list_objects(s.view, Kind.NODE) if isinstance(n, Node)]
    names = {n.metadata.name for n in nodes}
    s = attrs.evolve(s, frozen=pmap({n: t for n, t in s.frozen.items() if n in names}))
    for n in nodes:
        s = _freeze_or_thaw(s, n.metadata.name, node_ready(n))
    return s


def _schedule(s: ProxyState, now: Time) -> tuple[ProxyState, tuple[Effect, ...]]:
    """Ask for a sync `MIN_SYNC_PERIOD` from now when `desired` moved and none is due."""
    if s.sync_due is not None or s.desired is s.programmed:
        return s, ()
    at = Time(now + MIN_SYNC_PERIOD)
    return attrs.evolve(s, sync_due=at), (WakeMeAt(at=at, key=Timer.SYNC, in_motion=True),)


def _node_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.NODE, namespace="", name=name)


def _slice_key(name: SliceName) -> ObjectKey:
    return ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=name[0], name=name[1])

"""ClusterState: every stored object, the global revision, the indexes and the watch log.

Owns: `ClusterConfig` (the seed and the cluster-wide settings the apiserver reads),
`ClusterState` (one frozen value: per-kind tables keyed `(namespace, name)`, the global
revision, persistent secondary indexes and the watch log) and the pure functions that
read and write it. The ResourceQuota usage index it keeps in step (`quota_usage`) is
`kcore.state_quota`'s; `quota_usage_of` reads it.

Rules:
- A state is a value. `put`/`remove` return a new state sharing structure with the old,
  so a snapshot or a fork is just keeping the value: O(1).
- Indexes change only by what one write touches: a handful of `PMap` operations per
  `put`, never a scan. An update that leaves a pod's node and labels, an object's owners
  and a service's spec alone touches no index at all.
- `pods_by_label` holds each pod under every label pair; `services_by_selector` each
  Service with a selector under its selector's first pair only. `pods_selected` (a
  Service's pods) and `services_selecting` (a pod's Services) read those slots, so their
  cost follows the pods or Services that share a pair, never the namespace.
- Everything that leaves a function is sorted: `PMap`/`PSet` iteration order follows
  string hashes, which change per process.
- Only the apiserver writes (`put`, `remove`, `record`); it also decides revisions and
  builds the watch events. This module never looks at a request or a clock.
- The watch log is a `PVector` of events in revision order plus the index of the first
  live one: appending is O(1) amortised, reading from revision r is a binary search and a
  slice, and dropping the oldest only moves the start (the vector is rebuilt once the
  dead prefix outgrows the live part, so compaction is amortised O(1) per event).

Must not know: request types, admission, authorization, the codec.

Mirrors the role of k8s.io/apiserver's storage layer (etcd3 store + watch cache) and the
ClusterIP / NodePort allocators' bitmaps (pkg/registry/core/service/ipallocator,
portallocator), here as indexes derived from the stored Services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import attrs
from pyrsistent import pmap, pset, pvector
from pyrsistent.typing import PMap, PSet, PVector

from kcore.api.core import Service
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, evolver
from kcore.api.pod import Pod
from kcore.bug import KcoreBug
from kcore.persistent import pmap_set, pset_add
from kcore.state_quota import QuotaUsage, recharge, recount_usage

if TYPE_CHECKING:
    # Type-only: kcore.apiserver imports this module, so a runtime import would be a cycle.
    from kcore.api.user import UserInfo
    from kcore.api.watch import WatchEvent


@attrs.frozen(kw_only=True)
class ClusterConfig:
    """Cluster-wide settings, fixed when the cluster is created."""

    seed: int = 0
    service_cidr: str = "10.96.0.0/12"
    node_port_range: tuple[int, int] = (30000, 32767)
    cluster_cidr: str = "10.244.0.0/16"
    lb_pool: str = "198.51.100.0/24"  # LoadBalancer and ingress addresses (`kcore cluster create --lb-pool`)
    watch_log_limit: int = 100_000  # events kept; older ones are compacted away
    static_tokens: PMap[str, UserInfo] = attrs.field(factory=pmap)
    token_key: str = ""  # HMAC key of service-account tokens (read by apiserver.auth)


_REBUILD_MIN: Final = 1024


@attrs.frozen(kw_only=True)
class WatchLog:
    """Watch events in revision order; `events[start:]` are live.

    `compacted_revision` is the newest revision no longer in the log: a watch may resume
    from any `since >= compacted_revision`.
    """

    events: PVector[WatchEvent] = attrs.field(factory=pvector)
    start: int = 0
    compacted_revision: int = 0

    def __len__(self) -> int:
        return len(self.events) - self.start


@attrs.frozen(kw_only=True)
class ClusterState:
    """The whole cluster as one value. Build with `empty_state`; change with `put`/`remove`."""

    config: ClusterConfig
    revision: int = 0
    tables: PMap[Kind, PMap[tuple[str, str], ApiObject]] = attrs.field(factory=pmap)
    pods_by_node: PMap[str, PSet[ObjectKey]] = attrs.field(factory=pmap)
    dependents_by_owner_uid: PMap[str, PSet[ObjectKey]] = attrs.field(factory=pmap)
    keys_by_namespace: PMap[str, PSet[ObjectKey]] = attrs.field(factory=pmap)
    service_cluster_ips: PMap[str, ObjectKey] = attrs.field(factory=pmap)
    service_node_ports: PMap[int, ObjectKey] = attrs.field(factory=pmap)
    quota_usage: PMap[str, QuotaUsage] = attrs.field(factory=pmap)
    log: WatchLog = attrs.field(factory=WatchLog)
    pods_by_label: PMap[str, PSet[ObjectKey]] = attrs.field(factory=pmap)
    services_by_selector: PMap[str, PSet[ObjectKey]] = attrs.field(factory=pmap)


_EVOLVE_STATE: Final = evolver(ClusterState)  # the hot-path copy (attrs.evolve costs microseconds)


def empty_state(config: ClusterConfig | None = None) -> ClusterState:
    """A cluster with no objects at revision 0."""
    return ClusterState(config=config if config is not None else ClusterConfig())


def key_of(obj: ApiObject) -> ObjectKey:
    """The identity of a stored object."""
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)


def get(state: ClusterState, key: ObjectKey) -> ApiObject | None:
    """The stored object at `key`, or None."""
    # Indexing with try/except: a PMap's `.get` is Mapping.get, one more Python frame and
    # a KeyError raised and caught inside on every miss.
    try:
        return state.tables[key.kind][(key.namespace, key.name)]
    except KeyError:
        return None


def lookup(state: ClusterState, kind: Kind, namespace: str, name: str) -> ApiObject | None:
    """`get(state, ObjectKey(kind=kind, namespace=namespace, name=name))`, without building
    the key (a write path that needs one only for its error answers)."""
    try:
        return state.tables[kind][(namespace, name)]
    except KeyError:
        return None


def exists(state: ClusterState, key: ObjectKey) -> bool:
    """Whether an object is stored at `key` (cheaper than `get` when it is not)."""
    table = state.tables.get(key.kind)
    return table is not None and (key.namespace, key.name) in table


def list_objects(
    state: ClusterState, kind: Kind, namespace: str | None = None
) -> tuple[ApiObject, ...]:
    """Objects of `kind` (in `namespace`, or everywhere when None), sorted by (namespace, name)."""
    table = state.tables.get(kind)
    if table is None:
        return ()
    if namespace is None:
        return tuple(table[k] for k in sorted(table.keys()))
    keys = state.keys_by_namespace.get(namespace, pset())
    # Whichever is smaller: a namespace may hold thousands of Events beside its pods, and
    # a kind's table may span many namespaces. Both give the same names.
    if len(table) < len(keys):
        names = sorted(n for ns, n in table if ns == namespace)
    else:
        names = sorted(k.name for k in keys if k.kind is kind)
    return tuple(table[(namespace, n)] for n in names)


def count(state: ClusterState, kind: Kind) -> int:
    """How many objects of `kind` are stored."""
    table = state.tables.get(kind)
    return 0 if table is None else len(table)


def object_count(state: ClusterState) -> int:
    """How many objects are stored, of every kind (O(kinds))."""
    return sum(len(table) for table in state.tables.values())


def pods_on_node(state: ClusterState, node: str) -> tuple[ObjectKey, ...]:
    """Keys of the pods whose spec.nodeName is `node`, sorted."""
    return tuple(sorted(state.pods_by_node.get(node, pset())))


def pods_selected(state: ClusterState, namespace: str, selector: Mapping[str, str]) -> tuple[Pod, ...]:
    """The pods of `namespace` whose labels include every pair of `selector` (a Service's
    equality selector), sorted by name; none for an empty selector. Reads the pods holding
    the selector's first pair, not the namespace."""
    if not selector:
        return ()
    anchor = min(selector)
    keys = state.pods_by_label.get(_label_slot(namespace, anchor, selector[anchor]), _NO_KEYS)
    table = state.tables.get(Kind.POD, pmap())
    pods = []
    for name in sorted(k.name for k in keys):
        pod = table[(namespace, name)]
        labels = pod.metadata.labels
        if all(labels.get(k) == v for k, v in selector.items()):
            pods.append(pod)
    return tuple(pods)  # type: ignore[arg-type]  # the Pod table holds Pods


def services_selecting(state: ClusterState, namespace: str, labels: Mapping[str, str]) -> tuple[ObjectKey, ...]:
    """The Services of `namespace` whose non-empty selector matches `labels`, sorted: each
    is indexed under its selector's first pair, so only those anchored at one of the
    labels' pairs are read."""
    found: list[ObjectKey] = []
    table = state.tables.get(Kind.SERVICE, pmap())
    for k, v in labels.items():
        for key in state.services_by_selector.get(_label_slot(namespace, k, v), _NO_KEYS):
            selector = table[(namespace, key.name)].spec.selector  # type: ignore[attr-defined]  # the Service table holds Services
            if all(labels.get(sk) == sv for sk, sv in selector.items()):
                found.append(key)
    return tuple(sorted(found))


def dependents(state: ClusterState, owner_uid: str) -> tuple[ObjectKey, ...]:
    """Keys of the objects with an ownerReference to `owner_uid`, sorted."""
    return tuple(sorted(state.dependents_by_owner_uid.get(owner_uid, pset())))


def keys_in_namespace(state: ClusterState, namespace: str) -> tuple[ObjectKey, ...]:
    """Keys of every object of every kind in `namespace`, sorted."""
    return tuple(sorted(state.keys_by_namespace.get(namespace, pset())))


def cluster_ip_owner(state: ClusterState, ip: str) -> ObjectKey | None:
    """The Service holding ClusterIP `ip`, if any."""
    return state.service_cluster_ips.get(ip)


def node_port_owner(state: ClusterState, port: int) -> ObjectKey | None:
    """The Service holding NodePort `port`, if any."""
    return state.service_node_ports.get(port)


# --- writes ----------------------------------------------------------------------------


def put(state: ClusterState, obj: ApiObject, events: tuple[WatchEvent, ...] = ()) -> ClusterState:
    """Store `obj` (create or replace) and bring every index in step.

    The revision and the watch log are the caller's: `events` are appended as by `record`
    (`put(s, o, evs)` is `record(put(s, o), evs)`, built as one new state value).
    """
    kind = obj.KIND
    m = obj.metadata
    namespace = m.namespace
    tkey = (namespace, m.name)
    try:
        table = state.tables[kind]
    except KeyError:
        table = pmap()
    old: ApiObject | None
    try:
        old = table[tkey]
    except KeyError:
        old = None
    tables = pmap_set(state.tables, kind, pmap_set(table, tkey, obj))
    revision, log = _logged(state, events)
    if old is not None and _same_index_fields(kind, old, obj):
        # A status, label or annotation write: the indexes stay as they are (the quota
        # usage too when its charges do not move, which `recharge` checks; the key is
        # built only when `recharge` could read it: a namespace the usage index holds,
        # or a ResourceQuota, which adds its namespace).
        quota = state.quota_usage
        if namespace and (namespace in quota or kind is Kind.RESOURCE_QUOTA):
            key = ObjectKey(kind=kind, namespace=namespace, name=m.name)
            quota = recharge(quota, tables, state.keys_by_namespace, key, old, obj)
        if kind is Kind.POD and old.metadata.labels is not m.labels:
            by_label = _relabelled(state.pods_by_label, namespace, m.name, old.metadata.labels, m.labels)
            return _EVOLVE_STATE(state, revision=revision, tables=tables, quota_usage=quota, log=log, pods_by_label=by_label)
        return _EVOLVE_STATE(state, revision=revision, tables=tables, quota_usage=quota, log=log)
    key = ObjectKey(kind=kind, namespace=namespace, name=m.name)
    ix = _Indexes(state)
    if old is None and key.namespace:
        ix.by_namespace = _index_add(ix.by_namespace, key.namespace, key)
    ix.reindex(key, old, obj)
    if key.namespace:
        ix.quota = recharge(ix.quota, tables, ix.by_namespace, key, old, obj)
    return ix.into(state, tables, revision, log)


def _same_index_fields(kind: Kind, old: ApiObject, new: ApiObject) -> bool:
    """Whether `reindex` would leave every index alone: the same ownerReferences, and for
    a Pod the same node, for a Service the same spec (its IPs and ports). A cheap
    sufficient test: identity first, the stored tuple is usually carried over as is."""
    old_refs = old.metadata.owner_references
    new_refs = new.metadata.owner_references
    if old_refs is not new_refs and old_refs != new_refs:
        return False
    if kind is Kind.POD:
        return _node_of(old) == _node_of(new)  # labels: `_relabelled` on the fast path
    if kind is Kind.SERVICE:
        return getattr(old, "spec", None) is getattr(new, "spec", None)
    return True


def remove(state: ClusterState, key: ObjectKey) -> ClusterState:
    """Drop the object at `key` (no-op when absent), releasing what the indexes hold for it."""
    table = state.tables.get(key.kind)
    tkey = (key.namespace, key.name)
    old = None if table is None else table.get(tkey)
    if table is None or old is None:
        return state
    ix = _Indexes.of(state)
    if key.namespace:
        ix.by_namespace = _index_discard(ix.by_namespace, key.namespace, key)
    ix.reindex(key, old, None)
    tables = state.tables.set(key.kind, table.remove(tkey))
    if key.namespace:
        ix.quota = recharge(ix.quota, tables, ix.by_namespace, key, old, None)
    return ix.into(state, tables, state.revision, state.log)


def record(state: ClusterState, events: tuple[WatchEvent, ...]) -> ClusterState:
    """Append the watch events of one write; the revision becomes the last event's.

    Events must carry strictly increasing revisions above `state.revision`. Once more than
    `config.watch_log_limit` events are live, the oldest are compacted away.
    """
    if not events:
        return state
    revision, log = _logged(state, events)
    return ClusterState(
        config=state.config,
        revision=revision,
        tables=state.tables,
        pods_by_node=state.pods_by_node,
        dependents_by_owner_uid=state.dependents_by_owner_uid,
        keys_by_namespace=state.keys_by_namespace,
        service_cluster_ips=state.service_cluster_ips,
        service_node_ports=state.service_node_ports,
        quota_usage=state.quota_usage,
        log=log,
        pods_by_label=state.pods_by_label,
        services_by_selector=state.services_by_selector,
    )


def _logged(state: ClusterState, events: tuple[WatchEvent, ...]) -> tuple[int, WatchLog]:
    """The revision and watch log once `events` are appended (see `record`)."""
    revision = state.revision
    old = state.log
    if not events:
        return revision, old
    log_events = old.events
    for ev in events:
        if ev.resource_version <= revision:
            raise KcoreBug(f"watch event at revision {ev.resource_version} <= {revision}")
        revision = ev.resource_version
        log_events = log_events.append(ev)
    log = WatchLog(events=log_events, start=old.start, compacted_revision=old.compacted_revision)
    excess = len(log) - state.config.watch_log_limit
    if excess > 0:
        log = _drop_oldest(log, excess)
    return revision, log


def compact(state: ClusterState, revision: int) -> ClusterState:
    """Forget the watch events at or below `revision` (as etcd compaction)."""
    revision = min(revision, state.revision)
    if revision <= state.log.compacted_revision:
        return state
    i = _first_after(state.log, revision)
    log = _drop_oldest(state.log, i - state.log.start)
    return attrs.evolve(state, log=attrs.evolve(log, compacted_revision=revision))


def events_since(state: ClusterState, since: int) -> tuple[WatchEvent, ...] | None:
    """Every logged event with revision > `since`, in order; None if `since` was compacted."""
    if since < state.log.compacted_revision:
        return None
    i = _first_after(state.log, since)
    return tuple(state.log.events[i:])


def _first_after(log: WatchLog, revision: int) -> int:
    """Index of the first live event with revision > `revision` (binary search)."""
    lo, hi = log.start, len(log.events)
    events = log.events
    while lo < hi:
        mid = (lo + hi) // 2
        if events[mid].resource_version <= revision:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _drop_oldest(log: WatchLog, n: int) -> WatchLog:
    if n <= 0:
        return log
    start = log.start + n
    compacted = log.events[start - 1].resource_version
    compacted = max(compacted, log.compacted_revision)
    live = len(log.events) - start
    if start >= _REBUILD_MIN and start > live:
        return WatchLog(events=pvector(log.events[start:]), start=0, compacted_revision=compacted)
    return WatchLog(events=log.events, start=start, compacted_revision=compacted)


# --- indexes ---------------------------------------------------------------------------


_NO_KEYS: Final[PSet[ObjectKey]] = pset()
_NO_LABELS: Final[PMap[str, str]] = pmap()


def _index_add(index: PMap[str, PSet[ObjectKey]], at: str, key: ObjectKey) -> PMap[str, PSet[ObjectKey]]:
    try:
        keys = index[at]
    except KeyError:
        keys = _NO_KEYS
    return pmap_set(index, at, pset_add(keys, key))


def _index_discard(
    index: PMap[str, PSet[ObjectKey]], at: str, key: ObjectKey
) -> PMap[str, PSet[ObjectKey]]:
    keys = index.get(at)
    if keys is None or key not in keys:
        return index
    rest = keys.remove(key)
    return index.set(at, rest) if rest else index.remove(at)


def _label_slot(namespace: str, label: str, value: str) -> str:
    return f"{namespace}\x00{label}\x00{value}"


def _relabelled(
    index: PMap[str, PSet[ObjectKey]], namespace: str, name: str, old: PMap[str, str], new: PMap[str, str]
) -> PMap[str, PSet[ObjectKey]]:
    """`pods_by_label` once pod `namespace/name` goes from labels `old` to `new`: only the
    pairs that changed move."""
    key: ObjectKey | None = None
    for k, v in old.items():
        if new.get(k) != v:
            key = key or ObjectKey(kind=Kind.POD, namespace=namespace, name=name)
            index = _index_discard(index, _label_slot(namespace, k, v), key)
    for k, v in new.items():
        if old.get(k) != v:
            key = key or ObjectKey(kind=Kind.POD, namespace=namespace, name=name)
            index = _index_add(index, _label_slot(namespace, k, v), key)
    return index


def _selector_anchor(obj: ApiObject | None) -> str:
    """The `services_by_selector` slot of a Service: its selector's first pair ("" when none)."""
    if not isinstance(obj, Service) or not obj.spec.selector:
        return ""
    selector = obj.spec.selector
    anchor = min(selector)
    return _label_slot(obj.metadata.namespace, anchor, selector[anchor])


def _owner_uids(obj: ApiObject | None) -> frozenset[str]:
    if obj is None or not obj.metadata.owner_references:
        return frozenset()
    return frozenset(r.uid for r in obj.metadata.owner_references)


def _node_of(obj: ApiObject | None) -> str:
    return obj.spec.node_name if isinstance(obj, Pod) else ""


def _service_ips(obj: ApiObject | None) -> frozenset[str]:
    if not isinstance(obj, Service):
        return frozenset()
    ips = {obj.spec.cluster_ip, *obj.spec.cluster_ips}
    return frozenset(ip for ip in ips if ip and ip != "None")


def _service_ports(obj: ApiObject | None) -> frozenset[int]:
    if not isinstance(obj, Service):
        return frozenset()
    ports = {p.node_port for p in obj.spec.ports}
    ports.add(obj.spec.health_check_node_port)
    return frozenset(p for p in ports if p)


class _Indexes:
    """The indexes of one write in progress (local to `put`/`remove`, never shared)."""

    __slots__ = (
        "by_label",
        "by_namespace",
        "by_node",
        "by_owner",
        "by_selector",
        "cluster_ips",
        "node_ports",
        "quota",
    )

    def __init__(self, state: ClusterState) -> None:
        self.by_namespace = state.keys_by_namespace
        self.by_node = state.pods_by_node
        self.by_owner = state.dependents_by_owner_uid
        self.cluster_ips = state.service_cluster_ips
        self.node_ports = state.service_node_ports
        self.quota = state.quota_usage
        self.by_label = state.pods_by_label
        self.by_selector = state.services_by_selector

    @classmethod
    def of(cls, state: ClusterState) -> _Indexes:
        return cls(state)

    def into(
        self,
        state: ClusterState,
        tables: PMap[Kind, PMap[tuple[str, str], ApiObject]],
        revision: int,
        log: WatchLog,
    ) -> ClusterState:
        # Built directly: attrs.evolve costs several microseconds on this hot path.
        return ClusterState(
            config=state.config,
            revision=revision,
            tables=tables,
            pods_by_node=self.by_node,
            dependents_by_owner_uid=self.by_owner,
            keys_by_namespace=self.by_namespace,
            service_cluster_ips=self.cluster_ips,
            service_node_ports=self.node_ports,
            quota_usage=self.quota,
            log=log,
            pods_by_label=self.by_label,
            services_by_selector=self.by_selector,
        )

    def reindex(self, key: ObjectKey, old: ApiObject | None, new: ApiObject | None) -> None:
        """Move `key` from what `old` implies to what `new` implies."""
        old_owners = _owner_uids(old)
        new_owners = _owner_uids(new)
        if old_owners != new_owners:
            for uid in sorted(old_owners - new_owners):
                self.by_owner = _index_discard(self.by_owner, uid, key)
            for uid in sorted(new_owners - old_owners):
                self.by_owner = _index_add(self.by_owner, uid, key)
        if key.kind is Kind.POD:
            old_node = _node_of(old)
            new_node = _node_of(new)
            if old_node != new_node:
                if old_node:
                    self.by_node = _index_discard(self.by_node, old_node, key)
                if new_node:
                    self.by_node = _index_add(self.by_node, new_node, key)
            old_labels = _NO_LABELS if old is None else old.metadata.labels
            new_labels = _NO_LABELS if new is None else new.metadata.labels
            if old_labels is not new_labels:
                self.by_label = _relabelled(self.by_label, key.namespace, key.name, old_labels, new_labels)
        elif key.kind is Kind.SERVICE:
            self._reindex_service(key, old, new)
            old_anchor, new_anchor = _selector_anchor(old), _selector_anchor(new)
            if old_anchor != new_anchor:
                if old_anchor:
                    self.by_selector = _index_discard(self.by_selector, old_anchor, key)
                if new_anchor:
                    self.by_selector = _index_add(self.by_selector, new_anchor, key)

    def _reindex_service(self, key: ObjectKey, old: ApiObject | None, new: ApiObject | None) -> None:
        old_ips, new_ips = _service_ips(old), _service_ips(new)
        for ip in sorted(old_ips - new_ips):
            if self.cluster_ips.get(ip) == key:
                self.cluster_ips = self.cluster_ips.remove(ip)
        for ip in sorted(new_ips - old_ips):
            self.cluster_ips = self.cluster_ips.set(ip, key)
        old_ports, new_ports = _service_ports(old), _service_ports(new)
        for p in sorted(old_ports - new_ports):
            if self.node_ports.get(p) == key:
                self.node_ports = self.node_ports.remove(p)
        for p in sorted(new_ports - old_ports):
            self.node_ports = self.node_ports.set(p, key)


# --- quota usage ---------------------------------------------------------------------------


def quota_usage_of(state: ClusterState, namespace: str) -> QuotaUsage:
    """The namespace's charges: the maintained index, or a count when it has none (a
    namespace without a ResourceQuota)."""
    found = state.quota_usage.get(namespace)
    if found is not None:
        return found
    return recount_usage(state.tables, state.keys_by_namespace.get(namespace, pset()))

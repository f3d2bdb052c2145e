"""Per-node accounting for the scheduler: `PodInfo`, `NodeInfo` and the `Snapshot`.

Owns: what the scheduler knows of each pod (`PodInfo`: requests, non-zero requests for
scoring, host ports, parsed affinity terms, priority), of each node (`NodeInfo`: the Node,
its allocatable, the summed requests of the pods on it, host ports in use, those pods),
and the `Snapshot` of every node, built once from a `ClusterState` and then changed
incrementally by `add_pod` / `remove_pod` / `update_node` / `remove_node`.

Rules:
- Values only. Each change touches one NodeInfo and a handful of index entries: no
  operation scans every pod or every node (`from_state` is the one full build).
- A pod counts on a node when it is bound (spec.nodeName set) and not terminal
  (Succeeded/Failed), as upstream's scheduler cache keeps only those (eventhandlers.go).
  Pods bound to a node the snapshot does not know are held in a node-less NodeInfo and
  appear once the node does, as upstream's cache keeps "ghost" NodeInfos.
- Requests follow upstream's resource helpers: the init containers' max rule with
  sidecars (restartable init containers) running alongside, plus pod overhead; pod-level
  resources replace the container sums for cpu/memory when set. Scoring's non-zero
  requests default a missing cpu request to 100m and memory to 200Mi per container.
- Node order (`Snapshot.node_order`) is node names sorted; the round-robin start index of
  the algorithm walks it. Adding or removing a node re-lays that order (O(nodes), rare).

Must not know: the plugins, the algorithm, requests to the apiserver.

Mirrors pkg/scheduler/framework/types.go (NodeInfo, PodInfo, AffinityTerm, HostPortInfo,
Resource), pkg/scheduler/backend/cache/snapshot.go, component-helpers resource helpers
(PodRequests) and pkg/scheduler/util/pod_resources.go (the non-zero defaults).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs
from pyrsistent import pmap, pset, pvector
from pyrsistent.typing import PMap, PSet, PVector

from kcore.api.core import Namespace, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    LabelSelector,
    Pod,
    PodAffinityTerm,
    PodPhase,
    Protocol,
    WeightedPodAffinityTerm,
)
from kcore.labels import Operator, Selector, new_requirement, selector_from_label_selector
from kcore.quantity import Quantity
from kcore.state import ClusterState, list_objects

CPU: Final = "cpu"
MEMORY: Final = "memory"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
PODS: Final = "pods"
DEFAULT_MILLI_CPU_REQUEST: Final = 100  # pkg/scheduler/util/pod_resources.go
DEFAULT_MEMORY_REQUEST: Final = 200 * 1024 * 1024
DEFAULT_BIND_ALL_HOST_IP: Final = "0.0.0.0"
_NATIVE: Final = frozenset({CPU, MEMORY, EPHEMERAL_STORAGE, PODS})


# --- resources ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Resources:
    """framework.Resource: cpu in millicores, memory and ephemeral storage in bytes, and
    scalar (extended, hugepages) resources in their integer units."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalar: PMap[str, int] = pmap()

    def plus(self, other: Resources) -> Resources:
        scalar = self.scalar
        for name in other.scalar:
            scalar = scalar.set(name, scalar.get(name, 0) + other.scalar[name])
        return Resources(
            milli_cpu=self.milli_cpu + other.milli_cpu,
            memory=self.memory + other.memory,
            ephemeral_storage=self.ephemeral_storage + other.ephemeral_storage,
            scalar=scalar,
        )

    def minus(self, other: Resources) -> Resources:
        scalar = self.scalar
        for name in other.scalar:
            left = scalar.get(name, 0) - other.scalar[name]
            scalar = scalar.discard(name) if left == 0 else scalar.set(name, left)
        return Resources(
            milli_cpu=self.milli_cpu - other.milli_cpu,
            memory=self.memory - other.memory,
            ephemeral_storage=self.ephemeral_storage - other.ephemeral_storage,
            scalar=scalar,
        )

    def max_with(self, other: Resources) -> Resources:
        scalar = self.scalar
        for name in other.scalar:
            scalar = scalar.set(name, max(scalar.get(name, 0), other.scalar[name]))
        return Resources(
            milli_cpu=max(self.milli_cpu, other.milli_cpu),
            memory=max(self.memory, other.memory),
            ephemeral_storage=max(self.ephemeral_storage, other.ephemeral_storage),
            scalar=scalar,
        )

    def get(self, name: str) -> int:
        """The amount of one resource by its API name."""
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        return self.scalar.get(name, 0)


ZERO: Final = Resources()


def resources_of(rl: Mapping[str, Quantity]) -> Resources:
    """A ResourceList as `Resources` (cpu in milli, everything else in units)."""
    milli_cpu = memory = storage = 0
    scalar: dict[str, int] = {}
    for name in rl:
        q = rl[name]
        if name == CPU:
            milli_cpu = q.milli_value()
        elif name == MEMORY:
            memory = q.value()
        elif name == EPHEMERAL_STORAGE:
            storage = q.value()
        elif name != PODS:
            scalar[name] = q.value()
    return Resources(milli_cpu=milli_cpu, memory=memory, ephemeral_storage=storage, scalar=pmap(scalar))


def _container_requests(c: Container, non_zero: bool) -> Resources:
    r = resources_of(c.resources.requests)
    if not non_zero:
        return r
    req = c.resources.requests
    return attrs.evolve(
        r,
        milli_cpu=r.milli_cpu if CPU in req else DEFAULT_MILLI_CPU_REQUEST,
        memory=r.memory if MEMORY in req else DEFAULT_MEMORY_REQUEST,
    )


def pod_requests(pod: Pod, *, non_zero: bool = False) -> Resources:
    """resourcehelper.PodRequests: containers summed, the init containers' max rule with
    sidecars counted alongside, pod-level cpu/memory when set, plus overhead.

    `non_zero` gives the scoring view (GetNonzeroRequests per container).
    """
    spec = pod.spec
    total = ZERO
    for c in spec.containers:
        total = total.plus(_container_requests(c, non_zero))
    restartable = ZERO
    init_max = ZERO
    for c in spec.init_containers:
        r = _container_requests(c, non_zero)
        if c.restart_policy is ContainerRestartPolicy.ALWAYS:
            total = total.plus(r)
            restartable = restartable.plus(r)
            r = restartable
        else:
            r = r.plus(restartable)
        init_max = init_max.max_with(r)
    total = total.max_with(init_max)
    if spec.resources is not None and spec.resources.requests:
        level = spec.resources.requests
        total = attrs.evolve(
            total,
            milli_cpu=level[CPU].milli_value() if CPU in level else total.milli_cpu,
            memory=level[MEMORY].value() if MEMORY in level else total.memory,
        )
    if spec.overhead:
        total = total.plus(resources_of(spec.overhead))
    return total


# --- host ports --------------------------------------------------------------------------

HostPort = tuple[str, str, int]
"""(hostIP, protocol, hostPort) with upstream's sanitising: "" is 0.0.0.0, TCP by default."""


def pod_host_ports(pod: Pod) -> tuple[HostPort, ...]:
    """Host ports the pod asks for: containers and sidecar init containers (hostPort > 0)."""
    containers = pod.spec.containers + tuple(
        c for c in pod.spec.init_containers if c.restart_policy is ContainerRestartPolicy.ALWAYS
    )
    ports: list[HostPort] = []
    for c in containers:
        for p in c.ports:
            if p.host_port > 0:
                protocol = (p.protocol or Protocol.TCP).value
                ports.append((p.host_ip or DEFAULT_BIND_ALL_HOST_IP, protocol, p.host_port))
    return tuple(ports)


def ports_conflict(used: PMap[HostPort, int], want: HostPort) -> bool:
    """HostPortInfo.CheckConflict: 0.0.0.0 clashes with any IP on the same protocol/port."""
    ip, protocol, port = want
    if ip == DEFAULT_BIND_ALL_HOST_IP:
        return any(p[1] == protocol and p[2] == port for p in used)
    return (DEFAULT_BIND_ALL_HOST_IP, protocol, port) in used or want in used


# --- affinity terms ----------------------------------------------------------------------


def label_selector(sel: LabelSelector | None) -> Selector:
    """LabelSelectorAsSelector: nil matches nothing; an invalid selector matches nothing."""
    if sel is None:
        return Selector.nothing()
    try:
        return selector_from_label_selector(
            sel.match_labels,
            tuple((e.key, e.operator.value, e.values) for e in sel.match_expressions),
        )
    except ValueError:
        return Selector.nothing()


def _merge_label_keys(
    selector: Selector, labels: Mapping[str, str], keys: Iterable[str], operator: Operator
) -> Selector:
    extra = [new_requirement(k, operator, (labels[k],)) for k in keys if k in labels]
    return selector.add(*extra) if extra and not selector.matches_nothing else selector


@attrs.frozen(kw_only=True)
class AffinityTerm:
    """framework.AffinityTerm: a PodAffinityTerm with its selectors parsed once."""

    namespaces: frozenset[str]
    selector: Selector
    topology_key: str
    namespace_selector: Selector  # nothing() when nil
    weight: int = 0

    def matches(self, pod: PodInfo, ns_labels: Mapping[str, str]) -> bool:
        """AffinityTerm.Matches: in a listed or selected namespace, and selected by labels."""
        if pod.namespace in self.namespaces or (
            not self.namespace_selector.matches_nothing
            and self.namespace_selector.matches(ns_labels)
        ):
            return self.selector.matches(pod.labels)
        return False


def affinity_term(
    term: PodAffinityTerm, namespace: str, labels: Mapping[str, str], weight: int = 0
) -> AffinityTerm:
    """newAffinityTerm: no namespaces and a nil namespaceSelector mean the pod's own."""
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset((namespace,))
    selector = label_selector(term.label_selector)
    selector = _merge_label_keys(selector, labels, term.match_label_keys, Operator.IN)
    selector = _merge_label_keys(selector, labels, term.mismatch_label_keys, Operator.NOT_IN)
    return AffinityTerm(
        namespaces=namespaces,
        selector=selector,
        topology_key=term.topology_key,
        namespace_selector=label_selector(term.namespace_selector),
        weight=weight,
    )


def _terms(pod: Pod, terms: Iterable[PodAffinityTerm]) -> tuple[AffinityTerm, ...]:
    m = pod.metadata
    return tuple(affinity_term(t, m.namespace, m.labels) for t in terms)


def _weighted(pod: Pod, terms: Iterable[WeightedPodAffinityTerm]) -> tuple[AffinityTerm, ...]:
    m = pod.metadata
    return tuple(
        affinity_term(t.pod_affinity_term, m.namespace, m.labels, t.weight)
        for t in terms
        if t.weight != 0
    )


# --- pods --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PodInfo:
    """framework.PodInfo plus the pod's requests: everything plugins read of a pod."""

    key: ObjectKey
    pod: Pod = attrs.field(eq=False, repr=False)
    namespace: str
    labels: PMap[str, str]
    uid: str
    priority: int
    requests: Resources
    non_zero_cpu: int
    non_zero_memory: int
    host_ports: tuple[HostPort, ...]
    required_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[AffinityTerm, ...]
    preferred_anti_affinity: tuple[AffinityTerm, ...]
    terminating: bool
    start_time: float

    @property
    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity
            or self.required_anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
        )


def pod_info(pod: Pod) -> PodInfo:
    """Parse a pod once for the scheduler."""
    m = pod.metadata
    aff = pod.spec.affinity
    pa = aff.pod_affinity if aff is not None else None
    anti = aff.pod_anti_affinity if aff is not None else None
    non_zero = pod_requests(pod, non_zero=True)
    return PodInfo(
        key=ObjectKey(kind=Kind.POD, namespace=m.namespace, name=m.name),
        pod=pod,
        namespace=m.namespace,
        labels=m.labels,
        uid=m.uid,
        priority=pod.spec.priority or 0,
        requests=pod_requests(pod),
        non_zero_cpu=non_zero.milli_cpu,
        non_zero_memory=non_zero.memory,
        host_ports=pod_host_ports(pod),
        required_affinity=_terms(pod, pa.required_during_scheduling_ignored_during_execution)
        if pa
        else (),
        required_anti_affinity=_terms(
            pod, anti.required_during_scheduling_ignored_during_execution
        )
        if anti
        else (),
        preferred_affinity=_weighted(pod, pa.preferred_during_scheduling_ignored_during_execution)
        if pa
        else (),
        preferred_anti_affinity=_weighted(
            pod, anti.preferred_during_scheduling_ignored_during_execution
        )
        if anti
        else (),
        terminating=m.deletion_timestamp is not None,
        start_time=pod.status.start_time or m.creation_timestamp or 0.0,
    )


def counts_on_node(pod: Pod) -> bool:
    """Whether the scheduler's cache holds the pod: bound and not terminal."""
    return bool(pod.spec.node_name) and pod.status.phase not in (
        PodPhase.SUCCEEDED,
        PodPhase.FAILED,
    )


# --- nodes -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NodeInfo:
    """framework.NodeInfo: a node, what it offers and what its pods take.

    `node` is None for a node the snapshot has not seen yet but pods are bound to.
    """

    name: str
    node: Node | None
    allocatable: Resources
    allowed_pods: int
    requested: Resources = ZERO
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    used_ports: PMap[HostPort, int] = pmap()
    pods: PMap[ObjectKey, PodInfo] = pmap()
    pods_with_affinity: PSet[ObjectKey] = pset()
    pods_with_required_anti_affinity: PSet[ObjectKey] = pset()

    @property
    def labels(self) -> PMap[str, str]:
        return self.node.metadata.labels if self.node is not None else pmap()

    def sorted_pods(self) -> tuple[PodInfo, ...]:
        """The pods on the node in key order."""
        return tuple(self.pods[k] for k in sorted(self.pods))


def _allocatable(node: Node | None) -> tuple[Resources, int]:
    if node is None:
        return ZERO, 0
    alloc = node.status.allocatable
    pods = alloc.get(PODS)
    return resources_of(alloc), pods.value() if pods is not None else 0


def new_node_info(name: str, node: Node | None) -> NodeInfo:
    allocatable, allowed = _allocatable(node)
    return NodeInfo(name=name, node=node, allocatable=allocatable, allowed_pods=allowed)


def node_with_pod(ni: NodeInfo, p: PodInfo) -> NodeInfo:
    """NodeInfo.AddPodInfo."""
    ports = ni.used_ports
    for hp in p.host_ports:
        ports = ports.set(hp, ports.get(hp, 0) + 1)
    return attrs.evolve(
        ni,
        requested=ni.requested.plus(p.requests),
        non_zero_cpu=ni.non_zero_cpu + p.non_zero_cpu,
        non_zero_memory=ni.non_zero_memory + p.non_zero_memory,
        used_ports=ports,
        pods=ni.pods.set(p.key, p),
        pods_with_affinity=ni.pods_with_affinity.add(p.key)
        if p.has_affinity
        else ni.pods_with_affinity,
        pods_with_required_anti_affinity=ni.pods_with_required_anti_affinity.add(p.key)
        if p.required_anti_affinity
        else ni.pods_with_required_anti_affinity,
    )


def node_without_pod(ni: NodeInfo, key: ObjectKey) -> NodeInfo:
    """NodeInfo.RemovePod (unchanged when the pod is not there)."""
    p = ni.pods.get(key)
    if p is None:
        return ni
    ports = ni.used_ports
    for hp in p.host_ports:
        left = ports.get(hp, 0) - 1
        ports = ports.discard(hp) if left <= 0 else ports.set(hp, left)
    return attrs.evolve(
        ni,
        requested=ni.requested.minus(p.requests),
        non_zero_cpu=ni.non_zero_cpu - p.non_zero_cpu,
        non_zero_memory=ni.non_zero_memory - p.non_zero_memory,
        used_ports=ports,
        pods=ni.pods.discard(key),
        pods_with_affinity=ni.pods_with_affinity.discard(key),
        pods_with_required_anti_affinity=ni.pods_with_required_anti_affinity.discard(key),
    )


# --- the snapshot ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Snapshot:
    """Every NodeInfo plus the indexes the plugins need.

    - `node_order`: names of the real nodes, sorted (what the algorithm walks), and
      `nodes`: their NodeInfos at the same positions (a PVector: O(1) reads, O(log n)
      writes), found by name through `node_index`;
    - `ghosts`: node-less NodeInfos holding pods bound to nodes not (yet) known;
    - `pod_nodes`: where each counted pod is;
    - `with_affinity` / `with_required_anti_affinity`: how many such pods each node has
      (upstream's HavePodsWithAffinityList / HavePodsWithRequiredAntiAffinityList);
    - `pods_by_namespace`: counted pods per namespace, for selector counting that only
      looks where matching pods can be;
    - `namespace_labels`: for affinity terms' namespaceSelector.
    """

    node_order: tuple[str, ...] = ()
    nodes: PVector[NodeInfo] = pvector()
    node_index: PMap[str, int] = pmap()
    ghosts: PMap[str, NodeInfo] = pmap()
    pod_nodes: PMap[ObjectKey, str] = pmap()
    with_affinity: PMap[str, int] = pmap()
    with_required_anti_affinity: PMap[str, int] = pmap()
    pods_by_namespace: PMap[str, PSet[ObjectKey]] = pmap()
    namespace_labels: PMap[str, PMap[str, str]] = pmap()

    def node_infos(self) -> PVector[NodeInfo]:
        """The real nodes' NodeInfos in `node_order`."""
        return self.nodes

    def get(self, name: str) -> NodeInfo | None:
        """The NodeInfo of a real node, or None."""
        i = self.node_index.get(name)
        return None if i is None else self.nodes[i]

    def info(self, name: str) -> NodeInfo:
        """The NodeInfo holding pods of `name`, real or ghost (the name must be known)."""
        i = self.node_index.get(name)
        return self.ghosts[name] if i is None else self.nodes[i]

    def ns_labels(self, namespace: str) -> PMap[str, str]:
        return self.namespace_labels.get(namespace, pmap())

    def pod(self, key: ObjectKey) -> PodInfo | None:
        """A counted pod by key."""
        node = self.pod_nodes.get(key)
        return None if node is None else self.info(node).pods.get(key)


def _bump(counts: PMap[str, int], name: str, delta: int) -> PMap[str, int]:
    n = counts.get(name, 0) + delta
    return counts.discard(name) if n <= 0 else counts.set(name, n)


def _set_info(s: Snapshot, ni: NodeInfo) -> Snapshot:
    i = s.node_index.get(ni.name)
    if i is not None:
        return attrs.evolve(s, nodes=s.nodes.set(i, ni))
    if not ni.pods:
        return attrs.evolve(s, ghosts=s.ghosts.discard(ni.name))
    return attrs.evolve(s, ghosts=s.ghosts.set(ni.name, ni))


def add_pod(s: Snapshot, pod: Pod) -> Snapshot:
    """The snapshot with `pod` counted on its node (replacing an older version of it).

    A pod that does not count (unbound or terminal) is only removed if present.
    """
    p = pod_info(pod)
    s = remove_pod(s, p.key)
    if not counts_on_node(pod):
        return s
    name = pod.spec.node_name
    i = s.node_index.get(name)
    ni = s.nodes[i] if i is not None else s.ghosts.get(name) or new_node_info(name, None)
    s = _set_info(s, node_with_pod(ni, p))
    by_ns = s.pods_by_namespace.get(p.namespace, pset())
    return attrs.evolve(
        s,
        pod_nodes=s.pod_nodes.set(p.key, name),
        with_affinity=_bump(s.with_affinity, name, 1) if p.has_affinity else s.with_affinity,
        with_required_anti_affinity=_bump(s.with_required_anti_affinity, name, 1)
        if p.required_anti_affinity
        else s.with_required_anti_affinity,
        pods_by_namespace=s.pods_by_namespace.set(p.namespace, by_ns.add(p.key)),
    )


def remove_pod(s: Snapshot, key: ObjectKey) -> Snapshot:
    """The snapshot without the pod at `key` (unchanged when it is not counted)."""
    name = s.pod_nodes.get(key)
    if name is None:
        return s
    ni = s.info(name)
    p = ni.pods[key]
    s = _set_info(s, node_without_pod(ni, key))
    by_ns = s.pods_by_namespace[key.namespace].discard(key)
    return attrs.evolve(
        s,
        pod_nodes=s.pod_nodes.discard(key),
        with_affinity=_bump(s.with_affinity, name, -1) if p.has_affinity else s.with_affinity,
        with_required_anti_affinity=_bump(s.with_required_anti_affinity, name, -1)
        if p.required_anti_affinity
        else s.with_required_anti_affinity,
        pods_by_namespace=s.pods_by_namespace.set(key.namespace, by_ns)
        if by_ns
        else s.pods_by_namespace.discard(key.namespace),
    )


def _with_nodes(s: Snapshot, infos: Iterable[NodeInfo]) -> Snapshot:
    """Re-lay the node vector and index (a node was added or removed: rare, O(nodes))."""
    ordered = sorted(infos, key=lambda ni: ni.name)
    return attrs.evolve(
        s,
        node_order=tuple(ni.name for ni in ordered),
        nodes=pvector(ordered),
        node_index=pmap({ni.name: i for i, ni in enumerate(ordered)}),
    )


def update_node(s: Snapshot, node: Node) -> Snapshot:
    """The snapshot with `node` added or replaced; its pods stay."""
    name = node.metadata.name
    allocatable, allowed = _allocatable(node)
    i = s.node_index.get(name)
    if i is not None:
        ni = attrs.evolve(s.nodes[i], node=node, allocatable=allocatable, allowed_pods=allowed)
        return attrs.evolve(s, nodes=s.nodes.set(i, ni))
    ghost = s.ghosts.get(name)
    if ghost is None:
        ni = new_node_info(name, node)
    else:
        ni = attrs.evolve(ghost, node=node, allocatable=allocatable, allowed_pods=allowed)
    s = attrs.evolve(s, ghosts=s.ghosts.discard(name))
    return _with_nodes(s, (*s.nodes, ni))


def remove_node(s: Snapshot, name: str) -> Snapshot:
    """The snapshot without the node `name`; pods still bound to it are kept node-less."""
    i = s.node_index.get(name)
    if i is None:
        return s
    old = s.nodes[i]
    s = _with_nodes(s, (ni for ni in s.nodes if ni.name != name))
    ghost = attrs.evolve(old, node=None, allocatable=ZERO, allowed_pods=0)
    return _set_info(s, ghost)


def update_namespace(s: Snapshot, namespace: Namespace) -> Snapshot:
    """The snapshot knowing `namespace`'s labels."""
    m = namespace.metadata
    return attrs.evolve(s, namespace_labels=s.namespace_labels.set(m.name, m.labels))


def snapshot_of(
    nodes: Iterable[Node], pods: Iterable[Pod], namespaces: Iterable[Namespace] = ()
) -> Snapshot:
    """A snapshot built from scratch."""
    s = _with_nodes(Snapshot(), (new_node_info(n.metadata.name, n) for n in nodes))
    s = attrs.evolve(
        s, namespace_labels=pmap({n.metadata.name: n.metadata.labels for n in namespaces})
    )
    for pod in pods:
        if counts_on_node(pod):
            s = add_pod(s, pod)
    return s


def from_state(state: ClusterState) -> Snapshot:
    """The snapshot of a cluster: its nodes, its counted pods and its namespaces."""
    nodes = [o for o in list_objects(state, Kind.NODE) if isinstance(o, Node)]
    pods = [o for o in list_objects(state, Kind.POD) if isinstance(o, Pod)]
    namespaces = [o for o in list_objects(state, Kind.NAMESPACE) if isinstance(o, Namespace)]
    return snapshot_of(nodes, pods, namespaces)

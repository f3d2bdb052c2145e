"""The node lifecycle controller's state values, its constants and the pure helpers over them.

Owns the values `kcore.controllers.nodelifecycle` steps (`NodeLifecycleState`, `NodeHealth`,
`Zone`, `TokenBucket`, `Eviction`, ...), the upstream constants (grace periods, eviction
rates, taint keys) and the small pure functions over Nodes, Pods and taints the three
passes share (zone state, token buckets, minimum toleration, what a pod update changes).
Pure; must not know the driver's queue. Mirrors the types and helpers of upstream's
pkg/controller/nodelifecycle/node_lifecycle_controller.go and
pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.coordination import Lease
from kcore.api.core import Node, NodeCondition, Taint
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time, evolver
from kcore.api.pod import Pod, TaintEffect, Toleration
from kcore.component.effects import Effect
from kcore.helpers.scheduling import tolerates
from kcore.state import ClusterState, get, put

NAME: Final = "node-lifecycle-controller"
NODE_MONITOR_PERIOD: Final = 5.0
NODE_MONITOR_GRACE_PERIOD: Final = 40.0
NODE_STARTUP_GRACE_PERIOD: Final = 60.0
EVICTION_QPS: Final = 0.1
"""--node-eviction-rate: NoExecute taints added per second per zone."""
SECONDARY_EVICTION_QPS: Final = 0.01
LARGE_CLUSTER_THRESHOLD: Final = 50
UNHEALTHY_ZONE_THRESHOLD: Final = 0.55
RETRY_SECONDS: Final = 1.0

LEASE_NAMESPACE: Final = "kube-node-lease"
TAINT_NOT_READY: Final = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE: Final = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
LABEL_ZONE: Final = "topology.kubernetes.io/zone"
LABEL_REGION: Final = "topology.kubernetes.io/region"
LABEL_EXCLUDE_DISRUPTION: Final = "node.kubernetes.io/exclude-disruption"

READY: Final = "Ready"
UNKNOWN_CONDITIONS: Final = (READY, "MemoryPressure", "DiskPressure", "PIDPressure")
"""What goes Unknown when the kubelet is silent (NetworkUnavailable is the cloud's)."""

CONDITION_TAINTS: Final[dict[tuple[str, ConditionStatus], str]] = {
    (READY, ConditionStatus.FALSE): TAINT_NOT_READY,
    (READY, ConditionStatus.UNKNOWN): TAINT_UNREACHABLE,
    ("MemoryPressure", ConditionStatus.TRUE): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", ConditionStatus.TRUE): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", ConditionStatus.TRUE): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", ConditionStatus.TRUE): "node.kubernetes.io/pid-pressure",
}
NO_SCHEDULE_KEYS: Final = frozenset({*CONDITION_TAINTS.values(), TAINT_UNSCHEDULABLE})
NOT_READY_TAINTS: Final = frozenset({TAINT_NOT_READY, TAINT_UNREACHABLE})

Effects = tuple[Effect, ...]


class Timer(enum.Enum):
    """The controller's passes as timer keys (a pod's eviction timer is keyed by the pod's key)."""

    MONITOR = "monitor"  # the health monitor, every NODE_MONITOR_PERIOD
    TAINT_PASS = "taint"  # a queued NoExecute taint's zone has a token again


class ZoneState(enum.Enum):
    INITIAL = "Initial"
    NORMAL = "Normal"
    FULL_DISRUPTION = "FullDisruption"
    PARTIAL_DISRUPTION = "PartialDisruption"


class Purpose(enum.Enum):
    NODE = "node"
    POD_STATUS = "pod-status"
    POD_DELETE = "pod-delete"
    POD_REFRESH = "pod-refresh"


@attrs.frozen(kw_only=True)
class Call:
    """The tag of a request: what it is for, and the object it writes or reads."""

    purpose: Purpose
    key: ObjectKey


@attrs.frozen(kw_only=True)
class SeenNode:
    """What a monitor pass reads of one Node object, read once per object: its zone,
    whether it counts for its zone's disruption state, its Ready condition, and whether it
    is plainly healthy as far as the Node alone tells (Ready=True, no NoExecute
    not-ready/unreachable taint)."""

    node: Node
    zone: str
    counted: bool
    ready: NodeCondition | None
    plain: bool


def seen_node(node: Node) -> SeenNode:
    ready = condition(node, READY)
    return SeenNode(
        node=node,
        zone=zone_of(node),
        counted=LABEL_EXCLUDE_DISRUPTION not in node.metadata.labels,
        ready=ready,
        plain=ready is not None
        and ready.status is ConditionStatus.TRUE
        and not any(t.effect is TaintEffect.NO_EXECUTE and t.key in NOT_READY_TAINTS for t in node.spec.taints),
    )


@attrs.frozen(kw_only=True)
class NodeHealth:
    """nodeHealthData: when the Node was last heard from, and what was heard."""

    probe_timestamp: Time
    ready_transition_timestamp: Time
    heartbeat: Time | None = None  # the saved Ready condition's lastHeartbeatTime
    transition: Time | None = None  # ... and lastTransitionTime
    has_ready: bool = False
    lease_renew: float | None = None
    # a memo, not part of the value (no eq): the Node and the Lease objects the health was
    # last observed from (`observe_health` keeps them), so the next monitor pass tells by
    # identity that neither changed and reads nothing of them again
    seen: SeenNode | None = attrs.field(default=None, eq=False, repr=False)
    seen_lease: Lease | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(kw_only=True)
class TokenBucket:
    """flowcontrol's token bucket with burst 1; `qps <= 0` never accepts."""

    qps: float
    tokens: float = 1.0
    last: Time = Time(0.0)


@attrs.frozen(kw_only=True)
class Zone:
    """One zone's disruption state, tainting limiter and queue (node -> when queued)."""

    state: ZoneState = ZoneState.INITIAL
    limiter: TokenBucket = TokenBucket(qps=EVICTION_QPS)
    queue: PMap[str, Time] = pmap()


@attrs.frozen(kw_only=True)
class Eviction:
    """A pod's scheduled deletion (a TimedWorker); `done` once the delete was sent;
    `failures`: its deletes that failed in a row."""

    uid: str
    created_at: Time
    fire_at: Time
    done: bool = False
    failures: int = 0


@attrs.frozen(kw_only=True)
class NodeLifecycleState:
    view: ClusterState
    health: PMap[str, NodeHealth] = pmap()
    zones: PMap[str, Zone] = pmap()
    evictions: PMap[ObjectKey, Eviction] = pmap()
    noexecute: PMap[str, tuple[Taint, ...]] = pmap()  # node -> NoExecute taints last seen
    busy: PSet[ObjectKey] = pset()  # objects with a request in flight (one each)
    retry_pods: PSet[str] = pset()  # nodes whose MarkPodsNotReady failed


evolve_state = evolver(NodeLifecycleState)  # attrs.evolve for the hot per-event state updates
evolve_health = evolver(NodeHealth)  # ... and for a Node's health at each Lease renewal


# --- small pure helpers -------------------------------------------------------------------


def node_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.NODE, namespace="", name=name)


def zone_of(node: Node) -> str:
    """nodetopology.GetZoneKey: region and zone, "" when neither label is set."""
    labels = node.metadata.labels
    region, zone = labels.get(LABEL_REGION, ""), labels.get(LABEL_ZONE, "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def condition(node: Node, kind: str) -> NodeCondition | None:
    return next((c for c in node.status.conditions if c.type == kind), None)


def has_taint(node: Node, key: str, effect: TaintEffect) -> bool:
    return any(t.key == key and t.effect is effect for t in node.spec.taints)


def noexecute_taints(node: Node) -> tuple[Taint, ...]:
    return tuple(t for t in node.spec.taints if t.effect is TaintEffect.NO_EXECUTE)


def try_accept(bucket: TokenBucket, now: Time) -> tuple[TokenBucket, bool]:
    """TryAccept: refill at `qps` (burst 1), then take a token if one is there."""
    if bucket.qps <= 0:
        return bucket, False
    tokens = min(1.0, bucket.tokens + max(0.0, now - bucket.last) * bucket.qps)
    if tokens >= 1.0:
        return TokenBucket(qps=bucket.qps, tokens=tokens - 1.0, last=now), True
    return TokenBucket(qps=bucket.qps, tokens=tokens, last=now), False


def next_token_at(bucket: TokenBucket) -> Time | None:
    if bucket.qps <= 0:
        return None
    return Time(bucket.last + (1.0 - bucket.tokens) / bucket.qps)


def compute_zone_state(ready: Iterable[NodeCondition | None]) -> ZoneState:
    """ComputeZoneState: full when none is Ready, partial at >= 55% not Ready (and > 2)."""
    statuses = [c is not None and c.status is ConditionStatus.TRUE for c in ready]
    ready_n = sum(statuses)
    not_ready = len(statuses) - ready_n
    if ready_n == 0 and not_ready > 0:
        return ZoneState.FULL_DISRUPTION
    if not_ready > 2 and not_ready / (not_ready + ready_n) >= UNHEALTHY_ZONE_THRESHOLD:
        return ZoneState.PARTIAL_DISRUPTION
    return ZoneState.NORMAL


def zone_qps(state: ZoneState, size: int) -> float:
    """setLimiterInZone: the tainting rate a zone gets in `state`."""
    if state is ZoneState.PARTIAL_DISRUPTION:
        return SECONDARY_EVICTION_QPS if size > LARGE_CLUSTER_THRESHOLD else 0.0
    return EVICTION_QPS


def min_toleration_seconds(taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]) -> float | None:
    """How long `tolerations` let the pod stay under `taints` (NoExecute): 0 = evict now,
    None = forever (GetMatchingTolerations + getMinTolerationTime)."""
    used: list[Toleration] = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint.key, taint.value, taint.effect)), None)
        if match is None:
            return 0.0
        used.append(match)
    if not used:
        return 0.0
    seconds = [t.toleration_seconds for t in used if t.toleration_seconds is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


def markable(pod: Pod) -> bool:
    """Whether MarkPodsNotReady would write the pod: a Ready condition that is not False."""
    return any(c.type == READY and c.status is not ConditionStatus.FALSE for c in pod.status.conditions)


def pod_reads_changed(old: Pod, new: Pod) -> bool:
    """Whether a pod update changes what the controller decides on (its watch filter)."""
    if old is new:
        return False
    a, b = old.metadata, new.metadata
    return (
        old.spec.node_name != new.spec.node_name
        or a.uid != b.uid
        or a.deletion_timestamp != b.deletion_timestamp
        or old.spec.tolerations != new.spec.tolerations
        or (old.status.conditions is not new.status.conditions and markable(old) is not markable(new))
    )


def remember(view: ClusterState, obj: ApiObject) -> ClusterState:
    """`view` with an answered object, unless the view already holds a newer one."""
    held = get(view, ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name))
    if held is not None and held.metadata.resource_version >= obj.metadata.resource_version:
        return view
    return put(view, obj)


def with_taints(node: Node, add: Iterable[Taint], remove: Iterable[tuple[str, TaintEffect]]) -> Node:
    gone = set(remove)
    kept = tuple(t for t in node.spec.taints if (t.key, t.effect) not in gone)
    have = {(t.key, t.effect) for t in kept}
    new = tuple(t for t in add if (t.key, t.effect) not in have)
    return attrs.evolve(node, spec=attrs.evolve(node.spec, taints=kept + new))

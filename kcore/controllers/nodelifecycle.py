"""The node lifecycle controller: node health, condition taints and taint-based eviction.

Owns `NodeLifecycleController` (component "node-lifecycle-controller", watches Node
and Pod, reads Leases) and its three passes; its state `NodeLifecycleState`, constants and
small pure helpers live in `nodelifecycle_state`. It folds in two of upstream's
kube-controller-manager controllers: node-lifecycle-controller (jobs 1 and 2, Events from
"node-controller") and taint-eviction-controller (job 3, Events from
"taint-eviction-controller"). Three jobs, as upstream runs them:

1. Health monitor (every `NODE_MONITOR_PERIOD`, a `WakeMeAt`): for each Node, the
   probe timestamp moves to `now` whenever its Ready condition's lastHeartbeatTime or
   its Lease's renewTime (kube-node-lease/<node>) changed since the last pass (upstream's
   nodeHealthData; a Node seen for the first time counts as probed now). When
   `now > probe + NODE_MONITOR_GRACE_PERIOD` (`NODE_STARTUP_GRACE_PERIOD` for a Node that
   never posted Ready), Ready, MemoryPressure, DiskPressure and PIDPressure become Unknown
   ("NodeStatusUnknown", "Kubelet stopped posting node status.") through a status update;
   then a "NodeNotReady" Event, and the Node's pods get Ready=False (MarkPodsNotReady).
2. Taints: NoSchedule taints follow the conditions on every Node change
   (TaintNodesByCondition: not-ready / unreachable / memory-, disk-, pid-pressure,
   network-unavailable, unschedulable). NoExecute taints follow what the monitor
   observed: Ready=False -> node.kubernetes.io/not-ready, Ready=Unknown ->
   node.kubernetes.io/unreachable (with timeAdded), both removed once Ready=True. New
   NoExecute taints go through a per-zone queue with a token bucket (`EVICTION_QPS`,
   burst 1; `SECONDARY_EVICTION_QPS` for a zone of more than `LARGE_CLUSTER_THRESHOLD`
   nodes in partial disruption (>= 55% not Ready and more than 2), none for a smaller
   one); when every zone is fully disrupted all NoExecute taints are removed and tainting
   stops (the master-disruption mode); swapping not-ready <-> unreachable is immediate.
3. Taint eviction: a pod on a Node with NoExecute taints it does not tolerate is deleted
   at once; one that tolerates them all for a while is deleted when the shortest
   tolerationSeconds since the taint was seen runs out (a `WakeMeAt` per pod); tolerating
   forever, or the taint going away, cancels it. Each deletion records a Normal
   "TaintManagerEviction" Event "Marking for deletion Pod <ns>/<name>".

For settling (`kcore.component.workqueue`): the monitor pass is periodic and a
tolerationSeconds eviction a deadline, both merely scheduled; a queued NoExecute taint
waiting for its zone's token (as a throttled request) and an eviction waiting for a
write in flight are in motion; a failed eviction's retry is in motion the first time in
a row (`Eviction.failures`), not after.

Rules: writes carry the view's resourceVersion (a stale one answers 409, and the next
pass or event retries with the newer object; a pod status write that conflicts re-reads
the pod with a Get first, as the filter below lets the view's copy of a pod lag in
fields read only to be written back); one write per object in flight (`busy`), tagged
`Call(purpose, key)`; an answered object is folded into the view at once. The passes'
timers are `Timer` members, a pod's eviction timer is keyed by the pod's key. Everything is level-triggered and iterates in
sorted order. Must not know: the kubelet, the scheduler, the driver's queue.

Leases are read, not watched (upstream's controller has a Lease lister and no Lease
event handler): the component sets `reads_current_view`, so every timer and watch event
it is delivered carries the shared cache as it is at delivery, and each monitor pass
reads every Lease's current renewTime; a renewal costs this controller nothing.
Each Node's health remembers (outside its value) the Node and Lease objects it was read
from: at a pass, a plainly healthy Node that is still the same object is checked by
identity (its Lease, its grace period, the tainting queues) without reading it again, as
upstream's pass re-reads each Node from its lister but finds most unchanged.

Watch filter (`wants`): every Node event; a Pod event only when the pod is bound
(spec.nodeName set) or DELETED, and an update of a bound pod only when it changes what
this controller decides on (`pod_reads_changed`: nodeName, uid, deletionTimestamp,
tolerations, whether a Ready condition that is not False is there). An unbound pod is never evicted nor marked
not ready (upstream's podUpdated / processPodOnNode skip a pod without a node, and
MarkPodsNotReady lists pods by node); upstream's taint manager podUpdated likewise
returns early unless the node name or tolerations changed (and the pod is processed
again on any node update). So a kubelet's status write (containerStatuses, IPs, other
conditions, phase) does not pass, and every field a pass reads to decide is current in
the view; an update whose old object is unknown passes.

Mirrors pkg/controller/nodelifecycle/node_lifecycle_controller.go (monitorNodeHealth,
tryUpdateNodeHealth, processTaintBaseEviction, doNoScheduleTaintingPass,
doNoExecuteTaintingPass, handleDisruption, ComputeZoneState),
pkg/controller/nodelifecycle/scheduler/rate_limited_queue.go,
pkg/controller/util/node/controller_utils.go (MarkPodsNotReady) and
pkg/controller/tainteviction/taint_eviction.go (processPodOnNode, getMinTolerationTime).
"""

from __future__ import annotations

from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.coordination import Lease
from kcore.api.core import EventSource, Node, NodeCondition, Taint
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time
from kcore.api.pod import Pod, PodCondition, TaintEffect
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
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
from kcore.component.requests import Delete, Get, Request, Response, Subresource, Update
from kcore.component.workqueue import retry_in_motion
from kcore.controllers.nodelifecycle_state import (
    CONDITION_TAINTS,
    LABEL_EXCLUDE_DISRUPTION,
    LEASE_NAMESPACE,
    NAME,
    NO_SCHEDULE_KEYS,
    NODE_MONITOR_GRACE_PERIOD,
    NODE_MONITOR_PERIOD,
    NODE_STARTUP_GRACE_PERIOD,
    NOT_READY_TAINTS,
    READY,
    RETRY_SECONDS,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    UNKNOWN_CONDITIONS,
    Call,
    Effects,
    Eviction,
    NodeHealth,
    NodeLifecycleState,
    Purpose,
    SeenNode,
    Timer,
    TokenBucket,
    Zone,
    ZoneState,
    compute_zone_state,
    condition,
    evolve_health,
    evolve_state,
    has_taint,
    min_toleration_seconds,
    next_token_at,
    node_key,
    noexecute_taints,
    pod_reads_changed,
    remember,
    seen_node,
    try_accept,
    with_taints,
    zone_of,
    zone_qps,
)
from kcore.state import ClusterState, get, list_objects, pods_on_node

TAINT_EVICTION_SOURCE: Final = EventSource(component="taint-eviction-controller")
"""The taint eviction half records as upstream's own controller (taint_eviction.go)."""

# Reasons for node lifecycle events (nodeutil.RecordNodeStatusChange, MarkPodsNotReady)
NODE_NOT_READY: Final = "NodeNotReady"
# Reasons for taint eviction events (emitPodDeletionEvent, emitCancelPodDeletionEvent)
TAINT_MANAGER_EVICTION: Final = "TaintManagerEviction"

# --- the component ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NodeLifecycleController:
    """The component: `init` keeps the listed view; `Started` runs the first monitor pass."""

    name: str = NAME
    event_source: EventSource = EventSource(component="node-controller")  # node_lifecycle_controller.go
    watches: frozenset[Kind] = frozenset({Kind.NODE, Kind.POD})
    reads_current_view: bool = True  # Leases come from the current cache at each pass

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): Nodes, deleted pods, bound pods whose
        update changes what a pass decides on."""
        obj = event.obj
        if not isinstance(obj, Pod) or event.type is WatchType.DELETED:
            return True
        if not obj.spec.node_name:
            return False
        return event.type is not WatchType.MODIFIED or not isinstance(old, Pod) or pod_reads_changed(old, obj)

    def init(self, view: ClusterState, now: Time) -> tuple[NodeLifecycleState, Effects]:
        """Relist: health is unknown, so every Node counts as probed at its first pass."""
        return NodeLifecycleState(view=view), ()

    def step(self, state: NodeLifecycleState, event: Event) -> tuple[NodeLifecycleState, Effects]:
        """Absorb one event; may emit Node/Pod writes, Events and timers (see the module)."""
        if isinstance(event, TimerFired) and event.view is not None:
            state = evolve_state(state, view=event.view)
        match event:
            case Started(now=now) | TimerFired(key=Timer.MONITOR, now=now):
                return monitor_node_health(state, now)
            case TimerFired(key=Timer.TAINT_PASS, now=now):
                return _taint_pass(state, now)
            case TimerFired(key=ObjectKey() as pod, now=now):
                return _fire_eviction(state, pod, now)
            case WatchDelivered(event=ev, now=now):
                state = evolve_state(state, view=follow(state.view, event))
                if isinstance(ev.obj, Node):
                    return _node_changed(state, ev.obj.metadata.name, now)
                if isinstance(ev.obj, Pod):
                    return _pod_changed(state, ev.key, ev.type is WatchType.DELETED, now)
                return state, ()
            case ApiAnswered(tag=Call() as call, response=resp, now=now):
                return _answered(state, call, resp, now)
            case Resynced(view=view, now=now):
                state = attrs.evolve(state, view=view)
                out: list[Effect] = []
                for obj in list_objects(view, Kind.NODE):
                    state, effects = _node_changed(state, obj.metadata.name, now)
                    out.extend(effects)
                for key in sorted(state.evictions):
                    if get(view, key) is None:
                        state, effects = _pod_changed(state, key, True, now)
                        out.extend(effects)
                return state, tuple(out)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)


# --- writes -------------------------------------------------------------------------------


def _call(state: NodeLifecycleState, purpose: Purpose, key: ObjectKey, req: Request) -> tuple[NodeLifecycleState, Effects]:
    """One write about `key`, unless one is already in flight (then the answer re-syncs)."""
    if key in state.busy:
        return state, ()
    state = attrs.evolve(state, busy=state.busy.add(key))
    return state, (CallApi(request=req, tag=Call(purpose=purpose, key=key)),)


def _write_node(state: NodeLifecycleState, node: Node, new: Node, status: bool = False) -> tuple[NodeLifecycleState, Effects]:
    if new == node:
        return state, ()
    sub = Subresource.STATUS if status else Subresource.NONE
    return _call(state, Purpose.NODE, node_key(node.metadata.name), Update(obj=new, subresource=sub))


def _answered(state: NodeLifecycleState, pending: Call, resp: Response, now: Time) -> tuple[NodeLifecycleState, Effects]:
    state = attrs.evolve(state, busy=state.busy.discard(pending.key))
    body = resp.body
    if resp.ok and isinstance(body, Node | Pod):
        state = attrs.evolve(state, view=remember(state.view, body))
    match pending.purpose:
        case Purpose.NODE:
            return _node_changed(state, pending.key.name, now)
        case Purpose.POD_STATUS:
            if resp.ok or resp.code == 404:
                return state, ()
            if resp.code == 409:  # the view's copy is stale: read it again, then retry
                return _call(state, Purpose.POD_REFRESH, pending.key, Get(key=pending.key))
            return _retry_pods_of(state, pending.key), ()
        case Purpose.POD_REFRESH:
            return (_retry_pods_of(state, pending.key) if resp.ok else state), ()
        case Purpose.POD_DELETE:
            ev = state.evictions.get(pending.key)
            if resp.ok or resp.code in (404, 409) or ev is None:
                return state, ()
            retry = attrs.evolve(ev, fire_at=Time(now + RETRY_SECONDS), done=False, failures=ev.failures + 1)
            state = attrs.evolve(state, evictions=state.evictions.set(pending.key, retry))
            moving = retry_in_motion(retry.failures)
            return state, (WakeMeAt(at=retry.fire_at, key=pending.key, in_motion=moving),)
        case _:
            assert_never(pending.purpose)


def _retry_pods_of(state: NodeLifecycleState, key: ObjectKey) -> NodeLifecycleState:
    """Mark the pod's node for another MarkPodsNotReady at the next monitor pass."""
    pod = get(state.view, key)
    node = pod.spec.node_name if isinstance(pod, Pod) else ""
    return attrs.evolve(state, retry_pods=state.retry_pods.add(node)) if node else state


# --- 1. the health monitor ----------------------------------------------------------------


def observe_health(saved: NodeHealth | None, node: Node, lease: Lease | None, now: Time) -> NodeHealth:
    """tryUpdateNodeHealth's bookkeeping: move the probe to `now` when a heartbeat or a
    lease renewal is new since the last pass (the result remembers `node` and `lease`)."""
    seen = saved.seen if saved is not None else None
    if seen is None or seen.node is not node:
        seen = seen_node(node)
    ready = seen.ready
    hb = ready.last_heartbeat_time if ready else None
    tr = ready.last_transition_time if ready else None
    if saved is None or (not saved.has_ready and ready is not None):
        h = NodeHealth(probe_timestamp=now, ready_transition_timestamp=now, heartbeat=hb, transition=tr, has_ready=ready is not None)
    elif saved.has_ready and ready is None:
        h = attrs.evolve(saved, ready_transition_timestamp=now, has_ready=False, heartbeat=None, transition=None)
    elif ready is not None and saved.heartbeat != hb:
        moved = now if saved.transition != tr else saved.ready_transition_timestamp
        h = attrs.evolve(saved, probe_timestamp=now, ready_transition_timestamp=moved, heartbeat=hb, transition=tr)
    else:
        h = saved
    if h.seen is not seen:
        h = evolve_health(h, seen=seen)
    return _observe_lease(h, lease, now)


def _observe_lease(h: NodeHealth, lease: Lease | None, now: Time) -> NodeHealth:
    """The lease half of `observe_health`: a renewal newer than the last moves the probe."""
    renew = lease.spec.renew_time if lease is not None else None
    if renew is not None and (h.lease_renew is None or h.lease_renew < renew):
        return evolve_health(h, lease_renew=renew, probe_timestamp=now, seen_lease=lease)
    return h if h.seen_lease is lease else evolve_health(h, seen_lease=lease)


def unknown_status(node: Node, now: Time) -> Node:
    """The Node with every kubelet-owned condition Unknown (never-posted ones added)."""
    conds = list(node.status.conditions)
    for kind in UNKNOWN_CONDITIONS:
        i = next((j for j, c in enumerate(conds) if c.type == kind), None)
        if i is None:
            conds.append(
                NodeCondition(
                    type=kind,
                    status=ConditionStatus.UNKNOWN,
                    reason="NodeStatusNeverUpdated",
                    message="Kubelet never posted node status.",
                    last_heartbeat_time=node.metadata.creation_timestamp,
                    last_transition_time=now,
                )
            )
        elif conds[i].status is not ConditionStatus.UNKNOWN:
            conds[i] = attrs.evolve(
                conds[i],
                status=ConditionStatus.UNKNOWN,
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                last_transition_time=now,
            )
    return attrs.evolve(node, status=attrs.evolve(node.status, conditions=tuple(conds)))


def monitor_node_health(state: NodeLifecycleState, now: Time, *, memo: bool = True) -> tuple[NodeLifecycleState, Effects]:
    """monitorNodeHealth: one pass over every Node, then the zones, then the taint queue.

    With `memo` (always, but in the test that it changes nothing), a Node whose health
    remembers this very Node object as plainly healthy is checked by `unchanged_steady`
    (identity, the Lease, the grace period, the queues) without reading the Node again."""
    out: list[Effect] = [WakeMeAt(at=Time(now + NODE_MONITOR_PERIOD), key=Timer.MONITOR)]  # periodic
    nodes = [n for n in list_objects(state.view, Kind.NODE) if isinstance(n, Node)]
    held = len(state.health)  # healths at the start of the pass
    had = 0  # ... of them the pass's Nodes have (a pass sets only its own Node's health)
    by_zone: dict[str, list[NodeCondition | None]] = {}
    renewed: dict[str, NodeHealth] = {}  # steady nodes' new probe times, set once below
    leases = _lease_table(state.view)
    queued = any(z.queue for z in state.zones.values())
    for node in nodes:
        name = node.metadata.name
        try:
            saved = state.health[name]
            had += 1
        except KeyError:
            saved = None
        if memo and saved is not None:
            fast = unchanged_steady(state, saved, node, leases, queued, now)
            if fast is not None:
                seen, fresh = fast
                if fresh is not None:
                    renewed[name] = fresh
                if seen.counted:
                    by_zone.setdefault(seen.zone, []).append(seen.ready)
                continue
        zone = zone_of(node)
        steady = _steady(state, node, zone, now)
        current: NodeCondition | None
        if steady is not None:
            current, fresh = steady
            if fresh is not None:
                renewed[name] = fresh
        else:
            state, current, effects = _monitor_node(state, node, now)
            out.extend(effects)
            queued = any(z.queue for z in state.zones.values())
        if LABEL_EXCLUDE_DISRUPTION not in node.metadata.labels:
            by_zone.setdefault(zone, []).append(current)
    if had != held:  # the healths of Nodes that are gone (most passes forget none)
        names = {n.metadata.name for n in nodes}
        kept = state.health.evolver()
        for k in [k for k in state.health if k not in names]:
            del kept[k]
        state = attrs.evolve(state, health=kept.persistent())
    if renewed:
        health_map = state.health.evolver()
        for name, h in renewed.items():
            health_map[name] = h
        state = attrs.evolve(state, health=health_map.persistent())
    state, effects = _handle_disruption(state, by_zone, nodes, now)
    out.extend(effects)
    state, effects = _taint_pass(state, now)
    return state, (*out, *effects)


def _lease_table(view: ClusterState) -> PMap[tuple[str, str], ApiObject]:
    try:
        return view.tables[Kind.LEASE]
    except KeyError:
        return pmap()


def unchanged_steady(
    state: NodeLifecycleState,
    saved: NodeHealth,
    node: Node,
    leases: PMap[tuple[str, str], ApiObject],
    queued: bool,
    now: Time,
) -> tuple[SeenNode, NodeHealth | None] | None:
    """`_steady` for a Node the last pass saw as this very object, plainly healthy: what
    it reads of the Node comes from the memo (the same object gives the same answers),
    and its health changes only when its Lease object did (`queued`: whether any zone
    queues a Node for tainting). None: not such a Node, or no longer steady (the full
    check decides). `saved`: the Node's health."""
    name = node.metadata.name
    seen = saved.seen
    if seen is None or seen.node is not node or not seen.plain or not saved.has_ready:
        return None
    try:
        found = leases[(LEASE_NAMESPACE, name)]
    except KeyError:
        found = None
    lease = found if isinstance(found, Lease) else None
    health = saved if saved.seen_lease is lease else _observe_lease(saved, lease, now)
    if now > health.probe_timestamp + NODE_MONITOR_GRACE_PERIOD:
        return None
    if queued:
        z = state.zones.get(seen.zone)
        if z is not None and name in z.queue:
            return None
    return seen, (health if health is not saved else None)


def _steady(state: NodeLifecycleState, node: Node, zone: str, now: Time) -> tuple[NodeCondition, NodeHealth | None] | None:
    """What `_monitor_node` does for a Node that stays healthy, without copying the
    state: its Ready condition and its new health (None: unchanged); None when the Node
    is not plainly healthy (Ready is not True or its heartbeat moved, its grace ran
    out, it is tainted not-ready/unreachable or queued for tainting): then the full
    pass decides. Most Nodes of a cluster are plainly healthy at most passes."""
    name = node.metadata.name
    saved = state.health.get(name)
    if saved is None or not saved.has_ready:
        return None
    ready = condition(node, READY)
    if ready is None or ready.status is not ConditionStatus.TRUE or ready.last_heartbeat_time != saved.heartbeat:
        return None
    lease = get(state.view, ObjectKey(kind=Kind.LEASE, namespace=LEASE_NAMESPACE, name=name))
    health = observe_health(saved, node, lease if isinstance(lease, Lease) else None, now)
    if now > health.probe_timestamp + NODE_MONITOR_GRACE_PERIOD:
        return None
    if any(t.effect is TaintEffect.NO_EXECUTE and t.key in NOT_READY_TAINTS for t in node.spec.taints):
        return None
    z = state.zones.get(zone)
    if z is not None and name in z.queue:
        return None
    return ready, (health if health is not saved else None)


def _monitor_node(state: NodeLifecycleState, node: Node, now: Time) -> tuple[NodeLifecycleState, NodeCondition | None, Effects]:
    name = node.metadata.name
    lease = get(state.view, ObjectKey(kind=Kind.LEASE, namespace=LEASE_NAMESPACE, name=name))
    saved = state.health.get(name)
    health = observe_health(saved, node, lease if isinstance(lease, Lease) else None, now)
    if health is not saved:
        state = attrs.evolve(state, health=state.health.set(name, health))
    observed = condition(node, READY)
    observed_status = observed.status if observed is not None else ConditionStatus.UNKNOWN
    grace = NODE_MONITOR_GRACE_PERIOD if observed is not None else NODE_STARTUP_GRACE_PERIOD
    current = observed
    out: list[Effect] = []
    if now > health.probe_timestamp + grace:
        updated = unknown_status(node, now)
        current = condition(updated, READY)
        if current != observed:
            state, effects = _write_node(state, node, updated, status=True)
            out.extend(effects)
            state = attrs.evolve(state, health=state.health.set(name, attrs.evolve(health, ready_transition_timestamp=now)))
    if current is None:
        return state, current, tuple(out)
    state, effects = _taint_for_condition(state, node, observed_status, now)
    out.extend(effects)
    went_down = current.status is not ConditionStatus.TRUE and observed_status is ConditionStatus.TRUE
    if went_down:
        out.append(RecordEvent(involved=node_key(name), type=EventType.NORMAL, reason=NODE_NOT_READY, message=f"Node {name} status is now: {NODE_NOT_READY}"))
    if went_down or (name in state.retry_pods and observed_status is not ConditionStatus.TRUE):
        state, effects = _mark_pods_not_ready(attrs.evolve(state, retry_pods=state.retry_pods.discard(name)), name, now)
        out.extend(effects)
    return state, current, tuple(out)


def _mark_pods_not_ready(state: NodeLifecycleState, node: str, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """MarkPodsNotReady: Ready=False on each pod of the Node that has a Ready condition."""
    out: list[Effect] = []
    for key in pods_on_node(state.view, node):
        pod = get(state.view, key)
        if not isinstance(pod, Pod):
            continue
        conds = pod.status.conditions
        i = next((j for j, c in enumerate(conds) if c.type == READY), None)
        if i is None or conds[i].status is ConditionStatus.FALSE:
            continue
        cond: PodCondition = attrs.evolve(conds[i], status=ConditionStatus.FALSE, last_transition_time=now)
        new = attrs.evolve(pod, status=attrs.evolve(pod.status, conditions=(*conds[:i], cond, *conds[i + 1 :])))
        state, effects = _call(state, Purpose.POD_STATUS, key, Update(obj=new, subresource=Subresource.STATUS))
        out.extend(effects)
        if effects:
            out.append(RecordEvent(involved=key, type=EventType.WARNING, reason=NODE_NOT_READY, message="Node is not ready"))
    return state, tuple(out)


# --- 2. taints ----------------------------------------------------------------------------


def _zone(state: NodeLifecycleState, zone: str) -> Zone:
    return state.zones.get(zone, Zone())


def _set_zone(state: NodeLifecycleState, zone: str, z: Zone) -> NodeLifecycleState:
    return attrs.evolve(state, zones=state.zones.set(zone, z))


def _taint_for_condition(state: NodeLifecycleState, node: Node, observed: ConditionStatus, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """processTaintBaseEviction: swap at once, queue a new taint, or clear on Ready."""
    zone, name = zone_of(node), node.metadata.name
    z = _zone(state, zone)
    want = {ConditionStatus.FALSE: TAINT_NOT_READY, ConditionStatus.UNKNOWN: TAINT_UNREACHABLE}.get(observed)
    if want is None:  # Ready again: markNodeAsReachable
        # the common case, a Ready node neither queued nor tainted, costs no copy: the
        # monitor asks this of every Node every pass (a zone missing from `zones` is
        # added by the pass's handleDisruption all the same)
        if name in z.queue:
            state = _set_zone(state, zone, attrs.evolve(z, queue=z.queue.discard(name)))
        if not any(t.effect is TaintEffect.NO_EXECUTE and t.key in NOT_READY_TAINTS for t in node.spec.taints):
            return state, ()
        gone = ((TAINT_NOT_READY, TaintEffect.NO_EXECUTE), (TAINT_UNREACHABLE, TaintEffect.NO_EXECUTE))
        return _write_node(state, node, with_taints(node, (), gone))
    opposite = TAINT_UNREACHABLE if want == TAINT_NOT_READY else TAINT_NOT_READY
    if has_taint(node, opposite, TaintEffect.NO_EXECUTE):
        return _write_node(state, node, _swap_noexecute(node, want, opposite, now))
    if not has_taint(node, want, TaintEffect.NO_EXECUTE) and name not in z.queue:
        state = _set_zone(state, zone, attrs.evolve(z, queue=z.queue.set(name, now)))
    return state, ()


def _swap_noexecute(node: Node, add: str, remove: str, now: Time) -> Node:
    taint = Taint(key=add, effect=TaintEffect.NO_EXECUTE, time_added=now)
    return with_taints(node, (taint,), ((remove, TaintEffect.NO_EXECUTE),))


def _taint_pass(state: NodeLifecycleState, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """doNoExecuteTaintingPass: each zone's queue, oldest first, while its limiter lets."""
    out: list[Effect] = []
    wake: Time | None = None
    for zone in sorted(state.zones):
        z = state.zones[zone]
        for name in sorted(z.queue, key=lambda n: (z.queue[n], n)):
            node = get(state.view, node_key(name))
            ready = condition(node, READY) if isinstance(node, Node) else None
            if not isinstance(node, Node) or ready is None or ready.status is ConditionStatus.TRUE:
                z = attrs.evolve(z, queue=z.queue.discard(name))
                continue
            want = TAINT_NOT_READY if ready.status is ConditionStatus.FALSE else TAINT_UNREACHABLE
            opposite = TAINT_UNREACHABLE if want == TAINT_NOT_READY else TAINT_NOT_READY
            new = _swap_noexecute(node, want, opposite, now)
            if has_taint(node, want, TaintEffect.NO_EXECUTE) and not has_taint(node, opposite, TaintEffect.NO_EXECUTE):
                z = attrs.evolve(z, queue=z.queue.discard(name))
                continue
            if node_key(name) in state.busy:
                continue
            limiter, ok = try_accept(z.limiter, now)
            z = attrs.evolve(z, limiter=limiter)
            if not ok:
                at = next_token_at(limiter)
                wake = at if wake is None or (at is not None and at < wake) else wake
                break
            state = _set_zone(state, zone, z)
            state, effects = _write_node(state, node, new)
            out.extend(effects)
            z = state.zones[zone]
        state = _set_zone(state, zone, z)
    if wake is not None:  # a queued taint waits for its token: in motion, as a throttled request
        out.append(WakeMeAt(at=wake, key=Timer.TAINT_PASS, in_motion=True))
    return state, tuple(out)


def _handle_disruption(
    state: NodeLifecycleState, by_zone: dict[str, list[NodeCondition | None]], nodes: list[Node], now: Time
) -> tuple[NodeLifecycleState, Effects]:
    """handleDisruption: per-zone tainting rates; stop and untaint when all zones are down."""
    new_states = {zone: compute_zone_state(conds) for zone, conds in by_zone.items()}
    all_are_down = all(s is ZoneState.FULL_DISRUPTION for s in new_states.values())
    zones = pmap({k: v for k, v in state.zones.items() if k in by_zone})
    for zone in by_zone:
        if zone not in zones:
            zones = zones.set(zone, Zone())
    all_were_down = bool(zones) and all(z.state is ZoneState.FULL_DISRUPTION for z in zones.values())
    state = attrs.evolve(state, zones=zones)
    if not new_states:
        return state, ()
    out: list[Effect] = []
    if all_are_down:  # master disruption: no NoExecute taint anywhere, no tainting
        gone = ((TAINT_NOT_READY, TaintEffect.NO_EXECUTE), (TAINT_UNREACHABLE, TaintEffect.NO_EXECUTE))
        for node in nodes:
            state, effects = _write_node(state, node, with_taints(node, (), gone))
            out.extend(effects)
        for zone in sorted(state.zones):
            z = state.zones[zone]
            state = _set_zone(state, zone, attrs.evolve(z, state=ZoneState.FULL_DISRUPTION, limiter=TokenBucket(qps=0.0), queue=pmap()))
        return state, tuple(out)
    if all_were_down:  # leaving master disruption: every Node gets a fresh grace period
        state = attrs.evolve(
            state,
            health=pmap({k: attrs.evolve(v, probe_timestamp=now, ready_transition_timestamp=now) for k, v in state.health.items()}),
        )
    for zone in sorted(state.zones):
        z, new = state.zones[zone], new_states[zone]
        if z.state is new and not all_were_down:
            continue
        qps = zone_qps(new, len(by_zone[zone]))
        limiter = z.limiter if z.limiter.qps == qps else TokenBucket(qps=qps, last=now)
        state = _set_zone(state, zone, attrs.evolve(z, state=new, limiter=limiter))
    return state, tuple(out)


def _no_schedule_pass(state: NodeLifecycleState, node: Node, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """doNoScheduleTaintingPass: the NoSchedule condition taints follow the conditions."""
    want = {
        CONDITION_TAINTS[(c.type, c.status)]
        for c in node.status.conditions
        if (c.type, c.status) in CONDITION_TAINTS
    }
    if node.spec.unschedulable:
        want.add(TAINT_UNSCHEDULABLE)
    have = {t.key for t in node.spec.taints if t.effect is TaintEffect.NO_SCHEDULE and t.key in NO_SCHEDULE_KEYS}
    if want == have:
        return state, ()
    add = tuple(Taint(key=k, effect=TaintEffect.NO_SCHEDULE, time_added=now) for k in sorted(want - have))
    remove = tuple((k, TaintEffect.NO_SCHEDULE) for k in sorted(have - want))
    return _write_node(state, node, with_taints(node, add, remove))


def _node_changed(state: NodeLifecycleState, name: str, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """A Node was written or answered: NoSchedule taints, then its pods' evictions."""
    node = get(state.view, node_key(name))
    if not isinstance(node, Node):
        taints: tuple[Taint, ...] = ()
        effects: Effects = ()
        state = attrs.evolve(state, health=state.health.discard(name), retry_pods=state.retry_pods.discard(name))
        state = attrs.evolve(state, zones=pmap({k: attrs.evolve(z, queue=z.queue.discard(name)) for k, z in state.zones.items()}))
    else:
        state, effects = _no_schedule_pass(state, node, now)
        taints = noexecute_taints(node)
    if state.noexecute.get(name, ()) == taints:
        return state, effects
    state = attrs.evolve(state, noexecute=state.noexecute.set(name, taints) if taints else state.noexecute.discard(name))
    out = list(effects)
    for key in pods_on_node(state.view, name):
        state, more = _pod_changed(state, key, False, now)
        out.extend(more)
    return state, tuple(out)


# --- 3. taint eviction --------------------------------------------------------------------


def _cancel(state: NodeLifecycleState, key: ObjectKey) -> tuple[NodeLifecycleState, Effects]:
    """cancelWorkWithEvent: drop the pod's work; an Event only when it had not fired yet."""
    ev = state.evictions.get(key)
    if ev is None:
        return state, ()
    state = attrs.evolve(state, evictions=state.evictions.remove(key))
    if ev.done:
        return state, ()
    msg = f"Cancelling deletion of Pod {key.namespace}/{key.name}"
    return state, (_eviction_event(key, msg),)


def _pod_changed(state: NodeLifecycleState, key: ObjectKey, deleted: bool, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """processPodOnNode: schedule, keep, or cancel the pod's deletion."""
    pod = None if deleted else get(state.view, key)
    if not isinstance(pod, Pod) or not pod.spec.node_name:
        return _cancel(state, key)
    ev = state.evictions.get(key)
    if ev is not None and ev.uid != pod.metadata.uid:  # a new pod under the old name
        state, _ = _cancel(state, key)
        ev = None
    if pod.metadata.deletion_timestamp is not None:
        return state, ()  # already going; another delete would change nothing
    taints = state.noexecute.get(pod.spec.node_name, ())
    if not taints:
        return _cancel(state, key)
    seconds = min_toleration_seconds(taints, pod.spec.tolerations)
    if seconds is None:
        return _cancel(state, key)
    if ev is not None and ev.done:
        return state, ()  # fired already: upstream keeps the finished worker until a cancel
    if ev is not None and seconds > 0:
        return state, ()  # keeps its first start time (upstream: CreatedAt + min < now + min)
    if ev is not None:  # a new untolerated taint: cancel the countdown, evict now
        state, cancelled = _cancel(state, key)
        state, fired = _pod_changed(state, key, False, now)
        return state, (*cancelled, *fired)
    work = Eviction(uid=pod.metadata.uid, created_at=now, fire_at=Time(now + seconds))
    state = attrs.evolve(state, evictions=state.evictions.set(key, work))
    if seconds <= 0:
        return _fire_eviction(state, key, now)
    return state, (WakeMeAt(at=work.fire_at, key=key),)  # tolerationSeconds: a deadline


def _fire_eviction(state: NodeLifecycleState, key: ObjectKey, now: Time) -> tuple[NodeLifecycleState, Effects]:
    """The pod's time is up: delete it (uid precondition) and record TaintManagerEviction."""
    ev = state.evictions.get(key)
    if ev is None or ev.done or ev.fire_at > now:
        return state, ()  # cancelled, fired, or rescheduled since this timer was set
    state = attrs.evolve(state, evictions=state.evictions.set(key, attrs.evolve(ev, done=True)))
    state, effects = _call(state, Purpose.POD_DELETE, key, Delete(key=key, precondition_uid=ev.uid))
    if not effects:  # a status write is in flight: try again shortly (in motion: it ends by itself)
        retry = attrs.evolve(ev, fire_at=Time(now + RETRY_SECONDS))
        wake = WakeMeAt(at=retry.fire_at, key=key, in_motion=True)
        return attrs.evolve(state, evictions=state.evictions.set(key, retry)), (wake,)
    msg = f"Marking for deletion Pod {key.namespace}/{key.name}"
    return state, (*effects, _eviction_event(key, msg))


def _eviction_event(pod: ObjectKey, message: str) -> RecordEvent:
    return RecordEvent(
        involved=pod, type=EventType.NORMAL, reason=TAINT_MANAGER_EVICTION, message=message, source=TAINT_EVICTION_SOURCE
    )

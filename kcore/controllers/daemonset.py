"""The DaemonSet controller as a pure component: one pod per eligible node.

Owns `DaemonSetController` (name "daemonset-controller", watches DaemonSet, Node, Pod),
its state `DaemonSetState`, and the pure helpers `daemon_pods`, `nodes_to_daemon_pods`,
`compute_status`, the failed-pod backoff (`backoff_key`, `in_backoff`, `next_backoff`) and
`timer_key`. The rolling update plan lives in `daemonset_update`, the per-pod and per-node
rules (hash, tolerations, pinning, eligibility) in `daemonset_util`.

Theory of operation (level-triggered, as upstream's syncDaemonSet):
- `step` folds the event into the informer view and maps it to DaemonSet keys: a
  DaemonSet to itself, a pod to its controlling DaemonSet, a node added or deleted (or
  changed in labels, taints or unschedulable) to every DaemonSet. Keys sync in order.
- `sync` observes the DaemonSet's pods grouped by target node (spec.nodeName, or the
  node a pending pod is pinned to; terminal pods already being deleted are left out) and
  the revision hash of its template (`daemonset_util.template_hash`). While its
  expectations are unsatisfied or a creation burst is out it only writes status
  (observedGeneration untouched). Otherwise `manage`: per node in name order
  (podsShouldBeOnNode) create a pod where one should run and none exists, delete failed
  pods (rate limited per node by `failedPodsBackoff`, 1 s doubling to 15 min, a Warning
  FailedDaemonPod event), succeeded pods, all but the oldest running pod (without
  surge; with surge one old and one new may coexist until the new one is available),
  every pod of a node that should no longer run it, and pending pods pinned to nodes
  that are gone. When manage has nothing to do and the strategy is RollingUpdate,
  `rolling_update_plan` picks old pods to delete (maxUnavailable) or nodes to surge onto
  (maxSurge). Creates go out in slow-start batches (1, 2, 4, ...; at most 250 per sync),
  each pinned to its node by required node affinity matchFields metadata.name; the
  default scheduler binds them. Then status is written (only when it changed).
- In-flight requests are data: `expectations` (creations counted, deletions by pod key,
  cleared by the watch, expired after 5 simulated minutes), `in_flight`, `bursts`,
  `status_writes`; so a slow watch never makes two pods for one node.
- minReadySeconds: a ready but not yet available pod asks for a `WakeMeAt` one second
  after it becomes available.
- A failed create burst or delete resyncs after a backoff (`failures`: 5 ms doubling to
  1000 s, as upstream's rate-limited requeue), not at once; an event still syncs at once.
- Settling (`kcore.controllers.timers`): the availability wait and the first retry after
  a failed create, delete or status write are in motion; later retries and the failed-pod
  backoff (a daemon pod that failed on its node again) are merely scheduled.

Differences from upstream: no ControllerRevision objects (the hash stands in; see
docs/semantics.md), so no history cleanup or rollback; orphan pods are not adopted and
owned pods that stop matching the selector are ignored rather than released; node and
candidate order is by name where upstream iterates a Go map.

Watch filter (`wants`): every DaemonSet and Node event; a Pod event only when the pod is
controlled by a DaemonSet or is an orphan (no controller ownerReference), as upstream's
addPod/updatePod/deletePod return early for a controllerRef of another kind. The view is
the shared informer cache, so a skipped pod is never read stale: the controller reads
only its own pods (`dependents` of a DaemonSet) and Nodes. A pod whose controllerRef moves
from a DaemonSet straight to another kind in one write is not seen leaving (upstream
enqueues the old DaemonSet); the next sync of that DaemonSet sees it gone.

Must not know: the driver's queue, the scheduler or kubelet internals, other controllers.
Mirrors pkg/controller/daemon/daemon_controller.go (syncDaemonSet, manage,
podsShouldBeOnNode, syncNodes, updateDaemonSetStatus) and update.go (rollingUpdate,
findUpdatedPodsOnNode, updatedDesiredNodeCounts).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap

from kcore.api.apps import DaemonSet, DaemonSetStatus, DaemonSetUpdateStrategyType
from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status, Time, evolver
from kcore.api.pod import Pod, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent
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
from kcore.component.requests import Create, Delete, Response, Subresource, Update
from kcore.component.workqueue import DEFAULT_RATE_LIMITER
from kcore.controllers import daemonset_util as du
from kcore.controllers import expectations as exps
from kcore.controllers.daemonset_update import Plan, rolling_update_plan
from kcore.controllers.expectations import Expectation, Expectations
from kcore.controllers.podcontrol import (
    SlowStart,
    batch_answered,
    controller_of,
    is_pod_available,
    is_pod_ready,
    key_of,
    mine_or_orphan,
    pod_ready_time,
    skipped,
    slow_start,
)
from kcore.controllers.timers import (
    Wake,
    fired,
    owner_of_timer,
    owner_timer_key,
    retry_in_motion,
    wake,
)
from kcore.intstr import IntOrStringError
from kcore.labels import SelectorParseError, selector_from_label_selector
from kcore.state import ClusterState, dependents, get, list_objects

NAME: Final = "daemonset-controller"
BURST_REPLICAS: Final = 250
"""At most this many creates or deletes per sync (upstream's DaemonSet BurstReplicas)."""

FAILED_POD_BACKOFF_INITIAL: Final = 1.0
FAILED_POD_BACKOFF_MAX: Final = 15 * 60.0
STATUS_RETRY: Final = 1.0
_TIMER_PREFIX: Final = "sync "

Effects = list[Effect]


# --- component state ------------------------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    DELETE = "delete"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class InFlight:
    """What one outstanding request was for (`pod` names the pod of a delete)."""

    owner: ObjectKey
    action: Action
    pod: ObjectKey | None = None


@attrs.frozen(kw_only=True)
class Burst:
    """A creation burst: slow-start progress, the stamped template, nodes not yet sent."""

    progress: SlowStart
    ds: DaemonSet
    hash: str
    nodes: tuple[str, ...]


@attrs.frozen(kw_only=True)
class StatusWrite:
    """A status update sent (`written_rv` 0 until answered), not yet seen in the view."""

    status: DaemonSetStatus
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class Backoff:
    """flowcontrol.Backoff entry of one (DaemonSet uid, generation, node): the current
    delay and when it last grew."""

    delay: float
    last_update: Time


@attrs.frozen(kw_only=True)
class DaemonSetState:
    """The controller's own state (never the cluster's)."""

    view: ClusterState
    expectations: Expectations = exps.NO_EXPECTATIONS
    in_flight: PMap[str, InFlight] = pmap()
    bursts: PMap[ObjectKey, Burst] = pmap()
    status_writes: PMap[ObjectKey, StatusWrite] = pmap()
    failed_backoff: PMap[str, Backoff] = pmap()
    failures: PMap[ObjectKey, int] = pmap()  # consecutive failed create bursts and deletes per DaemonSet
    retries: PMap[ObjectKey, int] = pmap()  # consecutive failed status writes per DaemonSet
    wakeups: PMap[ObjectKey, Wake] = pmap()  # the resync timer pending per DaemonSet
    next_id: int = 0


_evolve = evolver(DaemonSetState)  # attrs.evolve for the hot per-event state updates


def timer_key(owner: ObjectKey) -> str:
    """The `WakeMeAt` key that resyncs DaemonSet `owner`."""
    return owner_timer_key(_TIMER_PREFIX, owner)


def _message(resp: Response) -> str:
    body = resp.body
    return body.message if isinstance(body, Status) else f"unexpected response code {resp.code}"


# --- pure decisions -------------------------------------------------------------------------


def daemon_pods(view: ClusterState, ds: DaemonSet) -> tuple[Pod, ...]:
    """The pods `ds` controls and selects (by name); None-safe over a stale view."""
    try:
        sel = ds.spec.selector
        selector = selector_from_label_selector(
            sel.match_labels, tuple((r.key, r.operator.value, r.values) for r in sel.match_expressions)
        )
    except SelectorParseError:
        return ()
    uid = ds.metadata.uid
    out: list[Pod] = []
    for k in sorted(dependents(view, uid)):
        pod = get(view, k) if k.kind is Kind.POD else None
        if not isinstance(pod, Pod):
            continue
        ref = controller_of(pod.metadata)
        if ref is not None and ref.uid == uid and selector.matches(pod.metadata.labels):
            out.append(pod)
    return tuple(out)


def nodes_to_daemon_pods(pods: Iterable[Pod]) -> dict[str, list[Pod]]:
    """getNodesToDaemonPods: pods by target node, oldest first; terminal pods whose
    deletion was requested and pods naming no node are left out."""
    out: dict[str, list[Pod]] = {}
    for pod in pods:
        terminal = pod.status.phase in (PodPhase.FAILED, PodPhase.SUCCEEDED)
        if terminal and pod.metadata.deletion_timestamp is not None:
            continue
        node = du.target_node_name(pod)
        if node:
            out.setdefault(node, []).append(pod)
    for group in out.values():
        group.sort(key=du.creation_order)
    return out


def compute_status(
    ds: DaemonSet,
    nodes: Sequence[Node],
    by_node: Mapping[str, Sequence[Pod]],
    hash_: str,
    update_observed_generation: bool,
    now: Time,
) -> DaemonSetStatus:
    """updateDaemonSetStatus: the counts over eligible nodes (the oldest pod of each)."""
    desired = current = misscheduled = ready = updated = available = 0
    generation = du.template_generation(ds)
    for node in nodes:
        should_run, _ = du.node_should_run(node, ds)
        pods = by_node.get(node.metadata.name, ())
        if not should_run:
            misscheduled += 1 if pods else 0
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = pods[0]
        if is_pod_ready(pod):
            ready += 1
            available += 1 if is_pod_available(pod, ds.spec.min_ready_seconds, now) else 0
        updated += 1 if du.is_pod_updated(pod, hash_, generation) else 0
    st = ds.status
    return attrs.evolve(
        st,
        desired_number_scheduled=desired,
        current_number_scheduled=current,
        number_misscheduled=misscheduled,
        number_ready=ready,
        updated_number_scheduled=updated,
        number_available=available,
        number_unavailable=desired - available,
        observed_generation=ds.metadata.generation if update_observed_generation else st.observed_generation,
    )


def backoff_key(ds: DaemonSet, node: str) -> str:
    """failedPodsBackoffKey: `<uid>/<observedGeneration>/<node>`."""
    return f"{ds.metadata.uid}/{ds.status.observed_generation}/{node}"


def _expired(entry: Backoff, now: Time) -> bool:
    return now - entry.last_update > 2 * FAILED_POD_BACKOFF_MAX


def in_backoff(entry: Backoff | None, now: Time) -> bool:
    """IsInBackOffSinceUpdate: within the current delay of the last failure."""
    return entry is not None and not _expired(entry, now) and now - entry.last_update < entry.delay


def next_backoff(entry: Backoff | None, now: Time) -> Backoff:
    """Backoff.Next: 1 s for a new or expired entry, else double up to 15 min."""
    if entry is None or _expired(entry, now):
        return Backoff(delay=FAILED_POD_BACKOFF_INITIAL, last_update=now)
    return Backoff(delay=min(2 * entry.delay, FAILED_POD_BACKOFF_MAX), last_update=now)


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DaemonSetController:
    """The DaemonSet controller: one daemon pod per eligible node, rolling updates."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # daemon_controller.go
    watches: frozenset[Kind] = frozenset({Kind.DAEMON_SET, Kind.NODE, Kind.POD})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): DaemonSets, Nodes, and pods controlled by a
        DaemonSet or by nothing."""
        return mine_or_orphan(event.obj, Kind.POD, Kind.DAEMON_SET)

    def init(self, view: ClusterState, now: Time) -> tuple[DaemonSetState, tuple[Effect, ...]]:
        """A fresh state over a fresh LIST; the `Started` event then syncs every DaemonSet."""
        return DaemonSetState(view=view), ()

    def step(self, state: DaemonSetState, event: Event) -> tuple[DaemonSetState, tuple[Effect, ...]]:
        """Absorb one event, then sync every DaemonSet it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (DaemonSets, nodes, pods),
        ApiAnswered (creates, deletes, status writes), TimerFired (resync one). May emit
        CallApi (Create/Delete pods, Update status), RecordEvent, WakeMeAt.
        """
        s = state
        now = event.now
        keys: set[ObjectKey] = set()
        effects: Effects = []
        match event:
            case Started():
                keys = _all_daemon_sets(s.view)
            case WatchDelivered():
                s, keys = _absorb(s, event)
            case ApiAnswered():
                s, keys = _answered(s, event, effects)
            case TimerFired(key=tkey):
                s, keys = _timer(s, tkey, now)
            case Resynced(view=view):
                busy = {op.owner for op in s.in_flight.values()}
                kept = pmap({k: v for k, v in s.expectations.by_owner.items() if k in busy})
                s = attrs.evolve(s, view=view, expectations=Expectations(by_owner=kept))
                keys = _all_daemon_sets(view)
            case RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s = sync(s, key, now, effects)
        return s, tuple(effects)


def _all_daemon_sets(view: ClusterState) -> set[ObjectKey]:
    return {key_of(o) for o in list_objects(view, Kind.DAEMON_SET)}


def _resolve(view: ClusterState, pod: Pod) -> ObjectKey | None:
    """resolveControllerRef: the DaemonSet in the view controlling `pod`, if any."""
    ref = controller_of(pod.metadata)
    if ref is None or ref.kind != Kind.DAEMON_SET.value:
        return None
    key = ObjectKey(kind=Kind.DAEMON_SET, namespace=pod.metadata.namespace, name=ref.name)
    owner = get(view, key)
    return key if owner is not None and owner.metadata.uid == ref.uid else None


def _node_changed(old: object, new: object) -> bool:
    """Whether a node update can change eligibility (labels, taints, unschedulable)."""
    if not isinstance(old, Node) or not isinstance(new, Node):
        return True
    return (old.metadata.labels, old.spec.taints, old.spec.unschedulable) != (
        new.metadata.labels,
        new.spec.taints,
        new.spec.unschedulable,
    )


def _absorb(s: DaemonSetState, delivered: WatchDelivered) -> tuple[DaemonSetState, set[ObjectKey]]:
    we = delivered.event
    key = we.key
    old = get(s.view, key)
    s = _evolve(s, view=follow(s.view, delivered))
    match key.kind:
        case Kind.DAEMON_SET:
            if we.type is WatchType.DELETED:
                s = _evolve(s, expectations=exps.forget(s.expectations, key))
            return s, {key}
        case Kind.NODE:
            if we.type is WatchType.MODIFIED and not _node_changed(old, we.obj):
                return s, set()
            return s, _all_daemon_sets(s.view)
        case Kind.POD:
            return _absorb_pod(s, we, old)
        case _:
            return s, set()


def _absorb_pod(s: DaemonSetState, we: WatchEvent, old: object) -> tuple[DaemonSetState, set[ObjectKey]]:
    keys: set[ObjectKey] = set()
    new = we.obj if isinstance(we.obj, Pod) else None
    owner = _resolve(s.view, new) if new is not None else None
    if owner is not None:
        keys.add(owner)
        gone = we.type is WatchType.DELETED or we.obj.metadata.deletion_timestamp is not None
        if gone:
            s = _evolve(s, expectations=exps.deletion_observed(s.expectations, owner, we.key))
        elif we.type is WatchType.ADDED:
            s = _evolve(s, expectations=exps.creation_observed(s.expectations, owner))
    if isinstance(old, Pod) and (previous := _resolve(s.view, old)) is not None:
        keys.add(previous)
    return s, keys


def _timer(s: DaemonSetState, tkey: str, now: Time) -> tuple[DaemonSetState, set[ObjectKey]]:
    key = owner_of_timer(_TIMER_PREFIX, Kind.DAEMON_SET, tkey)
    if key is None:
        return s, set()
    wakeups = fired(s.wakeups, key, now)
    if wakeups is not s.wakeups:
        s = attrs.evolve(s, wakeups=wakeups)
    return s, {key}


# --- answers --------------------------------------------------------------------------------


def _answered(s: DaemonSetState, ev: ApiAnswered, effects: Effects) -> tuple[DaemonSetState, set[ObjectKey]]:
    op = s.in_flight.get(ev.tag)
    if op is None:
        return s, set()
    s = attrs.evolve(s, in_flight=s.in_flight.discard(ev.tag))
    resp, owner, now = ev.response, op.owner, ev.now
    match op.action:
        case Action.CREATE:
            return _created(s, owner, resp, now, effects)
        case Action.DELETE:
            return _deleted(s, op, resp, now, effects)
        case Action.STATUS:
            pending = s.status_writes.get(owner)
            if resp.ok and pending is not None and isinstance(resp.body, DaemonSet):
                written = attrs.evolve(pending, written_rv=resp.body.metadata.resource_version)
                return attrs.evolve(s, status_writes=s.status_writes.set(owner, written), retries=s.retries.discard(owner)), set()
            s = attrs.evolve(s, status_writes=s.status_writes.discard(owner))
            if resp.ok or resp.code == 409:  # a conflict: the view has, or soon gets, a newer version
                return s, {owner}
            count = s.retries.get(owner, 0) + 1
            s = attrs.evolve(s, retries=s.retries.set(owner, count))
            return _wake(s, owner, Time(now + STATUS_RETRY), effects, in_motion=retry_in_motion(count)), set()
        case _:
            assert_never(op.action)


def _created(
    s: DaemonSetState, owner: ObjectKey, resp: Response, now: Time, effects: Effects
) -> tuple[DaemonSetState, set[ObjectKey]]:
    error = "" if resp.ok else _message(resp)
    if resp.ok:
        name = resp.body.metadata.name if isinstance(resp.body, Pod) else ""
        effects.append(RecordEvent(involved=owner, type=EventType.NORMAL, reason="SuccessfulCreate", message=f"Created pod: {name}"))
    else:
        effects.append(RecordEvent(involved=owner, type=EventType.WARNING, reason="FailedCreate", message=f"Error creating: {error}"))
        s = attrs.evolve(s, expectations=exps.creation_observed(s.expectations, owner))
    burst = s.bursts.get(owner)
    if burst is None:
        return s, {owner}
    progress, size = batch_answered(burst.progress, error)
    s = attrs.evolve(s, bursts=s.bursts.set(owner, attrs.evolve(burst, progress=progress)))
    if size:
        return _send_creates(s, owner, size, effects), set()
    if not progress.done:
        return s, set()
    s = attrs.evolve(
        s,
        bursts=s.bursts.discard(owner),
        expectations=exps.creation_observed(s.expectations, owner, skipped(progress)),
    )
    if progress.error:
        # no resync now (it would create again at once, a hot loop while a quota refuses):
        # after a backoff, as upstream's AddRateLimited after a failed syncDaemonSet
        return _backoff(s, owner, now, effects), set()
    return (attrs.evolve(s, failures=s.failures.discard(owner)) if owner in s.failures else s), {owner}


def _deleted(
    s: DaemonSetState, op: InFlight, resp: Response, now: Time, effects: Effects
) -> tuple[DaemonSetState, set[ObjectKey]]:
    pod, owner = op.pod, op.owner
    if pod is None:
        return s, {owner}
    if resp.ok:
        effects.append(RecordEvent(involved=owner, type=EventType.NORMAL, reason="SuccessfulDelete", message=f"Deleted pod: {pod.name}"))
        return attrs.evolve(s, failures=s.failures.discard(owner)), set()
    # the informer will not observe this deletion: stop waiting for it
    s = attrs.evolve(s, expectations=exps.deletion_observed(s.expectations, owner, pod))
    if resp.code == 404:
        return s, {owner}
    effects.append(RecordEvent(involved=owner, type=EventType.WARNING, reason="FailedDelete", message=f"Error deleting: {_message(resp)}"))
    return _backoff(s, owner, now, effects), set()


def _backoff(s: DaemonSetState, owner: ObjectKey, now: Time, effects: Effects) -> DaemonSetState:
    """A create burst or a delete failed: resync after 5 ms doubling per failure in a row
    (in motion the first time)."""
    count = s.failures.get(owner, 0) + 1
    s = attrs.evolve(s, failures=s.failures.set(owner, count))
    return _wake(s, owner, Time(now + DEFAULT_RATE_LIMITER.when(count)), effects, in_motion=retry_in_motion(count))


def _wake(s: DaemonSetState, owner: ObjectKey, at: Time, effects: Effects, *, in_motion: bool) -> DaemonSetState:
    """Ask for a resync of `owner` at `at`, unless a pending one covers it (`timers.wake`)."""
    wakeups = wake(s.wakeups, owner, at, in_motion, timer_key(owner), effects)
    return s if wakeups is s.wakeups else attrs.evolve(s, wakeups=wakeups)


def _request_id(s: DaemonSetState) -> tuple[DaemonSetState, str]:
    return attrs.evolve(s, next_id=s.next_id + 1), f"ds-{s.next_id}"


def _send(s: DaemonSetState, call: Create | Delete | Update, op: InFlight, effects: Effects) -> DaemonSetState:
    s, rid = _request_id(s)
    effects.append(CallApi(request=call, tag=rid))
    return attrs.evolve(s, in_flight=s.in_flight.set(rid, op))


def _send_creates(s: DaemonSetState, owner: ObjectKey, size: int, effects: Effects) -> DaemonSetState:
    burst = s.bursts[owner]
    template = du.stamped_template(burst.ds, burst.hash)
    in_flight = s.in_flight
    for node in burst.nodes[:size]:
        s, rid = _request_id(s)
        in_flight = in_flight.set(rid, InFlight(owner=owner, action=Action.CREATE))
        effects.append(CallApi(request=Create(obj=du.pod_for_node(burst.ds, template, node)), tag=rid))
    burst = attrs.evolve(burst, nodes=burst.nodes[size:])
    return attrs.evolve(s, in_flight=in_flight, bursts=s.bursts.set(owner, burst))


# --- sync -----------------------------------------------------------------------------------


def sync(s: DaemonSetState, key: ObjectKey, now: Time, effects: Effects) -> DaemonSetState:
    """syncDaemonSet for `key`: manage and roll (when expectations allow), write status.

    Appends its effects to `effects`; returns the new state.
    """
    ds = get(s.view, key)
    if not isinstance(ds, DaemonSet):
        return attrs.evolve(
            s,
            expectations=exps.forget(s.expectations, key),
            status_writes=s.status_writes.discard(key),
            failures=s.failures.discard(key),
            retries=s.retries.discard(key),
        )
    if ds.metadata.deletion_timestamp is not None:
        return s
    sel = ds.spec.selector
    if not sel.match_labels and not sel.match_expressions:
        effects.append(
            RecordEvent(
                involved=key,
                type=EventType.WARNING,
                reason="SelectingAll",
                message="This daemon set is selecting all pods. A non-empty selector is required.",
            )
        )
        return s
    hash_ = du.template_hash(ds.spec.template, ds.status.collision_count)
    nodes = tuple(n for n in list_objects(s.view, Kind.NODE) if isinstance(n, Node))
    pods = daemon_pods(s.view, ds)
    by_node = nodes_to_daemon_pods(pods)
    ready_to_act = exps.satisfied(s.expectations, key, now) and key not in s.bursts
    if ready_to_act:
        s = _update_daemon_set(s, ds, nodes, by_node, hash_, now, effects)
    status = compute_status(ds, nodes, by_node, hash_, ready_to_act, now)
    s = _write_status(s, ds, status, effects)
    return _wake_for_availability(s, ds, pods, now, effects)


def _update_daemon_set(
    s: DaemonSetState,
    ds: DaemonSet,
    nodes: Sequence[Node],
    by_node: Mapping[str, Sequence[Pod]],
    hash_: str,
    now: Time,
    effects: Effects,
) -> DaemonSetState:
    """updateDaemonSet: manage; then, if manage sent nothing, the rolling update."""
    s, plan = _manage(s, ds, nodes, by_node, hash_, now, effects)
    if not plan.create and not plan.delete and ds.spec.update_strategy.type is DaemonSetUpdateStrategyType.ROLLING_UPDATE:
        try:
            plan = rolling_update_plan(ds, nodes, by_node, hash_, now)
        except IntOrStringError as err:
            effects.append(RecordEvent(involved=key_of(ds), type=EventType.WARNING, reason="InvalidUpdateStrategy", message=str(err)))
            return s
    return _sync_nodes(s, ds, plan, hash_, now, effects)


def _manage(
    s: DaemonSetState,
    ds: DaemonSet,
    nodes: Sequence[Node],
    by_node: Mapping[str, Sequence[Pod]],
    hash_: str,
    now: Time,
    effects: Effects,
) -> tuple[DaemonSetState, Plan]:
    """manage: podsShouldBeOnNode over every node, plus pending pods of vanished nodes."""
    create: list[str] = []
    delete: list[Pod] = []
    for node in sorted(nodes, key=lambda n: n.metadata.name):
        s, node_create, node_delete = _pods_should_be_on_node(s, ds, node, by_node, hash_, now, effects)
        create.extend(node_create)
        delete.extend(node_delete)
    present = {n.metadata.name for n in nodes}
    for name in sorted(by_node):
        if name not in present:
            delete.extend(p for p in by_node[name] if not p.spec.node_name)
    return s, Plan(delete=tuple(delete), create=tuple(create))


def _pods_should_be_on_node(
    s: DaemonSetState,
    ds: DaemonSet,
    node: Node,
    by_node: Mapping[str, Sequence[Pod]],
    hash_: str,
    now: Time,
    effects: Effects,
) -> tuple[DaemonSetState, tuple[str, ...], tuple[Pod, ...]]:
    """podsShouldBeOnNode: (nodes needing a pod, pods to delete) for one node."""
    name = node.metadata.name
    should_run, should_continue = du.node_should_run(node, ds)
    pods = by_node.get(name)
    if should_run and not pods:
        return s, (name,), ()
    if not should_continue:
        return s, (), tuple(p for p in pods or () if p.metadata.deletion_timestamp is None)
    delete: list[Pod] = []
    running: list[Pod] = []
    dskey = key_of(ds)
    for pod in pods or ():
        if pod.metadata.deletion_timestamp is not None:
            continue
        if pod.status.phase is PodPhase.FAILED:
            bkey = backoff_key(ds, name)
            entry = s.failed_backoff.get(bkey)
            if in_backoff(entry, now):
                assert entry is not None
                # merely scheduled: a daemon pod failed on this node again (a repeating state)
                s = _wake(s, dskey, Time(entry.last_update + entry.delay), effects, in_motion=False)
                continue
            s = attrs.evolve(s, failed_backoff=s.failed_backoff.set(bkey, next_backoff(entry, now)))
            msg = f"Found failed daemon pod {pod.metadata.namespace}/{pod.metadata.name} on node {name}, will try to kill it"
            effects.append(RecordEvent(involved=dskey, type=EventType.WARNING, reason="FailedDaemonPod", message=msg))
            delete.append(pod)
        elif pod.status.phase is PodPhase.SUCCEEDED:
            msg = f"Found succeeded daemon pod {pod.metadata.namespace}/{pod.metadata.name} on node {name}, will try to delete it"
            effects.append(RecordEvent(involved=dskey, type=EventType.NORMAL, reason="SucceededDaemonPod", message=msg))
            delete.append(pod)
        else:
            running.append(pod)
    if not du.allows_surge(ds):
        return s, (), (*delete, *running[1:])
    if len(running) <= 1:
        return s, ((name,) if not running and should_run else ()), tuple(delete)
    return s, (), (*delete, *_surge_excess(ds, running, hash_, now))


def _surge_excess(ds: DaemonSet, running: Sequence[Pod], hash_: str, now: Time) -> tuple[Pod, ...]:
    """With surge: keep the oldest new and the oldest old pod, and the old one only while
    it is ready and the new one is not yet available."""
    newest: Pod | None = None
    oldest: Pod | None = None
    excess: list[Pod] = []
    for pod in running:  # already oldest first
        if pod.metadata.labels.get(du.CONTROLLER_REVISION_HASH_LABEL) == hash_:
            if newest is None:
                newest = pod
                continue
        elif oldest is None:
            oldest = pod
            continue
        excess.append(pod)
    if (
        newest is not None
        and oldest is not None
        and (not is_pod_ready(oldest) or is_pod_available(newest, ds.spec.min_ready_seconds, now))
    ):
        excess.append(oldest)
    return tuple(excess)


def _sync_nodes(
    s: DaemonSetState, ds: DaemonSet, plan: Plan, hash_: str, now: Time, effects: Effects
) -> DaemonSetState:
    """syncNodes: set expectations, start the creation burst, send the deletes."""
    key = key_of(ds)
    create = plan.create[:BURST_REPLICAS]
    delete = plan.delete[:BURST_REPLICAS]
    if not create and not delete:
        return s
    record = Expectation(add=len(create), deletes=pset(key_of(p) for p in delete), since=now)
    s = attrs.evolve(s, expectations=Expectations(by_owner=s.expectations.by_owner.set(key, record)))
    if create:
        progress = slow_start(len(create))
        s = attrs.evolve(s, bursts=s.bursts.set(key, Burst(progress=progress, ds=ds, hash=hash_, nodes=create)))
        s = _send_creates(s, key, progress.in_flight, effects)
    for pod in delete:
        pk = key_of(pod)
        s = _send(s, Delete(key=pk), InFlight(owner=key, action=Action.DELETE, pod=pk), effects)
    return s


def _write_status(s: DaemonSetState, ds: DaemonSet, status: DaemonSetStatus, effects: Effects) -> DaemonSetState:
    """storeDaemonSetStatus, only when the status changed, one write in flight at a time."""
    key = key_of(ds)
    pending = s.status_writes.get(key)
    if pending is not None and pending.written_rv and ds.metadata.resource_version >= pending.written_rv:
        s = attrs.evolve(s, status_writes=s.status_writes.discard(key))
        pending = None
    if status == ds.status or pending is not None:
        return s
    update = Update(obj=attrs.evolve(ds, status=status), subresource=Subresource.STATUS)
    s = _send(s, update, InFlight(owner=key, action=Action.STATUS), effects)
    return attrs.evolve(s, status_writes=s.status_writes.set(key, StatusWrite(status=status)))


def _wake_for_availability(
    s: DaemonSetState, ds: DaemonSet, pods: Sequence[Pod], now: Time, effects: Effects
) -> DaemonSetState:
    """A ready pod not yet available becomes so minReadySeconds after it turned ready:
    resync one second after."""
    mrs = ds.spec.min_ready_seconds
    if mrs <= 0:
        return s
    times = [
        t
        for p in pods
        if is_pod_ready(p) and not is_pod_available(p, mrs, now)
        for t in (pod_ready_time(p),)
        if t is not None
    ]
    if not times:
        return s
    return _wake(s, key_of(ds), Time(min(times) + mrs + 1.0), effects, in_motion=True)

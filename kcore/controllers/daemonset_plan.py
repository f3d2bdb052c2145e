"""How the DaemonSet controller decides one sync: what it observed, and the `Plan` it sends.

Owns `Observed` (the DaemonSet, its template's revision hash, the nodes, its pods and
those pods by target node) with `observe`, `Plan` (the events and failed-pod waits of
manage, the nodes to create a pod on, the pods to delete, the status, the availability
wake) with `decide(seen, act, failed_backoff, now)`, its passes (manage over every node,
`pods_should_be_on_node`, the rolling update of `daemonset_update`), the failed-pod backoff
(`Backoff`, `backoff_key`, `in_backoff`, `next_backoff`), the pure helpers `daemon_pods`,
`nodes_to_daemon_pods` and `compute_status`, and the reasons of the DaemonSet's own events.
The rules are in the module doc of `kcore.controllers.daemonset`.

Rules: pure; `now` comes from the caller; nodes in name order (upstream: Go map order),
a node's pods oldest first. A decision never emits: what manage would record or wait for
comes back in the plan, in the order upstream's loop meets it.

Must not know: the component state, how the plan is sent or answered.
Mirrors pkg/controller/daemon/daemon_controller.go (manage, podsShouldBeOnNode,
getNodesToDaemonPods, updateDaemonSetStatus, failedPodsBackoff and its event reasons)
and update.go (rollingUpdate, through `daemonset_update`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.apps import DaemonSet, DaemonSetStatus, DaemonSetUpdateStrategyType
from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.api.pod import Pod, PodPhase
from kcore.component.effects import EventType, RecordEvent
from kcore.controllers import daemonset_util as du
from kcore.controllers.daemonset_update import Changes, rolling_update_plan
from kcore.controllers.ownership import availability_wake, parse_selector
from kcore.controllers.podcontrol import controller_of, is_pod_available, is_pod_ready, key_of
from kcore.intstr import IntOrStringError
from kcore.state import ClusterState, dependents, get, list_objects

BURST_REPLICAS: Final = 250
"""At most this many creates or deletes per sync (upstream's DaemonSet BurstReplicas)."""

FAILED_POD_BACKOFF_INITIAL: Final = 1.0
FAILED_POD_BACKOFF_MAX: Final = 15 * 60.0

# Reasons for DaemonSet events (daemon_controller.go), and kcore's for a malformed strategy
SELECTING_ALL_REASON: Final = "SelectingAll"
FAILED_DAEMON_POD_REASON: Final = "FailedDaemonPod"
SUCCEEDED_DAEMON_POD_REASON: Final = "SucceededDaemonPod"
INVALID_UPDATE_STRATEGY_REASON: Final = "InvalidUpdateStrategy"


# --- the failed-pod backoff -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Backoff:
    """flowcontrol.Backoff entry of one (DaemonSet uid, generation, node): the current
    delay and when it last grew."""

    delay: float
    last_update: Time


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


# --- observe --------------------------------------------------------------------------------


def daemon_pods(view: ClusterState, ds: DaemonSet) -> tuple[Pod, ...]:
    """The pods `ds` controls and selects (by name); None-safe over a stale view."""
    selector = parse_selector(ds.spec.selector)
    if selector is None:
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


def nodes_to_daemon_pods(pods: Iterable[Pod]) -> PMap[str, tuple[Pod, ...]]:
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
    return pmap({node: tuple(sorted(group, key=du.creation_order)) for node, group in out.items()})


@attrs.frozen(kw_only=True)
class Observed:
    """What one sync reads: the DaemonSet, its revision hash, every node, its pods, and
    those pods by target node."""

    ds: DaemonSet
    hash: str
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    by_node: PMap[str, tuple[Pod, ...]]


def observe(view: ClusterState, ds: DaemonSet) -> Observed:
    """The DaemonSet's pods grouped by node, and its template's revision hash."""
    pods = daemon_pods(view, ds)
    return Observed(
        ds=ds,
        hash=du.template_hash(ds.spec.template, ds.status.collision_count),
        nodes=tuple(n for n in list_objects(view, Kind.NODE) if isinstance(n, Node)),
        pods=pods,
        by_node=nodes_to_daemon_pods(pods),
    )


def selects_all(ds: DaemonSet) -> RecordEvent | None:
    """The Warning an empty selector earns (upstream refuses to sync it), or None."""
    sel = ds.spec.selector
    if sel.match_labels or sel.match_expressions:
        return None
    message = "This daemon set is selecting all pods. A non-empty selector is required."
    return RecordEvent(involved=key_of(ds), type=EventType.WARNING, reason=SELECTING_ALL_REASON, message=message)


# --- decide ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BackoffWait:
    """A failed pod stays, its node's backoff not yet over: look again at `at` (merely
    scheduled: a daemon pod that failed on its node again is a repeating state)."""

    at: Time


Note = RecordEvent | BackoffWait
"""What manage meets on its way, in order: an event to record or a backoff to wait out."""


@attrs.frozen(kw_only=True)
class OnNode:
    """podsShouldBeOnNode for one node: whether it needs a pod, the pods to delete, the
    notes met, and the failed-pod backoff after."""

    create: bool = False
    delete: tuple[Pod, ...] = ()
    notes: tuple[Note, ...] = ()
    failed_backoff: PMap[str, Backoff]


@attrs.frozen(kw_only=True)
class Plan:
    """What one sync of a DaemonSet sends, in order: manage's `notes` (events, and wakes
    for failed-pod backoffs), its expectations with a slow-start burst of creates (one per
    node of `create`) and the deletes of `delete`, the status (written when it changed),
    and a wake when a ready pod becomes available (`available_at`, in motion). The
    failed-pod backoff after manage is `failed_backoff`."""

    notes: tuple[Note, ...] = ()
    create: tuple[str, ...] = ()
    delete: tuple[Pod, ...] = ()
    failed_backoff: PMap[str, Backoff]
    status: DaemonSetStatus
    available_at: Time | None = None


def decide(seen: Observed, *, act: bool, failed_backoff: PMap[str, Backoff], now: Time) -> Plan:
    """syncDaemonSet's decisions: when the controller may `act` (its expectations
    satisfied, no burst out), manage and, if manage changes nothing, the rolling update;
    then the status (observedGeneration only when it acted) and the availability wake."""
    ds = seen.ds
    notes: tuple[Note, ...] = ()
    changes = Changes()
    if act:
        notes, changes, failed_backoff = _manage(seen, failed_backoff, now)
        rolling = ds.spec.update_strategy.type is DaemonSetUpdateStrategyType.ROLLING_UPDATE
        if not changes.create and not changes.delete and rolling:
            try:
                changes = rolling_update_plan(ds, seen.nodes, seen.by_node, seen.hash, now)
            except IntOrStringError as err:
                invalid = RecordEvent(
                    involved=key_of(ds), type=EventType.WARNING, reason=INVALID_UPDATE_STRATEGY_REASON, message=str(err)
                )
                notes = (*notes, invalid)
    return Plan(
        notes=notes,
        create=changes.create[:BURST_REPLICAS],
        delete=changes.delete[:BURST_REPLICAS],
        failed_backoff=failed_backoff,
        status=compute_status(ds, seen.nodes, seen.by_node, seen.hash, act, now),
        available_at=availability_wake(seen.pods, ds.spec.min_ready_seconds, now),
    )


def _manage(
    seen: Observed, failed_backoff: PMap[str, Backoff], now: Time
) -> tuple[tuple[Note, ...], Changes, PMap[str, Backoff]]:
    """manage: podsShouldBeOnNode over every node, plus pending pods of vanished nodes."""
    notes: list[Note] = []
    create: list[str] = []
    delete: list[Pod] = []
    for node in sorted(seen.nodes, key=lambda n: n.metadata.name):
        on = pods_should_be_on_node(seen, node, failed_backoff, now)
        notes.extend(on.notes)
        if on.create:
            create.append(node.metadata.name)
        delete.extend(on.delete)
        failed_backoff = on.failed_backoff
    present = {n.metadata.name for n in seen.nodes}
    for name in sorted(seen.by_node):
        if name not in present:
            delete.extend(p for p in seen.by_node[name] if not p.spec.node_name)
    return tuple(notes), Changes(delete=tuple(delete), create=tuple(create)), failed_backoff


def pods_should_be_on_node(seen: Observed, node: Node, failed_backoff: PMap[str, Backoff], now: Time) -> OnNode:
    """podsShouldBeOnNode: whether `node` needs a daemon pod and which of its pods go."""
    ds, name = seen.ds, node.metadata.name
    should_run, should_continue = du.node_should_run(node, ds)
    pods = seen.by_node.get(name, ())
    if should_run and not pods:
        return OnNode(create=True, failed_backoff=failed_backoff)
    if not should_continue:
        return OnNode(delete=tuple(p for p in pods if p.metadata.deletion_timestamp is None), failed_backoff=failed_backoff)
    notes: list[Note] = []
    delete: list[Pod] = []
    running: list[Pod] = []
    dskey = key_of(ds)
    for pod in pods:
        if pod.metadata.deletion_timestamp is not None:
            continue
        if pod.status.phase is PodPhase.FAILED:
            bkey = backoff_key(ds, name)
            entry = failed_backoff.get(bkey)
            if entry is not None and in_backoff(entry, now):
                notes.append(BackoffWait(at=Time(entry.last_update + entry.delay)))
                continue
            failed_backoff = failed_backoff.set(bkey, next_backoff(entry, now))
            msg = f"Found failed daemon pod {pod.metadata.namespace}/{pod.metadata.name} on node {name}, will try to kill it"
            notes.append(RecordEvent(involved=dskey, type=EventType.WARNING, reason=FAILED_DAEMON_POD_REASON, message=msg))
            delete.append(pod)
        elif pod.status.phase is PodPhase.SUCCEEDED:
            msg = f"Found succeeded daemon pod {pod.metadata.namespace}/{pod.metadata.name} on node {name}, will try to delete it"
            notes.append(RecordEvent(involved=dskey, type=EventType.NORMAL, reason=SUCCEEDED_DAEMON_POD_REASON, message=msg))
            delete.append(pod)
        else:
            running.append(pod)
    if not du.allows_surge(ds):
        return OnNode(delete=(*delete, *running[1:]), notes=tuple(notes), failed_backoff=failed_backoff)
    if len(running) <= 1:
        return OnNode(create=not running and should_run, delete=tuple(delete), notes=tuple(notes), failed_backoff=failed_backoff)
    excess = _surge_excess(ds, running, seen.hash, now)
    return OnNode(delete=(*delete, *excess), notes=tuple(notes), failed_backoff=failed_backoff)


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

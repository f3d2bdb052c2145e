"""The pod garbage collector: pods nobody else will ever clean up.

Owns `PodGCController` (component "pod-garbage-collector-controller"). Every `GC_PERIOD` (20 s),
as upstream's gcCheckPeriod (a periodic timer: merely scheduled, for settling), it
force-deletes (grace 0):
- orphaned pods: bound to a Node that has not existed for `QUARANTINE` (40 s), after
  marking them Failed with condition DisruptionTarget (reason DeletionByPodGC);
- unscheduled terminating pods: a deletionTimestamp and no node to finish the job;
- terminating pods on a node that is not Ready and carries the
  `node.kubernetes.io/out-of-service` taint (the non-graceful node shutdown flow);
- terminated pods (Succeeded/Failed) beyond `TERMINATED_THRESHOLD` (12,500), oldest
  first by creation time.

Rules: the candidate sets are kept from watch events (never a scan of all pods per pass);
deletions carry the pod's uid as a precondition; a pass emits each write once (in-flight
keys wait for their answer), tagged with the pod and what it does to it (`PodWrite`). Must not know: who owns the pods. Mirrors
pkg/controller/podgc/gc_controller.go.

Watch filter (`wants`): every Node event; a Pod event when the pod is DELETED, or ADDED
bound, terminating or terminated, or updated so that what a pass reads changes: phase,
whether the phase is terminal (Succeeded/Failed: the `terminated` set, and no Failed
status write for it), nodeName, deletionTimestamp, uid (`pod_reads_changed`; an unknown
old object passes).
Skipped: unbound pods that are neither terminating nor terminated (no pass acts on
them) and the kubelet's status writes that leave the phase as it was (conditions,
containerStatuses, IPs). The candidate sets change only on accepted events, and every
accepted event brings the whole shared informer view, so a pass sees each orphan's
binding, phase and deletion as they are. Upstream lists pods at each pass; this is the
informer equivalent.

The Failed/DisruptionTarget status of an orphan is written as upstream's ApplyStatus
(force, no resourceVersion): a strategic merge patch of the phase and that condition,
with the uid as a precondition, so a view whose copy of the pod lags in status fields it
does not read never makes it conflict.
"""

from __future__ import annotations

import enum
import json
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.codec import encode_value
from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time, evolver
from kcore.api.pod import Pod, PodCondition, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, WakeMeAt
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
from kcore.component.requests import Delete, Patch, PatchType, Request, Subresource
from kcore.state import ClusterState, get, list_objects, pods_on_node

NAME: Final = "pod-garbage-collector-controller"
GC_PERIOD: Final = 20.0
QUARANTINE: Final = 40.0
TERMINATED_THRESHOLD: Final = 12_500
OUT_OF_SERVICE: Final = "node.kubernetes.io/out-of-service"


class Timer(enum.Enum):
    """The controller's one timer: the pass every `GC_PERIOD` (gcCheckPeriod)."""

    GC_CHECK = "gc"


class Write(enum.Enum):
    """What a pass's request does to a pod: an orphan is marked Failed, then deleted."""

    MARK_FAILED = "mark-failed"
    FORCE_DELETE = "force-delete"


@attrs.frozen(kw_only=True)
class PodWrite:
    """The tag of a pass's request: the pod, and what the request does to it."""

    pod: ObjectKey
    write: Write


@attrs.frozen(kw_only=True)
class PodGCState:
    view: ClusterState
    terminated: PSet[ObjectKey] = pset()
    unscheduled_terminating: PSet[ObjectKey] = pset()
    missing_since: PMap[str, Time] = pmap()  # nodes with pods but no Node object
    in_flight: PSet[ObjectKey] = pset()


_evolve = evolver(PodGCState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen
class PodGCController:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # upstream records no events
    watches: frozenset[Kind] = frozenset({Kind.POD, Kind.NODE})
    terminated_threshold: int = TERMINATED_THRESHOLD

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc)."""
        pod = event.obj
        if not isinstance(pod, Pod) or event.type is WatchType.DELETED:
            return True
        if event.type is WatchType.MODIFIED and isinstance(old, Pod):
            return pod_reads_changed(old, pod)
        phase = pod.status.phase
        return (
            bool(pod.spec.node_name)
            or pod.metadata.deletion_timestamp is not None
            or phase is PodPhase.SUCCEEDED
            or phase is PodPhase.FAILED
        )

    def init(self, view: ClusterState, now: Time) -> tuple[PodGCState, tuple[Effect, ...]]:
        return _rebuild(view), ()

    def step(self, s: PodGCState, ev: Event) -> tuple[PodGCState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return s, (WakeMeAt(at=Time(ev.now + GC_PERIOD), key=Timer.GC_CHECK),)
            case Resynced():
                return _rebuild(ev.view), ()
            case WatchDelivered(event=w):
                s = _evolve(s, view=follow(s.view, ev))
                if isinstance(w.obj, Pod):
                    s = _track(s, w.key, None if w.type is WatchType.DELETED else w.obj)
                return s, ()
            case ApiAnswered(tag=PodWrite(pod=key)):
                return attrs.evolve(s, in_flight=s.in_flight.discard(key)), ()
            case TimerFired(key=Timer.GC_CHECK):
                s, requests = gc_pass(s, ev.now, self.terminated_threshold)
                effects: list[Effect] = []
                for tag, req in requests:
                    effects.append(CallApi(request=req, tag=tag))
                    s = attrs.evolve(s, in_flight=s.in_flight.add(tag.pod))
                effects.append(WakeMeAt(at=Time(ev.now + GC_PERIOD), key=Timer.GC_CHECK))
                return s, tuple(effects)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def pod_reads_changed(old: Pod, new: Pod) -> bool:
    """Whether a pod update changes what a pass reads of it (the watch filter)."""
    if old is new:
        return False
    a, b = old.metadata, new.metadata
    return (
        _terminal(old) is not _terminal(new)
        or old.spec.node_name != new.spec.node_name
        or a.deletion_timestamp != b.deletion_timestamp
        or a.uid != b.uid
    )


def _terminal(pod: Pod) -> bool:
    return pod.status.phase is PodPhase.SUCCEEDED or pod.status.phase is PodPhase.FAILED


def _rebuild(view: ClusterState) -> PodGCState:
    s = PodGCState(view=view)
    for obj in list_objects(view, Kind.POD):
        if isinstance(obj, Pod):
            m = obj.metadata
            s = _track(s, ObjectKey(kind=Kind.POD, namespace=m.namespace, name=m.name), obj)
    return s


def _track(s: PodGCState, key: ObjectKey, pod: Pod | None) -> PodGCState:
    terminated = pod is not None and pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)
    unscheduled = pod is not None and not pod.spec.node_name and pod.metadata.deletion_timestamp is not None
    return attrs.evolve(
        s,
        terminated=s.terminated.add(key) if terminated else s.terminated.discard(key),
        unscheduled_terminating=(
            s.unscheduled_terminating.add(key) if unscheduled else s.unscheduled_terminating.discard(key)
        ),
    )


def gc_pass(s: PodGCState, now: Time, threshold: int) -> tuple[PodGCState, list[tuple[PodWrite, Request]]]:
    """One pass: the state (quarantine clocks) and the writes to make, each with its tag."""
    view = s.view
    out: list[tuple[PodWrite, Request]] = []
    # orphaned: pods bound to a node that is gone (quarantined for 40 s first)
    missing = dict(s.missing_since)
    for node in sorted(view.pods_by_node.keys()):
        if get(view, ObjectKey(kind=Kind.NODE, namespace="", name=node)) is not None:
            missing.pop(node, None)
            continue
        since = missing.setdefault(node, now)
        if now - since < QUARANTINE:
            continue
        for key in pods_on_node(view, node):
            pod = get(view, key)
            if isinstance(pod, Pod):
                out.extend(_force(key, pod, now, "PodGC: node no longer exists"))
    for node in sorted(missing):
        if node not in view.pods_by_node:
            del missing[node]
    # terminating pods on out-of-service, not-ready nodes
    for obj in list_objects(view, Kind.NODE):
        if isinstance(obj, Node) and _out_of_service(obj):
            for key in pods_on_node(view, obj.metadata.name):
                pod = get(view, key)
                if isinstance(pod, Pod) and pod.metadata.deletion_timestamp is not None:
                    out.extend(_force(key, pod, now, "PodGC: node is out of service"))
    # unscheduled pods being deleted: no kubelet will finish them
    for key in sorted(s.unscheduled_terminating):
        pod = get(view, key)
        if isinstance(pod, Pod):
            out.append(_delete(pod))
    # terminated pods past the threshold, oldest first
    excess = len(s.terminated) - threshold
    if threshold > 0 and excess > 0:
        done = [p for k in s.terminated if isinstance(p := get(view, k), Pod)]
        done.sort(key=lambda p: (p.metadata.creation_timestamp or 0.0, p.metadata.namespace, p.metadata.name))
        out.extend(_delete(pod) for pod in done[:excess])
    s = attrs.evolve(s, missing_since=pmap(missing))
    seen: set[PodWrite] = set()
    unique: list[tuple[PodWrite, Request]] = []
    for tag, req in out:
        if tag.pod in s.in_flight or tag in seen:
            continue
        seen.add(tag)
        unique.append((tag, req))
    return s, unique


def _out_of_service(node: Node) -> bool:
    tainted = any(t.key == OUT_OF_SERVICE for t in node.spec.taints)
    ready = any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in node.status.conditions)
    return tainted and not ready


def _force(key: ObjectKey, pod: Pod, now: Time, message: str) -> list[tuple[PodWrite, Request]]:
    """Mark a running pod Failed with DisruptionTarget, as upstream does, then delete it."""
    out: list[tuple[PodWrite, Request]] = []
    if pod.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        cond = PodCondition(
            type="DisruptionTarget",
            status=ConditionStatus.TRUE,
            reason="DeletionByPodGC",
            message=message,
            last_transition_time=now,
        )
        body = {
            "metadata": {"uid": pod.metadata.uid},
            "status": {"phase": PodPhase.FAILED.value, "conditions": [encode_value(cond, PodCondition)]},
        }
        patch = json.dumps(body, sort_keys=True)
        mark = Patch(key=key, patch_type=PatchType.STRATEGIC, patch=patch, subresource=Subresource.STATUS)
        out.append((PodWrite(pod=key, write=Write.MARK_FAILED), mark))
    out.append(_delete(pod))
    return out


def _delete(pod: Pod) -> tuple[PodWrite, Request]:
    m = pod.metadata
    key = ObjectKey(kind=Kind.POD, namespace=m.namespace, name=m.name)
    return PodWrite(pod=key, write=Write.FORCE_DELETE), Delete(key=key, grace_period_seconds=0, precondition_uid=m.uid)

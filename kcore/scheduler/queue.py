"""The scheduling queue as a value: activeQ, backoffQ and the unschedulable pods.

Owns `SchedulingQueue`, `QueuedPod` and the pure operations on them (`add`, `update`,
`delete`, `pop`, `add_unschedulable`, `add_backoff`, `move_all`, `flush`, `next_wake`).

Rules (pkg/scheduler/backend/queue/scheduling_queue.go):
- activeQ pops the pod of highest priority, then earliest queue timestamp (PrioritySort's
  Less), then key order (kcore's deterministic tie-break). `pop` counts an attempt.
- A pod that failed as Unschedulable waits in the unschedulable pods until a cluster event
  that may make it schedulable (`move_all`) or until it has waited
  `MAX_IN_UNSCHEDULABLE` (podMaxInUnschedulablePodsDuration, 5 min; `flush`). Moved pods
  still backing off go to backoffQ, the others to activeQ.
- A pod that failed with an error (a failed bind) goes straight to backoffQ.
- Backoff is `INITIAL_BACKOFF * 2^(attempts-1)` capped at `MAX_BACKOFF`
  (podInitialBackoffDuration 1 s, podMaxBackoffDuration 10 s), counted from the queue
  timestamp the failure set, as calculateBackoffDuration / getBackoffTime.
- A pod's spec change while it waits unschedulable moves it (the update may have fixed
  what failed); a status-only change does not.
- The three orders are persistent leftist heaps with lazy deletion: each queued entry has
  a unique `seq`, and a heap entry whose seq is no longer current is skipped when met.

Must not know: the algorithm, the apiserver, events, the driver. Time arrives as `now`.
"""

from __future__ import annotations

import enum
from typing import Final, TypeAlias

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time, evolver
from kcore.api.pod import Pod

INITIAL_BACKOFF: Final = 1.0
MAX_BACKOFF: Final = 10.0
MAX_IN_UNSCHEDULABLE: Final = 300.0

# --- a persistent leftist min-heap of (rank1, rank2, namespace, name, seq) -----------------

Item: TypeAlias = tuple[float, float, str, str, int]
Heap: TypeAlias = "tuple[int, Item, Heap, Heap] | None"


def _rank(h: Heap) -> int:
    return 0 if h is None else h[0]


def _merge(a: Heap, b: Heap) -> Heap:
    if a is None:
        return b
    if b is None:
        return a
    if b[1] < a[1]:
        a, b = b, a
    left, right = a[2], _merge(a[3], b)
    if _rank(left) < _rank(right):
        left, right = right, left
    return (_rank(right) + 1, a[1], left, right)


def _push(h: Heap, item: Item) -> Heap:
    return _merge(h, (1, item, None, None))


def _pop(h: Heap) -> tuple[Item, Heap] | None:
    if h is None:
        return None
    return h[1], _merge(h[2], h[3])


# --- the queue -----------------------------------------------------------------------------


class Where(enum.Enum):
    """Which sub-queue holds a pod."""

    ACTIVE = "active"
    BACKOFF = "backoff"
    UNSCHEDULABLE = "unschedulable"


@attrs.frozen(kw_only=True)
class QueuedPod:
    """framework.QueuedPodInfo: the pod, where it waits, its timestamp and attempts."""

    pod: Pod = attrs.field(eq=False, repr=False)
    key: ObjectKey
    where: Where
    timestamp: Time
    attempts: int = 0
    seq: int = 0

    @property
    def priority(self) -> int:
        return self.pod.spec.priority or 0


@attrs.frozen(kw_only=True)
class SchedulingQueue:
    """Every pending pod the scheduler is responsible for and not currently scheduling."""

    pods: PMap[ObjectKey, QueuedPod] = pmap()
    waiting: PSet[ObjectKey] = pset()  # the keys of the unschedulable pods
    active: Heap = None
    backoff: Heap = None
    unschedulable: Heap = None  # ordered by the time each pod must leave (5 min)
    seq: int = 0

    def __len__(self) -> int:
        return len(self.pods)

    def get(self, key: ObjectKey) -> QueuedPod | None:
        return self.pods.get(key)

    def count(self, where: Where) -> int:
        """How many pods wait in `where` (O(pods): for tests and metrics)."""
        return sum(1 for qp in self.pods.values() if qp.where == where)


_evolve_queue: Final = evolver(SchedulingQueue)
_evolve_queued: Final = evolver(QueuedPod)


def backoff_duration(attempts: int) -> float:
    """calculateBackoffDuration: 1 s doubled per earlier attempt, at most 10 s."""
    duration = INITIAL_BACKOFF
    for _ in range(1, attempts):
        duration *= 2
        if duration >= MAX_BACKOFF:
            return MAX_BACKOFF
    return duration


def backoff_expiry(qp: QueuedPod) -> Time:
    """getBackoffTime: when the pod's backoff ends."""
    return Time(qp.timestamp + backoff_duration(qp.attempts))


def _key_of(pod: Pod) -> ObjectKey:
    return ObjectKey(kind=Kind.POD, namespace=pod.metadata.namespace, name=pod.metadata.name)


def _place(q: SchedulingQueue, qp: QueuedPod, where: Where) -> SchedulingQueue:
    """`q` with `qp` filed in `where` under a fresh seq (older heap entries go stale)."""
    seq = q.seq + 1
    qp = _evolve_queued(qp, where=where, seq=seq)
    key = qp.key
    ns, name = key.namespace, key.name
    waiting = q.waiting
    if where == Where.UNSCHEDULABLE:
        waiting = waiting.add(key)
    elif key in waiting:
        waiting = waiting.discard(key)
    pods = q.pods.set(key, qp)
    if where == Where.ACTIVE:
        active = _push(q.active, (-qp.priority, qp.timestamp, ns, name, seq))
        return _evolve_queue(q, pods=pods, waiting=waiting, seq=seq, active=active)
    if where == Where.BACKOFF:
        backoff = _push(q.backoff, (backoff_expiry(qp), 0.0, ns, name, seq))
        return _evolve_queue(q, pods=pods, waiting=waiting, seq=seq, backoff=backoff)
    leave = qp.timestamp + MAX_IN_UNSCHEDULABLE
    unschedulable = _push(q.unschedulable, (leave, 0.0, ns, name, seq))
    return _evolve_queue(q, pods=pods, waiting=waiting, seq=seq, unschedulable=unschedulable)


def _current(q: SchedulingQueue, item: Item, where: Where) -> QueuedPod | None:
    """The queued pod an heap entry stands for, or None when the entry is stale."""
    qp = q.pods.get(ObjectKey(kind=Kind.POD, namespace=item[2], name=item[3]))
    if qp is None or qp.seq != item[4] or qp.where != where:
        return None
    return qp


def add(q: SchedulingQueue, pod: Pod, now: Time) -> SchedulingQueue:
    """Add: a new pending pod enters activeQ (an already queued one is updated instead)."""
    key = _key_of(pod)
    if key in q.pods:
        return update(q, pod, now)
    return _place(q, QueuedPod(pod=pod, key=key, where=Where.ACTIVE, timestamp=now), Where.ACTIVE)


def _spec_changed(old: Pod, new: Pod) -> bool:
    return old.spec != new.spec or old.metadata.labels != new.metadata.labels


def update(q: SchedulingQueue, pod: Pod, now: Time) -> SchedulingQueue:
    """Update: keep the newest pod; an unschedulable pod whose spec or labels changed moves."""
    key = _key_of(pod)
    qp = q.pods.get(key)
    if qp is None:
        return add(q, pod, now)
    new = _evolve_queued(qp, pod=pod)
    if qp.where == Where.UNSCHEDULABLE and _spec_changed(qp.pod, pod):
        return _move(q, new, now)
    if qp.where == Where.ACTIVE and new.priority != qp.priority:
        return _place(q, new, Where.ACTIVE)
    return _evolve_queue(q, pods=q.pods.set(key, new))


def delete(q: SchedulingQueue, key: ObjectKey) -> SchedulingQueue:
    """Delete: the pod leaves whichever sub-queue holds it (its heap entries go stale)."""
    if key not in q.pods:
        return q
    waiting = q.waiting.discard(key) if key in q.waiting else q.waiting
    return _evolve_queue(q, pods=q.pods.discard(key), waiting=waiting)


def pop(q: SchedulingQueue) -> tuple[SchedulingQueue, QueuedPod | None]:
    """Pop: the head of activeQ, with one more attempt counted, out of the queue."""
    heap = q.active
    while (popped := _pop(heap)) is not None:
        item, heap = popped
        qp = _current(q, item, Where.ACTIVE)
        if qp is not None:
            q = _evolve_queue(q, active=heap, pods=q.pods.discard(qp.key))
            return q, _evolve_queued(qp, attempts=qp.attempts + 1)
    return (q if q.active is None else _evolve_queue(q, active=None)), None


def add_unschedulable(q: SchedulingQueue, qp: QueuedPod, now: Time) -> SchedulingQueue:
    """AddUnschedulableIfNotPresent for an Unschedulable failure: wait for an event."""
    return _place(q, _evolve_queued(qp, timestamp=now), Where.UNSCHEDULABLE)


def add_backoff(q: SchedulingQueue, qp: QueuedPod, now: Time) -> SchedulingQueue:
    """AddUnschedulableIfNotPresent for an error (a failed bind): straight to backoffQ."""
    return _place(q, _evolve_queued(qp, timestamp=now), Where.BACKOFF)


def _move(q: SchedulingQueue, qp: QueuedPod, now: Time) -> SchedulingQueue:
    """To backoffQ while backing off, else to activeQ (movePodsToActiveOrBackoffQueue)."""
    where = Where.BACKOFF if backoff_expiry(qp) > now else Where.ACTIVE
    return _place(q, qp, where)


def move_all(q: SchedulingQueue, now: Time) -> SchedulingQueue:
    """MoveAllToActiveOrBackoffQueue: every unschedulable pod may fit now."""
    for key in sorted(q.waiting):
        q = _move(q, q.pods[key], now)
    return q if q.unschedulable is None else _evolve_queue(q, unschedulable=None)


def move_pod_constrained(q: SchedulingQueue, now: Time) -> SchedulingQueue:
    """The AssignedPodAdd queueing hint of InterPodAffinity and PodTopologySpread: an
    unschedulable pod with pod (anti-)affinity or spread constraints may fit once another
    pod is placed; pods waiting only on resources, taints or selectors stay where they are
    (their stale heap entries are skipped by `_current`)."""
    for key in sorted(q.waiting):
        qp = q.pods[key]
        spec = qp.pod.spec
        aff = spec.affinity
        if spec.topology_spread_constraints or (
            aff is not None and (aff.pod_affinity is not None or aff.pod_anti_affinity is not None)
        ):
            q = _move(q, qp, now)
    return q


def flush(q: SchedulingQueue, now: Time) -> SchedulingQueue:
    """flushBackoffQCompleted and flushUnschedulablePodsLeftover at `now`."""
    heap = q.backoff
    while heap is not None and heap[1][0] <= now:
        item, heap = heap[1], _merge(heap[2], heap[3])
        qp = _current(q, item, Where.BACKOFF)
        if qp is not None:
            q = _place(q, qp, Where.ACTIVE)
    if heap is not q.backoff:
        q = _evolve_queue(q, backoff=heap)
    heap = q.unschedulable
    while heap is not None and heap[1][0] <= now:
        item, heap = heap[1], _merge(heap[2], heap[3])
        qp = _current(q, item, Where.UNSCHEDULABLE)
        if qp is not None:
            q = _move(q, qp, now)
    return q if heap is q.unschedulable else _evolve_queue(q, unschedulable=heap)


def _first_live(q: SchedulingQueue, heap: Heap, where: Where) -> Item | None:
    while heap is not None:
        item = heap[1]
        if _current(q, item, where) is not None:
            return item
        heap = _merge(heap[2], heap[3])
    return None


def next_backoff_end(q: SchedulingQueue) -> Time | None:
    """When the earliest backoff ends (a pod that something changed for retries then)."""
    item = _first_live(q, q.backoff, Where.BACKOFF)
    return None if item is None else Time(item[0])


def next_unschedulable_flush(q: SchedulingQueue) -> Time | None:
    """When the earliest unschedulable pod has waited 5 minutes (the periodic flush)."""
    item = _first_live(q, q.unschedulable, Where.UNSCHEDULABLE)
    return None if item is None else Time(item[0])


def prune(q: SchedulingQueue) -> SchedulingQueue:
    """`q` with the stale entries at the top of each heap dropped (keeps peeks O(1))."""
    active, backoff, unschedulable = (
        _live_top(q, q.active, Where.ACTIVE),
        _live_top(q, q.backoff, Where.BACKOFF),
        _live_top(q, q.unschedulable, Where.UNSCHEDULABLE),
    )
    if active is q.active and backoff is q.backoff and unschedulable is q.unschedulable:
        return q
    return _evolve_queue(q, active=active, backoff=backoff, unschedulable=unschedulable)


def _live_top(q: SchedulingQueue, heap: Heap, where: Where) -> Heap:
    """`heap` without the stale entries at its top."""
    while heap is not None and _current(q, heap[1], where) is None:
        heap = _merge(heap[2], heap[3])
    return heap


def has_active(q: SchedulingQueue) -> bool:
    """Whether `pop` would return a pod."""
    return _first_live(q, q.active, Where.ACTIVE) is not None

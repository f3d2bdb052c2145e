"""The driver's event queue: a persistent priority queue ordered by (time, sequence).

Owns `EventQueue` and `Scheduled`. Every pending delivery (a watch event, an API answer,
a timer) is a `Scheduled(at, seq, target, event)`; `seq` is assigned by the queue in
push order, so two deliveries at the same time come out first-in first-out and the order
never depends on hashing or on the machine.

The queue is an immutable value (a leftist heap of tuples, O(log n) push and pop, shared
structure), so a driver snapshot that contains it is O(1) and a fork cannot disturb its
parent. Almost every push is due at the same time as the one before it (watch events and
API answers are queued at `now`), so such pushes go to a FIFO run beside the heap (a
`PVector` with a read index: O(1) push and pop, no comparisons); `pop` takes whichever
head, FIFO's or heap's, comes first by (time, seq). Both hold items sorted by (time, seq),
so the order is exactly the heap-only order. Pure; no kcore imports beyond the event types.

Each item also says whether it is work in motion (`Scheduled.in_motion`: everything but
a timer its component marked as merely scheduled), and the queue counts those
(`EventQueue.moving`), so settling asks "is anything still in motion?" in O(1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import attrs
from pyrsistent import pvector
from pyrsistent.typing import PVector

from kcore.api.meta import Time
from kcore.component.effects import Tag
from kcore.component.events import Event
from kcore.component.requests import Request
from kcore.runtime import cri


@attrs.frozen(kw_only=True)
class RuntimeDue:
    """Driver-internal: runtime callback `callback` of node `node` comes due. `boot` is the
    node's boot count when it was set in motion: a crash since then makes it void."""

    node: str
    boot: int
    callback: cri.Scheduled


@attrs.frozen(kw_only=True)
class ThrottledCall:
    """Driver-internal: a component's `CallApi` that waited for its client rate limiter
    (`kcore.driver.throttle`) goes to the apiserver now. Dies with the component."""

    request: Request
    tag: Tag


Deliverable = Event | RuntimeDue | ThrottledCall


@attrs.frozen(kw_only=True)
class Scheduled:
    """One pending delivery of `event` to the component named `target` at time `at`;
    `in_motion`: whether it is work in motion (see `kcore.driver.cluster.Cluster.settle`)."""

    at: Time
    seq: int
    target: str
    event: Deliverable
    in_motion: bool = True


class _Node(NamedTuple):
    # A leftist heap node: `rank` is the length of the right spine, kept minimal on the
    # right so merge walks O(log n) nodes.
    rank: int
    item: Scheduled
    left: _Node | None
    right: _Node | None


def _before(a: Scheduled, b: Scheduled) -> bool:
    return (a.at, a.seq) < (b.at, b.seq)


def _rank(n: _Node | None) -> int:
    return 0 if n is None else n.rank


def _merge(a: _Node | None, b: _Node | None) -> _Node | None:
    if a is None:
        return b
    if b is None:
        return a
    if _before(b.item, a.item):
        a, b = b, a
    right = _merge(a.right, b)
    left = a.left
    if _rank(left) < _rank(right):
        left, right = right, left
    return _Node(_rank(right) + 1, a.item, left, right)


@attrs.frozen(kw_only=True)
class EventQueue:
    """Pending deliveries, earliest (time, seq) first. Every operation returns a new queue."""

    root: _Node | None = None
    size: int = 0
    next_seq: int = 0
    run: PVector[Scheduled] = pvector()  # a FIFO of items at one time, in seq order
    run_head: int = 0  # index of the run's first unpopped item
    moving: int = 0  # how many items are in motion

    def __len__(self) -> int:
        return self.size

    def push(self, at: Time, target: str, event: Deliverable, in_motion: bool = True) -> EventQueue:
        """A queue with `event` scheduled for `target` at `at`, after every earlier push."""
        item = Scheduled(at=at, seq=self.next_seq, target=target, event=event, in_motion=in_motion)
        moving = self.moving + 1 if in_motion else self.moving
        run, head = self.run, self.run_head
        if head < len(run):
            if run[head].at == at:  # same time as the run: its seq is the largest, so last
                return EventQueue(
                    root=self.root,
                    size=self.size + 1,
                    next_seq=self.next_seq + 1,
                    run=run.append(item),
                    run_head=head,
                    moving=moving,
                )
        elif self.root is None or at <= self.root.item.at:  # the run is empty: start one
            return EventQueue(
                root=self.root,
                size=self.size + 1,
                next_seq=self.next_seq + 1,
                run=pvector((item,)),
                run_head=0,
                moving=moving,
            )
        node = _Node(1, item, None, None)
        return EventQueue(
            root=_merge(self.root, node),
            size=self.size + 1,
            next_seq=self.next_seq + 1,
            run=run,
            run_head=head,
            moving=moving,
        )

    def peek(self) -> Scheduled | None:
        """The earliest pending delivery, or None when the queue is empty."""
        first = self.run[self.run_head] if self.run_head < len(self.run) else None
        if self.root is None:
            return first
        if first is None or _before(self.root.item, first):
            return self.root.item
        return first

    def pop(self) -> tuple[Scheduled, EventQueue]:
        """The earliest delivery and the queue without it; raises IndexError when empty."""
        run, head = self.run, self.run_head
        if head < len(run):
            first = run[head]
            if self.root is None or not _before(self.root.item, first):
                head += 1
                if head == len(run):  # drained: let the popped items go
                    run, head = pvector(), 0
                return first, EventQueue(
                    root=self.root,
                    size=self.size - 1,
                    next_seq=self.next_seq,
                    run=run,
                    run_head=head,
                    moving=self.moving - 1 if first.in_motion else self.moving,
                )
        if self.root is None:
            raise IndexError("pop from an empty EventQueue")
        item = self.root.item
        rest = _merge(self.root.left, self.root.right)
        return item, EventQueue(
            root=rest,
            size=self.size - 1,
            next_seq=self.next_seq,
            run=run,
            run_head=head,
            moving=self.moving - 1 if item.in_motion else self.moving,
        )

    def __reduce__(self) -> tuple[object, tuple[tuple[Scheduled, ...], tuple[Scheduled, ...], int]]:
        # A leftist heap's left spine can be as deep as the queue is long; pickle the
        # items flat so storing a long queue never meets the recursion limit. The FIFO run
        # stays a run, so a loaded queue has the shape (and equality) of the saved one.
        heap = EventQueue(root=self.root, size=self.size - (len(self.run) - self.run_head))
        return (_restore, (tuple(heap), tuple(self.run[self.run_head :]), self.next_seq))

    def without(self, targets: frozenset[str]) -> EventQueue:
        """The queue minus every delivery to `targets` (a crashed component's mail); O(n log n).

        Runtime callbacks stay: the containers did not crash with the component."""
        kept = tuple(i for i in self if i.target not in targets or isinstance(i.event, RuntimeDue))
        return _rebuild(kept, self.next_seq)

    def take_due(self, target: str, now: Time) -> tuple[tuple[Scheduled, ...], EventQueue]:
        """`target`'s deliveries due by `now` (not runtime callbacks or throttled calls: the
        driver performs those itself), in delivery order, and
        the queue without them; O(n log n), for resuming a paused component."""
        taken: list[Scheduled] = []
        kept: list[Scheduled] = []
        for i in self:
            due = i.target == target and i.at <= now and not isinstance(i.event, RuntimeDue | ThrottledCall)
            (taken if due else kept).append(i)
        if not taken:
            return (), self
        return tuple(taken), _rebuild(tuple(kept), self.next_seq)

    def __iter__(self) -> Iterator[Scheduled]:
        """Every pending delivery in delivery order (O(n log n); for traces and tests)."""
        q = self
        while q.size:
            item, q = q.pop()
            yield item


def _rebuild(items: tuple[Scheduled, ...], next_seq: int) -> EventQueue:
    root: _Node | None = None
    for item in items:
        root = _merge(root, _Node(1, item, None, None))
    return EventQueue(root=root, size=len(items), next_seq=next_seq, moving=_moving(items))


def _moving(items: tuple[Scheduled, ...]) -> int:
    return sum(1 for i in items if i.in_motion)


def _restore(heap: tuple[Scheduled, ...], run: tuple[Scheduled, ...], next_seq: int) -> EventQueue:
    q = _rebuild(heap, next_seq)
    return attrs.evolve(q, size=q.size + len(run), run=pvector(run), moving=q.moving + _moving(run))

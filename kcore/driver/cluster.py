"""The `Cluster` facade: the one imperative shell object around the pure core.

Owns `Cluster` and what `Cluster.apply` reports (`Applied`, `ApplyOutcome`). A `Cluster`
holds the current values (the `ClusterState`, the simulated clock, the seed, every
component's state, the event queue, the trace: the `kcore.driver.snapshot` values),
performs effects and delivers events; it decides nothing. Every decision is made by
`kcore.apiserver.handle` or a component's `step` (and, for `apply`, by kubectl's merge in
`kcore.kubectl.apply`).

Theory of operation:
- A request (from a caller, or a component's `CallApi`) is handed to `handle` at the
  current simulated time; its watch events are queued, in revision order, for every
  component that watches the kind; a component's answer is queued as `ApiAnswered`.
- `step()` delivers the earliest queued event that is due (time <= now) and performs the
  effects the component returns, in order. `run_until_stable` steps until nothing is due;
  `advance(seconds)` walks the clock through every due timer to `now + seconds`;
  `settle(max_seconds)` walks it only as far as the work in motion needs (see
  `kcore.driver.settling`), `advance_until(done, seconds)` until a condition holds.
- Ties are broken by queue sequence (first queued, first delivered), so one seed and one
  input give the same trace, bit for bit.
- A component that raises `KcoreBug` is restarted (`init` on the current state, then
  `Started`), exactly as a crashed controller restarts and relists; the crash is traced.
- `snapshot()` returns the current `Snapshot` value (O(1)); `fork()` is a new `Cluster`
  on the same value: the two then evolve independently, sharing structure.

Mirrors, loosely, the role of kube-controller-manager + client-go informers + the
apiserver's HTTP layer, collapsed into one deterministic loop.
"""

from __future__ import annotations

import contextlib
import enum
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, assert_never

import attrs
from pyrsistent import pvector
from pyrsistent.typing import PMap, PVector

from kcore.api.codec import from_dict, to_dict
from kcore.api.core import EventSource, Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status, StatusReason, Time, evolver
from kcore.api.pod import Pod
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors as api_errors
from kcore.apiserver import handle
from kcore.bug import KcoreBug
from kcore.component.effects import CallApi, CallRuntime, Effect, RecordEvent, Tag, WakeMeAt
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
from kcore.component.informer import observe
from kcore.component.protocol import Component
from kcore.component.requests import Create, Get, ObjectList, Request, Response, Scale, Update
from kcore.driver import recorder
from kcore.driver.clock import EPOCH
from kcore.driver.faults import (
    CrashComponent,
    CrashNode,
    FailImagePull,
    Fault,
    FaultAt,
    HealPartition,
    KillContainer,
    PartitionNode,
    PauseComponent,
    RestartNode,
    ResumeComponent,
)
from kcore.driver.queue import Deliverable, RuntimeDue, ThrottledCall
from kcore.driver.settling import DEFAULT_SETTLE_SECONDS, Settled, SettleEnd
from kcore.driver.snapshot import (
    Crashed,
    Delivered,
    Injected,
    Performed,
    Snapshot,
    TraceEntry,
)
from kcore.driver.throttle import reserve
from kcore.kubectl.apply import merged_for_apply, with_last_applied
from kcore.runtime import runtime as cri_runtime
from kcore.runtime.cri import ContainerPhase, RuntimeCall
from kcore.runtime.runtime import RuntimeState
from kcore.state import ClusterState, WatchLog
from kcore.state import get as state_get

CLIENT: Final = "client"
"""The trace name of requests made through `Cluster.request` / `apply` (the CLI, tests)."""

DEFAULT_MAX_STEPS: Final = 1_000_000

# DESIGN.md performance notes: the cyclic GC, not the data structures, is the first wall
# when tables grow past ~20k objects; raising the thresholds is the shell's job.
GC_THRESHOLDS: Final = (100_000, 50, 1000)

AnyComponent = Component[Any]  # each component's state type is its own; the driver only stores it


def node_component_name(component: str, node: str) -> str:
    """The name of a per-node component (`kubelet/node-1`): node faults reach it by name."""
    return f"{component}/{node}"


def node_of_component(name: str) -> str | None:
    """The node a per-node component runs on (`kubelet/node-1` -> `node-1`), else None."""
    _, sep, node = name.partition("/")
    return node if sep else None


# --- apply --------------------------------------------------------------------------------


class ApplyOutcome(enum.Enum):
    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class Applied:
    """What `Cluster.apply` did with one object; `response` is the apiserver's last answer."""

    key: ObjectKey
    outcome: ApplyOutcome
    response: Response
    verb: str  # "creating" | "updating": what failed, for kubectl's error wording

    @property
    def status(self) -> Status | None:
        body = self.response.body
        return body if isinstance(body, Status) else None


def object_key(obj: ApiObject) -> ObjectKey:
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)


# --- the facade ---------------------------------------------------------------------------


class Cluster:
    """The imperative shell: holds the values, performs effects, delivers events."""

    def __init__(self, snapshot: Snapshot, components: Sequence[AnyComponent] = ()) -> None:
        gc.set_threshold(*GC_THRESHOLDS)
        names = [c.name for c in components]
        self._node_of: dict[str, str | None] = {n: node_of_component(n) for n in names}
        if len(set(names)) != len(names) or CLIENT in names:
            raise ValueError(f"component names must be unique and not {CLIENT!r}: {names}")
        # The hot values live in plain attributes: evolving a 17-field Snapshot on every
        # push, pop and delivery was the driver's largest cost. `snapshot()` assembles them
        # (and caches the value until the next change), so it stays O(1).
        self._cold = snapshot  # the rarely changed fields (faults, seed, recorder, ...)
        self._state = snapshot.state
        self._now = snapshot.now
        self._comp_states = snapshot.components
        # states stepped since the last snapshot: a dict write per delivery instead of a
        # PMap set; folded into `_comp_states` when a snapshot is taken
        self._comp_new: dict[str, Any] = {}
        self._queue = snapshot.queue
        self._counter = snapshot.counter
        self._trace_v = snapshot.trace
        self._trace_dropped = snapshot.trace_dropped
        self._trace_limit = snapshot.trace_limit
        self._runtimes = snapshot.runtimes
        self._limits = snapshot.client_limits
        self._buckets = snapshot.buckets
        self._fresh: Snapshot | None = snapshot
        self._components: tuple[AnyComponent, ...] = tuple(components)
        self._by_name: Mapping[str, AnyComponent] = {c.name: c for c in components}
        self._sources: Mapping[str, EventSource] = {c.name: c.event_source for c in components}
        self._order: Mapping[str, int] = {c.name: i for i, c in enumerate(components)}
        # who watches what, computed once: per-node components see only their node's
        # Pods and Node (the kubelet's spec.nodeName / metadata.name field selectors)
        self._watchers: dict[Kind, list[AnyComponent]] = {}
        self._node_watchers: dict[tuple[str, Kind], list[AnyComponent]] = {}
        self._targets: dict[tuple[str, Kind], list[AnyComponent]] = {}  # merged, in order
        # control-plane components share one informer cache (the apiserver's state as of
        # each write); per-node components keep their own node-scoped views
        self._shares_view: dict[str, bool] = {n: node_of_component(n) is None for n in names}
        self._wants: dict[str, Any] = {c.name: getattr(c, "wants", None) for c in components}
        self._reads_current: frozenset[str] = frozenset(
            c.name for c in components if getattr(c, "reads_current_view", False) and self._shares_view[c.name]
        )
        self._current_view: tuple[ClusterState | None, ClusterState | None] = (None, None)  # (state, its view)
        for c in self._components:
            node = node_of_component(c.name)
            for kind in sorted(c.watches, key=lambda k: k.value):
                if node is not None and kind in _NODE_SCOPED:
                    self._node_watchers.setdefault((node, kind), []).append(c)
                else:
                    self._watchers.setdefault(kind, []).append(c)
        for c in self._components:
            if c.name not in self._comp_states:
                self._start(c)

    @classmethod
    def empty(
        cls, state: ClusterState, components: Sequence[AnyComponent] = (), *, seed: int = 0
    ) -> Cluster:
        """A cluster over `state` at the epoch, with fresh components."""
        return cls(Snapshot(state=state, now=EPOCH, seed=seed), components)

    # -- values

    @property
    def state(self) -> ClusterState:
        return self._state

    @property
    def now(self) -> Time:
        return self._now

    @property
    def seed(self) -> int:
        return self._cold.seed

    @property
    def trace(self) -> PVector[TraceEntry]:
        return self._trace_v

    @property
    def components(self) -> tuple[AnyComponent, ...]:
        return self._components

    def component_state(self, name: str) -> Any:
        return self._comp_state(name)

    def snapshot(self) -> Snapshot:
        """The current values; O(1), and never changed by later steps."""
        snap = self._fresh
        if snap is None:
            snap = attrs.evolve(
                self._cold,
                state=self._state,
                now=self._now,
                components=self._components_value(),
                queue=self._queue,
                counter=self._counter,
                trace=self._trace_v,
                trace_dropped=self._trace_dropped,
                runtimes=self._runtimes,
                buckets=self._buckets,
            )
            self._fresh = snap
        return snap

    def fork(self) -> Cluster:
        """An independent cluster starting from the same values (shared structure)."""
        return Cluster(self.snapshot(), self._components)

    def pending(self) -> int:
        """Events queued, due now or later."""
        return len(self._queue)

    # -- requests

    def request(self, req: Request) -> Response:
        """Send one request to the apiserver now, as the local client; queue its watch events."""
        rid = self._next_id()
        self._trace(Performed(at=self.now, component=CLIENT, effect=CallApi(request=req, tag=rid)))
        return self._call(req)

    def apply(self, objs: Iterable[ApiObject]) -> tuple[Applied, ...]:
        """Create each object, or update it as `kubectl apply` would when it exists."""
        return tuple(self._apply_one(o) for o in objs)

    def _apply_one(self, obj: ApiObject) -> Applied:
        key = object_key(obj)
        if not key.name:
            status = api_errors.bad_request("resource name may not be empty (generateName cannot be used with apply)")
            return Applied(key=key, outcome=ApplyOutcome.FAILED, response=Response(code=400, body=status), verb="creating")
        resp = self.request(Create(obj=with_last_applied(obj)))
        if resp.ok:
            return Applied(key=key, outcome=ApplyOutcome.CREATED, response=resp, verb="creating")
        body = resp.body
        if not (isinstance(body, Status) and body.reason.value == "AlreadyExists"):
            return Applied(key=key, outcome=ApplyOutcome.FAILED, response=resp, verb="creating")
        got = self.request(Get(key=key))
        current = got.body
        if not got.ok or isinstance(current, Status | ObjectList | Scale):
            return Applied(key=key, outcome=ApplyOutcome.FAILED, response=got, verb="updating")
        merged = merged_for_apply(current, obj)
        if merged == to_dict(current):
            return Applied(key=key, outcome=ApplyOutcome.UNCHANGED, response=got, verb="updating")
        resp = self.request(Update(obj=from_dict(merged).obj))
        if not resp.ok:
            return Applied(key=key, outcome=ApplyOutcome.FAILED, response=resp, verb="updating")
        return Applied(key=key, outcome=ApplyOutcome.CONFIGURED, response=resp, verb="updating")

    # -- running

    def step(self) -> bool:
        """Deliver the earliest due event and perform its effects; False when none is due."""
        head = self._queue.peek()
        if head is None or head.at > self._now:
            return False
        item, self._queue = self._queue.pop()
        self._fresh = None
        event = item.event
        if isinstance(event, RuntimeDue):
            self._fire_runtime(item.target, event)
            return True
        if isinstance(event, ThrottledCall):
            # a request that waited for its client's rate limiter; it dies with a crashed
            # component (its mail is dropped) or node, and goes out while the component is
            # paused (it had already left the component's hands)
            if item.target in self._by_name and self._running(item.target):
                self._call(event.request, answer=(item.target, event.tag))
            return True
        name = item.target
        comp = self._by_name.get(name)
        if comp is None or not self._running(name):  # gone or down: its mail is lost
            return True
        paused = self._cold.paused
        if paused and name in paused:
            self._set_cold(held=self._cold.held.append((name, event)))
            return True
        if name in self._reads_current:
            event = self._with_current_view(event)
        self._deliver(comp, event, name)
        return True

    def _with_current_view(self, event: Event) -> Event:
        """`event` carrying the shared cache as it is now (watch events and timers)."""
        src, view = self._current_view
        if src is not self._state or view is None:
            view = _without_log(self._state)
            self._current_view = (self._state, view)
        if isinstance(event, WatchDelivered):
            return WatchDelivered(event=event.event, now=event.now, view=view)
        if isinstance(event, TimerFired):
            return TimerFired(key=event.key, now=event.now, view=view)
        return event

    def _deliver(self, comp: AnyComponent, event: Event, name: str) -> None:
        traced = event  # the trace keeps no states
        if isinstance(event, WatchDelivered) and event.view is not None:
            traced = WatchDelivered(event=event.event, now=event.now)
        elif isinstance(event, TimerFired) and event.view is not None:
            traced = TimerFired(key=event.key, now=event.now)
        self._trace(Delivered(at=self._now, component=name, event=traced))
        try:
            new_state, effects = comp.step(self._comp_state(name), event)
        except KcoreBug as bug:
            self._trace(Crashed(at=self._now, component=name, error=str(bug)))
            self._restart(comp)
            return
        self._comp_new[name] = new_state
        if effects:
            self._perform_all(name, effects)

    def run_until_stable(self, max_steps: int = DEFAULT_MAX_STEPS) -> bool:
        """Step until nothing is due now; False if `max_steps` ran out first.

        The cyclic collector waits for the end of the run (see `_quiet_gc`)."""
        with _quiet_gc():
            for _ in range(max_steps):
                if not self.step():
                    return True
            return not self._due()

    def advance(self, seconds: float, max_steps: int = DEFAULT_MAX_STEPS) -> bool:
        """Move the clock `seconds` ahead, firing each due timer at its own time; then settle."""
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds}s)")
        target = Time(self.now + seconds)
        if not self.run_until_stable(max_steps):
            return False
        while (head := self._queue.peek()) is not None and head.at <= target:
            self._now = Time(max(self._now, head.at))
            self._fresh = None
            if not self.run_until_stable(max_steps):
                return False
        self._now = target
        self._fresh = None
        return self.run_until_stable(max_steps)

    def settle(self, max_seconds: float = DEFAULT_SETTLE_SECONDS, max_steps: int = DEFAULT_MAX_STEPS) -> Settled:
        """Let simulated time run exactly as far as the work in motion needs, at most
        `max_seconds`: deliver what is due, then move the clock from one queued time to
        the next while anything in motion is still queued (`kcore.driver.settling`)."""
        if max_seconds < 0:
            raise ValueError(f"cannot settle for a negative time ({max_seconds}s)")
        start = self.now
        deadline = Time(start + max_seconds)
        if not self.run_until_stable(max_steps):
            return Settled(started=start, ended=self.now, end=SettleEnd.STEPS)
        while self._queue.moving:
            head = self._queue.peek()
            assert head is not None  # something is in motion, so something is queued
            if head.at > deadline:
                self._now = deadline
                self._fresh = None
                end = SettleEnd.TIMEOUT if self.run_until_stable(max_steps) else SettleEnd.STEPS
                return Settled(started=start, ended=self.now, end=end)
            self._now = Time(max(self._now, head.at))
            self._fresh = None
            if not self.run_until_stable(max_steps):
                return Settled(started=start, ended=self.now, end=SettleEnd.STEPS)
        return Settled(started=start, ended=self.now, end=SettleEnd.SETTLED)

    def advance_until(
        self, done: Callable[[ClusterState], bool], seconds: float, max_steps: int = DEFAULT_MAX_STEPS
    ) -> bool:
        """Move the clock on, one queued time after the other, until `done(state)` holds
        (True, the clock at that instant) or `seconds` have passed (False): `kubectl
        wait` and `rollout status` in simulated time. `done` is asked first after
        delivering what is due now, then after each instant."""
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds}s)")
        deadline = Time(self.now + seconds)
        self.run_until_stable(max_steps)
        if done(self._state):
            return True
        while (head := self._queue.peek()) is not None and head.at <= deadline:
            self._now = Time(max(self._now, head.at))
            self._fresh = None
            self.run_until_stable(max_steps)
            if done(self._state):
                return True
        self._now = deadline
        self._fresh = None
        self.run_until_stable(max_steps)
        return done(self._state)

    # -- internals

    def _due(self) -> bool:
        head = self._queue.peek()
        return head is not None and head.at <= self._now

    def _next_id(self) -> str:
        n = self._counter
        self._counter = n + 1
        self._fresh = None
        return f"r{n}"

    def _trace(self, entry: TraceEntry) -> None:
        self._fresh = None
        limit = self._trace_limit
        if limit <= 0:
            self._trace_dropped += 1
            return
        trace = self._trace_v.append(entry)
        if len(trace) <= 2 * limit:
            self._trace_v = trace
            return
        # amortised O(1): forget the older half once the trace is twice the limit
        dropped = len(trace) - limit
        self._trace_v = pvector(trace[dropped:])
        self._trace_dropped += dropped

    def _push(self, at: Time, target: str, event: Deliverable, in_motion: bool = True) -> None:
        self._queue = self._queue.push(at, target, event, in_motion)
        self._fresh = None

    def _set_cold(self, **changes: Any) -> None:
        self._cold = attrs.evolve(self._cold, **changes)
        self._fresh = None

    def _start(self, comp: AnyComponent) -> None:
        if comp.name in self._buckets:  # a new process has a new client: a full bucket
            self._buckets = self._buckets.discard(comp.name)
        state, effects = comp.init(self.state, self.now)
        self._comp_new[comp.name] = state
        self._fresh = None
        self._push(self.now, comp.name, Started(now=self.now))
        self._perform_all(comp.name, effects)

    def _restart(self, comp: AnyComponent) -> None:
        """A fresh incarnation: the old one's mail (answers, timers, events) is lost."""
        self._queue = self._queue.without(frozenset({comp.name}))
        self._fresh = None
        self._start(comp)

    def _comp_state(self, name: str) -> Any:
        try:
            return self._comp_new[name]
        except KeyError:
            return self._comp_states[name]

    def _components_value(self) -> PMap[str, Any]:
        if self._comp_new:
            merged = self._comp_states.evolver()
            for name, st in self._comp_new.items():
                merged[name] = st
            self._comp_states = merged.persistent()
            self._comp_new = {}
        return self._comp_states

    def _running(self, name: str) -> bool:
        down = self._cold.down_nodes
        if not down:
            return True
        node = self._node_of[name] if name in self._node_of else node_of_component(name)
        return node is None or node not in down

    def _cut_off(self, name: str) -> bool:
        """Whether `name` cannot reach the apiserver (its node is partitioned)."""
        if not self._cold.partitioned:
            return False
        node = self._node_of[name] if name in self._node_of else node_of_component(name)
        return node is not None and node in self._cold.partitioned

    def _call(self, req: Request, answer: tuple[str, Tag] | None = None) -> Response:
        """Hand `req` to the apiserver; queue the answer (to `answer` = (component, tag)) first,
        then the watch events, as a client sees its response before the informer's event."""
        if answer is not None and self._cut_off(answer[0]):
            name, rid = answer
            resp = Response(code=504, body=_timeout_status())
            self._push(self.now, name, ApiAnswered(tag=rid, response=resp, now=self.now))
            return resp
        before = self._state
        state, resp, events = handle(before, req, self.now)
        self._state = state
        self._fresh = None
        if answer is not None:
            name, rid = answer
            self._push(self.now, name, ApiAnswered(tag=rid, response=resp, now=self.now))
        if events:
            self._fan_out(events, before)
        return resp

    def _fan_out(self, events: tuple[WatchEvent, ...], before: ClusterState) -> None:
        """Queue each event for its watchers. The shared view an event carries holds that
        event and every earlier one, never a later one: one event per write (the common
        case) carries the apiserver's new state; a write of several folds them one by one
        into the state before it."""
        now = self.now
        shares, wants = self._shares_view, self._wants
        single = len(events) == 1
        # Views carry no watch log: informers never read it, and every queued view would
        # otherwise keep its own version of a 100k-entry log alive, which the cyclic
        # collector walks entry by entry for each young version (pvectorc traverses the
        # whole trie): with thousands of events queued at one instant that was most of
        # the time of a 1,000-pod rollout.
        view = _without_log(before)
        for ev in events:
            prev = view
            view = _without_log(self._state) if single else observe(view, ev)
            kind: Kind = ev.obj.KIND
            targets = self._watchers.get(kind, [])
            if kind in _NODE_SCOPED and self._node_watchers:
                targets = self._scoped_targets(_scope_node(ev.obj), kind, targets)
            shared = WatchDelivered(event=ev, now=now, view=view)
            private: WatchDelivered | None = None
            old: ApiObject | None = None
            old_known = False
            for comp in targets:
                name = comp.name
                accepts = wants[name]
                if accepts is not None:
                    if not old_known:  # the object as the previous write left it (client-go's oldObj)
                        old = None if ev.type is WatchType.ADDED else state_get(prev, ev.key)
                        old_known = True
                    if not accepts(ev, old):
                        continue
                if self._running(name) and not self._cut_off(name):
                    if shares[name]:
                        self._push(now, name, shared)
                    else:
                        private = private or WatchDelivered(event=ev, now=now)
                        self._push(now, name, private)

    def _scoped_targets(self, node: str, kind: Kind, targets: list[AnyComponent]) -> list[AnyComponent]:
        key = (node, kind)
        merged = self._targets.get(key)
        if merged is None:
            scoped = self._node_watchers.get(key)
            # keep the components' own order: delivery order is part of the trace
            merged = sorted([*targets, *scoped], key=lambda c: self._order[c.name]) if scoped else targets
            self._targets[key] = merged
        return merged

    def _perform_all(self, name: str, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            self._trace(Performed(at=self._now, component=name, effect=effect))
            self._perform(name, effect)

    def _perform(self, name: str, effect: Effect) -> None:
        match effect:
            case CallApi(request=req, tag=rid):
                limit = self._limits.get(name) if self._limits else None
                if limit is not None:
                    bucket, go = reserve(limit, self._buckets.get(name), self.now)
                    self._buckets = self._buckets.set(name, bucket)
                    if go > self.now:
                        self._push(Time(go), name, ThrottledCall(request=req, tag=rid))
                        return
                self._call(req, answer=(name, rid))
            case WakeMeAt(at=at, key=key, in_motion=moving):
                due = Time(max(at, self.now))
                self._push(due, name, TimerFired(key=key, now=due), in_motion=moving)
            case RecordEvent():
                if not self._cut_off(name):
                    self._record(name, effect)
            case CallRuntime(node=node, call=call, tag=rid):
                self._call_runtime(name, node, call, rid)
            case _:
                assert_never(effect)

    # -- the container runtimes

    def runtime(self, node: str) -> RuntimeState:
        """Node `node`'s container runtime (a fresh one if it never ran or was wiped)."""
        rt = self._runtimes.get(node)
        if rt is not None:
            return rt
        made = cri_runtime.new_runtime(node, _node_ip(self.state, node))
        if not isinstance(made, RuntimeState):  # new_runtime without a CIDR cannot fail
            raise KcoreBug(f"new runtime for node {node!r}: {made}")
        return made

    def _set_runtime(self, node: str, rt: RuntimeState) -> None:
        self._runtimes = self._runtimes.set(node, rt)
        self._fresh = None

    def _call_runtime(self, name: str, node: str, call: RuntimeCall, tag: Tag) -> None:
        rt, result, scheduled = cri_runtime.apply(self.runtime(node), call, self.now)
        self._set_runtime(node, rt)
        if self._cold.runtime_users.get(node) != name:
            self._set_cold(runtime_users=self._cold.runtime_users.set(node, name))
        self._push(self.now, name, RuntimeAnswered(tag=tag, result=result, now=self.now))
        boot = self._cold.boots.get(node, 0)
        for sc in scheduled:
            self._push(Time(max(sc.at, self.now)), name, RuntimeDue(node=node, boot=boot, callback=sc))

    def _fire_runtime(self, target: str, due: RuntimeDue) -> None:
        if due.boot != self._cold.boots.get(due.node, 0) or due.node in self._cold.down_nodes:
            return  # the machine crashed since: the callback died with it
        rt, events = cri_runtime.fire(self.runtime(due.node), due.callback, self.now)
        self._set_runtime(due.node, rt)
        for ev in events:
            self._push(self.now, target, RuntimeNotified(node=due.node, event=ev, now=self.now))

    # -- faults

    def inject(self, fault: Fault) -> None:
        """Perform one fault now (see `kcore.driver.faults` for what each one means)."""
        self._trace(Injected(at=self.now, fault=fault))
        snap = self._cold
        match fault:
            case CrashNode(node=node):
                if node in snap.down_nodes:
                    return
                victims = frozenset(c.name for c in self._on_node(node))
                self._runtimes = self._runtimes.discard(node)
                self._queue = self._queue.without(victims)
                self._set_cold(
                    down_nodes=snap.down_nodes.add(node),
                    boots=snap.boots.set(node, snap.boots.get(node, 0) + 1),
                    paused=snap.paused.difference(victims),
                    held=pvector(h for h in snap.held if h[0] not in victims),
                )
            case RestartNode(node=node):
                if node not in snap.down_nodes:
                    return
                self._set_cold(down_nodes=snap.down_nodes.discard(node))
                for comp in self._on_node(node):
                    self._start(comp)
            case PartitionNode(node=node):
                self._set_cold(partitioned=snap.partitioned.add(node))
            case HealPartition(node=node):
                if node not in snap.partitioned:
                    return
                self._set_cold(partitioned=snap.partitioned.discard(node))
                for comp in self._on_node(node):
                    if self._running(comp.name):
                        self._push(self.now, comp.name, Resynced(view=self.state, now=self.now))
            case KillContainer(node=node, pod=pod, container=container, oom=oom):
                self._kill_container(node, pod, container, oom=oom)
            case FailImagePull(node=node, image=image, count=n):
                self._set_runtime(node, cri_runtime.fail_image_pulls(self.runtime(node), image, n))
            case PauseComponent(name=name):
                self._set_cold(paused=snap.paused.add(name))
            case ResumeComponent(name=name):
                if name not in snap.paused:
                    return
                mine = [ev for who, ev in snap.held if who == name]
                self._set_cold(
                    paused=snap.paused.discard(name),
                    held=pvector(h for h in snap.held if h[0] != name),
                )
                # the held mail first, then what queued up behind it: order is kept (a
                # pod's ADDED before its DELETED), and each carries the time it is delivered
                later, self._queue = self._queue.take_due(name, self.now)
                self._fresh = None
                for ev in mine:
                    self._push(self.now, name, attrs.evolve(ev, now=self.now))
                for i in later:
                    if not isinstance(i.event, RuntimeDue | ThrottledCall):
                        self._push(self.now, name, attrs.evolve(i.event, now=self.now), in_motion=i.in_motion)
            case CrashComponent(name=name):
                victim = self._by_name.get(name)
                if victim is not None and self._running(name):
                    self._trace(Crashed(at=self.now, component=name, error="injected crash"))
                    self._restart(victim)
            case _:
                assert_never(fault)

    def run_plan(self, plan: Sequence[FaultAt], until: float, max_steps: int = DEFAULT_MAX_STEPS) -> bool:
        """Advance the clock to `now + until`, injecting each planned fault at its offset."""
        start = self.now
        for item in sorted(plan, key=lambda f: f.after):
            if item.after > until:
                break
            if not self.advance(max(0.0, start + item.after - self.now), max_steps):
                return False
            self.inject(item.fault)
        return self.advance(max(0.0, start + until - self.now), max_steps)

    def _on_node(self, node: str) -> tuple[AnyComponent, ...]:
        return tuple(c for c in self._components if node_of_component(c.name) == node)

    def _kill_container(self, node: str, pod_key: ObjectKey, container: str, *, oom: bool) -> None:
        pod = state_get(self.state, pod_key)
        if not isinstance(pod, Pod) or node in self._cold.down_nodes:
            return
        rt = self.runtime(node)
        for box in reversed(cri_runtime.sandboxes_of(rt, pod.metadata.uid)):
            for rec in reversed(cri_runtime.containers_in(rt, box.id)):
                if rec.name == container and rec.phase is ContainerPhase.RUNNING:
                    rt, events = cri_runtime.kill_container(rt, rec.id, self.now, oom=oom)
                    self._set_runtime(node, rt)
                    owner = self._cold.runtime_users.get(node, node_component_name("kubelet", node))
                    for ev in events:
                        self._push(self.now, owner, RuntimeNotified(node=node, event=ev, now=self.now))
                    return

    def _record(self, name: str, rec: RecordEvent) -> None:
        n = self._counter
        source = self._sources[name] if rec.source is None else rec.source
        cache, req = recorder.record(self._cold.recorder, source, rec, self.now, n)
        self._counter = n + 1
        self._set_cold(recorder=cache)
        resp = self._call(req)
        if isinstance(req, Update) and resp.code == 404:  # the earlier Event was deleted
            self._call(Create(obj=req.obj))


_NODE_SCOPED: Final = frozenset({Kind.POD, Kind.NODE, Kind.LEASE})


def _scope_node(obj: ApiObject) -> str:
    """The node a Pod is bound to, or a Node's (or its kube-node-lease Lease's) own name:
    what per-node components filter on."""
    if isinstance(obj, Pod):
        return obj.spec.node_name
    return obj.metadata.name


@contextlib.contextmanager
def _quiet_gc() -> Iterator[None]:
    """No automatic cyclic collection while the driver steps; one young-generation pass
    after, if one came due.

    What a collection costs depends on the young container objects alive at that moment,
    and a `PVector` counts as its whole trie (pvectorc's traverse visits every item):
    mid-burst, thousands of queued watch events each hold a view whose object tables are
    young vectors of thousands of buckets, and a collection walked them all (~45% of the
    CPU of 5,000 pods created at once on 1,000 nodes). After the run the queue holds no
    watch events (they are due at once), so few views are alive and the pass is cheap.
    The core's values are immutable and make no cycles, so deferring is safe; nested runs
    (`advance` settles through this) defer to the outermost."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        if gc.get_count()[0] >= gc.get_threshold()[0]:
            gc.collect(0)


_EMPTY_LOG: Final = WatchLog()
_EVOLVE_STATE: Final = evolver(ClusterState)


def _without_log(state: ClusterState) -> ClusterState:
    """`state` as an informer holds it: every object and index, no watch log."""
    return state if state.log is _EMPTY_LOG else _EVOLVE_STATE(state, log=_EMPTY_LOG)


def _timeout_status() -> Status:
    return Status(
        status="Failure",
        message="the server was unable to return a response in the time allotted (the node is partitioned from the apiserver)",
        reason=StatusReason.TIMEOUT,
        code=504,
    )


def _node_ip(state: ClusterState, node: str) -> str:
    obj = state_get(state, ObjectKey(kind=Kind.NODE, namespace="", name=node))
    if isinstance(obj, Node) and obj.status is not None:
        for addr in obj.status.addresses:
            if addr.type == "InternalIP":
                return addr.address
    return ""

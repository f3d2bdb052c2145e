"""One component driven by hand against the real apiserver, for tests: `Rig(component, *objects)`.

Owns `Rig[S]`, the test's stand-in for the driver. The component sees exactly what the
test hands it, so staleness, reordering and lost answers are written out in the test:
- `start()` delivers `Started`; `step(event)` any event; `fire(key, at)` a `TimerFired`;
- `request(req)` is a client's request, served now by `kcore.apiserver.handle`: the state
  moves on, and the watch events of the kinds the component watches wait in `inbox`;
- `answer(call)` performs one `CallApi` (`perform` without delivering) and delivers its
  `ApiAnswered` with the call's tag (or answers it with a given `Response` instead);
- `deliver_watches()` hands the whole inbox over, oldest first;
- `settle(effects)` does both until nothing is left: every `CallApi` answered, every watch
  event delivered. Timers never fire by themselves: a `WakeMeAt` only asks, `fire` answers.
- `restart()` is a crash: a fresh `init` from the current state, the inbox dropped.

Rules: the rig decides nothing a driver would: no queue order but the test's, no filter
(a `Selective` component's `wants` only skips what cannot matter, so every watch event of
a watched kind is delivered), no informer view on events (the component keeps its own).
Every `init` starts with no effects, so the rig asserts that.

Mirrors the hand-driven fakes of upstream controller tests (pkg/controller/replicaset's
`fakePodControl` with an informer fed by hand) with the real apiserver in place of fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar, overload

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import Pod
from kcore.api.watch import WatchEvent
from kcore.apiserver import handle
from kcore.component.effects import CallApi, Effect, Tag
from kcore.component.events import ApiAnswered, Event, Started, TimerFired, WatchDelivered
from kcore.component.protocol import Component
from kcore.component.requests import Create, Request, Response
from kcore.state import ClusterState, get, list_objects
from tests.builders import T0, a_node, cluster_with

S = TypeVar("S")
T = TypeVar("T", bound=ApiObject)

Refuse = Callable[[Request], Response | None]
"""Answers a request instead of the apiserver (a refusal, a fault), or None to serve it."""


def served(_: Request) -> Response | None:
    """Every request is served by the apiserver."""
    return None


class Rig(Generic[S]):
    """`comp` driven by hand; its state is `s`, the apiserver's `state`, the time `now`.

    The cluster starts as `state` when given, else with namespace default and node-1
    (`a_node()`); `objects` are created in it through the apiserver before `init`.
    """

    def __init__(self, comp: Component[S], *objects: ApiObject, state: ClusterState | None = None, now: Time = T0) -> None:
        self.comp = comp
        self.now = now
        self.state: ClusterState = cluster_with(a_node(), now=now) if state is None else state
        self.inbox: list[WatchEvent] = []
        for obj in objects:
            resp = self.request(Create(obj=obj))
            assert resp.ok, f"cannot create {obj.KIND.value} {obj.metadata.name}: {resp.body}"
        self.s: S
        self.restart()

    def restart(self) -> None:
        """The component restarts: a fresh LIST, nothing in flight, the inbox dropped."""
        self.s, effects = self.comp.init(self.state, self.now)
        assert effects == (), effects
        self.inbox.clear()

    def step(self, event: Event) -> tuple[Effect, ...]:
        """Deliver one event; the effects the component asks for."""
        self.s, effects = self.comp.step(self.s, event)
        return effects

    def start(self) -> tuple[Effect, ...]:
        return self.step(Started(now=self.now))

    def fire(self, key: Tag, at: float | None = None) -> tuple[Effect, ...]:
        """The timer `key` comes due, at `at` (the clock moves there) or now."""
        if at is not None:
            self.now = Time(at)
        return self.step(TimerFired(key=key, now=self.now))

    def request(self, req: Request) -> Response:
        """A client request, served now; its watch events of watched kinds join the inbox."""
        self.state, resp, events = handle(self.state, req, self.now)
        self.inbox.extend(e for e in events if e.obj.KIND in self.comp.watches)
        return resp

    def perform(self, call: Effect, response: Response | None = None) -> ApiAnswered:
        """Serve one CallApi (or answer it with `response`); its answer, not yet delivered."""
        assert isinstance(call, CallApi), call
        resp = self.request(call.request) if response is None else response
        return ApiAnswered(tag=call.tag, response=resp, now=self.now)

    def answer(self, call: Effect, response: Response | None = None) -> tuple[Effect, ...]:
        """Serve one CallApi (or answer it with `response`) and deliver the answer, not
        its watch events."""
        return self.step(self.perform(call, response))

    def deliver_watches(self) -> tuple[Effect, ...]:
        """Hand over every waiting watch event, oldest first."""
        out: list[Effect] = []
        while self.inbox:
            out.extend(self.step(WatchDelivered(event=self.inbox.pop(0), now=self.now)))
        return tuple(out)

    def settle(self, effects: Iterable[Effect], refuse: Refuse = served, limit: int = 500) -> list[Effect]:
        """Serve every CallApi (answered by `refuse` when it says so), deliver every answer
        and watch event until quiet; every effect seen, `effects` first, in order."""
        todo = list(effects)
        seen = list(todo)
        for _ in range(limit):
            if todo:
                eff = todo.pop(0)
                if isinstance(eff, CallApi):
                    more = self.answer(eff, refuse(eff.request))
                    todo.extend(more)
                    seen.extend(more)
                continue
            if not self.inbox:
                return seen
            more = self.deliver_watches()
            todo.extend(more)
            seen.extend(more)
        raise AssertionError(f"did not settle in {limit} rounds")

    @overload
    def get(self, k: ObjectKey) -> ApiObject: ...

    @overload
    def get(self, k: ObjectKey, of: type[T]) -> T: ...

    def get(self, k: ObjectKey, of: type[ApiObject] | None = None) -> ApiObject:
        """The stored object at `k`, which must exist (and be an `of` when given)."""
        obj = get(self.state, k)
        assert obj is not None and (of is None or isinstance(obj, of)), (k, obj)
        return obj

    def pods(self) -> list[Pod]:
        """Every stored pod, by namespace and name."""
        return [p for p in list_objects(self.state, Kind.POD) if isinstance(p, Pod)]

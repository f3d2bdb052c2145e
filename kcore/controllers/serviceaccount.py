"""The service account controller: every active namespace has a `default` ServiceAccount.

Owns `ServiceAccountController` (component "serviceaccount-controller"). Level-triggered:
any Namespace or ServiceAccount change re-checks that namespace; a missing `default` (never
made, or deleted) is created, never in a terminating namespace. An AlreadyExists answer
means someone else made it: nothing to do. A create carries the key of the
ServiceAccount it makes as its tag. A failed create is retried at the `Timer.RETRY`
timer, 1 s later (`RETRY`), in motion for settling the first time in a row (its work
queue counts the failed creates of each `default`), not after
(`kcore.component.workqueue`). Mirrors pkg/controller/serviceaccount/serviceaccounts_controller.go.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs
from pyrsistent import pset
from pyrsistent.typing import PSet

from kcore.api.core import EventSource, Namespace, NamespacePhase, ServiceAccount
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time, evolver
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
from kcore.component.requests import Create
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    forget,
    num_requeues,
    rate_limited,
    retry_in_motion,
)
from kcore.state import ClusterState, get, list_objects

NAME: Final = "serviceaccount-controller"
DEFAULT: Final = "default"
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""Namespaces are looked at again 1 s after a failed create."""


class Timer(enum.Enum):
    """The controller's one timer: look at every namespace again after a failed create."""

    RETRY = "retry"


@attrs.frozen(kw_only=True)
class ServiceAccountControllerState:
    view: ClusterState
    in_flight: PSet[str] = pset()  # namespaces whose `default` create awaits its answer
    queue: WorkQueue = WorkQueue(kind=Kind.SERVICE_ACCOUNT)  # failed creates in a row per `default`


_evolve = evolver(ServiceAccountControllerState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen
class ServiceAccountController:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # upstream records no events
    watches: frozenset[Kind] = frozenset({Kind.NAMESPACE, Kind.SERVICE_ACCOUNT})

    def init(self, view: ClusterState, now: Time) -> tuple[ServiceAccountControllerState, tuple[Effect, ...]]:
        return ServiceAccountControllerState(view=view), ()

    def step(
        self, s: ServiceAccountControllerState, ev: Event
    ) -> tuple[ServiceAccountControllerState, tuple[Effect, ...]]:
        match ev:
            case Started() | Resynced() | TimerFired(key=Timer.RETRY):
                if isinstance(ev, Resynced):
                    s = attrs.evolve(s, view=ev.view, in_flight=pset())
                return _sync(s, [n.metadata.name for n in list_objects(s.view, Kind.NAMESPACE)])
            case WatchDelivered(event=w):
                s = _evolve(s, view=follow(s.view, ev))
                ns = w.obj.metadata.name if w.obj.KIND is Kind.NAMESPACE else w.obj.metadata.namespace
                return _sync(s, [ns])
            case ApiAnswered(tag=ObjectKey(namespace=ns) as sa, response=resp):
                s = attrs.evolve(s, in_flight=s.in_flight.discard(ns))
                if resp.ok or resp.code == 409:
                    return _forget(s, sa), ()
                queue, requeue = rate_limited(s.queue, sa, ev.now, RETRY)
                s = attrs.evolve(s, queue=queue)
                return s, (WakeMeAt(at=requeue.at, key=Timer.RETRY, in_motion=retry_in_motion(requeue.failures)),)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def _sync(s: ServiceAccountControllerState, names: list[str]) -> tuple[ServiceAccountControllerState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for ns in sorted(names):
        if ns in s.in_flight:
            continue
        if not needs_default(s.view, ns):
            s = _forget(s, default_key(ns))
            continue
        sa = ServiceAccount(metadata=ObjectMeta(name=DEFAULT, namespace=ns))
        s = attrs.evolve(s, in_flight=s.in_flight.add(ns))
        effects.append(CallApi(request=Create(obj=sa), tag=default_key(ns)))
    return s, tuple(effects)


def _forget(s: ServiceAccountControllerState, sa: ObjectKey) -> ServiceAccountControllerState:
    """No standing failure of the create of `sa`: its next failure is the first in a row."""
    return attrs.evolve(s, queue=forget(s.queue, sa, RETRY)) if num_requeues(s.queue, sa, RETRY) else s


def default_key(namespace: str) -> ObjectKey:
    """The key of `namespace`'s `default` ServiceAccount (the tag of its create)."""
    return ObjectKey(kind=Kind.SERVICE_ACCOUNT, namespace=namespace, name=DEFAULT)


def needs_default(view: ClusterState, namespace: str) -> bool:
    """Whether `namespace` is active and has no `default` ServiceAccount."""
    ns = get(view, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=namespace))
    if not isinstance(ns, Namespace) or ns.metadata.deletion_timestamp is not None:
        return False
    if ns.status.phase is not NamespacePhase.ACTIVE:
        return False
    return get(view, default_key(namespace)) is None

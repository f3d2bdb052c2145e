"""The namespace controller: a deleted namespace empties, then goes.

Owns `NamespaceController` (component "namespace-controller") and its pure `sync`.

Theory of operation (pkg/controller/namespace/deletion/namespaced_resources_deleter.go):
- Deleting a Namespace marks it Terminating (deletionTimestamp, phase) and the apiserver
  refuses new objects in it. The namespace keeps the `kubernetes` spec finalizer until
  this controller has emptied it.
- Each sync of a terminating namespace deletes every object in it that is not already
  being deleted (propagationPolicy Background, as upstream's deleteCollection), and keeps
  the status conditions NamespaceContentRemaining / NamespaceFinalizersRemaining saying
  what is left ("Some resources are remaining: pods. has 2 resource instances").
- Once nothing is left, the `kubernetes` finalizer is removed (the finalize
  subresource, which kcore folds into an update of the terminating namespace) and the
  apiserver removes the namespace.
- Objects that take time to go (pods terminating gracefully, objects with finalizers)
  are waited for: their DELETED events re-sync the namespace.

Watch filter (`wants`): Namespace events, every DELETED event, and any object being
deleted (deletionTimestamp set). Only a terminating namespace is acted on; the
namespace's own event brings the view of everything in it (the shared informer cache),
and from then on every object left in it is being deleted, so nothing else can change a
sync's outcome. Upstream watches Namespaces only and polls the content.

Rules: one request in flight per key, tagged with that key; every answer re-syncs its
namespace after `RETRY_AFTER` (the `Timer.RETRY` timer); keys in sorted order. For settling
(`workqueue.resync_after_answer`) that timer is in motion after a success or a first
failure (the deletion is progressing), merely scheduled after the same write failed
again (`failures`); a merely scheduled one never covers one in motion. Must not know: any
kind's own semantics. Mirrors namespace_controller.go and
deletion/namespaced_resources_deleter.go.
"""

from __future__ import annotations

import enum
from collections import Counter
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import EventSource, Namespace, NamespaceCondition, NamespacePhase
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Time, evolver
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect
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
from kcore.component.requests import Delete, PropagationPolicy, Request, Subresource, Update
from kcore.component.workqueue import Wake, resync_after_answer
from kcore.state import ClusterState, get, keys_in_namespace, list_objects

NAME: Final = "namespace-controller"
FINALIZER: Final = "kubernetes"
RETRY_AFTER: Final = 1.0
CONTENT_REMAINING: Final = "NamespaceContentRemaining"
FINALIZERS_REMAINING: Final = "NamespaceFinalizersRemaining"
_WATCHED: Final = frozenset(k for k in Kind if k.info.namespaced) | {Kind.NAMESPACE}


class Timer(enum.Enum):
    """The controller's one timer: sync the answered writes' namespaces again."""

    RETRY = "retry"


@attrs.frozen(kw_only=True)
class NamespaceControllerState:
    view: ClusterState
    in_flight: PSet[ObjectKey] = pset()
    retry: PSet[str] = pset()  # namespaces to sync again at the next `Timer.RETRY`
    retry_wake: Wake | None = None  # the `Timer.RETRY` pending
    failures: PMap[ObjectKey, int] = pmap()  # consecutive failed writes per target


_evolve = evolver(NamespaceControllerState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen
class NamespaceController:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # upstream records no namespace events
    watches: frozenset[Kind] = _WATCHED

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): namespaces, deletions, objects going."""
        obj = event.obj
        return (
            obj.KIND is Kind.NAMESPACE
            or event.type is WatchType.DELETED
            or obj.metadata.deletion_timestamp is not None
        )

    def init(self, view: ClusterState, now: Time) -> tuple[NamespaceControllerState, tuple[Effect, ...]]:
        return NamespaceControllerState(view=view), ()

    def step(
        self, s: NamespaceControllerState, ev: Event
    ) -> tuple[NamespaceControllerState, tuple[Effect, ...]]:
        match ev:
            case Started() | Resynced():
                if isinstance(ev, Resynced):
                    s = attrs.evolve(s, view=ev.view, in_flight=pset())
                return _sync_all(s, {n.metadata.name for n in list_objects(s.view, Kind.NAMESPACE)}, ev.now)
            case WatchDelivered(event=w):
                s = _evolve(s, view=follow(s.view, ev))
                ns = w.obj.metadata.name if w.obj.KIND is Kind.NAMESPACE else w.obj.metadata.namespace
                return _sync_all(s, {ns}, ev.now)
            case ApiAnswered(tag=ObjectKey() as key):
                ns = key.name if key.kind is Kind.NAMESPACE else key.namespace
                at = Time(ev.now + RETRY_AFTER)
                failures, pending, wake = resync_after_answer(s.failures, key, ev.response.ok, s.retry_wake, at, Timer.RETRY)
                s = attrs.evolve(
                    s, in_flight=s.in_flight.discard(key), retry=s.retry.add(ns), retry_wake=pending, failures=failures
                )
                return s, wake
            case TimerFired(key=Timer.RETRY):
                names = set(s.retry)
                return _sync_all(attrs.evolve(s, retry=pset(), retry_wake=None), names, ev.now)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def _sync_all(
    s: NamespaceControllerState, names: set[str], now: Time
) -> tuple[NamespaceControllerState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for ns in sorted(names):
        requests = sync(s.view, ns, now)
        if not requests and s.failures:
            s = _at_rest(s, ns)
        for req in requests:
            key = _target(req)
            if key in s.in_flight:
                continue
            s = attrs.evolve(s, in_flight=s.in_flight.add(key))
            effects.append(CallApi(request=req, tag=key))
    return s, tuple(effects)


def _at_rest(s: NamespaceControllerState, ns: str) -> NamespaceControllerState:
    """Namespace `ns` needs no write: forget the failures of its writes."""
    stale = [k for k in s.failures if (k.name if k.kind is Kind.NAMESPACE else k.namespace) == ns]
    if not stale:
        return s
    failures = s.failures
    for k in stale:
        failures = failures.discard(k)
    return attrs.evolve(s, failures=failures)


def _target(req: Request) -> ObjectKey:
    match req:
        case Delete(key=key):
            return key
        case Update(obj=obj):
            m = obj.metadata
            return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)
        case _:
            raise AssertionError(f"the namespace controller never sends {type(req).__name__}")


# --- the decision -------------------------------------------------------------------------


def sync(view: ClusterState, name: str, now: Time) -> tuple[Request, ...]:
    """The writes that move namespace `name` along its deletion; () when at rest."""
    ns = get(view, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=name))
    if not isinstance(ns, Namespace) or ns.metadata.deletion_timestamp is None:
        return ()
    if FINALIZER not in ns.spec.finalizers:
        return ()
    content = [o for k in keys_in_namespace(view, name) if (o := get(view, k)) is not None]
    if not content:
        kept = tuple(f for f in ns.spec.finalizers if f != FINALIZER)
        return (Update(obj=attrs.evolve(ns, spec=attrs.evolve(ns.spec, finalizers=kept))),)
    deletes: list[Request] = [
        Delete(key=_key(o), propagation=PropagationPolicy.BACKGROUND, precondition_uid=o.metadata.uid)
        for o in content
        if o.metadata.deletion_timestamp is None
    ]
    status = _status_update(ns, content, now)
    return (*deletes, *((status,) if status is not None else ()))


def _key(obj: ApiObject) -> ObjectKey:
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)


def _status_update(ns: Namespace, content: list[ApiObject], now: Time) -> Request | None:
    by_resource = Counter(o.KIND.info.plural for o in content)
    remaining = ", ".join(f"{r} has {n} resource instances" for r, n in sorted(by_resource.items()))
    with_finalizers = Counter(f for o in content for f in o.metadata.finalizers)
    fin = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(with_finalizers.items()))
    wanted = {
        CONTENT_REMAINING: ("SomeResourcesRemain", f"Some resources are remaining: {remaining}"),
        FINALIZERS_REMAINING: (
            ("SomeFinalizersRemain", f"Some content in the namespace has finalizers remaining: {fin}")
            if fin
            else ("ContentHasNoFinalizers", "All content-preserving finalizers finished")
        ),
    }
    conditions = {c.type: c for c in ns.status.conditions}
    changed = False
    for ctype, (reason, message) in wanted.items():
        status = ConditionStatus.TRUE if reason.startswith("Some") else ConditionStatus.FALSE
        old = conditions.get(ctype)
        if old is not None and (old.status, old.reason, old.message) == (status, reason, message):
            continue
        changed = True
        conditions[ctype] = NamespaceCondition(
            type=ctype, status=status, last_transition_time=now, reason=reason, message=message
        )
    if not changed:
        return None
    status_value = attrs.evolve(
        ns.status,
        phase=NamespacePhase.TERMINATING,
        conditions=tuple(conditions[t] for t in sorted(conditions)),
    )
    return Update(obj=attrs.evolve(ns, status=status_value), subresource=Subresource.STATUS)

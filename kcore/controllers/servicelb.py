"""The simulated cloud's load-balancer controller: every LoadBalancer Service gets an
address from the cluster's pool in `status.loadBalancer.ingress`.

Owns `ServiceLBController` (component "service-lb-controller", events signed
"service-controller"), its state `ServiceLBState`, the request tag `Op`, `pool_addresses`
and the pure decision `decide` (the next write a Service needs, or none).

Rules (as cloud-provider's service controller over a cloud whose load balancers are
addresses of one pool, as MetalLB or minikube tunnel give a bare cluster):
- A Service is synced when it is added, updated or deleted, and every Service at a start
  or relist. It wants a load balancer when it is of type LoadBalancer, names no
  `loadBalancerClass` (another implementation's) and is not being deleted.
- Wanting one: first the finalizer `service.kubernetes.io/load-balancer-cleanup`, then
  (events EnsuringLoadBalancer, then EnsuredLoadBalancer once written) the status
  `ingress: [{ip, ipMode: VIP}]`. The address: the one it already has, else
  `spec.loadBalancerIP` when it is in the pool and free, else the lowest free address of
  the pool (the network and broadcast addresses excluded); none free, or a requested
  address outside the pool or taken -> SyncLoadBalancerFailed, retried.
- Not wanting one (type changed, being deleted) while it holds the finalizer or an
  address: DeletingLoadBalancer, the status cleared, the finalizer removed,
  DeletedLoadBalancer. The address is free again once the status no longer shows it.
- One write in flight per Service; its own watch event starts the next step. A failed
  write or a failed allocation requeues the Service rate-limited (5 s doubling to
  300 s, the controller's own limiter; in motion the first time in a row).

Addresses taken are read from the view (every LoadBalancer Service's status) plus the
ones this controller has written but not yet seen back, so two Services never get the
same address even while the view lags.

Pure. Mirrors k8s.io/cloud-provider controllers/service/controller.go (syncService,
processLoadBalancerCreateOrUpdate, processLoadBalancerDelete, the cleanup finalizer).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import (
    EventSource,
    LoadBalancerIngress,
    LoadBalancerIPMode,
    LoadBalancerStatus,
    Service,
    ServiceStatus,
    ServiceType,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
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
from kcore.component.inflight import Rounds, round_answered, round_sent
from kcore.component.informer import follow
from kcore.component.requests import Response, Subresource, Update
from kcore.component.workqueue import RateLimiter, WorkQueue, add_rate_limited, fired, forget
from kcore.controllers.podcontrol import error_message
from kcore.state import ClusterState, get, list_objects

NAME: Final = "service-lb-controller"
EVENT_SOURCE: Final = "service-controller"
FINALIZER: Final = "service.kubernetes.io/load-balancer-cleanup"
LIMITER: Final = RateLimiter(base_delay=5.0, max_delay=300.0)
"""minRetryDelay 5 s, maxRetryDelay 300 s (the service controller's own queue)."""

ENSURING: Final = "EnsuringLoadBalancer"
ENSURED: Final = "EnsuredLoadBalancer"
DELETING: Final = "DeletingLoadBalancer"
DELETED: Final = "DeletedLoadBalancer"
SYNC_FAILED: Final = "SyncLoadBalancerFailed"


class Action(enum.Enum):
    ADD_FINALIZER = "add-finalizer"
    ENSURE = "ensure"
    CLEAR = "clear"
    REMOVE_FINALIZER = "remove-finalizer"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a write: the Service, what the write does, and the address it sets."""

    service: ObjectKey
    action: Action
    ip: str = ""


@attrs.frozen(kw_only=True)
class ServiceLBState:
    view: ClusterState
    pool: str
    queue: WorkQueue = WorkQueue(kind=Kind.SERVICE)
    rounds: Rounds = pmap()  # Services with a write out
    written: PMap[ObjectKey, str] = pmap()  # addresses written, not yet seen in the view


@attrs.frozen(kw_only=True)
class Fail:
    """The decision that the Service cannot be served now, and why."""

    message: str


@attrs.frozen
class ServiceLBController:
    name: str = NAME
    event_source: EventSource = EventSource(component=EVENT_SOURCE)
    watches: frozenset[Kind] = frozenset({Kind.SERVICE})

    def init(self, view: ClusterState, now: Time) -> tuple[ServiceLBState, tuple[Effect, ...]]:
        return ServiceLBState(view=view, pool=view.config.lb_pool), ()

    def step(self, s: ServiceLBState, ev: Event) -> tuple[ServiceLBState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return sync_all(s, ev.now)
            case Resynced(view=view):
                return sync_all(attrs.evolve(s, view=view, rounds=pmap()), ev.now)
            case WatchDelivered(event=w):
                s = attrs.evolve(s, view=follow(s.view, ev))
                return sync(s, w.key, ev.now) if w.key.kind is Kind.SERVICE else (s, ())
            case ApiAnswered(tag=Op() as op, response=resp):
                return answered(s, op, resp, ev.now)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                return sync(s, key, ev.now) if key is not None else (s, ())
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def pool_addresses(pool: str) -> tuple[str, ...]:
    """The pool's usable addresses in order (network and broadcast excluded for /30 and wider)."""
    net = ipaddress.ip_network(pool, strict=False)
    hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
    return tuple(str(a) for a in hosts)


def wants_load_balancer(svc: Service) -> bool:
    return (
        svc.spec.type is ServiceType.LOAD_BALANCER
        and svc.spec.load_balancer_class is None
        and svc.metadata.deletion_timestamp is None
    )


def _address(svc: Service) -> str:
    return next((i.ip for i in svc.status.load_balancer.ingress if i.ip), "")


def taken(view: ClusterState, written: PMap[ObjectKey, str], but: ObjectKey) -> frozenset[str]:
    """The addresses other Services hold (in the view, or written and not yet seen)."""
    used = {
        _address(o)
        for o in list_objects(view, Kind.SERVICE)
        if isinstance(o, Service) and (o.metadata.namespace, o.metadata.name) != (but.namespace, but.name)
    }
    used |= {ip for k, ip in written.items() if k != but}
    return frozenset(used - {""})


def choose(svc: Service, pool: str, used: Iterable[str]) -> str | Fail:
    """The address `svc` gets: its own, the one it asks for, or the lowest free one."""
    addresses = pool_addresses(pool)
    used_set = frozenset(used)
    own = _address(svc)
    if own and own in addresses and own not in used_set:
        return own
    asked = svc.spec.load_balancer_ip
    if asked:
        if asked not in addresses:
            return Fail(message=f"requested loadBalancerIP {asked} is not in the pool {pool}")
        if asked in used_set:
            return Fail(message=f"requested loadBalancerIP {asked} is already allocated")
        return asked
    free = next((a for a in addresses if a not in used_set), None)
    return free if free is not None else Fail(message=f"no available IPs in the pool {pool}")


def _with_finalizers(svc: Service, finalizers: tuple[str, ...]) -> Service:
    return attrs.evolve(svc, metadata=attrs.evolve(svc.metadata, finalizers=finalizers))


def _with_ingress(svc: Service, ip: str) -> Service:
    ingress = (LoadBalancerIngress(ip=ip, ip_mode=LoadBalancerIPMode.VIP),) if ip else ()
    return attrs.evolve(svc, status=ServiceStatus(load_balancer=LoadBalancerStatus(ingress=ingress)))


def decide(svc: Service, pool: str, used: Iterable[str]) -> tuple[Op, Service] | Fail | None:
    """The next write `svc` needs (its tag and the object to write), a failure, or None."""
    key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
    finalizers = svc.metadata.finalizers
    if wants_load_balancer(svc):
        if FINALIZER not in finalizers:
            return Op(service=key, action=Action.ADD_FINALIZER), _with_finalizers(svc, (*finalizers, FINALIZER))
        ip = choose(svc, pool, used)
        if isinstance(ip, Fail):
            return ip
        want = _with_ingress(svc, ip)
        if want.status == svc.status:
            return None
        return Op(service=key, action=Action.ENSURE, ip=ip), want
    if svc.status.load_balancer.ingress:
        return Op(service=key, action=Action.CLEAR), _with_ingress(svc, "")
    if FINALIZER in finalizers:
        rest = tuple(f for f in finalizers if f != FINALIZER)
        return Op(service=key, action=Action.REMOVE_FINALIZER), _with_finalizers(svc, rest)
    return None


def sync_all(s: ServiceLBState, now: Time) -> tuple[ServiceLBState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for svc in list_objects(s.view, Kind.SERVICE):
        key = ObjectKey(kind=Kind.SERVICE, namespace=svc.metadata.namespace, name=svc.metadata.name)
        s, more = sync(s, key, now)
        effects.extend(more)
    return s, tuple(effects)


def _event(key: ObjectKey, reason: str, message: str, warning: bool = False) -> RecordEvent:
    kind = EventType.WARNING if warning else EventType.NORMAL
    return RecordEvent(involved=key, type=kind, reason=reason, message=message)


def sync(s: ServiceLBState, key: ObjectKey, now: Time) -> tuple[ServiceLBState, tuple[Effect, ...]]:
    """syncService: observe the Service, decide its next write, emit it."""
    if key in s.rounds:  # its answer and then its own watch event come first
        return s, ()
    svc = get(s.view, key)
    if not isinstance(svc, Service):
        return attrs.evolve(s, written=s.written.discard(key), queue=forget(s.queue, key, LIMITER)), ()
    if s.written.get(key) == _address(svc):
        s = attrs.evolve(s, written=s.written.discard(key))
    decision = decide(svc, s.pool, taken(s.view, s.written, key))
    if decision is None:
        return attrs.evolve(s, queue=forget(s.queue, key, LIMITER)), ()
    if isinstance(decision, Fail):
        queue, wakes = add_rate_limited(s.queue, key, now, LIMITER)
        failed = _event(key, SYNC_FAILED, f"Error syncing load balancer: failed to ensure load balancer: {decision.message}", True)
        return attrs.evolve(s, queue=queue), (failed, *wakes)
    op, want = decision
    effects: list[Effect] = []
    if op.action is Action.ENSURE:
        effects.append(_event(key, ENSURING, "Ensuring load balancer"))
        s = attrs.evolve(s, written=s.written.set(key, op.ip))
    elif op.action is Action.CLEAR:
        effects.append(_event(key, DELETING, "Deleting load balancer"))
    status = op.action in (Action.ENSURE, Action.CLEAR)
    request = Update(obj=want, subresource=Subresource.STATUS if status else Subresource.NONE)
    effects.append(CallApi(request=request, tag=op))
    return attrs.evolve(s, rounds=round_sent(s.rounds, key)), tuple(effects)


def answered(s: ServiceLBState, op: Op, resp: Response, now: Time) -> tuple[ServiceLBState, tuple[Effect, ...]]:
    """A write's answer: landed -> the events it completes; refused -> SyncLoadBalancerFailed
    (when it failed to ensure or delete) and a rate-limited retry. A Service gone is done."""
    key = op.service
    s = attrs.evolve(s, rounds=round_answered(s.rounds, key)[0])
    if resp.ok:
        s = attrs.evolve(s, queue=forget(s.queue, key, LIMITER))
        if op.action is Action.ENSURE:
            return s, (_event(key, ENSURED, "Ensured load balancer"),)
        if op.action is Action.REMOVE_FINALIZER:
            return s, (_event(key, DELETED, "Deleted load balancer"),)
        return s, ()
    if resp.code == 404:
        return attrs.evolve(s, written=s.written.discard(key), queue=forget(s.queue, key, LIMITER)), ()
    if op.action is Action.ENSURE:
        s = attrs.evolve(s, written=s.written.discard(key))
    queue, wakes = add_rate_limited(s.queue, key, now, LIMITER)
    effects: list[Effect] = []
    if resp.code != 409:
        effects.append(_event(key, SYNC_FAILED, f"Error syncing load balancer: {error_message(resp)}", True))
    return attrs.evolve(s, queue=queue), (*effects, *wakes)

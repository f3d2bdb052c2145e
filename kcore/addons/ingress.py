"""The ingress controller add-on: serves the Ingresses of the class `kcore` (the cluster's
default class) at the address of its LoadBalancer Service, and says so in their status.

Owns `IngressController` (the add-on "ingress-nginx-controller", events signed
"nginx-ingress-controller"), its state `IngressState`, the request tag `Op`,
`controller_address` and `ingress_objects` (what `kcore cluster create` installs, as
minikube's and kind's ingress add-ons do: the namespace `ingress-nginx`, the IngressClass
`kcore` marked default, and the LoadBalancer Service `ingress-nginx-controller` whose
pool address is the controller's).

Rules (as ingress-nginx's status sync):
- An Ingress is served when it names the class `kcore`, or names none while `kcore` is
  the default class (the apiserver's DefaultIngressClass admission fills the name in at
  create). An Ingress of another class is left alone.
- A served Ingress gets `status.loadBalancer.ingress: [{ip: ADDRESS}]`, ADDRESS being the
  controller Service's load-balancer address; until the pool gives one, nothing is
  written. A served Ingress added records `Sync` "Scheduled for sync".
- An Ingress is synced when it or an IngressClass changes, and every served Ingress when
  the controller Service's address changes, at a start or relist.
- One status write in flight per Ingress; a refused one is retried rate-limited (5 ms
  doubling, in motion the first time in a row).

Routing an HTTP request through the served Ingresses is `kcore.network.ingress.route_http`.

Pure. Mirrors kubernetes/ingress-nginx internal/ingress/status/status.go (the
publish-service address) and the class rules of internal/ingress/controller/store.
"""

from __future__ import annotations

from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PSet

from kcore.api.core import (
    EventSource,
    Namespace,
    Service,
    ServicePort,
    ServiceSpec,
    ServiceType,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.networking import (
    ANNOTATION_DEFAULT_INGRESS_CLASS,
    Ingress,
    IngressClass,
    IngressClassSpec,
    IngressLoadBalancerIngress,
    IngressLoadBalancerStatus,
    IngressStatus,
)
from kcore.api.watch import WatchType
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
from kcore.component.requests import Response, Subresource, Update
from kcore.component.workqueue import WorkQueue, add_rate_limited, fired, forget
from kcore.network.ingress import served_ingresses
from kcore.state import ClusterState, get, list_objects

NAME: Final = "ingress-nginx-controller"
EVENT_SOURCE: Final = "nginx-ingress-controller"
CLASS_NAME: Final = "kcore"
CONTROLLER: Final = "k8s.io/ingress-nginx"
NAMESPACE: Final = "ingress-nginx"
SERVICE_KEY: Final = ObjectKey(kind=Kind.SERVICE, namespace=NAMESPACE, name=NAME)
SYNC_REASON: Final = "Sync"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a status write: the Ingress."""

    ingress: ObjectKey


@attrs.frozen(kw_only=True)
class IngressState:
    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.INGRESS)
    writing: PSet[ObjectKey] = pset()


def ingress_objects() -> tuple[ApiObject, ...]:
    """The add-on as `kcore cluster create` installs it."""
    labels = pmap({"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"})
    return (
        Namespace(metadata=ObjectMeta(name=NAMESPACE, labels=pmap({"app.kubernetes.io/name": "ingress-nginx"}))),
        IngressClass(
            metadata=ObjectMeta(name=CLASS_NAME, labels=labels, annotations=pmap({ANNOTATION_DEFAULT_INGRESS_CLASS: "true"})),
            spec=IngressClassSpec(controller=CONTROLLER),
        ),
        Service(
            metadata=ObjectMeta(name=NAME, namespace=NAMESPACE, labels=labels),
            spec=ServiceSpec(
                type=ServiceType.LOAD_BALANCER,
                ports=(ServicePort(name="http", port=80, target_port="http"), ServicePort(name="https", port=443, target_port="https")),
            ),
        ),
    )


def controller_address(view: ClusterState) -> str:
    """The controller's address: its Service's load-balancer IP ("" until assigned)."""
    svc = get(view, SERVICE_KEY)
    if not isinstance(svc, Service):
        return ""
    return next((i.ip for i in svc.status.load_balancer.ingress if i.ip), "")


@attrs.frozen
class IngressController:
    name: str = NAME
    event_source: EventSource = EventSource(component=EVENT_SOURCE)
    watches: frozenset[Kind] = frozenset({Kind.INGRESS, Kind.INGRESS_CLASS, Kind.SERVICE})

    def init(self, view: ClusterState, now: Time) -> tuple[IngressState, tuple[Effect, ...]]:
        return IngressState(view=view), ()

    def step(self, s: IngressState, ev: Event) -> tuple[IngressState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return sync_all(s, ())
            case Resynced(view=view):
                return sync_all(attrs.evolve(s, view=view, writing=pset()), ())
            case WatchDelivered(event=w):
                s = attrs.evolve(s, view=follow(s.view, ev))
                if w.key.kind is Kind.INGRESS:
                    added = w.type is WatchType.ADDED and _served(s.view, w.key)
                    events = (_sync_event(w.key),) if added else ()
                    s, effects = sync(s, w.key)
                    return s, (*events, *effects)
                if w.key.kind is Kind.INGRESS_CLASS or w.key == SERVICE_KEY:
                    return sync_all(s, ())
                return s, ()
            case ApiAnswered(tag=Op() as op, response=resp):
                return answered(s, op, resp, ev.now)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                return sync(s, key) if key is not None else (s, ())
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def _sync_event(key: ObjectKey) -> RecordEvent:
    return RecordEvent(involved=key, type=EventType.NORMAL, reason=SYNC_REASON, message="Scheduled for sync")


def _served(view: ClusterState, key: ObjectKey) -> bool:
    return any(i.metadata.namespace == key.namespace and i.metadata.name == key.name for i in served_ingresses(view, CLASS_NAME))


def sync_all(s: IngressState, effects: tuple[Effect, ...]) -> tuple[IngressState, tuple[Effect, ...]]:
    out = list(effects)
    for ing in list_objects(s.view, Kind.INGRESS):
        s, more = sync(s, ObjectKey(kind=Kind.INGRESS, namespace=ing.metadata.namespace, name=ing.metadata.name))
        out.extend(more)
    return s, tuple(out)


def wanted_status(address: str) -> IngressStatus:
    ingress = (IngressLoadBalancerIngress(ip=address),) if address else ()
    return IngressStatus(load_balancer=IngressLoadBalancerStatus(ingress=ingress))


def sync(s: IngressState, key: ObjectKey) -> tuple[IngressState, tuple[Effect, ...]]:
    """Observe the Ingress and the controller's address; write the status when it differs."""
    ing = get(s.view, key)
    if key in s.writing or not isinstance(ing, Ingress) or not _served(s.view, key):
        return s, ()
    address = controller_address(s.view)
    want = wanted_status(address)
    if not address or ing.status == want:
        return s, ()
    call = CallApi(request=Update(obj=attrs.evolve(ing, status=want), subresource=Subresource.STATUS), tag=Op(ingress=key))
    return attrs.evolve(s, writing=s.writing.add(key)), (call,)


def answered(s: IngressState, op: Op, resp: Response, now: Time) -> tuple[IngressState, tuple[Effect, ...]]:
    key = op.ingress
    s = attrs.evolve(s, writing=s.writing.discard(key))
    if resp.ok or resp.code == 404:
        return attrs.evolve(s, queue=forget(s.queue, key)), ()
    queue, wakes = add_rate_limited(s.queue, key, now)
    return attrs.evolve(s, queue=queue), wakes

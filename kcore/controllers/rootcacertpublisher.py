"""The root CA certificate publisher: every namespace has a `kube-root-ca.crt` ConfigMap.

Owns `RootCACertPublisher` (component "root-ca-certificate-publisher-controller"), its
state `PublisherState`, the request tag `Op`, and `wanted`, the ConfigMap a namespace
should hold. The worked example of docs/writing-a-controller.md: read them together.

Rules (as upstream's publisher):
- A namespace is synced when it is added, when it is updated while Active, and when its
  `kube-root-ca.crt` ConfigMap is updated or deleted; every namespace at a start or relist.
- Sync: no ConfigMap -> create it (`data["ca.crt"]` the cluster's CA bundle, the
  `kubernetes.io/description` annotation); a ConfigMap whose data differs or whose
  description is empty -> update it (other annotations and labels kept); else nothing.
- A failed write requeues the namespace rate-limited (5 ms doubling, in motion the first
  time in a row); a create refused because the namespace is gone or terminating is not
  retried; a write that lands forgets the failures.
- One write in flight per namespace: a sync while one is out waits for its answer.

kcore has no real PKI: the bundle is a fixed PEM-shaped text derived from the cluster's
seed (`ca_bundle`), the same for every namespace, so a pod reading it sees one stable CA.

Pure. Mirrors pkg/controller/certificates/rootcacertpublisher/publisher.go.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PSet

from kcore.api.core import ConfigMap, EventSource, Namespace, NamespacePhase
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time
from kcore.api.watch import WatchType
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
from kcore.component.requests import Create, Response, Update
from kcore.component.workqueue import WorkQueue, add_rate_limited, fired, forget
from kcore.state import ClusterState, get, list_objects

NAME: Final = "root-ca-certificate-publisher-controller"
CONFIG_MAP_NAME: Final = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION: Final = "kubernetes.io/description"
DESCRIPTION: Final = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a write: the namespace it is for and what it does."""

    namespace: ObjectKey
    action: Action


@attrs.frozen(kw_only=True)
class PublisherState:
    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.NAMESPACE)  # retries, keyed by the Namespace
    writing: PSet[ObjectKey] = pset()  # namespaces with a write out


@attrs.frozen
class RootCACertPublisher:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # upstream records no events
    watches: frozenset[Kind] = frozenset({Kind.NAMESPACE, Kind.CONFIG_MAP})

    def init(self, view: ClusterState, now: Time) -> tuple[PublisherState, tuple[Effect, ...]]:
        return PublisherState(view=view), ()

    def step(self, s: PublisherState, ev: Event) -> tuple[PublisherState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return sync_all(s)
            case Resynced(view=view):
                return sync_all(attrs.evolve(s, view=view, writing=pset()))
            case WatchDelivered(event=w):
                s = attrs.evolve(s, view=follow(s.view, ev))
                key = concerned(w.obj, w.type)
                return sync(s, key) if key is not None else (s, ())
            case ApiAnswered(tag=Op() as op, response=resp):
                return answered(s, op, resp, ev.now)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                return sync(s, key) if key is not None else (s, ())
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def concerned(obj: object, kind: WatchType) -> ObjectKey | None:
    """The namespace a watch event asks to sync (upstream's event handlers), or None."""
    if isinstance(obj, Namespace):
        active = obj.status.phase is NamespacePhase.ACTIVE
        if kind is WatchType.ADDED or (kind is WatchType.MODIFIED and active):
            return namespace_key(obj.metadata.name)
        return None
    if isinstance(obj, ConfigMap) and obj.metadata.name == CONFIG_MAP_NAME and kind is not WatchType.ADDED:
        return namespace_key(obj.metadata.namespace)
    return None


def sync_all(s: PublisherState) -> tuple[PublisherState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for ns in list_objects(s.view, Kind.NAMESPACE):
        s, more = sync(s, namespace_key(ns.metadata.name))
        effects.extend(more)
    return s, tuple(effects)


def sync(s: PublisherState, key: ObjectKey) -> tuple[PublisherState, tuple[Effect, ...]]:
    """syncNamespace: observe the namespace's ConfigMap, decide the write, emit it."""
    if key in s.writing or not isinstance(get(s.view, key), Namespace):
        return s, ()
    current = get(s.view, config_map_key(key.name))
    want = wanted(s.view, key.name, current if isinstance(current, ConfigMap) else None)
    if want is None:
        return s, ()
    if current is None:
        request: Create | Update = Create(obj=want)
        op = Op(namespace=key, action=Action.CREATE)
    else:
        request, op = Update(obj=want), Op(namespace=key, action=Action.UPDATE)
    return attrs.evolve(s, writing=s.writing.add(key)), (CallApi(request=request, tag=op),)


def answered(s: PublisherState, op: Op, resp: Response, now: Time) -> tuple[PublisherState, tuple[Effect, ...]]:
    """A write's answer: landed -> forget the failures; a create into a namespace that is
    gone or terminating -> drop it; anything else -> requeue rate-limited."""
    key = op.namespace
    s = attrs.evolve(s, writing=s.writing.discard(key))
    if resp.ok:
        return attrs.evolve(s, queue=forget(s.queue, key)), ()
    if op.action is Action.CREATE and not _accepts_content(s.view, key):
        return s, ()
    queue, wakes = add_rate_limited(s.queue, key, now)
    return attrs.evolve(s, queue=queue), wakes


def wanted(view: ClusterState, namespace: str, current: ConfigMap | None) -> ConfigMap | None:
    """The ConfigMap `namespace` should hold, or None when `current` already is it."""
    data = pmap({"ca.crt": ca_bundle(view.config.seed)})
    if current is None:
        meta = ObjectMeta(name=CONFIG_MAP_NAME, namespace=namespace, annotations=pmap({DESCRIPTION_ANNOTATION: DESCRIPTION}))
        return ConfigMap(metadata=meta, data=data)
    if current.data == data and current.metadata.annotations.get(DESCRIPTION_ANNOTATION):
        return None
    annotations = current.metadata.annotations.set(DESCRIPTION_ANNOTATION, DESCRIPTION)
    return attrs.evolve(current, data=data, metadata=attrs.evolve(current.metadata, annotations=annotations))


def ca_bundle(seed: int) -> str:
    """The cluster's CA bundle: PEM-shaped, fixed by the seed (kcore signs nothing)."""
    body = base64.b64encode(hashlib.sha256(f"kcore-root-ca/{seed}".encode()).digest() * 2).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def namespace_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.NAMESPACE, namespace="", name=name)


def config_map_key(namespace: str) -> ObjectKey:
    return ObjectKey(kind=Kind.CONFIG_MAP, namespace=namespace, name=CONFIG_MAP_NAME)


def _accepts_content(view: ClusterState, key: ObjectKey) -> bool:
    ns = get(view, key)
    return isinstance(ns, Namespace) and ns.metadata.deletion_timestamp is None and ns.status.phase is NamespacePhase.ACTIVE

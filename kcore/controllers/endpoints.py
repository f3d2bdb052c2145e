"""The Endpoints controller: every Service with a selector has an Endpoints object listing
the pods it selects, ready and not ready, on the ports its targetPorts resolve to.

Owns `EndpointsController` (component "endpoints-controller", events signed
"endpoint-controller"), its state `EndpointsState`, the request tag `Op`, and the pure
decisions `subsets_for` (the subsets a Service's pods give, repacked) and `wanted` (the
Endpoints to write, or None when the stored one is right).

Rules (as upstream's controller):
- A Service is synced when it is added, updated or deleted, when its Endpoints object is
  deleted, and when a pod it selects (before or after the change) is added, deleted, or
  changes readiness, IPs, deletion timestamp, labels or hostname; every Service and every
  Endpoints object (leftovers of deleted Services) at a start or relist.
- A Service that is gone -> its Endpoints are deleted; ExternalName or no selector -> the
  Endpoints are left to their users.
- Pods in: not terminal, with an IP of the Service's family, not terminating unless
  `publishNotReadyAddresses`. Ready pods (or all, with publishNotReadyAddresses) go to
  `addresses`, the others to `notReadyAddresses`; an address carries ip, nodeName,
  targetRef and (for a pod whose subdomain is the Service) hostname. Each service port
  resolves per pod (`find_port`): pods resolving ports differently land in different
  subsets; a headless Service without ports lists its pods with no ports.
- Subsets are repacked as upstream's RepackSubsets: one subset per set of addresses
  sharing the same ports; an address not ready on one port is not ready on all of them.
- The Endpoints carry the Service's labels (+ `service.kubernetes.io/headless` without a
  cluster IP), `endpoints.kubernetes.io/last-change-trigger-time` (the earliest change
  not yet written; removed when none) and, beyond 1000 addresses, are truncated with
  `endpoints.kubernetes.io/over-capacity: truncated`. Nothing is written when subsets,
  labels and the capacity annotation already agree.
- One write in flight per Service; a sync asked for meanwhile runs after the answer. A
  view that still shows the Endpoints this controller has just replaced is stale: the
  sync fails and is retried (upstream's staleEndpointsTracker).
- A failed write records FailedToCreateEndpoint / FailedToUpdateEndpoint on the
  Endpoints and requeues the Service rate-limited (5 ms doubling to 1000 s, in motion the
  first time in a row), at most 15 times; a create into a terminating namespace is
  dropped. A sync that succeeds forgets the failures.

Differences from upstream (docs/semantics.md, "Endpoints"): ports and subsets are sorted by
value (name, port, protocol; then the first address), not by the hash of their Go
printing; a deleted Service's Endpoints are deleted only when the view holds them; an
empty selector (`selector: {}`) counts as none; a sync refused as stale leaves the trigger
times unread, so the retry still carries the change's time (upstream reads them first and
loses it).

Pure. Mirrors pkg/controller/endpoint/endpoints_controller.go and
pkg/api/v1/endpoints/util.go (RepackSubsets).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import (
    EndpointAddress,
    EndpointPort,
    Endpoints,
    EndpointSubset,
    EventSource,
    Namespace,
    NamespacePhase,
    ObjectReference,
    Service,
    ServiceType,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time
from kcore.api.pod import Pod
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
from kcore.component.inflight import Rounds, round_answered, round_sent, round_wanted
from kcore.component.informer import follow
from kcore.component.requests import Create, Delete, Response, Update
from kcore.component.workqueue import WorkQueue, add_rate_limited_up_to, fired, forget
from kcore.controllers.endpoint_util import (
    ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
    LABEL_HEADLESS,
    TriggerTimes,
    compute_trigger_time,
    find_port,
    forget_service,
    pod_ip_for,
    services_to_update_on_pod_change,
    should_pod_be_in_endpoints,
    should_set_hostname,
    trigger_time_text,
)
from kcore.controllers.podcontrol import error_message, is_pod_ready
from kcore.state import ClusterState, get, list_objects, pods_selected, services_selecting

NAME: Final = "endpoints-controller"
EVENT_SOURCE: Final = "endpoint-controller"
MAX_CAPACITY: Final = 1000
MAX_RETRIES: Final = 15
ANNOTATION_OVER_CAPACITY: Final = "endpoints.kubernetes.io/over-capacity"
TRUNCATED: Final = "truncated"
FAILED_TO_CREATE_ENDPOINT: Final = "FailedToCreateEndpoint"
FAILED_TO_UPDATE_ENDPOINT: Final = "FailedToUpdateEndpoint"


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a write: the Service it is for, what it does, and for an update the
    resourceVersion of the Endpoints it replaces."""

    service: ObjectKey
    action: Action
    replaces: int = 0


@attrs.frozen(kw_only=True)
class EndpointsState:
    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.SERVICE)  # retries, keyed by the Service
    rounds: Rounds = pmap()  # Services with a write out (and whether to sync again after it)
    replaced: PMap[ObjectKey, int] = pmap()  # the Endpoints version each Service's update replaced
    triggers: TriggerTimes = TriggerTimes()


@attrs.frozen
class EndpointsController:
    name: str = NAME
    event_source: EventSource = EventSource(component=EVENT_SOURCE)
    watches: frozenset[Kind] = frozenset({Kind.SERVICE, Kind.POD, Kind.ENDPOINTS})

    def init(self, view: ClusterState, now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
        return EndpointsState(view=view), ()

    def step(self, s: EndpointsState, ev: Event) -> tuple[EndpointsState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return sync_all(s, ev.now)
            case Resynced(view=view):
                return sync_all(attrs.evolve(s, view=view, rounds=pmap()), ev.now)
            case WatchDelivered(event=w):
                old = get(s.view, w.key) if w.key.kind is Kind.POD else None
                s = attrs.evolve(s, view=follow(s.view, ev))
                return sync_each(s, concerned(s.view, w.obj, w.type, old), ev.now)
            case ApiAnswered(tag=Op() as op, response=resp):
                return answered(s, op, resp, ev.now)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                return sync(s, key, ev.now) if key is not None else (s, ())
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def service_key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.SERVICE, namespace=namespace, name=name)


def endpoints_key(service: ObjectKey) -> ObjectKey:
    return ObjectKey(kind=Kind.ENDPOINTS, namespace=service.namespace, name=service.name)


def concerned(view: ClusterState, obj: object, kind: WatchType, old: object) -> tuple[ObjectKey, ...]:
    """The Services a watch event asks to sync (upstream's event handlers)."""
    match obj:
        case Service():
            return (service_key(obj.metadata.namespace, obj.metadata.name),)
        case Endpoints() if kind is WatchType.DELETED:
            return (service_key(obj.metadata.namespace, obj.metadata.name),)
        case Pod() if kind is WatchType.MODIFIED and isinstance(old, Pod):
            return services_to_update_on_pod_change(view, old, obj)
        case Pod():
            return services_selecting(view, obj.metadata.namespace, obj.metadata.labels)
        case _:
            return ()


def sync_all(s: EndpointsState, now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
    """Every Service, and the Service of every Endpoints (checkLeftoverEndpoints)."""
    keys = {service_key(o.metadata.namespace, o.metadata.name) for o in list_objects(s.view, Kind.SERVICE)}
    keys |= {service_key(o.metadata.namespace, o.metadata.name) for o in list_objects(s.view, Kind.ENDPOINTS)}
    return sync_each(s, sorted(keys), now)


def sync_each(s: EndpointsState, keys: Iterable[ObjectKey], now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for key in keys:
        s, more = sync(s, key, now)
        effects.extend(more)
    return s, tuple(effects)


def sync(s: EndpointsState, key: ObjectKey, now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
    """syncService: observe the Service, its pods and its Endpoints; decide; emit one write."""
    rounds, busy = round_wanted(s.rounds, key)
    if busy:
        return attrs.evolve(s, rounds=rounds), ()
    svc = get(s.view, key)
    current = get(s.view, endpoints_key(key))
    current = current if isinstance(current, Endpoints) else None
    if not isinstance(svc, Service):
        s = attrs.evolve(s, triggers=forget_service(s.triggers, key), replaced=s.replaced.discard(key))
        if current is None:
            return attrs.evolve(s, queue=forget(s.queue, key)), ()
        op = Op(service=key, action=Action.DELETE)
        return attrs.evolve(s, rounds=round_sent(s.rounds, key)), (CallApi(request=Delete(key=endpoints_key(key)), tag=op),)
    if svc.spec.type is ServiceType.EXTERNAL_NAME or not svc.spec.selector:
        return s, ()
    if current is not None and s.replaced.get(key) == current.metadata.resource_version:
        return _failed(s, key, now)  # the view is older than our own last write
    pods = pods_selected(s.view, key.namespace, svc.spec.selector)
    triggers, trigger = compute_trigger_time(s.triggers, key, svc, pods)
    s = attrs.evolve(s, triggers=triggers)
    want = wanted(svc, current, subsets_for(svc, pods), trigger)
    if want is None:
        return attrs.evolve(s, queue=forget(s.queue, key)), ()
    if current is None:
        call = CallApi(request=Create(obj=want), tag=Op(service=key, action=Action.CREATE))
    else:
        op = Op(service=key, action=Action.UPDATE, replaces=current.metadata.resource_version)
        call = CallApi(request=Update(obj=want), tag=op)
    return attrs.evolve(s, rounds=round_sent(s.rounds, key)), (call,)


def answered(s: EndpointsState, op: Op, resp: Response, now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
    """A write's answer: landed -> forget the failures (and remember what an update
    replaced); refused -> an event and a rate-limited retry; then a sync asked for
    meanwhile."""
    key = op.service
    rounds, done = round_answered(s.rounds, key)
    s = attrs.evolve(s, rounds=rounds)
    effects: list[Effect] = []
    if resp.ok or (op.action is Action.DELETE and resp.code == 404):
        s = attrs.evolve(s, queue=forget(s.queue, key))
        if op.action is Action.UPDATE:
            s = attrs.evolve(s, replaced=s.replaced.set(key, op.replaces))
    elif op.action is Action.CREATE and not _accepts_content(s.view, key.namespace):
        s = attrs.evolve(s, queue=forget(s.queue, key))
    else:
        if op.action is not Action.DELETE:
            effects.append(_failure_event(key, op.action, resp))
        s, wakes = _failed(s, key, now)
        effects.extend(wakes)
    if done is not None and done.again:
        s, more = sync(s, key, now)
        effects.extend(more)
    return s, tuple(effects)


def _failed(s: EndpointsState, key: ObjectKey, now: Time) -> tuple[EndpointsState, tuple[Effect, ...]]:
    """handleErr: retry rate-limited up to MAX_RETRIES times in a row, then drop the key."""
    queue, wakes = add_rate_limited_up_to(s.queue, key, now, max_retries=MAX_RETRIES)
    return attrs.evolve(s, queue=queue), wakes


def _failure_event(key: ObjectKey, action: Action, resp: Response) -> RecordEvent:
    if action is Action.CREATE:
        reason = FAILED_TO_CREATE_ENDPOINT
        message = f"Failed to create endpoint for service {key.namespace}/{key.name}: {error_message(resp)}"
    else:
        reason = FAILED_TO_UPDATE_ENDPOINT
        message = f"Failed to update endpoint {key.namespace}/{key.name}: {error_message(resp)}"
    return RecordEvent(involved=endpoints_key(key), type=EventType.WARNING, reason=reason, message=message)


def _accepts_content(view: ClusterState, namespace: str) -> bool:
    ns = get(view, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=namespace))
    return isinstance(ns, Namespace) and ns.metadata.deletion_timestamp is None and ns.status.phase is NamespacePhase.ACTIVE


# ---- decide -------------------------------------------------------------------------------


def _address(svc: Service, pod: Pod, ip: str) -> EndpointAddress:
    m = pod.metadata
    return EndpointAddress(
        ip=ip,
        hostname=pod.spec.hostname if should_set_hostname(pod, svc) else "",
        node_name=pod.spec.node_name,
        target_ref=ObjectReference(kind="Pod", namespace=m.namespace, name=m.name, uid=m.uid),
    )


_NO_PORT: Final = EndpointPort(port=-1)
"""RepackSubsets' sentinel for the addresses of a Service without ports."""


def subsets_for(svc: Service, pods: Sequence[Pod]) -> tuple[EndpointSubset, ...]:
    """The repacked subsets the Service's pods give (syncService's loop, then RepackSubsets)."""
    publish = svc.spec.publish_not_ready_addresses
    ready_by_port: dict[EndpointPort, dict[tuple[str, str], bool]] = {}
    addresses: dict[tuple[str, str], EndpointAddress] = {}
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, publish):
            continue
        ip = pod_ip_for(svc, pod)
        if ip is None:
            continue
        address = _address(svc, pod, ip)
        akey = (ip, pod.metadata.uid)
        addresses.setdefault(akey, address)
        ready = publish or is_pod_ready(pod)
        ports: list[EndpointPort] = []
        if not svc.spec.ports and svc.spec.cluster_ip == "None":
            ports.append(_NO_PORT)
        for sp in svc.spec.ports:
            number = find_port(pod, sp)
            if number is not None:
                ports.append(EndpointPort(port=number, name=sp.name, protocol=sp.protocol, app_protocol=sp.app_protocol))
        for port in ports:
            seen = ready_by_port.setdefault(port, {})
            if seen.get(akey, True):  # not ready on one port trumps ready
                seen[akey] = ready
    by_addresses: dict[tuple[tuple[tuple[str, str], bool], ...], list[EndpointPort]] = {}
    for port, ready_map in ready_by_port.items():
        group = by_addresses.setdefault(tuple(sorted(ready_map.items())), [])
        if port != _NO_PORT:
            group.append(port)
    subsets = []
    for group_key, ports in by_addresses.items():
        ready_addrs = tuple(addresses[a] for a, ready in group_key if ready)
        not_ready = tuple(addresses[a] for a, ready in group_key if not ready)
        ordered = tuple(sorted(ports, key=lambda p: (p.name, p.port, p.protocol.value)))
        subsets.append(EndpointSubset(addresses=ready_addrs, not_ready_addresses=not_ready, ports=ordered))
    return tuple(sorted(subsets, key=_subset_order))


def _subset_order(subset: EndpointSubset) -> tuple[str, ...]:
    first = (subset.addresses or subset.not_ready_addresses)[0]
    return (first.ip, first.target_ref.uid if first.target_ref else "", *(f"{p.name}/{p.port}" for p in subset.ports))


def _labels(svc: Service) -> PMap[str, str]:
    labels = svc.metadata.labels
    return labels.set(LABEL_HEADLESS, "") if svc.spec.cluster_ip == "None" else labels.discard(LABEL_HEADLESS)


def _address_count(subsets: Iterable[EndpointSubset]) -> int:
    return sum(len(s.addresses) + len(s.not_ready_addresses) for s in subsets)


def _ignoring_resource_versions(subsets: Iterable[EndpointSubset]) -> tuple[EndpointSubset, ...]:
    def plain(a: EndpointAddress) -> EndpointAddress:
        ref = a.target_ref
        return a if ref is None or not ref.resource_version else attrs.evolve(a, target_ref=attrs.evolve(ref, resource_version=""))

    return tuple(
        attrs.evolve(s, addresses=tuple(map(plain, s.addresses)), not_ready_addresses=tuple(map(plain, s.not_ready_addresses)))
        for s in subsets
    )


def wanted(
    svc: Service, current: Endpoints | None, subsets: tuple[EndpointSubset, ...], trigger: Time | None
) -> Endpoints | None:
    """The Endpoints to write for `svc`, or None when `current` already agrees."""
    if current is not None:
        compare = current.metadata.labels.discard(LABEL_HEADLESS)
        capacity_ok = _address_count(current.subsets) <= MAX_CAPACITY and ANNOTATION_OVER_CAPACITY not in current.metadata.annotations
        if (
            _ignoring_resource_versions(current.subsets) == subsets
            and compare == svc.metadata.labels
            and capacity_ok
        ):
            return None
        base = current
    else:
        base = Endpoints(metadata=ObjectMeta(name=svc.metadata.name, namespace=svc.metadata.namespace))
    annotations = base.metadata.annotations
    if trigger is not None:
        annotations = annotations.set(ANNOTATION_LAST_CHANGE_TRIGGER_TIME, trigger_time_text(trigger))
    else:
        annotations = annotations.discard(ANNOTATION_LAST_CHANGE_TRIGGER_TIME)
    kept, truncated = truncate(subsets)
    if truncated:
        annotations = annotations.set(ANNOTATION_OVER_CAPACITY, TRUNCATED)
    else:
        annotations = annotations.discard(ANNOTATION_OVER_CAPACITY)
    meta = attrs.evolve(base.metadata, labels=_labels(svc), annotations=annotations)
    return attrs.evolve(base, metadata=meta, subsets=kept)


def truncate(subsets: tuple[EndpointSubset, ...]) -> tuple[tuple[EndpointSubset, ...], bool]:
    """truncateEndpoints: at most MAX_CAPACITY addresses, ready ones first, each subset
    keeping its proportion (rounded up, the last ones getting what is left)."""
    total_ready = sum(len(s.addresses) for s in subsets)
    total_not_ready = sum(len(s.not_ready_addresses) for s in subsets)
    if total_ready + total_not_ready <= MAX_CAPACITY:
        return subsets, False
    truncate_ready = total_ready > MAX_CAPACITY
    limit = MAX_CAPACITY if truncate_ready else MAX_CAPACITY - total_ready
    total = total_ready if truncate_ready else total_not_ready
    room = limit
    out = []
    for subset in subsets:
        n = len(subset.addresses) if truncate_ready else len(subset.not_ready_addresses)
        take = min(math.ceil(n / total * limit), room)
        if truncate_ready:
            subset = attrs.evolve(subset, addresses=subset.addresses[:take], not_ready_addresses=())
            room -= len(subset.addresses)
        else:
            subset = attrs.evolve(subset, not_ready_addresses=subset.not_ready_addresses[:take])
            room -= len(subset.not_ready_addresses)
        out.append(subset)
    return tuple(out), True

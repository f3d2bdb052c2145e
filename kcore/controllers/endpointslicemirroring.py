"""The EndpointSlice mirroring controller: the Endpoints of a Service without a selector
(written by hand or by another controller) mirrored into EndpointSlices.

Owns `EndpointSliceMirroringController` (component "endpointslice-mirroring-controller",
its Events from "endpoint-slice-mirroring-controller"), its state `MirrorState`, `sync`
and the pure `mirror`, the `Plan` that mirrors one Endpoints.

Rules (as upstream's endpointslicemirroring Controller and reconciler):
- The queue holds Endpoints keys. An Endpoints is synced when it is added, updated or
  deleted while it is (or was) to be mirrored; when its Service is added or deleted
  without a selector, or gains or loses its selector; when a slice this controller
  manages changed beyond its own writes, was deleted unexpectedly, or changed its
  service-name or managed-by label; every Endpoints at a start or relist.
- Mirrored: an Endpoints without the `endpointslice.kubernetes.io/skip-mirror: "true"`
  label or a leader-election annotation, whose Service exists without a selector.
  Otherwise its mirrored slices are deleted.
- `mirror`: each subset's ports give one slice per address type; its ready addresses
  mirror with ready=true, then its not-ready ones with ready=false, at most
  `MAX_ENDPOINTS_PER_SUBSET` (1000) per subset (a Warning TooManyAddressesToMirror says
  how many were skipped; unparsable IPs are skipped with InvalidIPAddress). Per port list
  and address type: nothing desired -> its slices go; the first existing slice is
  rewritten when it differs (the rest deleted); none -> one is created (generateName
  `<endpoints>-`, owned by the Endpoints, its labels and annotations but the trigger time
  and last-applied ones). Creates and deletes of one address type pair up as updates.
- One sync in flight per Endpoints, failures requeued rate-limited (1 s doubling to
  100 s, at most 15 times in a row), as the EndpointSlice controller does.

Differences from upstream: docs/semantics.md, "EndpointSlice mirroring controller".
Mirrors pkg/controller/endpointslicemirroring/endpointslicemirroring_controller.go,
reconciler.go, reconciler_helpers.go and utils.go.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final, assert_never

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import EndpointAddress, Endpoints, EndpointSubset, EventSource, Service
from kcore.api.core import EndpointPort as CoreEndpointPort
from kcore.api.discovery import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    LABEL_SKIP_MIRROR,
    MANAGED_BY_MIRRORING,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time
from kcore.api.watch import WatchType
from kcore.component.effects import Effect, EventType, RecordEvent
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
from kcore.component.requests import Response
from kcore.component.workqueue import RateLimiter, WorkQueue, add_rate_limited_up_to, fired, forget
from kcore.controllers import endpointslice_reconciler as rec
from kcore.controllers.endpoint_util import ANNOTATION_LAST_CHANGE_TRIGGER_TIME
from kcore.controllers.endpointslice_reconciler import (
    EndpointKey,
    Op,
    Plan,
    PortKey,
    SliceTracker,
)
from kcore.state import ClusterState, get, list_objects

NAME: Final = "endpointslice-mirroring-controller"
EVENT_SOURCE: Final = "endpoint-slice-mirroring-controller"
SYNC_BACKOFF: Final = RateLimiter(base_delay=1.0, max_delay=100.0)
"""defaultSyncBackOff (1 s) doubling to maxSyncBackOff (100 s)."""
MAX_RETRIES: Final = 15
MAX_ENDPOINTS_PER_SUBSET: Final = 1000
"""The controller's default --mirroring-max-endpoints-per-subset."""
ANNOTATION_LEADER: Final = "control-plane.alpha.kubernetes.io/leader"
"""resourcelock.LeaderElectionRecordAnnotationKey: Endpoints used as a lock are not mirrored."""
ANNOTATION_LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"
INVALID_IP_ADDRESS: Final = "InvalidIPAddress"
TOO_MANY_ADDRESSES: Final = "TooManyAddressesToMirror"

SliceIndex = PMap[ObjectKey, PMap[str, None]]


@attrs.frozen(kw_only=True)
class MirrorPlan:
    """The writes of one sync and the Warnings it records about the Endpoints."""

    plan: Plan
    events: tuple[tuple[str, str], ...] = ()  # (reason, message)


@attrs.frozen(kw_only=True)
class MirrorState:
    view: ClusterState
    queue: WorkQueue = WorkQueue(kind=Kind.ENDPOINTS)
    tracker: SliceTracker = SliceTracker()
    rounds: Rounds = pmap()
    slices: SliceIndex = pmap()  # Endpoints key -> names of the slices mirrored for it


@attrs.frozen
class EndpointSliceMirroringController:
    name: str = NAME
    event_source: EventSource = EventSource(component=EVENT_SOURCE)
    watches: frozenset[Kind] = frozenset({Kind.SERVICE, Kind.ENDPOINTS, Kind.ENDPOINT_SLICE})

    def init(self, view: ClusterState, now: Time) -> tuple[MirrorState, tuple[Effect, ...]]:
        return MirrorState(view=view, slices=_index(view)), ()

    def step(self, s: MirrorState, ev: Event) -> tuple[MirrorState, tuple[Effect, ...]]:
        """Absorb one event, then sync every Endpoints it concerns, in key order.

        Handles Started/Resynced (sync all), WatchDelivered (Services, Endpoints, slices),
        ApiAnswered (slice writes), TimerFired (a requeue). May emit CallApi
        (Create/Update/Delete EndpointSlice), RecordEvent, WakeMeAt."""
        now = ev.now
        keys: Iterable[ObjectKey] = ()
        effects: list[Effect] = []
        match ev:
            case Started():
                keys = _all_endpoints(s.view)
            case Resynced(view=view):
                s = attrs.evolve(s, view=view, rounds=pmap(), slices=_index(view))
                keys = _all_endpoints(view)
            case WatchDelivered():
                s, keys = _absorb(s, ev)
            case ApiAnswered(tag=Op() as op, response=resp):
                s, keys, more = _answered(s, op, resp, now)
                effects.extend(more)
            case TimerFired():
                queue, key = fired(s.queue, ev)
                s = attrs.evolve(s, queue=queue)
                keys = () if key is None else (key,)
            case ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(ev)
        for key in sorted(set(keys)):
            s, synced = sync(s, key, now)
            effects.extend(synced)
        return s, tuple(effects)


# --- absorbing events ----------------------------------------------------------------------------


def _endpoints_key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.ENDPOINTS, namespace=namespace, name=name)


def _all_endpoints(view: ClusterState) -> list[ObjectKey]:
    return [_endpoints_key(o.metadata.namespace, o.metadata.name) for o in list_objects(view, Kind.ENDPOINTS)]


def _index(view: ClusterState) -> SliceIndex:
    return rec.slices_index(list_objects(view, Kind.ENDPOINT_SLICE), Kind.ENDPOINTS, MANAGED_BY_MIRRORING)


def should_mirror(ep: Endpoints) -> bool:
    """shouldMirror: no skip-mirror label, no leader-election annotation."""
    m = ep.metadata
    return m.labels.get(LABEL_SKIP_MIRROR) != "true" and ANNOTATION_LEADER not in m.annotations


def _absorb(s: MirrorState, delivered: WatchDelivered) -> tuple[MirrorState, list[ObjectKey]]:
    w = delivered.event
    old = get(s.view, w.key)
    s = attrs.evolve(s, view=follow(s.view, delivered))
    obj = w.obj
    key = _endpoints_key(obj.metadata.namespace, obj.metadata.name)
    match obj:
        case Service():
            if w.type is WatchType.MODIFIED and isinstance(old, Service):
                wanted = bool(old.spec.selector) != bool(obj.spec.selector)
            else:
                wanted = not obj.spec.selector
            return s, [key] if wanted else []
        case Endpoints():
            was = isinstance(old, Endpoints) and w.type is WatchType.MODIFIED and should_mirror(old)
            return s, [key] if should_mirror(obj) or was else []
        case EndpointSlice():
            return _slice_event(s, w.type, old if isinstance(old, EndpointSlice) else None, obj)
        case _:
            return s, []


def _owner(es: EndpointSlice) -> ObjectKey | None:
    return rec.label_owner(es, Kind.ENDPOINTS, MANAGED_BY_MIRRORING)


def _label_owner(es: EndpointSlice) -> ObjectKey | None:
    name = es.metadata.labels.get(LABEL_SERVICE_NAME, "")
    return _endpoints_key(es.metadata.namespace, name) if name else None


def _slice_event(
    s: MirrorState, kind: WatchType, old: EndpointSlice | None, es: EndpointSlice
) -> tuple[MirrorState, list[ObjectKey]]:
    """onEndpointSliceAdd/Update/Delete (endpointUpdatesBatchPeriod 0: synced at once)."""
    index = s.slices
    if old is not None:
        index = rec.index_slice(index, _owner(old), old.metadata.name, False)
    if kind is not WatchType.DELETED:
        index = rec.index_slice(index, _owner(es), es.metadata.name, True)
    s = attrs.evolve(s, slices=index)
    owner = _label_owner(es)
    managed = es.metadata.labels.get(LABEL_MANAGED_BY) == MANAGED_BY_MIRRORING
    if kind is WatchType.DELETED:
        if managed and owner is not None and rec.has_slice(s.tracker, owner, es):
            tracker, expected = rec.handle_deletion(s.tracker, owner, es.metadata.uid)
            return attrs.evolve(s, tracker=tracker), [] if expected else [owner]
        return s, []
    if kind is WatchType.MODIFIED and old is not None and _label_owner(old) != owner:
        return s, [k for k in (owner, _label_owner(old)) if k is not None]
    was_managed = old is not None and old.metadata.labels.get(LABEL_MANAGED_BY) == MANAGED_BY_MIRRORING
    changed_hands = kind is WatchType.MODIFIED and old is not None and was_managed != managed
    if owner is not None and (changed_hands or (managed and rec.should_sync(s.tracker, owner, es))):
        return s, [owner]
    return s, []


# --- sync ----------------------------------------------------------------------------------------


def sync(s: MirrorState, key: ObjectKey, now: Time) -> tuple[MirrorState, tuple[Effect, ...]]:
    """syncEndpoints for `key`: mirror the Endpoints, or delete its mirrored slices."""
    rounds, busy = round_wanted(s.rounds, key)
    if busy:
        return attrs.evolve(s, rounds=rounds), ()
    slices = rec.owned_slices(s.slices, key, lambda k: get(s.view, k))
    ep = get(s.view, key)
    svc = get(s.view, ObjectKey(kind=Kind.SERVICE, namespace=key.namespace, name=key.name))
    if not isinstance(ep, Endpoints) or not should_mirror(ep) or not isinstance(svc, Service) or svc.spec.selector:
        s = attrs.evolve(s, tracker=rec.forget_owner(s.tracker, key))
        return _emit(s, key, MirrorPlan(plan=Plan(deletes=slices)), now)
    tracker, stale = rec.stale_slices(s.tracker, key, svc.metadata.uid, slices)
    s = attrs.evolve(s, tracker=tracker)
    if stale:
        return _retry(s, key, now, ())
    return _emit(s, key, mirror(ep, slices), now)


def _emit(s: MirrorState, key: ObjectKey, mp: MirrorPlan, now: Time) -> tuple[MirrorState, tuple[Effect, ...]]:
    events = tuple(RecordEvent(involved=key, type=EventType.WARNING, reason=r, message=m) for r, m in mp.events)
    calls = rec.plan_calls(key, mp.plan)
    if not calls:
        return attrs.evolve(s, queue=forget(s.queue, key, SYNC_BACKOFF)), events
    return attrs.evolve(s, rounds=round_sent(s.rounds, key, len(calls))), (*events, *calls)


def _retry(s: MirrorState, key: ObjectKey, now: Time, effects: tuple[Effect, ...]) -> tuple[MirrorState, tuple[Effect, ...]]:
    """handleErr: requeue rate-limited within the retry budget, else forget."""
    queue, wakes = add_rate_limited_up_to(s.queue, key, now, max_retries=MAX_RETRIES, limiter=SYNC_BACKOFF)
    return attrs.evolve(s, queue=queue), (*effects, *wakes)


def _answered(s: MirrorState, op: Op, resp: Response, now: Time) -> tuple[MirrorState, list[ObjectKey], tuple[Effect, ...]]:
    tracker, error = rec.write_answered(s.tracker, op, resp)
    rounds, done = round_answered(s.rounds, op.owner, error)
    s = attrs.evolve(s, tracker=tracker, rounds=rounds)
    if done is None:
        return s, [], ()
    again = [op.owner] if done.again else []
    if done.error:
        s, effects = _retry(s, op.owner, now, ())
        return s, again, effects
    return attrs.evolve(s, queue=forget(s.queue, op.owner, SYNC_BACKOFF)), again, ()


# --- mirror: the pure decision -------------------------------------------------------------------

MirrorKey = tuple[AddressType, PortKey]


def _address_type(ip: str) -> AddressType | None:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return AddressType.IPV4 if parsed.version == 4 else AddressType.IPV6


def address_to_endpoint(address: EndpointAddress, ready: bool) -> Endpoint:
    """addressToEndpoint: the address (canonical), ready, its node, hostname and targetRef."""
    return Endpoint(
        addresses=(str(ipaddress.ip_address(address.ip)),),
        conditions=EndpointConditions(ready=ready),
        hostname=address.hostname or None,
        target_ref=address.target_ref,
        node_name=address.node_name,
    )


def slice_ports(ports: Iterable[CoreEndpointPort]) -> tuple[EndpointPort, ...]:
    """epPortsToEpsPorts."""
    return tuple(EndpointPort(name=p.name, protocol=p.protocol, port=p.port, app_protocol=p.app_protocol) for p in ports)


def mirrored_slice(ep: Endpoints, ports: tuple[EndpointPort, ...], address_type: AddressType, name: str) -> EndpointSlice:
    """newEndpointSlice: the Endpoints' labels and annotations (but the trigger time and
    last-applied ones), owned by it; `name` or, empty, generateName `<endpoints>-`."""
    m = ep.metadata
    labels = m.labels.set(LABEL_SERVICE_NAME, m.name).set(LABEL_MANAGED_BY, MANAGED_BY_MIRRORING)
    annotations = m.annotations.discard(ANNOTATION_LAST_CHANGE_TRIGGER_TIME).discard(ANNOTATION_LAST_APPLIED)
    meta = ObjectMeta(
        name=name,
        generate_name="" if name else f"{m.name}-",
        namespace=m.namespace,
        labels=labels,
        annotations=annotations,
        owner_references=(rec.controller_ref(ep),),
    )
    return EndpointSlice(metadata=meta, address_type=address_type, ports=ports)


def _desired(
    subsets: Sequence[EndpointSubset], max_per_subset: int
) -> tuple[dict[MirrorKey, tuple[tuple[EndpointPort, ...], dict[EndpointKey, Endpoint]]], int, int]:
    """desiredCalc: per (address type, port list) the ports and endpoints; and how many
    addresses were invalid and how many skipped in all."""
    desired: dict[MirrorKey, tuple[tuple[EndpointPort, ...], dict[EndpointKey, Endpoint]]] = {}
    invalid = skipped = 0
    for subset in subsets:
        ports = slice_ports(subset.ports)
        pk = rec.port_key(ports)
        for t in (AddressType.IPV4, AddressType.IPV6):
            desired.setdefault((t, pk), (ports, {}))
        added = 0
        total = len(subset.addresses) + len(subset.not_ready_addresses)
        for address, ready in (*((a, True) for a in subset.addresses), *((a, False) for a in subset.not_ready_addresses)):
            if added >= max_per_subset:
                break
            family = _address_type(address.ip)
            if family is None:
                invalid += 1
                continue
            endpoint = address_to_endpoint(address, ready)
            desired[(family, pk)][1][rec.endpoint_key(endpoint)] = endpoint
            added += 1
        skipped += total - added
    return desired, invalid, skipped


def _changed(existing: EndpointSlice, desired: dict[EndpointKey, Endpoint]) -> bool:
    """totalChanges != 0: an endpoint to add, update or remove."""
    matches = 0
    for ep in existing.endpoints:
        got = desired.get(rec.endpoint_key(ep))
        if got is None or not rec.equal_beyond_hash(got, ep):
            return True
        matches += 1
    return len(desired) != matches


def mirror(ep: Endpoints, existing: Sequence[EndpointSlice], max_per_subset: int = MAX_ENDPOINTS_PER_SUBSET) -> MirrorPlan:
    """reconcile: the writes that make `existing` (the slices mirrored for `ep`) mirror it."""
    desired, invalid, skipped = _desired(ep.subsets, max_per_subset)
    events: list[tuple[str, str]] = []
    if invalid:
        events.append((INVALID_IP_ADDRESS, f"Skipped {invalid} invalid IP addresses when mirroring to EndpointSlices"))
    if skipped > invalid:
        events.append(
            (
                TOO_MANY_ADDRESSES,
                f"A max of {max_per_subset} addresses can be mirrored to EndpointSlices per Endpoints subset. "
                f"{skipped} addresses were skipped",
            )
        )
    by_key: dict[MirrorKey, list[EndpointSlice]] = {}
    for es in sorted(existing, key=lambda e: e.metadata.name):
        by_key.setdefault((es.address_type, rec.port_key(es.ports)), []).append(es)
    creates: list[EndpointSlice] = []
    updates: list[EndpointSlice] = []
    deletes: list[EndpointSlice] = []
    for key, (ports, want) in desired.items():
        slices = by_key.get(key, [])
        if not want:
            deletes.extend(slices)
            continue
        if slices:
            deletes.extend(slices[1:])
            if not _changed(slices[0], want):
                continue
        name = slices[0].metadata.name if slices else ""
        made = attrs.evolve(mirrored_slice(ep, ports, key[0], name), endpoints=tuple(want.values())[:max_per_subset])
        (updates if name else creates).append(made)
    for key, slices in sorted(by_key.items(), key=lambda kv: (kv[0][0].value, kv[0][1])):
        if key not in desired:
            deletes.extend(slices)
    return MirrorPlan(plan=_recycle(ep, creates, updates, deletes), events=tuple(events))


def _recycle(ep: Endpoints, creates: list[EndpointSlice], updates: list[EndpointSlice], deletes: list[EndpointSlice]) -> Plan:
    """recycleSlices (per address type, the i-th create takes the i-th delete's name), and
    no creates while the Endpoints is being deleted."""
    kept_creates: list[EndpointSlice] = []
    doomed = list(deletes)
    for t in (AddressType.IPV4, AddressType.IPV6):
        of_type = [es for es in doomed if es.address_type is t]
        for es in (c for c in creates if c.address_type is t):
            if of_type:
                taken = of_type.pop(0)
                doomed.remove(taken)
                updates.append(attrs.evolve(es, metadata=attrs.evolve(es.metadata, name=taken.metadata.name, generate_name="")))
            else:
                kept_creates.append(es)
    if ep.metadata.deletion_timestamp is not None:
        kept_creates = []
    return Plan(creates=tuple(kept_creates), updates=tuple(updates), deletes=tuple(doomed))

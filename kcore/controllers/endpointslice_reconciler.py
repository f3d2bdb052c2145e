"""The EndpointSlice reconciler: the slices a Service's pods should be packed into, as a
pure `Plan`, and the kit both slice controllers share (the slice tracker, write rounds).

Owns `reconcile` (Reconciler.Reconcile: service, selected pods, existing slices -> `Plan`
of creates, updates and deletes), the pure helpers it is built from (`pod_to_endpoint`,
`endpoint_ports`, `address_types`, `slice_labels`, `new_slice`, `endpoint_key`,
`equal_beyond_hash`, `port_key`, `slice_to_fill`, `same_placeholder`), `SliceTracker`
(EndpointSliceTracker: the generation of each slice a controller wrote, to tell a stale
informer view from a fresh one) and `Op` / `plan_calls` / `write_answered`, the requests
of a plan of slices and what their answers mean (the round they form is the kit's
`kcore.component.inflight`).

Rules of the packing (upstream's reconcileByPortMapping, per address type and port list):
1. Every existing slice keeps the desired endpoints it already holds (in their desired
   version) and drops the others; a slice that lost or changed an endpoint is updated (or
   deleted when it keeps none); one whose Service labels changed is updated; the others
   are unchanged.
2. Endpoints still to place fill the slices being updated first, fullest first, up to
   `max_endpoints` (100) each.
3. Then, while endpoints remain: fewer than `max_endpoints` left -> the unchanged slice
   that would be closest to full with them all takes them; else a new slice takes up to
   `max_endpoints`.
4. Slices of port lists no longer desired, of address types the Service does not have or
   not owned by this Service (uid) are deleted; a Service with no endpoint at all keeps
   (or gets) one placeholder slice with no endpoints and no ports.
5. finalize: a create and a delete of the same address type (owned slice) become an
   update of the slice that would be deleted; no creates while the Service is being
   deleted; every create and update carries the last-change trigger time annotation (or
   drops it when there is none).

Deterministic where upstream follows Go map order (docs/semantics.md, "EndpointSlice
controller"): pods in name order, endpoints placed in that order, port lists in sorted
order, address types IPv4 before IPv6, existing slices and slices to update or delete in
name order (the fullest-first fill in size order, ties by name).

Pure. Mirrors staging/src/k8s.io/endpointslice/reconciler.go, utils.go,
util/endpointset.go, util/endpointslice_tracker.go and the EndpointsEqualBeyondHash /
NewPortMapKey parts of util/controller_utils.go.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import IPFamily, Node, ObjectReference, Service, ServiceType
from kcore.api.discovery import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MANAGED_BY_CONTROLLER,
    MAX_ENDPOINTS_PER_SLICE,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference, Status, Time
from kcore.api.pod import Pod
from kcore.component.effects import CallApi
from kcore.component.requests import Create, Delete, Request, Response, Update
from kcore.controllers.endpoint_util import (
    ANNOTATION_LAST_CHANGE_TRIGGER_TIME,
    LABEL_HEADLESS,
    find_port,
    should_pod_be_in_endpoints,
    should_set_hostname,
    trigger_time_text,
)
from kcore.controllers.podcontrol import is_pod_ready

LABEL_ZONE: Final = "topology.kubernetes.io/zone"
"""v1.LabelTopologyZone: a node's zone, copied onto its endpoints."""
RESERVED_LABELS: Final = frozenset({LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS})

PortKey = tuple[tuple[str, str, int, str], ...]
"""NewPortMapKey: a port list compared without its order."""
EndpointKey = tuple[tuple[str, ...], str, str, str]
"""hashEndpoint: addresses (sorted), hostname, targetRef namespace and name."""


@attrs.frozen(kw_only=True)
class Plan:
    """What one sync writes, in order: creates, then updates, then deletes; and the nodes
    of pods left out because the node is not in the view (the sync is retried)."""

    creates: tuple[EndpointSlice, ...] = ()
    updates: tuple[EndpointSlice, ...] = ()
    deletes: tuple[EndpointSlice, ...] = ()
    missing_nodes: tuple[str, ...] = ()

    @property
    def writes(self) -> int:
        return len(self.creates) + len(self.updates) + len(self.deletes)


# --- endpoints from pods -------------------------------------------------------------------------


def _is_v6(ip: str) -> bool:
    return ":" in ip


def _canonical(ip: str) -> str:
    """ParseIPSloppy + String: the IP in its canonical text (unparsable text unchanged)."""
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def endpoint_addresses(pod: Pod, address_type: AddressType) -> tuple[str, ...]:
    """getEndpointAddresses: the pod's IPs of `address_type` (the single podIP when the
    status lists no podIPs)."""
    ips = [p.ip for p in pod.status.pod_ips] or ([pod.status.pod_ip] if pod.status.pod_ip else [])
    v6 = address_type is AddressType.IPV6
    return tuple(_canonical(ip) for ip in ips if _is_v6(ip) == v6)


def pod_to_endpoint(pod: Pod, node: Node | None, svc: Service, address_type: AddressType) -> Endpoint:
    """podToEndpoint: ready = (Ready and not terminating) or publishNotReadyAddresses,
    serving = Ready, terminating = deletionTimestamp set; node, zone, hostname, targetRef."""
    serving = is_pod_ready(pod)
    terminating = pod.metadata.deletion_timestamp is not None
    ready = svc.spec.publish_not_ready_addresses or (serving and not terminating)
    zone = node.metadata.labels.get(LABEL_ZONE, "") if node is not None else ""
    m = pod.metadata
    return Endpoint(
        addresses=endpoint_addresses(pod, address_type),
        conditions=EndpointConditions(ready=ready, serving=serving, terminating=terminating),
        hostname=pod.spec.hostname if should_set_hostname(pod, svc) else None,
        target_ref=ObjectReference(kind="Pod", namespace=m.namespace, name=m.name, uid=m.uid),
        node_name=pod.spec.node_name or None,
        zone=zone or None,
    )


def endpoint_ports(svc: Service, pod: Pod) -> tuple[EndpointPort, ...]:
    """getEndpointPorts: each service port the pod resolves (FindPort), in service order."""
    ports: list[EndpointPort] = []
    for sp in svc.spec.ports:
        number = find_port(pod, sp)
        if number is None:
            continue
        ports.append(EndpointPort(name=sp.name, protocol=sp.protocol, port=number, app_protocol=sp.app_protocol))
    return tuple(ports)


def port_key(ports: Iterable[EndpointPort]) -> PortKey:
    """NewPortMapKey: the port list as a value that ignores order."""
    return tuple(
        sorted(
            (p.name or "", p.protocol.value if p.protocol is not None else "", p.port or 0, p.app_protocol or "")
            for p in ports
        )
    )


def endpoint_key(ep: Endpoint) -> EndpointKey:
    """hashEndpoint: what identifies an endpoint across versions (conditions, node and
    zone may change in place)."""
    ref = ep.target_ref
    return (tuple(sorted(ep.addresses)), ep.hostname or "", ref.namespace if ref else "", ref.name if ref else "")


def equal_beyond_hash(a: Endpoint, b: Endpoint) -> bool:
    """EndpointsEqualBeyondHash: node, zone, the three conditions and the targetRef (its
    resourceVersion aside) are equal."""
    if a.node_name != b.node_name or a.zone != b.zone or a.conditions != b.conditions:
        return False
    ra, rb = a.target_ref, b.target_ref
    if ra is None or rb is None:
        return ra is rb
    return attrs.evolve(ra, resource_version="") == attrs.evolve(rb, resource_version="")


def address_types(svc: Service) -> tuple[AddressType, ...]:
    """getAddressTypesForService: the Service's IP families; without any, its cluster IP's
    family, or both for a headless Service."""
    families = {AddressType.IPV4 if f is IPFamily.IPV4 else AddressType.IPV6 for f in svc.spec.ip_families}
    if not families:
        ip = svc.spec.cluster_ip
        if ip and ip != "None":
            families = {AddressType.IPV6 if _is_v6(ip) else AddressType.IPV4}
        else:
            families = {AddressType.IPV4, AddressType.IPV6}
    return tuple(t for t in (AddressType.IPV4, AddressType.IPV6) if t in families)


def _service_ip_set(svc: Service) -> bool:
    return svc.spec.cluster_ip not in ("", "None")


# --- slices --------------------------------------------------------------------------------------


def slice_labels(current: PMap[str, str], svc: Service, controller: str) -> tuple[PMap[str, str], bool]:
    """setEndpointSliceLabels: the Service's labels (reserved keys aside) plus the headless,
    service-name and managed-by labels; and whether the non-reserved labels changed (a
    change of the reserved ones alone is not one, as upstream)."""
    own = {k: v for k, v in current.items() if k not in RESERVED_LABELS}
    wanted = {k: v for k, v in svc.metadata.labels.items() if k not in RESERVED_LABELS}
    changed = own != wanted
    if not _service_ip_set(svc):
        wanted[LABEL_HEADLESS] = ""
    wanted[LABEL_SERVICE_NAME] = svc.metadata.name
    wanted[LABEL_MANAGED_BY] = controller
    return pmap(wanted), changed


def controller_ref(obj: ApiObject) -> OwnerReference:
    """metav1.NewControllerRef for a core/v1 owner."""
    return OwnerReference(
        api_version="v1", kind=obj.KIND.value, name=obj.metadata.name, uid=obj.metadata.uid,
        controller=True, block_owner_deletion=True,
    )


def new_slice(svc: Service, ports: tuple[EndpointPort, ...], address_type: AddressType, controller: str) -> EndpointSlice:
    """newEndpointSlice: an empty slice of the Service (generateName `<svc>-`, owned by it)."""
    labels, _ = slice_labels(pmap(), svc, controller)
    meta = ObjectMeta(
        generate_name=f"{svc.metadata.name}-",
        namespace=svc.metadata.namespace,
        labels=labels,
        owner_references=(controller_ref(svc),),
    )
    return EndpointSlice(metadata=meta, address_type=address_type, ports=ports)


def owned_by(es: EndpointSlice, svc: Service) -> bool:
    """ownedBy: an ownerReference to this Service (by uid, kind and apiVersion)."""
    return any(o.uid == svc.metadata.uid and o.kind == "Service" and o.api_version == "v1" for o in es.metadata.owner_references)


def same_placeholder(a: EndpointSlice, b: EndpointSlice) -> bool:
    """placeholderSliceCompare: equal but for name, annotations and the server's metadata."""
    ma, mb = a.metadata, b.metadata
    return (
        (ma.namespace, ma.labels, ma.owner_references) == (mb.namespace, mb.labels, mb.owner_references)
        and (a.address_type, a.endpoints, a.ports) == (b.address_type, b.endpoints, b.ports)
    )


def slice_to_fill(candidates: Sequence[tuple[str, int]], count: int, max_endpoints: int) -> str | None:
    """getSliceToFill: of (name, size) candidates, the one closest to full after taking
    `count` more (the first such in order), or None when none has room."""
    closest_diff, closest = max_endpoints, None
    for name, size in candidates:
        diff = max_endpoints - (count + size)
        if 0 <= diff < closest_diff:
            closest_diff, closest = diff, name
            if diff == 0:
                break
    return closest


def with_trigger_time(es: EndpointSlice, trigger: Time | None) -> EndpointSlice:
    """addTriggerTimeAnnotation: set the annotation, or drop it when there is no trigger."""
    ann = es.metadata.annotations
    ann = ann.set(ANNOTATION_LAST_CHANGE_TRIGGER_TIME, trigger_time_text(trigger)) if trigger is not None else ann.discard(ANNOTATION_LAST_CHANGE_TRIGGER_TIME)
    if ann == es.metadata.annotations:
        return es
    return attrs.evolve(es, metadata=attrs.evolve(es.metadata, annotations=ann))


# --- reconcile -----------------------------------------------------------------------------------


_Desired = tuple[tuple[EndpointPort, ...], dict[EndpointKey, Endpoint]]
"""One port list's ports and desired endpoints, in placement order (a sync's scratch value)."""


def reconcile(
    svc: Service,
    pods: Iterable[Pod],
    existing: Sequence[EndpointSlice],
    node_of: Callable[[str], Node | None],
    trigger: Time | None,
    *,
    max_endpoints: int = MAX_ENDPOINTS_PER_SLICE,
    controller: str = MANAGED_BY_CONTROLLER,
) -> Plan:
    """Reconcile: the writes that pack `pods` (the Service's selected pods) into slices,
    given the Service's `existing` slices (not being deleted)."""
    pods = tuple(pods)
    supported = address_types(svc)
    by_type: dict[AddressType, list[EndpointSlice]] = {t: [] for t in supported}
    unsupported: list[EndpointSlice] = []
    for es in sorted(existing, key=lambda e: e.metadata.name):
        by_type.get(es.address_type, unsupported).append(es)
    creates: list[EndpointSlice] = []
    updates: list[EndpointSlice] = []
    deletes: list[EndpointSlice] = []
    missing: set[str] = set()
    for t in supported:
        plan = _reconcile_address_type(svc, pods, by_type[t], node_of, trigger, t, max_endpoints, controller)
        creates.extend(plan.creates)
        updates.extend(plan.updates)
        deletes.extend(plan.deletes)
        missing.update(plan.missing_nodes)
    deletes.extend(unsupported)
    return Plan(creates=tuple(creates), updates=tuple(updates), deletes=tuple(deletes), missing_nodes=tuple(sorted(missing)))


def _desired(
    svc: Service, pods: Sequence[Pod], node_of: Callable[[str], Node | None], address_type: AddressType
) -> tuple[dict[PortKey, _Desired], set[str]]:
    desired: dict[PortKey, _Desired] = {}
    missing: set[str] = set()
    headless_portless = not svc.spec.ports and svc.spec.cluster_ip == "None"
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, True):
            continue
        ports = () if headless_portless else endpoint_ports(svc, pod)
        _, group = desired.setdefault(port_key(ports), (ports, {}))
        node = node_of(pod.spec.node_name)
        if node is None and not svc.spec.publish_not_ready_addresses:
            # upstream skips the pod and returns an error: the sync is retried
            missing.add(pod.spec.node_name)
            continue
        ep = pod_to_endpoint(pod, node, svc, address_type)
        if ep.addresses:
            group[endpoint_key(ep)] = ep
    return dict(sorted(desired.items())), missing


def _reconcile_address_type(
    svc: Service,
    pods: Sequence[Pod],
    existing: list[EndpointSlice],
    node_of: Callable[[str], Node | None],
    trigger: Time | None,
    address_type: AddressType,
    max_endpoints: int,
    controller: str,
) -> Plan:
    """reconcileByAddressType, with finalize."""
    creates: list[EndpointSlice] = []
    updates: list[EndpointSlice] = []
    deletes: list[EndpointSlice] = []
    existing_by_ports: dict[PortKey, list[EndpointSlice]] = {}
    for es in existing:
        if owned_by(es, svc):
            existing_by_ports.setdefault(port_key(es.ports), []).append(es)
        else:
            deletes.append(es)
    desired, missing = _desired(svc, pods, node_of, address_type)
    for key, want in desired.items():
        c, u, d = _reconcile_port_mapping(svc, existing_by_ports.get(key, []), want, address_type, max_endpoints, controller)
        creates.extend(c)
        updates.extend(u)
        deletes.extend(d)
    for key, slices in sorted(existing_by_ports.items()):
        if key not in desired:
            deletes.extend(slices)
    if len(existing) == len(deletes) and not creates:
        placeholder = new_slice(svc, (), address_type, controller)
        if len(deletes) == 1 and same_placeholder(deletes[0], placeholder):
            deletes = []
        else:
            creates.append(placeholder)
    return _finalize(svc, creates, updates, deletes, trigger, tuple(sorted(missing)))


def _reconcile_port_mapping(
    svc: Service,
    existing: list[EndpointSlice],
    want: _Desired,
    address_type: AddressType,
    max_endpoints: int,
    controller: str,
) -> tuple[list[EndpointSlice], list[EndpointSlice], list[EndpointSlice]]:
    """reconcileByPortMapping: (creates, updates, deletes) for one port list."""
    ports, remaining = want[0], dict(want[1])
    by_name: dict[str, EndpointSlice] = {}
    endpoints: dict[str, list[Endpoint]] = {}
    labels: dict[str, PMap[str, str]] = {}
    unchanged: list[str] = []
    to_update: list[str] = []
    to_delete: list[str] = []
    # 1. keep what is still desired, in its desired version
    for es in existing:
        name = es.metadata.name
        by_name[name] = es
        kept: list[Endpoint] = []
        changed = False
        for ep in es.endpoints:
            got = remaining.pop(endpoint_key(ep), None)
            if got is not None:
                kept.append(got)
                changed = changed or not equal_beyond_hash(got, ep)
        new_labels, labels_changed = slice_labels(es.metadata.labels, svc, controller)
        if changed or len(kept) != len(es.endpoints):
            if not kept:
                to_delete.append(name)
                continue
            endpoints[name], labels[name] = kept, new_labels
            to_update.append(name)
        elif labels_changed:
            endpoints[name], labels[name] = list(es.endpoints), new_labels
            to_update.append(name)
        else:
            unchanged.append(name)
    pending = list(remaining.values())
    # 2. fill the slices being updated, fullest first
    if pending and to_update:
        for name in sorted(to_update, key=lambda n: -len(endpoints[n])):
            room = max_endpoints - len(endpoints[name])
            if room > 0:
                endpoints[name].extend(pending[:room])
                pending = pending[room:]
    # 3. the rest: into the unchanged slice closest to full, else into new slices
    new: list[list[Endpoint]] = []
    while pending:
        target = None
        if len(pending) < max_endpoints and unchanged:
            target = slice_to_fill([(n, len(by_name[n].endpoints)) for n in unchanged], len(pending), max_endpoints)
        if target is None:
            new.append(pending[:max_endpoints])
            pending = pending[max_endpoints:]
            continue
        endpoints[target], labels[target] = [*by_name[target].endpoints, *pending], by_name[target].metadata.labels
        pending = []
        unchanged.remove(target)
        to_update.append(target)
    creates = [attrs.evolve(new_slice(svc, ports, address_type, controller), endpoints=tuple(eps)) for eps in new]
    updates = [
        attrs.evolve(
            by_name[n],
            endpoints=tuple(endpoints[n]),
            metadata=attrs.evolve(by_name[n].metadata, labels=labels[n]),
        )
        for n in sorted(to_update)
    ]
    return creates, updates, [by_name[n] for n in sorted(to_delete)]


def _finalize(
    svc: Service,
    creates: list[EndpointSlice],
    updates: list[EndpointSlice],
    deletes: list[EndpointSlice],
    trigger: Time | None,
    missing: tuple[str, ...],
) -> Plan:
    """finalize: recycle slices to delete as the targets of creates; no creates while the
    Service is being deleted; the trigger time on every write but deletes."""
    i = 0
    while i < len(deletes) and creates:
        doomed = deletes[i]
        made = creates[-1]
        if doomed.address_type is made.address_type and owned_by(doomed, svc):
            recycled = attrs.evolve(made.metadata, name=doomed.metadata.name, generate_name="")
            updates.append(attrs.evolve(made, metadata=recycled))
            creates.pop()
            deletes.pop(i)
        else:
            i += 1
    if svc.metadata.deletion_timestamp is not None:
        creates = []
    return Plan(
        creates=tuple(with_trigger_time(es, trigger) for es in creates),
        updates=tuple(with_trigger_time(es, trigger) for es in updates),
        deletes=tuple(deletes),
        missing_nodes=missing,
    )


def selects_pods(svc: Service) -> bool:
    """Whether the EndpointSlice controller manages this Service's slices: it has a
    selector and is not of type ExternalName."""
    return bool(svc.spec.selector) and svc.spec.type is not ServiceType.EXTERNAL_NAME


# --- the slice tracker ---------------------------------------------------------------------------

DELETION_EXPECTED: Final = -1


@attrs.frozen(kw_only=True)
class SliceTracker:
    """EndpointSliceTracker: per owner key (the Service or Endpoints the slices belong to),
    the generation each slice written by the controller had (by uid), or
    `DELETION_EXPECTED`; and the owner's uid when last synced."""

    generations: PMap[ObjectKey, PMap[str, int]] = pmap()
    owner_uids: PMap[ObjectKey, str] = pmap()


def _tracked(t: SliceTracker, owner: ObjectKey) -> PMap[str, int] | None:
    return t.generations.get(owner)


def has_slice(t: SliceTracker, owner: ObjectKey, es: EndpointSlice) -> bool:
    """Has: a generation (or an expected deletion) is tracked for the slice."""
    gens = _tracked(t, owner)
    return gens is not None and es.metadata.uid in gens


def should_sync(t: SliceTracker, owner: ObjectKey, es: EndpointSlice) -> bool:
    """ShouldSync: the slice is not tracked, or newer than the controller's own write."""
    gens = _tracked(t, owner)
    if gens is None:
        return True
    g = gens.get(es.metadata.uid)
    return g is None or es.metadata.generation > g


def stale_slices(t: SliceTracker, owner: ObjectKey, uid: str, slices: Iterable[EndpointSlice]) -> tuple[SliceTracker, bool]:
    """StaleSlices: the view is older than the controller's writes (a slice older than
    written, one expected deleted, or one written missing); a new owner uid forgets the
    generations of the old owner's writes."""
    known = t.owner_uids.get(owner)
    if known and uid and known != uid:
        t = attrs.evolve(t, generations=t.generations.discard(owner))
    if known != uid:
        t = attrs.evolve(t, owner_uids=t.owner_uids.set(owner, uid))
    gens = _tracked(t, owner)
    if gens is None:
        return t, False
    provided: set[str] = set()
    for es in slices:
        provided.add(es.metadata.uid)
        g = gens.get(es.metadata.uid)
        if g is not None and (g == DELETION_EXPECTED or g > es.metadata.generation):
            return t, True
    return t, any(g != DELETION_EXPECTED and slice_uid not in provided for slice_uid, g in gens.items())


def track(t: SliceTracker, owner: ObjectKey, uid: str, generation: int) -> SliceTracker:
    """Update (generation) or ExpectDeletion (`DELETION_EXPECTED`) of one slice."""
    gens = t.generations.get(owner, pmap())
    return attrs.evolve(t, generations=t.generations.set(owner, gens.set(uid, generation)))


def handle_deletion(t: SliceTracker, owner: ObjectKey, uid: str) -> tuple[SliceTracker, bool]:
    """HandleDeletion: forget the slice; whether its deletion was expected (or untracked)."""
    gens = _tracked(t, owner)
    if gens is None or uid not in gens:
        return t, True
    g = gens[uid]
    t = attrs.evolve(t, generations=t.generations.set(owner, gens.discard(uid)))
    return t, g == DELETION_EXPECTED


def forget_owner(t: SliceTracker, owner: ObjectKey) -> SliceTracker:
    """DeleteService."""
    if owner not in t.generations and owner not in t.owner_uids:
        return t
    return SliceTracker(generations=t.generations.discard(owner), owner_uids=t.owner_uids.discard(owner))


# --- slice writes: their tags and answers --------------------------------------------------------


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@attrs.frozen(kw_only=True)
class Op:
    """The tag of a slice write: the owner key it syncs, what it does, to which slice (name
    and uid; a create's `index` tells the creates of one round apart)."""

    owner: ObjectKey
    action: Action
    slice: str = ""
    uid: str = ""
    index: int = 0


def _slice_key(es: EndpointSlice) -> ObjectKey:
    return ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=es.metadata.namespace, name=es.metadata.name)


def plan_calls(owner: ObjectKey, plan: Plan) -> tuple[CallApi, ...]:
    """The plan's requests in upstream's order (creates, updates, deletes), each tagged."""
    calls: list[CallApi] = []
    for i, es in enumerate(plan.creates):
        calls.append(CallApi(request=Create(obj=es), tag=Op(owner=owner, action=Action.CREATE, index=i)))
    for es in plan.updates:
        op = Op(owner=owner, action=Action.UPDATE, slice=es.metadata.name, uid=es.metadata.uid)
        calls.append(CallApi(request=Update(obj=es), tag=op))
    for es in plan.deletes:
        request: Request = Delete(key=_slice_key(es))
        calls.append(CallApi(request=request, tag=Op(owner=owner, action=Action.DELETE, slice=es.metadata.name, uid=es.metadata.uid)))
    return tuple(calls)


def namespace_terminating(resp: Response) -> bool:
    """A create refused because the namespace is being terminated (upstream's
    NamespaceTerminatingCause: kcore's NamespaceLifecycle answers it with this Forbidden)."""
    body = resp.body
    return resp.code == 403 and isinstance(body, Status) and "because it is being terminated" in body.message


def write_answered(t: SliceTracker, op: Op, resp: Response) -> tuple[SliceTracker, str]:
    """One slice write answered: the tracker after it and its error ("" when it counts as
    done: landed, a delete of a slice already gone, a create into a terminating namespace)."""
    if resp.ok:
        body = resp.body
        if op.action is Action.DELETE:
            return track(t, op.owner, op.uid, DELETION_EXPECTED), ""
        if isinstance(body, EndpointSlice):
            return track(t, op.owner, body.metadata.uid, body.metadata.generation), ""
        return t, ""
    if op.action is Action.DELETE and resp.code == 404:
        return t, ""
    if op.action is Action.CREATE and namespace_terminating(resp):
        return t, ""
    body = resp.body
    message = body.message if isinstance(body, Status) else f"unexpected response code {resp.code}"
    name = f" {op.slice}" if op.slice else ""
    return t, f"failed to {op.action.value} EndpointSlice{name}: {message}"


def index_slice(
    index: PMap[ObjectKey, PMap[str, None]], owner: ObjectKey | None, name: str, present: bool
) -> PMap[ObjectKey, PMap[str, None]]:
    """The owner -> slice names index after one slice appeared (`present`) or went."""
    if owner is None:
        return index
    names = index.get(owner, pmap())
    names = names.set(name, None) if present else names.discard(name)
    return index.set(owner, names) if names else index.discard(owner)


def label_owner(es: EndpointSlice, kind: Kind, managed_by: str) -> ObjectKey | None:
    """The owner key (`kind`, the slice's namespace, its service-name label) of a slice
    managed by `managed_by`, else None."""
    labels = es.metadata.labels
    name = labels.get(LABEL_SERVICE_NAME, "")
    if not name or labels.get(LABEL_MANAGED_BY) != managed_by:
        return None
    return ObjectKey(kind=kind, namespace=es.metadata.namespace, name=name)


def slices_index(slices: Iterable[ApiObject], kind: Kind, managed_by: str) -> PMap[ObjectKey, PMap[str, None]]:
    """The index of every slice managed by `managed_by`, by owner key."""
    index: PMap[ObjectKey, PMap[str, None]] = pmap()
    for es in slices:
        if isinstance(es, EndpointSlice):
            index = index_slice(index, label_owner(es, kind, managed_by), es.metadata.name, True)
    return index


def owned_slices(
    index: Mapping[ObjectKey, PMap[str, None]], owner: ObjectKey, lookup: Callable[[ObjectKey], ApiObject | None]
) -> tuple[EndpointSlice, ...]:
    """The slices the index holds for `owner`, by name, not being deleted."""
    found: list[EndpointSlice] = []
    for name in sorted(index.get(owner, pmap())):
        es = lookup(ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=owner.namespace, name=name))
        if isinstance(es, EndpointSlice) and es.metadata.deletion_timestamp is None:
            found.append(es)
    return tuple(found)

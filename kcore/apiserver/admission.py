"""The admission chain: what happens to an object between authorization and storage.

Owns `admit(state, op, obj, old, now) -> Admitted | Status`, the `Operation` enum and the
plugins, each a small pure function `(request, obj) -> obj | Status` run in a fixed order:

1. ServiceAllocatedValues  an update that omits a Service's allocated clusterIP,
                           nodePorts or healthCheckNodePort keeps them (upstream's
                           patchAllocatedValues); one no longer needed is dropped
   PodServerSetValues      likewise a pod's nodeName and admission-set fields
2. NamespaceLifecycle      the namespace exists and is not terminating; the system
                           namespaces cannot be deleted
3. LimitRanger             container requests/limits from LimitRange defaults; min, max
                           and maxLimitRequestRatio for Container and Pod
4. ServiceAccount          pods run as "default" unless they name an account
5. Priority                priority from priorityClassName (kcore.apiserver.priority)
6. DefaultTolerationSeconds  pods tolerate not-ready/unreachable for 300s
   (3-6 answer spec changes that `pod_mutations` applies in one copy)
   DefaultIngressClass     an Ingress created without a class gets the default one
7. Validation              `validation.validate(obj, old)`; any error is 422 Invalid
   PriorityClasses         one globalDefault; system classes not deletable (priority.py)
8. ResourceQuota           object counts and compute resources against every quota
9. ServiceAllocation       ClusterIP from the service CIDR, NodePorts (and a
                           LoadBalancer/Local healthCheckNodePort) from the range

Rules: pure; a plugin returns the (possibly changed) object or the Status that ends the
request. Choices upstream makes at random (which free ClusterIP / NodePort) are a hash of
(seed, namespace/name) as the first probe, then the next free one, so one seed gives one
answer. A plugin that returns every object but one class's unchanged is
left out of the other kinds' chains (`CHAINS`), and one that passes an operation through
out of that operation's chains (`OP_CHAINS`): the same answer without the calls. Quota usage is read from the namespace's usage index that `kcore.state` maintains on
every write (`QuotaUsage`), so a quota-checked write costs O(1) in the namespace's size. Validation runs before ResourceQuota, as upstream
runs object validation before validating admission.

Mirrors plugin/pkg/admission/{namespace/lifecycle, limitranger, serviceaccount, priority,
defaulttolerationseconds, resourcequota, network/defaultingressclass} and the allocators of
pkg/registry/core/service (ipallocator, portallocator, storage/alloc.go).
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Final

import attrs
from pyrsistent import pmap

from kcore.api.core import (
    IPFamily,
    IPFamilyPolicy,
    LimitRange,
    LimitRangeItem,
    LimitType,
    Namespace,
    NamespacePhase,
    ResourceQuota,
    ResourceQuotaScope,
    ResourceQuotaStatus,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Status, Time, evolver
from kcore.api.networking import ANNOTATION_DEFAULT_INGRESS_CLASS, Ingress
from kcore.api.pod import (
    Container,
    Pod,
    PodSpec,
    TaintEffect,
    Toleration,
    TolerationOperator,
    qos_class,
)
from kcore.api.registry import CLASSES
from kcore.api.scheduling import PriorityClass
from kcore.api.validation import validate
from kcore.api.validation.meta import invalid_rendered
from kcore.apiserver import errors
from kcore.apiserver.priority import check_priority_class, pod_priority, spec_changes
from kcore.quantity import Quantity
from kcore.state import ClusterState, get, list_objects, quota_usage_of
from kcore.state_quota import (
    ChargeScope,
    charged_now,
    charges,
    container_usage,
    pod_compute_usage,
    pod_scopes,
    same_charges,
)
from kcore.util_validation import FieldError, child, index, invalid


class Operation(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@attrs.frozen(kw_only=True)
class Admitted:
    """The object to store: the input as the mutating plugins left it."""

    obj: ApiObject


@attrs.frozen(kw_only=True)
class Request:
    """What every plugin may look at besides the object itself."""

    state: ClusterState
    op: Operation
    old: ApiObject | None
    now: Time


Plugin = Callable[[Request, ApiObject], ApiObject | Status]

IMMORTAL_NAMESPACES: Final = frozenset(("default", "kube-system", "kube-public"))
DEFAULT_SERVICE_ACCOUNT: Final = "default"
MIRROR_POD_ANNOTATION: Final = "kubernetes.io/config.mirror"
LIMIT_RANGER_ANNOTATION: Final = "kubernetes.io/limit-ranger"
TAINT_NOT_READY: Final = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE: Final = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS: Final = 300
# Resources for which every container must state a value once a quota constrains them
# (upstream's "backward compatibility requirement" in the pod quota evaluator).
QUOTA_CONTAINER_RESOURCES: Final = frozenset(
    ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
)
ONE: Final = Quantity.from_int(1)


def admit(
    state: ClusterState, op: Operation, obj: ApiObject, old: ApiObject | None, now: Time
) -> Admitted | Status:
    """Run every admission plugin in order; the first Status ends the request."""
    request = Request(state=state, op=op, old=old, now=now)
    # Chosen by identity: a dict keyed by the Operation would hash it in Python (Enum).
    chains = _UPDATE_CHAINS if op is Operation.UPDATE else _CREATE_CHAINS if op is Operation.CREATE else _DELETE_CHAINS
    try:
        chain = chains[type(obj)]
    except KeyError:  # not a registered kind's class: the whole chain
        chain = PLUGINS
    for plugin in chain:
        result = plugin(request, obj)
        if isinstance(result, Status):
            return result
        obj = result
    return Admitted(obj=obj)


def _key(obj: ApiObject) -> ObjectKey:
    return ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name)


def _namespaced(state: ClusterState, kind: Kind, namespace: str) -> tuple[ApiObject, ...]:
    """Objects of a kind with few instances (quotas, limit ranges) in `namespace`, by name.

    Reads the kind's own table rather than the namespace index: the namespace may hold
    many thousands of pods, the cluster only a handful of quotas.
    """
    try:
        table = state.tables[kind]
    except KeyError:  # indexed: a PMap's `.get` costs a Python frame more
        return ()
    keys = [k for k in table if k[0] == namespace]
    return tuple(table[k] for k in sorted(keys)) if keys else ()


# ---- ServiceAllocatedValues --------------------------------------------------------------


def _needs_cluster_ip(svc: Service) -> bool:
    return svc.spec.type is not ServiceType.EXTERNAL_NAME


def _needs_node_ports(svc: Service) -> bool:
    t = svc.spec.type
    if t is ServiceType.NODE_PORT:
        return True
    return (
        t is ServiceType.LOAD_BALANCER and svc.spec.allocate_load_balancer_node_ports is not False
    )


def needs_health_check(svc: Service) -> bool:
    """NeedsHealthCheck: a LoadBalancer Service with externalTrafficPolicy Local gets a
    healthCheckNodePort that each node's kube-proxy answers."""
    return svc.spec.type is ServiceType.LOAD_BALANCER and svc.spec.external_traffic_policy is TrafficPolicy.LOCAL


def service_allocated_values(req: Request, obj: ApiObject) -> ApiObject | Status:
    """On update, values the user left out that the server allocated stay as they were; a
    healthCheckNodePort the Service no longer needs is dropped (dropTypeDependentFields)."""
    old = req.old
    if (
        req.op is not Operation.UPDATE
        or not isinstance(obj, Service)
        or not isinstance(old, Service)
    ):
        return obj
    spec = obj.spec
    if _needs_cluster_ip(obj) and _needs_cluster_ip(old) and not spec.cluster_ip:
        spec = attrs.evolve(spec, cluster_ip=old.spec.cluster_ip, cluster_ips=old.spec.cluster_ips)
    if _needs_node_ports(obj) and _needs_node_ports(old):
        used = {p.node_port for p in old.spec.ports} & {p.node_port for p in spec.ports}
        by_name = {p.name: p.node_port for p in old.spec.ports}
        ports = tuple(
            attrs.evolve(p, node_port=by_name[p.name])
            if p.node_port == 0 and p.name in by_name and by_name[p.name] not in used
            else p
            for p in spec.ports
        )
        spec = attrs.evolve(spec, ports=ports)
    if needs_health_check(old) and needs_health_check(obj) and not spec.health_check_node_port:
        spec = attrs.evolve(spec, health_check_node_port=old.spec.health_check_node_port)
    elif (
        needs_health_check(old)
        and not needs_health_check(obj)
        and spec.health_check_node_port == old.spec.health_check_node_port
    ):
        spec = attrs.evolve(spec, health_check_node_port=0)
    return obj if spec == obj.spec else attrs.evolve(obj, spec=spec)


def pod_server_set_values(req: Request, obj: ApiObject) -> ApiObject | Status:
    """On update, pod fields the server set (binding, admission) and the new object leaves
    unset keep their stored values.

    Deviation: upstream keeps them only through kubectl's patches; a PUT of the original
    manifest is rejected there as a forbidden pod-spec change. kcore lets a re-submitted
    manifest through, as `kcore apply` replaces whole objects.
    """
    old = req.old
    if req.op is not Operation.UPDATE or not isinstance(obj, Pod) or not isinstance(old, Pod):
        return obj
    spec, was = obj.spec, old.spec
    defaults = tuple(
        t
        for t in was.tolerations
        if t.key in (TAINT_NOT_READY, TAINT_UNREACHABLE)
        and t.toleration_seconds == DEFAULT_TOLERATION_SECONDS
        and not tolerates(spec.tolerations, t.key)
    )
    old_containers = {c.name: c for c in (*was.containers, *was.init_containers)}
    containers = _kept_resources(spec.containers, old_containers)
    init_containers = _kept_resources(spec.init_containers, old_containers)
    # Only the fields that take a stored value are copied: most updates (every status
    # write, where `spec is was`) change none, and copying and comparing the PodSpec
    # dominated this plugin.
    changes: dict[str, object] = {}
    if not spec.node_name and was.node_name:
        changes["node_name"] = was.node_name
    if not spec.service_account_name and was.service_account_name:
        changes["service_account_name"] = was.service_account_name
    if not spec.service_account and was.service_account:
        changes["service_account"] = was.service_account
    if spec.priority is None and was.priority is not None:
        changes["priority"] = was.priority
    if not spec.preemption_policy and was.preemption_policy:
        changes["preemption_policy"] = was.preemption_policy
    if defaults:
        changes["tolerations"] = spec.tolerations + defaults
    if containers is not spec.containers:
        changes["containers"] = containers
    if init_containers is not spec.init_containers:
        changes["init_containers"] = init_containers
    if not changes:
        return obj
    new_spec = _EVOLVE_SPEC(spec, **changes)
    return obj if new_spec == spec else _EVOLVE_POD(obj, spec=new_spec)


def _kept_resources(
    containers: tuple[Container, ...], old: Mapping[str, Container]
) -> tuple[Container, ...]:
    """`containers` with the resources the stored ones had (`keep_resources`); the very
    same tuple when none changes."""
    kept = tuple(keep_resources(c, old.get(c.name)) for c in containers)
    return containers if all(k is c for k, c in zip(kept, containers, strict=True)) else kept


def keep_resources(c: Container, old: Container | None) -> Container:
    """`c` with every resource limit and request `old` had that `c` leaves out."""
    if old is None or old.resources == c.resources:
        return c
    res = c.resources
    limits, requests = res.limits.evolver(), res.requests.evolver()
    for k in sorted(old.resources.limits):
        if k not in res.limits:
            limits[k] = old.resources.limits[k]
    for k in sorted(old.resources.requests):
        if k not in res.requests:
            requests[k] = old.resources.requests[k]
    merged = attrs.evolve(res, limits=limits.persistent(), requests=requests.persistent())
    return c if merged == res else attrs.evolve(c, resources=merged)


# ---- NamespaceLifecycle ----------------------------------------------------------------


def namespace_lifecycle(req: Request, obj: ApiObject) -> ApiObject | Status:
    """Creates need a live namespace; the system namespaces are immortal."""
    m = obj.metadata
    if req.op is Operation.DELETE:
        if obj.KIND is Kind.NAMESPACE and m.name in IMMORTAL_NAMESPACES:
            return errors.forbidden(Kind.NAMESPACE, m.name, "this namespace may not be deleted")
        return obj
    if req.op is not Operation.CREATE or not obj.KIND.info.namespaced or not m.namespace:
        return obj
    ns = get(req.state, ObjectKey(kind=Kind.NAMESPACE, namespace="", name=m.namespace))
    if not isinstance(ns, Namespace):
        return errors.not_found(ObjectKey(kind=Kind.NAMESPACE, namespace="", name=m.namespace))
    if ns.status.phase is NamespacePhase.TERMINATING or ns.metadata.deletion_timestamp is not None:
        return errors.forbidden(
            obj.KIND,
            m.name,
            f"unable to create new content in namespace {m.namespace} because it is being terminated",
        )
    return obj


# ---- LimitRanger -----------------------------------------------------------------------------


Containers = tuple[Container, ...]


def limit_ranger(req: Request, pod: Pod) -> tuple[SpecChanges, str] | Status:
    """LimitRanger: container resources defaulted from the namespace's LimitRanges, then
    their min/max/ratio enforced. Answers the spec changes and the annotation text ("" for
    none); `pod_mutations` applies them."""
    ranges = [
        lr
        for lr in _namespaced(req.state, Kind.LIMIT_RANGE, pod.metadata.namespace)
        if isinstance(lr, LimitRange)
    ]
    if not ranges:
        return {}, ""
    containers, inits = pod.spec.containers, pod.spec.init_containers
    note = ""
    for lr in ranges:
        containers, inits, notes = _default_resources(containers, inits, lr)
        if notes:  # each range that sets something writes the annotation anew
            note = "LimitRanger plugin set: " + "; ".join(notes)
    problems = [p for lr in ranges for p in _limit_problems(containers, inits, lr)]
    if problems:
        why = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        return errors.forbidden(Kind.POD, pod.metadata.name, why)
    if not note:
        return {}, ""
    return {"containers": containers, "init_containers": inits}, note


def _default_resources(
    containers: Containers, inits: Containers, lr: LimitRange
) -> tuple[Containers, Containers, list[str]]:
    limits: dict[str, Quantity] = {}
    requests: dict[str, Quantity] = {}
    for item in lr.spec.limits:
        if item.type is LimitType.CONTAINER:
            limits.update(item.default)
            requests.update(item.default_request)
    if not limits and not requests:
        return containers, inits, []
    notes: list[str] = []
    containers = tuple(_merge(c, limits, requests, "container", notes) for c in containers)
    inits = tuple(_merge(c, limits, requests, "init container", notes) for c in inits)
    return containers, inits, notes


def _merge(
    c: Container,
    limits: Mapping[str, Quantity],
    requests: Mapping[str, Quantity],
    what: str,
    notes: list[str],
) -> Container:
    res = c.resources
    set_limits = sorted(k for k in limits if k not in res.limits)
    set_requests = sorted(k for k in requests if k not in res.requests)
    if set_requests:
        notes.append(", ".join(set_requests) + f" request for {what} {c.name}")
    if set_limits:
        notes.append(", ".join(set_limits) + f" limit for {what} {c.name}")
    if not set_limits and not set_requests:
        return c
    new_limits, new_requests = res.limits.evolver(), res.requests.evolver()
    for k in set_limits:
        new_limits[k] = limits[k]
    for k in set_requests:
        new_requests[k] = requests[k]
    return attrs.evolve(
        c,
        resources=attrs.evolve(
            res, limits=new_limits.persistent(), requests=new_requests.persistent()
        ),
    )


def _limit_problems(containers: Containers, inits: Containers, lr: LimitRange) -> list[str]:
    problems: list[str] = []
    for item in lr.spec.limits:
        if item.type is LimitType.CONTAINER:
            for c in (*containers, *inits):
                problems.extend(
                    _constraints(item, "Container", c.resources.requests, c.resources.limits)
                )
        elif item.type is LimitType.POD:
            requests = _pod_totals(containers, inits, "requests")
            limits = _pod_totals(containers, inits, "limits")
            problems.extend(_constraints(item, "Pod", requests, limits))
    return problems


def _pod_totals(containers: Containers, inits: Containers, which: str) -> dict[str, Quantity]:
    """Sum over containers, at least the largest init container (upstream podRequests)."""
    total: dict[str, Quantity] = {}
    for c in containers:
        values = getattr(c.resources, which)
        for k in sorted(values):
            total[k] = total.get(k, Quantity(nanos=0)) + values[k]
    for c in inits:
        values = getattr(c.resources, which)
        for k in sorted(values):
            if k not in total or values[k] > total[k]:
                total[k] = values[k]
    return total


def _constraints(
    item: LimitRangeItem,
    kind: str,
    requests: Mapping[str, Quantity],
    limits: Mapping[str, Quantity],
) -> list[str]:
    problems: list[str] = []
    for name in sorted(item.min):
        enforced, req, lim = item.min[name], requests.get(name), limits.get(name)
        if req is None:
            problems.append(
                f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
            )
        elif req < enforced:
            problems.append(f"minimum {name} usage per {kind} is {enforced}, but request is {req}")
        elif lim is not None and lim < enforced:
            problems.append(f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}")
    for name in sorted(item.max):
        enforced, req, lim = item.max[name], requests.get(name), limits.get(name)
        if lim is None:
            problems.append(
                f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
            )
        elif lim > enforced:
            problems.append(f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}")
        elif req is not None and req > enforced:
            problems.append(f"maximum {name} usage per {kind} is {enforced}, but request is {req}")
    for name in sorted(item.max_limit_request_ratio):
        enforced, req, lim = (
            item.max_limit_request_ratio[name],
            requests.get(name),
            limits.get(name),
        )
        if req is None or req.is_zero():
            problems.append(
                f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no request is specified or request is 0"
            )
        elif lim is None or lim.is_zero():
            problems.append(
                f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no limit is specified or limit is 0"
            )
        else:
            ratio = lim.as_fraction() / req.as_fraction()
            if ratio > enforced.as_fraction():
                problems.append(
                    f"{name} max limit to request ratio per {kind} is {enforced}, "
                    f"but provided ratio is {float(ratio):f}"
                )
    return problems


# ---- ServiceAccount, Priority, DefaultTolerationSeconds ------------------------------------


SpecChanges = dict[str, object]


def service_account(pod: Pod) -> SpecChanges | str:
    """ServiceAccount: pods that name no account run as "default" (mirror pods excepted)."""
    spec = pod.spec
    if spec.service_account_name or MIRROR_POD_ANNOTATION in pod.metadata.annotations:
        return {}
    name = spec.service_account or DEFAULT_SERVICE_ACCOUNT
    return {"service_account_name": name, "service_account": name}


def tolerates(tolerations: Iterable[Toleration], taint_key: str) -> bool:
    """Whether one of `tolerations` tolerates a NoExecute taint `taint_key`."""
    return any(
        (t.key == taint_key or not t.key)
        and (t.effect is TaintEffect.NO_EXECUTE or t.effect is None)
        for t in tolerations
    )


_DEFAULT_TOLERATIONS: Final = tuple(
    Toleration(
        key=taint,
        operator=TolerationOperator.EXISTS,
        effect=TaintEffect.NO_EXECUTE,
        toleration_seconds=DEFAULT_TOLERATION_SECONDS,
    )
    for taint in (TAINT_NOT_READY, TAINT_UNREACHABLE)
)


def default_toleration_seconds(pod: Pod) -> SpecChanges | str:
    """DefaultTolerationSeconds: tolerate NoExecute not-ready/unreachable for 300s."""
    if not pod.spec.tolerations:
        return {"tolerations": _DEFAULT_TOLERATIONS}
    added = tuple(t for t in _DEFAULT_TOLERATIONS if not tolerates(pod.spec.tolerations, t.key))
    return {"tolerations": pod.spec.tolerations + added} if added else {}


# attrs.evolve for the classes `pod_mutations` copies (see `kcore.api.meta.evolver`).
_EVOLVE_SPEC: Final = evolver(PodSpec)
_EVOLVE_POD: Final = evolver(Pod)
_EVOLVE_META: Final = evolver(ObjectMeta)

POD_DEFAULTERS: Final[tuple[Callable[[Pod], SpecChanges | str], ...]] = (
    service_account,
    default_toleration_seconds,
)


def pod_mutations(req: Request, obj: ApiObject) -> ApiObject | Status:
    """LimitRanger, then ServiceAccount, Priority and DefaultTolerationSeconds, on a new pod.

    Each answers the spec fields it sets (or why it refuses); the changes are applied with
    one copy of the PodSpec, because copying it is the dominant cost of admitting a pod.
    None of 4-6 reads what LimitRanger changes (the containers' resources).
    """
    if req.op is not Operation.CREATE or not isinstance(obj, Pod):
        return obj
    limited = limit_ranger(req, obj)
    if isinstance(limited, Status):
        return limited
    changes, note = limited
    for defaulter in POD_DEFAULTERS:
        result = defaulter(obj)
        if isinstance(result, str):
            return errors.forbidden(Kind.POD, obj.metadata.name, result)
        changes.update(result)
    resolved = pod_priority(req.state, obj)  # Priority reads the stored PriorityClasses
    if isinstance(resolved, Status):
        return resolved
    changes.update(spec_changes(resolved, obj.spec))
    if not changes:
        return obj
    spec = _EVOLVE_SPEC(obj.spec, **changes)
    if not note:
        return _EVOLVE_POD(obj, spec=spec)
    m = obj.metadata
    return _EVOLVE_POD(
        obj,
        metadata=_EVOLVE_META(m, annotations=m.annotations.set(LIMIT_RANGER_ANNOTATION, note)),
        spec=spec,
        status=attrs.evolve(obj.status, qos_class=qos_class(spec)),
    )


# ---- Validation ----------------------------------------------------------------------------


def validation(req: Request, obj: ApiObject) -> ApiObject | Status:
    """Object validation of every kind: any FieldError answers 422 Invalid."""
    if req.op is Operation.DELETE:
        return obj
    found = validate(obj, req.old)
    if found:
        return errors.invalid(obj.KIND, obj.metadata.name, found)
    return obj


def default_ingress_class(req: Request, obj: ApiObject) -> ApiObject | Status:
    """DefaultIngressClass: an Ingress created without `ingressClassName` gets the class
    marked `ingressclass.kubernetes.io/is-default-class: "true"` (the newest one when
    several are marked, the first by name among equally new ones; none when none is)."""
    if req.op is not Operation.CREATE or not isinstance(obj, Ingress) or obj.spec.ingress_class_name is not None:
        return obj
    marked = [
        c
        for c in list_objects(req.state, Kind.INGRESS_CLASS)
        if c.metadata.annotations.get(ANNOTATION_DEFAULT_INGRESS_CLASS) == "true"
    ]
    if not marked:
        return obj
    # newest first, a tie to the first name (upstream's sort in defaultingressclass)
    newest = min(marked, key=lambda c: (-(c.metadata.creation_timestamp or 0.0), c.metadata.name))
    return attrs.evolve(obj, spec=attrs.evolve(obj.spec, ingress_class_name=newest.metadata.name))


def priority_classes(req: Request, obj: ApiObject) -> ApiObject | Status:
    """Priority's PriorityClass half (after validation, as upstream's validating phase)."""
    if not isinstance(obj, PriorityClass):
        return obj
    old = req.old if isinstance(req.old, PriorityClass) else None
    refused = check_priority_class(req.state, obj, old, deleting=req.op is Operation.DELETE)
    return obj if refused is None else refused


# ---- ResourceQuota ---------------------------------------------------------------------------


def usage(obj: ApiObject, now: Time) -> dict[str, Quantity]:
    """What one object charges against a quota (upstream's evaluators' Usage)."""
    return charges(obj, now)


def _scopes(quota: ResourceQuota) -> frozenset[ResourceQuotaScope]:
    scopes = set(quota.spec.scopes)
    if quota.spec.scope_selector is not None:
        scopes.update(r.scope_name for r in quota.spec.scope_selector.match_expressions)
    return frozenset(scopes)


def _scope_matches(scopes: frozenset[ResourceQuotaScope], scope: ChargeScope) -> bool:
    """Scopes narrow a quota to some pods; a scoped quota ignores every other kind."""
    if not scopes:
        return True
    if scope is None:
        return False
    verdicts = {
        ResourceQuotaScope.TERMINATING: scope.terminating,
        ResourceQuotaScope.NOT_TERMINATING: not scope.terminating,
        ResourceQuotaScope.BEST_EFFORT: scope.best_effort,
        ResourceQuotaScope.NOT_BEST_EFFORT: not scope.best_effort,
    }
    return all(verdicts.get(s, False) for s in scopes)


def _quota_matches(quota: ResourceQuota, obj: ApiObject) -> bool:
    scopes = _scopes(quota)
    return not scopes or (isinstance(obj, Pod) and _scope_matches(scopes, pod_scopes(obj)))


def _missing_container_values(pod: Pod, required: frozenset[str]) -> str | None:
    """The pod quota evaluator's Constraints: every container states each constrained value."""
    if not required:
        return None
    missing: dict[str, set[str]] = {}
    for c in (*pod.spec.containers, *pod.spec.init_containers):
        have = container_usage(c)
        for name in required - set(have):
            missing.setdefault(name, set()).add(c.name)
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


def _pretty(values: Mapping[str, Quantity]) -> str:
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


def resource_quota(req: Request, obj: ApiObject) -> ApiObject | Status:
    """Refuse a create (or a growing update) that would exceed a quota of its namespace."""
    if req.op is Operation.DELETE or not obj.KIND.info.namespaced:
        return obj
    if req.old is not None and same_charges(req.old, obj):
        return obj  # a label or status write charges nothing new
    ns = obj.metadata.namespace
    if ns not in req.state.quota_usage:
        return obj  # the usage index holds exactly the namespaces with a ResourceQuota
    quotas = [
        q
        for q in _namespaced(req.state, Kind.RESOURCE_QUOTA, ns)
        if isinstance(q, ResourceQuota) and _quota_matches(q, obj)
    ]
    if not quotas:
        return obj
    delta = usage(obj, req.now)
    if req.old is not None:
        before = usage(req.old, req.now)
        delta = {k: v - before.get(k, Quantity(nanos=0)) for k, v in delta.items()}
        delta = {k: v for k, v in delta.items() if v.sign() > 0}
    if not delta:
        return obj
    for quota in quotas:
        hard = quota.spec.hard
        if isinstance(obj, Pod) and req.op is Operation.CREATE:
            missing = _missing_container_values(obj, frozenset(hard) & QUOTA_CONTAINER_RESOURCES)
            if missing is not None:
                return errors.forbidden(
                    obj.KIND, obj.metadata.name, f"failed quota: {quota.metadata.name}: {missing}"
                )
        requested = {k: v for k, v in delta.items() if k in hard}
        if not requested:
            continue
        used = _used(req.state, req.now, quota, frozenset(requested))
        exceeded = sorted(k for k in requested if used[k] + requested[k] > hard[k])
        if exceeded:
            return errors.forbidden(
                obj.KIND,
                obj.metadata.name,
                f"exceeded quota: {quota.metadata.name}, "
                f"requested: {_pretty({k: requested[k] for k in exceeded})}, "
                f"used: {_pretty({k: used[k] for k in exceeded})}, "
                f"limited: {_pretty({k: hard[k] for k in exceeded})}",
            )
    return obj


def _bucket_order(scope: ChargeScope) -> tuple[bool, bool, bool]:
    return (scope is None, scope is not None and scope.best_effort, scope is not None and scope.terminating)


def quota_status(state: ClusterState, quota: ResourceQuota, now: Time) -> ResourceQuota:
    """`quota` with its status as upstream's controller writes it: `hard` from the spec,
    `used` for every hard resource (zero where nothing charges it), at `now`."""
    hard = quota.spec.hard
    used = _used(state, now, quota, frozenset(hard))
    status = ResourceQuotaStatus(hard=hard, used=pmap(used))
    return quota if status == quota.status else attrs.evolve(quota, status=status)


def _used(
    state: ClusterState, now: Time, quota: ResourceQuota, names: frozenset[str]
) -> dict[str, Quantity]:
    """Current usage of `names` by the stored objects the quota covers.

    Reads the namespace's usage index (kcore.state_quota.QuotaUsage): the sums of the scope
    buckets the quota covers, plus the pods with a pending graceful deletion that still
    charge at `now`. O(buckets + deleting pods), not O(objects in the namespace).
    """
    used = {n: Quantity(nanos=0) for n in names}
    scopes = _scopes(quota)
    index = quota_usage_of(state, quota.metadata.namespace)
    for scope in sorted(index.totals.keys(), key=_bucket_order):
        if not _scope_matches(scopes, scope):
            continue
        totals = dict(index.totals[scope])
        for n in names:
            total = totals.get(n)
            if total is not None:
                used[n] = used[n] + total
    for key in sorted(index.deleting):
        pod = get(state, key)
        if not isinstance(pod, Pod) or not charged_now(pod, now):
            continue
        if not _scope_matches(scopes, pod_scopes(pod)):
            continue
        for n, v in pod_compute_usage(pod).items():
            if n in used:
                used[n] = used[n] + v
    return used


# ---- ClusterIP and NodePort allocation -------------------------------------------------------


def _probe_start(seed: int, what: str, size: int) -> int:
    digest = hashlib.sha256(f"{seed}/{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % size


def _canonical_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _allocate_cluster_ip(req: Request, svc: Service) -> Service | Status:
    spec = svc.spec
    if not _needs_cluster_ip(svc):
        return svc
    key = _key(svc)
    network = ipaddress.ip_network(req.state.config.service_cidr, strict=False)
    families = _family_problems(svc, IPFamily.IPV4 if network.version == 4 else IPFamily.IPV6)
    if families:
        return errors.invalid(Kind.SERVICE, svc.metadata.name, families)
    owners = req.state.service_cluster_ips
    if spec.cluster_ip == "None":
        ip = "None"
    elif spec.cluster_ip:
        ip = _canonical_ip(spec.cluster_ip)
        old = req.old
        unchanged = isinstance(old, Service) and _canonical_ip(old.spec.cluster_ip) == ip
        if not unchanged:
            problem = _explicit_ip_problem(ip, network, owners.get(ip), key)
            if problem is not None:
                shown = "[]string{" + f'"{spec.cluster_ip}"' + "}"
                error = invalid_rendered(
                    "spec.clusterIPs", shown, f"failed to allocate IP {spec.cluster_ip}: {problem}"
                )
                return errors.invalid(Kind.SERVICE, svc.metadata.name, (error,))
    else:
        found = _free_ip(network, owners, req.state.config.seed, f"{key.namespace}/{key.name}")
        if found is None:
            return errors.internal_error(
                f"failed to allocate a serviceIP: range is full ({req.state.config.service_cidr})"
            )
        ip = found
    new_spec = attrs.evolve(
        spec,
        cluster_ip=ip,
        cluster_ips=(ip,),
        ip_families=spec.ip_families or (IPFamily.IPV4 if network.version == 4 else IPFamily.IPV6,),
        ip_family_policy=spec.ip_family_policy or IPFamilyPolicy.SINGLE_STACK,
    )
    return attrs.evolve(svc, spec=new_spec)


def _family_problems(svc: Service, configured: IPFamily) -> list[FieldError]:
    """initIPFamilyFields on a single-stack cluster: only its family, and no dual stack."""
    spec = svc.spec
    problems: list[FieldError] = []
    if spec.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL_STACK:
        problems.append(
            invalid(
                "spec.ipFamilyPolicy",
                spec.ip_family_policy.value,
                "this cluster is not configured for dual-stack services",
            )
        )
    shown = "[]core.IPFamily{" + ", ".join(f'"{f.value}"' for f in spec.ip_families) + "}"
    problems.extend(
        invalid_rendered(index("spec.ipFamilies", i), shown, "not configured on this cluster")
        for i, family in enumerate(spec.ip_families)
        if family is not configured
    )
    return problems


def _explicit_ip_problem(
    ip: str,
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    owner: ObjectKey | None,
    key: ObjectKey,
) -> str | None:
    address = ipaddress.ip_address(ip)
    if address not in network or address in (network.network_address, network.broadcast_address):
        return f"provided IP ({ip}) is not in the valid range. The range of valid IPs is {network}"
    if owner is not None and owner != key:
        return "provided IP is already allocated"
    return None


def _free_ip(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
    owners: Mapping[str, ObjectKey],
    seed: int,
    what: str,
) -> str | None:
    """A free address: never the network, broadcast or first address (the kubernetes
    service's); the probe starts at a hash of (seed, namespace/name)."""
    first = int(network.network_address) + 2
    size = min(network.num_addresses - 3, 1 << 20)
    if size <= 0:
        return None
    start = _probe_start(seed, what, size)
    for step in range(size):
        candidate = str(ipaddress.ip_address(first + (start + step) % size))
        if candidate not in owners:
            return candidate
    return None


def _allocate_node_ports(req: Request, svc: Service) -> Service | Status:
    if not _needs_node_ports(svc):
        return svc
    key = _key(svc)
    low, high = req.state.config.node_port_range
    owners = req.state.service_node_ports
    old_ports = {p.node_port for p in req.old.spec.ports} if isinstance(req.old, Service) else set()
    taken: set[int] = set()
    problems: list[FieldError] = []
    for i, port in enumerate(svc.spec.ports):
        if not port.node_port or port.node_port in old_ports or port.node_port in taken:
            taken.add(port.node_port)
            continue
        taken.add(port.node_port)
        path = child(index("spec.ports", i), "nodePort")
        if not low <= port.node_port <= high:
            problems.append(
                invalid(
                    path,
                    port.node_port,
                    "provided port is not in the valid range. "
                    f"The range of valid ports is {low}-{high}",
                )
            )
        elif owners.get(port.node_port, key) != key:
            problems.append(invalid(path, port.node_port, "provided port is already allocated"))
    if problems:
        return errors.invalid(Kind.SERVICE, svc.metadata.name, problems)
    result: list[ServicePort] = []
    for i, port in enumerate(svc.spec.ports):
        if port.node_port:
            result.append(port)
            continue
        what = f"{key.namespace}/{key.name}/{i}"
        found = _free_port(low, high, owners, taken, req.state.config.seed, what)
        if found is None:
            return errors.internal_error(
                f"failed to allocate a nodePort: range is full ({low}-{high})"
            )
            taken.add(found)
        result.append(attrs.evolve(port, node_port=found))
    return attrs.evolve(svc, spec=attrs.evolve(svc.spec, ports=tuple(result)))


def _allocate_health_check_node_port(req: Request, svc: Service) -> Service | Status:
    """allocHealthCheckNodePort: the requested port when it is free and in range, else a
    free one of the NodePort range (after the Service's own nodePorts)."""
    if not needs_health_check(svc):
        return svc
    key = _key(svc)
    low, high = req.state.config.node_port_range
    owners = req.state.service_node_ports
    wanted = svc.spec.health_check_node_port
    old = req.old
    if wanted and isinstance(old, Service) and old.spec.health_check_node_port == wanted:
        return svc
    taken = {p.node_port for p in svc.spec.ports if p.node_port}
    if wanted:
        problem = None
        if not low <= wanted <= high:
            problem = f"provided port is not in the valid range. The range of valid ports is {low}-{high}"
        elif owners.get(wanted, key) != key or wanted in taken:
            problem = "provided port is already allocated"
        if problem is None:
            return svc
        error = invalid(
            "spec.healthCheckNodePort", wanted, f"failed to allocate requested HealthCheck NodePort {wanted}: {problem}"
        )
        return errors.invalid(Kind.SERVICE, svc.metadata.name, (error,))
    found = _free_port(low, high, owners, taken, req.state.config.seed, f"{key.namespace}/{key.name}/health")
    if found is None:
        return errors.internal_error(f"failed to allocate a nodePort: range is full ({low}-{high})")
    return attrs.evolve(svc, spec=attrs.evolve(svc.spec, health_check_node_port=found))


def _free_port(
    low: int, high: int, owners: Mapping[int, ObjectKey], taken: set[int], seed: int, what: str
) -> int | None:
    size = high - low + 1
    start = _probe_start(seed, what, size)
    for step in range(size):
        candidate = low + (start + step) % size
        if candidate not in owners and candidate not in taken:
            return candidate
    return None


def service_allocation(req: Request, obj: ApiObject) -> ApiObject | Status:
    """ClusterIP, NodePorts and the healthCheckNodePort for a Service that needs them and
    has none."""
    if req.op is Operation.DELETE or not isinstance(obj, Service):
        return obj
    with_ip = _allocate_cluster_ip(req, obj)
    if isinstance(with_ip, Status):
        return with_ip
    with_ports = _allocate_node_ports(req, with_ip)
    if isinstance(with_ports, Status):
        return with_ports
    return _allocate_health_check_node_port(req, with_ports)


PLUGINS: Final[tuple[Plugin, ...]] = (
    service_allocated_values,
    pod_server_set_values,
    namespace_lifecycle,
    pod_mutations,
    default_ingress_class,
    validation,
    priority_classes,
    resource_quota,
    service_allocation,
)
"""The chain, in the order upstream runs the equivalent steps."""

PLUGIN_KINDS: Final[dict[Plugin, type]] = {
    service_allocated_values: Service,
    pod_server_set_values: Pod,
    pod_mutations: Pod,
    default_ingress_class: Ingress,
    priority_classes: PriorityClass,
    service_allocation: Service,
}
"""Plugins that return every object but one class's unchanged (their first test)."""

CHAINS: Final[dict[type, tuple[Plugin, ...]]] = {
    cls: tuple(p for p in PLUGINS if p not in PLUGIN_KINDS or issubclass(cls, PLUGIN_KINDS[p]))
    for cls in CLASSES.values()
}
"""Each kind's chain: `PLUGINS` without the plugins that cannot apply to it, so an Event
create pays for NamespaceLifecycle, Validation and ResourceQuota only. Built at import."""

PLUGIN_OPS: Final[dict[Plugin, frozenset[Operation]]] = {
    service_allocated_values: frozenset({Operation.UPDATE}),
    pod_server_set_values: frozenset({Operation.UPDATE}),
    namespace_lifecycle: frozenset({Operation.CREATE, Operation.DELETE}),
    pod_mutations: frozenset({Operation.CREATE}),
    default_ingress_class: frozenset({Operation.CREATE}),
    validation: frozenset({Operation.CREATE, Operation.UPDATE}),
    resource_quota: frozenset({Operation.CREATE, Operation.UPDATE}),
    service_allocation: frozenset({Operation.CREATE, Operation.UPDATE}),
}
"""Plugins that return every object unchanged but on these operations (their first test);
a plugin not listed (PriorityClasses) may answer on every operation."""

OP_CHAINS: Final[dict[tuple[type, Operation], tuple[Plugin, ...]]] = {
    (cls, op): tuple(p for p in chain if p not in PLUGIN_OPS or op in PLUGIN_OPS[p])
    for cls, chain in CHAINS.items()
    for op in Operation
}
"""Each kind's chain for one operation: `CHAINS` without the plugins that pass that
operation through, so a Lease renewal (an UPDATE) pays for Validation and ResourceQuota
only, not NamespaceLifecycle. Built at import."""

_CREATE_CHAINS: Final = {cls: chain for (cls, op), chain in OP_CHAINS.items() if op is Operation.CREATE}
_UPDATE_CHAINS: Final = {cls: chain for (cls, op), chain in OP_CHAINS.items() if op is Operation.UPDATE}
_DELETE_CHAINS: Final = {cls: chain for (cls, op), chain in OP_CHAINS.items() if op is Operation.DELETE}

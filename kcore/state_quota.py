"""The ResourceQuota usage index: what each namespace's objects charge against its quotas.

Owns `QuotaUsage` (one namespace's charges: sums per scope bucket, and the pods whose
compute charges depend on the clock), the charges of one object (`charges`,
`fixed_charges`, `pod_compute_usage`, `container_usage`, `pod_scopes`, `scope_of`,
`charged_now`) and `recharge`, the index after one write. `kcore.state` keeps the index
in `ClusterState.quota_usage` and calls `recharge` from `put`/`remove`.

Rules:
- The index holds the namespaces with at least one ResourceQuota (so namespaces without
  one pay nothing). The first quota of a namespace counts its objects once (O(objects in
  the namespace), as upstream's quota controller recalculates a new quota); from then on
  every put/remove moves only the charges of the object it writes. The last quota's
  removal drops the entry.
- Every object counts as `count/<plural>[.<group>]`, the core kinds also under their
  short names (pods, services, ...); a pod charges "pods" and its compute resources only
  while QuotaV1Pod holds: not Succeeded/Failed, and not past deletionTimestamp + grace.
  That last condition depends on the clock, so such pods ("deleting": both stamps set,
  not terminal) keep only their count/pods in the totals and are listed apart; the reader
  adds their compute charges while `now` is within the grace period (`charged_now`).

Must not know: `ClusterState` (it reads the tables and the namespace index it is given).

Mirrors upstream's evaluators (pkg/quota/v1/evaluator/core: pods.go, services.go,
persistent_volume_claims.go, the generic object count).
"""

from __future__ import annotations

from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import PersistentVolumeClaim, Service, ServiceType
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time
from kcore.api.pod import Container, Pod, PodPhase, PodQOSClass, qos_class
from kcore.quantity import Quantity

COUNTED_NAMES: Final[dict[Kind, str]] = {
    Kind.POD: "pods",
    Kind.SERVICE: "services",
    Kind.CONFIG_MAP: "configmaps",
    Kind.SECRET: "secrets",
    Kind.REPLICATION_CONTROLLER: "replicationcontrollers",
    Kind.RESOURCE_QUOTA: "resourcequotas",
    Kind.PERSISTENT_VOLUME_CLAIM: "persistentvolumeclaims",
}
"""Object counts with a short quota name (upstream's legacy object-count names)."""

_ONE: Final = Quantity.from_int(1)
_ZERO: Final = Quantity(nanos=0)
_COMPUTE_PLAIN: Final = frozenset(("cpu", "memory", "ephemeral-storage"))
_REQUESTS: Final = {name: "requests." + name for name in _COMPUTE_PLAIN}
_LIMITS: Final = {name: "limits." + name for name in _COMPUTE_PLAIN}


@attrs.frozen(kw_only=True)
class PodScopes:
    """Which quota scopes a pod falls in: BestEffort (else NotBestEffort), Terminating
    (activeDeadlineSeconds set, else NotTerminating)."""

    best_effort: bool
    terminating: bool


ChargeScope = PodScopes | None
"""The bucket of a charge: a pod's scopes, or None for every other kind."""


Sums = tuple[tuple[str, Quantity], ...]
"""Resource name -> total, sorted by name, no zeros: a few entries rebuilt on each charge
(cheaper than a PMap's per-key sets, which dominated a quota-charged create)."""


@attrs.frozen(kw_only=True)
class QuotaUsage:
    """One namespace's charges. `totals[scope]` sums what objects in that bucket charge
    whatever the time; `deleting` are the pods whose compute charges depend on the clock."""

    totals: PMap[ChargeScope, Sums] = attrs.field(factory=pmap)
    deleting: PSet[ObjectKey] = attrs.field(factory=pset)


def count_name(kind: Kind) -> str:
    """The generic object-count quota name: `count/<plural>` or `count/<plural>.<group>`."""
    info = kind.info
    return f"count/{info.plural}.{info.group}" if info.group else f"count/{info.plural}"


_COUNT_NAMES: Final = {kind: count_name(kind) for kind in Kind}


def pod_scopes(pod: Pod) -> PodScopes:
    """The scope bucket of a pod."""
    return PodScopes(
        best_effort=qos_class(pod.spec) is PodQOSClass.BEST_EFFORT,
        terminating=pod.spec.active_deadline_seconds is not None,
    )


def is_deleting(pod: Pod) -> bool:
    """A live pod with a pending graceful deletion: its charge ends at deadline + grace."""
    m = pod.metadata
    return (
        m.deletion_timestamp is not None
        and m.deletion_grace_period_seconds is not None
        and pod.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED)
    )


def charged_now(pod: Pod, now: Time) -> bool:
    """QuotaV1Pod: terminal pods, and pods past deletionTimestamp + grace, charge no compute."""
    if pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        return False
    m = pod.metadata
    if m.deletion_timestamp is not None and m.deletion_grace_period_seconds is not None:
        return not now > m.deletion_timestamp + m.deletion_grace_period_seconds
    return True


def container_usage(c: Container) -> dict[str, Quantity]:
    """podComputeUsageHelper for one container: requests.X and limits.X of every resource,
    and the plain cpu/memory/ephemeral-storage (their requests)."""
    usage: dict[str, Quantity] = {}
    requests, limits = c.resources.requests, c.resources.limits
    if requests:
        for name in sorted(requests):
            q = requests[name]
            usage[_REQUESTS.get(name) or "requests." + name] = q
            if name in _COMPUTE_PLAIN:
                usage[name] = q
    if limits:
        for name in sorted(limits):
            usage[_LIMITS.get(name) or "limits." + name] = limits[name]
    return usage


def pod_compute_usage(pod: Pod) -> dict[str, Quantity]:
    """"pods" and the compute resources: containers summed, at least the largest init."""
    result: dict[str, Quantity] = {"pods": _ONE}
    for c in pod.spec.containers:
        for k, v in container_usage(c).items():
            result[k] = result[k] + v if k in result else v
    for c in pod.spec.init_containers:
        for k, v in container_usage(c).items():
            if k not in result or v > result[k]:
                result[k] = v
    return result


def fixed_charges(obj: ApiObject) -> dict[str, Quantity]:
    """What `obj` charges whatever the time (a deleting pod: its count/pods only)."""
    result: dict[str, Quantity] = {_COUNT_NAMES[obj.KIND]: _ONE}
    match obj:
        case Pod():
            if obj.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED) or is_deleting(obj):
                return result
            result.update(pod_compute_usage(obj))
        case Service():
            result["services"] = _ONE
            if obj.spec.type is ServiceType.LOAD_BALANCER:
                result["services.loadbalancers"] = _ONE
            if obj.spec.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
                result["services.nodeports"] = Quantity.from_int(len(obj.spec.ports))
        case PersistentVolumeClaim():
            result["persistentvolumeclaims"] = _ONE
            storage = obj.spec.resources.requests.get("storage")
            if storage is not None:
                result["requests.storage"] = storage
        case _:
            counted = COUNTED_NAMES.get(obj.KIND)
            if counted is not None:
                result[counted] = _ONE
    return result


def charges(obj: ApiObject, now: Time) -> dict[str, Quantity]:
    """What `obj` charges against a quota at `now` (upstream's evaluators' Usage)."""
    result = fixed_charges(obj)
    if isinstance(obj, Pod) and is_deleting(obj) and charged_now(obj, now):
        result.update(pod_compute_usage(obj))
    return result


def scope_of(obj: ApiObject) -> ChargeScope:
    """The bucket `obj`'s charges are summed in."""
    return pod_scopes(obj) if isinstance(obj, Pod) else None


def recount_usage(
    tables: PMap[Kind, PMap[tuple[str, str], ApiObject]], keys: PSet[ObjectKey]
) -> QuotaUsage:
    """The charges of the objects at `keys`, counted from scratch (in key order, so the
    sums' formats do not depend on hashing)."""
    sums: dict[ChargeScope, dict[str, Quantity]] = {}
    deleting: list[ObjectKey] = []
    for key in sorted(keys, key=lambda k: (k.kind.value, k.name)):
        obj = tables[key.kind][(key.namespace, key.name)]
        bucket = sums.setdefault(scope_of(obj), {})
        for name, q in fixed_charges(obj).items():
            bucket[name] = bucket[name] + q if name in bucket else q
        if isinstance(obj, Pod) and is_deleting(obj):
            deleting.append(key)
    totals: dict[ChargeScope, Sums] = {}
    for scope, bucket in sums.items():
        kept = tuple(sorted((name, q) for name, q in bucket.items() if q.nanos))
        if kept:
            totals[scope] = kept
    return QuotaUsage(totals=pmap(totals), deleting=pset(deleting))


def _charge(usage: QuotaUsage, key: ObjectKey, obj: ApiObject, sign: int) -> QuotaUsage:
    """`usage` with `obj`'s fixed charges added (sign 1) or taken away (sign -1)."""
    scope = scope_of(obj)
    bucket = dict(usage.totals.get(scope, ()))
    for name, q in fixed_charges(obj).items():
        before = bucket.get(name, _ZERO)
        total = before + q if sign > 0 else before - q
        if total.nanos:
            bucket[name] = total
        else:
            bucket.pop(name, None)
    totals = (
        usage.totals.set(scope, tuple(sorted(bucket.items())))
        if bucket
        else usage.totals.discard(scope)
    )
    deleting = usage.deleting
    if isinstance(obj, Pod) and is_deleting(obj):
        deleting = deleting.add(key) if sign > 0 else deleting.discard(key)
    return QuotaUsage(totals=totals, deleting=deleting)


def same_charges(old: ApiObject, new: ApiObject) -> bool:
    """A cheap sufficient test that a write leaves an object's charges alone.

    Only a Pod, a Service and a PersistentVolumeClaim charge by their contents; an object
    of any other kind charges its kind's counts alone (`fixed_charges`), so a write that
    keeps its class keeps its charges, e.g. every Lease renewal.
    """
    if not isinstance(old, Pod) or not isinstance(new, Pod):
        if type(old) is not type(new):
            return False
        if not isinstance(old, (Pod, Service, PersistentVolumeClaim)):
            return True
        return getattr(old, "spec", None) is getattr(new, "spec", None)
    om, nm = old.metadata, new.metadata
    return (
        old.spec is new.spec
        and old.status.phase is new.status.phase
        and om.deletion_timestamp == nm.deletion_timestamp
        and om.deletion_grace_period_seconds == nm.deletion_grace_period_seconds
    )


def _quotas_left(usage: QuotaUsage) -> bool:
    return any(name == "resourcequotas" and q.nanos > 0 for name, q in usage.totals.get(None, ()))


def recharge(
    index: PMap[str, QuotaUsage],
    tables: PMap[Kind, PMap[tuple[str, str], ApiObject]],
    by_namespace: PMap[str, PSet[ObjectKey]],
    key: ObjectKey,
    old: ApiObject | None,
    new: ApiObject | None,
) -> PMap[str, QuotaUsage]:
    """The usage index after the object at `key` changed from `old` to `new` (None: absent)."""
    ns = key.namespace
    if ns not in index:  # most namespaces hold no quota: `in` misses without a KeyError
        if key.kind is Kind.RESOURCE_QUOTA and new is not None:
            return index.set(ns, recount_usage(tables, by_namespace.get(ns, pset())))
        return index
    usage = index[ns]
    if old is not None and new is not None and same_charges(old, new):
        return index
    if old is not None:
        usage = _charge(usage, key, old, -1)
    if new is not None:
        usage = _charge(usage, key, new, 1)
    return index.set(ns, usage) if _quotas_left(usage) else index.remove(ns)

"""The subresources that are not plain updates: scale, pods/binding, pods/eviction.

Owns: reading and writing `/scale` (autoscaling/v1 Scale over spec.replicas of
ReplicationController, ReplicaSet, Deployment and StatefulSet), binding a pod to a node
(spec.nodeName plus the PodScheduled=True condition) and evicting a pod (a graceful
delete that the pod's PodDisruptionBudget may refuse).

Rules:
- A scale write is an update of the owning object's spec.replicas: optimistic
  concurrency on the Scale's resourceVersion, admission, a generation bump, one MODIFIED.
- A binding goes straight to storage as upstream's BindingREST.assignPod does: it is
  admitted as a pods/binding create, not as a pod update.
- An eviction is one atomic step: the budget's status write (its own resourceVersion and
  MODIFIED event), the pod's DisruptionTarget condition and its deletion all land, or
  nothing does. Upstream's retry loops on conflicts and its resourceVersion preconditions
  guard races between those writes; here no write can come between them, so kcore has
  neither (and no dry run).

Mirrors pkg/registry/apps/deployment/storage/storage.go (ScaleREST),
pkg/registry/core/pod/storage/storage.go (BindingREST, setPodHostAndAnnotations) and
eviction.go.
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.api.apps import Deployment, ReplicaSet, StatefulSet
from kcore.api.core import ReplicationController
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, StatusCause, StatusDetails, Time
from kcore.api.pod import LabelSelector, Pod, PodCondition, PodPhase
from kcore.api.policy import (
    DISRUPTION_BUDGET_CAUSE,
    PodDisruptionBudget,
    UnhealthyPodEvictionPolicy,
    selects,
    with_disruption_allowed_condition,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors
from kcore.apiserver.storage import (
    DeleteOptions,
    Outcome,
    commit,
    delete,
    fail,
    prepare_update,
    whole_seconds,
    write_update,
)
from kcore.component.requests import Response, Scale, Subresource
from kcore.labels import SelectorParseError, selector_from_label_selector, selector_from_set
from kcore.state import ClusterState, get, list_objects

Scalable = ReplicationController | ReplicaSet | Deployment | StatefulSet


def _scalable(state: ClusterState, key: ObjectKey) -> Scalable | Status:
    if not key.kind.info.has_scale:
        return errors.not_found(key)
    obj = get(state, key)
    if obj is None:
        return errors.not_found(key)
    assert isinstance(obj, ReplicationController | ReplicaSet | Deployment | StatefulSet)
    return obj


def _selector_text(selector: LabelSelector | None) -> str:
    if selector is None:
        return ""
    exprs = tuple((e.key, e.operator.value, e.values) for e in selector.match_expressions)
    try:
        return str(selector_from_label_selector(selector.match_labels, exprs))
    except SelectorParseError:
        return ""


def scale_of(obj: Scalable, key: ObjectKey) -> Scale:
    """The Scale view of a scalable object."""
    match obj:
        case ReplicationController():
            replicas = obj.spec.replicas if obj.spec.replicas is not None else 1
            selector = str(selector_from_set(obj.spec.selector))
        case ReplicaSet() | Deployment() | StatefulSet():
            replicas = obj.spec.replicas
            selector = _selector_text(obj.spec.selector)
    m = obj.metadata
    return Scale(
        key=key,
        replicas=replicas,
        status_replicas=obj.status.replicas,
        selector=selector,
        resource_version=m.resource_version,
        uid=m.uid,
    )


def get_scale(state: ClusterState, key: ObjectKey) -> Response:
    """GET .../scale: 200 with the Scale, or 404."""
    obj = _scalable(state, key)
    if isinstance(obj, Status):
        return Response(code=obj.code, body=obj)
    return Response(code=200, body=scale_of(obj, key))


def _with_replicas(obj: Scalable, replicas: int) -> ApiObject:
    match obj:
        case ReplicationController():
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, replicas=replicas))
        case ReplicaSet():
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, replicas=replicas))
        case Deployment():
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, replicas=replicas))
        case StatefulSet():
            return attrs.evolve(obj, spec=attrs.evolve(obj.spec, replicas=replicas))


def update_scale(state: ClusterState, key: ObjectKey, replicas: int, rv: int, now: Time) -> Outcome:
    """PUT .../scale: write spec.replicas (Conflict on a stale resourceVersion)."""
    obj = _scalable(state, key)
    if isinstance(obj, Status):
        return fail(state, obj)
    if rv and rv != obj.metadata.resource_version:
        return fail(state, errors.stale(key))
    new = _with_replicas(obj, replicas)
    state, response, events = write_update(state, obj, new, now)
    if not response.ok:
        return state, response, events
    stored = get(state, key)
    assert isinstance(stored, ReplicationController | ReplicaSet | Deployment | StatefulSet)
    return state, Response(code=200, body=scale_of(stored, key)), events


def bind(state: ClusterState, key: ObjectKey, node_name: str, now: Time) -> Outcome:
    """POST pods/binding: assign an unbound pod to `node_name`; 201 Success."""
    pod = get(state, key)
    if not isinstance(pod, Pod):
        return fail(state, errors.not_found(key))
    if pod.metadata.deletion_timestamp is not None:
        why = f"pod {key.name} is being deleted, cannot be assigned to a host"
        return fail(state, errors.conflict(key, why))
    if pod.spec.node_name:
        why = f'pod {key.name} is already assigned to node "{pod.spec.node_name}"'
        return fail(state, errors.conflict(key, why))
    scheduled = PodCondition(
        type="PodScheduled", status=ConditionStatus.TRUE, last_transition_time=whole_seconds(now)
    )
    conditions = (*(c for c in pod.status.conditions if c.type != "PodScheduled"), scheduled)
    bound = attrs.evolve(
        pod,
        spec=attrs.evolve(pod.spec, node_name=node_name),
        status=attrs.evolve(pod.status, conditions=conditions),
    )
    state, _, event = commit(state, bound, WatchType.MODIFIED)
    return state, Response(code=201, body=Status(status="Success", code=201)), (event,)


# --- eviction -------------------------------------------------------------------------------

MAX_DISRUPTED_POD_SIZE: Final = 2000
"""More unconfirmed evictions than this in one budget's disruptedPods: refuse (403)."""

MULTIPLE_BUDGETS: Final = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
)
WOULD_VIOLATE: Final = "Cannot evict pod as it would violate the pod's disruption budget."
DISRUPTION_TARGET: Final = "DisruptionTarget"


def evict(state: ClusterState, key: ObjectKey, grace: int | None, now: Time) -> Outcome:
    """POST pods/eviction: delete the pod unless its disruption budget forbids it; 201 Success.

    A pod that is not Running, or is already being deleted, goes at once; otherwise its one
    budget (two or more: 500) must allow a disruption (429 if not), which is spent: the
    budget's status is written (one fewer allowed, the pod in disruptedPods) before the pod
    gets its DisruptionTarget condition and its graceful deletion, all in this one call.
    """
    pod = get(state, key) if key.kind is Kind.POD else None
    if not isinstance(pod, Pod):
        return fail(state, errors.not_found(key))
    if can_ignore_pdb(pod):
        return _delete_evicted(state, (), pod, grace, now)
    budgets = tuple(b for b in _budgets(state, key.namespace) if selects(b, pod.metadata.labels))
    if len(budgets) > 1:
        return fail(state, Status(message=MULTIPLE_BUDGETS, code=500))
    if not budgets or _unhealthy_may_go(pod, budgets[0]):
        return _delete_evicted(state, (), pod, grace, now)
    pdb = budgets[0]
    refused = _refusal(pdb)
    if refused is not None:
        return fail(state, refused)
    spent = _spend(pdb, pod.metadata.name, now)
    after, response, spent_events = write_update(state, pdb, prepare_update(pdb, spent, Subresource.STATUS), now)
    if not response.ok:
        return fail(state, _as_status(response))
    outcome = _delete_evicted(after, spent_events, pod, grace, now)
    return outcome if outcome[1].ok else fail(state, _as_status(outcome[1]))


def can_ignore_pdb(pod: Pod) -> bool:
    """canIgnorePDB: a pod not Running (Pending, Succeeded, Failed) or already being
    deleted disrupts nothing more by going."""
    terminal = pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED, PodPhase.PENDING)
    return terminal or pod.metadata.deletion_timestamp is not None


def pod_ready(pod: Pod) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in pod.status.conditions)


def _budgets(state: ClusterState, namespace: str) -> tuple[PodDisruptionBudget, ...]:
    found = list_objects(state, Kind.POD_DISRUPTION_BUDGET, namespace)
    return tuple(b for b in found if isinstance(b, PodDisruptionBudget))


def _unhealthy_may_go(pod: Pod, pdb: PodDisruptionBudget) -> bool:
    """A not-Ready pod counts toward no budget: it may go under AlwaysAllow, or under
    IfHealthyBudget (the default) while the budget has its desired healthy pods."""
    if pod_ready(pod):
        return False
    if pdb.spec.unhealthy_pod_eviction_policy is UnhealthyPodEvictionPolicy.ALWAYS_ALLOW:
        return True
    st = pdb.status
    return st.current_healthy >= st.desired_healthy and st.desired_healthy > 0


def _refusal(pdb: PodDisruptionBudget) -> Status | None:
    """checkAndDecrement's checks, in upstream's order; None when a disruption is allowed."""
    st = pdb.status
    name = pdb.metadata.name
    if st.observed_generation < pdb.metadata.generation:
        return _too_many(10, f"The disruption budget {name} is still being processed by the server.")
    if st.disruptions_allowed < 0:
        return _forbidden(name, "pdb disruptions allowed is negative")
    if len(st.disrupted_pods) > MAX_DISRUPTED_POD_SIZE:
        return _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if st.disruptions_allowed == 0:
        why = f"The disruption budget {name} needs {st.desired_healthy} healthy pods and has {st.current_healthy} currently"
        return _too_many(0, why)
    return None


def _too_many(retry_after: int, cause: str) -> Status:
    base = errors.too_many_requests(WOULD_VIOLATE, retry_after)
    # errors.too_many_requests has no causes parameter; upstream appends this one.
    details = StatusDetails(
        retry_after_seconds=retry_after,
        causes=(StatusCause(reason=DISRUPTION_BUDGET_CAUSE, message=cause),),
    )
    return attrs.evolve(base, details=details)


def _forbidden(name: str, why: str) -> Status:
    # Upstream names the resource in the singular here: policy.Resource("poddisruptionbudget").
    base = errors.forbidden(Kind.POD_DISRUPTION_BUDGET, name, why)
    details = StatusDetails(name=name, group="policy", kind="poddisruptionbudget")
    return attrs.evolve(base, message=f'poddisruptionbudget.policy "{name}" is forbidden: {why}', details=details)


def _spend(pdb: PodDisruptionBudget, pod_name: str, now: Time) -> PodDisruptionBudget:
    """The budget with one disruption spent on `pod_name` (the condition flips at zero)."""
    st = pdb.status
    st = attrs.evolve(
        st,
        disruptions_allowed=st.disruptions_allowed - 1,
        disrupted_pods=st.disrupted_pods.set(pod_name, whole_seconds(now)),
    )
    if st.disruptions_allowed == 0:
        st = with_disruption_allowed_condition(st, now)
    return attrs.evolve(pdb, status=st)


def _as_status(response: Response) -> Status:
    body = response.body
    return body if isinstance(body, Status) else errors.internal_error("unexpected answer")


def _delete_evicted(
    state: ClusterState, prior: tuple[WatchEvent, ...], pod: Pod, grace: int | None, now: Time
) -> Outcome:
    """addConditionAndDeletePod: DisruptionTarget=True on the pod's status, then delete it.

    `prior` are the events of writes already made in `state` (the budget's status); the
    caller discards `state` on a failure, so an eviction happens whole or not at all."""
    key = ObjectKey(kind=Kind.POD, namespace=pod.metadata.namespace, name=pod.metadata.name)
    current = get(state, key)
    assert isinstance(current, Pod)
    target = PodCondition(
        type=DISRUPTION_TARGET,
        status=ConditionStatus.TRUE,
        reason="EvictionByEvictionAPI",
        message="Eviction API: evicting",
        last_transition_time=whole_seconds(now),
    )
    old = next((c for c in current.status.conditions if c.type == DISRUPTION_TARGET), None)
    if old is not None and old.status is target.status:
        target = attrs.evolve(target, last_transition_time=old.last_transition_time)
    conditions = (*(c for c in current.status.conditions if c.type != DISRUPTION_TARGET), target)
    marked = attrs.evolve(current, status=attrs.evolve(current.status, conditions=conditions))
    before = state
    state, response, written = write_update(state, current, prepare_update(current, marked, Subresource.STATUS), now)
    if not response.ok:
        return fail(before, _as_status(response))
    state, response, deleted = delete(state, key, DeleteOptions(grace_period_seconds=grace), now)
    if not response.ok:
        return fail(before, _as_status(response))
    success = Response(code=201, body=Status(status="Success", code=201))
    return state, success, (*prior, *written, *deleted)

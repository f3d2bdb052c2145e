"""The subresources that are not plain updates: scale, pods/binding, pods/eviction.

Owns: reading and writing `/scale` (autoscaling/v1 Scale over spec.replicas of
ReplicationController, ReplicaSet, Deployment and StatefulSet), binding a pod to a node
(spec.nodeName plus the PodScheduled=True condition) and evicting a pod (a delete with
the pod's grace period that disruption budgets will be able to refuse).

Rules:
- A scale write is an update of the owning object's spec.replicas: optimistic
  concurrency on the Scale's resourceVersion, admission, a generation bump, one MODIFIED.
- A binding goes straight to storage as upstream's BindingREST.assignPod does: it is
  admitted as a pods/binding create, not as a pod update.

Mirrors pkg/registry/apps/deployment/storage/storage.go (ScaleREST),
pkg/registry/core/pod/storage/storage.go (BindingREST, setPodHostAndAnnotations) and
eviction.go.
"""

from __future__ import annotations

import attrs

from kcore.api.apps import Deployment, ReplicaSet, StatefulSet
from kcore.api.core import ReplicationController
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time
from kcore.api.pod import LabelSelector, Pod, PodCondition
from kcore.apiserver import errors
from kcore.apiserver.storage import (
    DeleteOptions,
    Outcome,
    commit,
    delete,
    fail,
    whole_seconds,
    write_update,
)
from kcore.apiserver.types import Response, Scale, WatchType
from kcore.labels import SelectorParseError, selector_from_label_selector, selector_from_set
from kcore.state import ClusterState, get

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


def evict(state: ClusterState, key: ObjectKey, grace: int | None, now: Time) -> Outcome:
    """POST pods/eviction: delete the pod with its grace period; 201 Success."""
    if key.kind is not Kind.POD:
        return fail(state, errors.not_found(key))
    state, response, events = delete(state, key, DeleteOptions(grace_period_seconds=grace), now)
    if not response.ok:
        return state, response, events
    return state, Response(code=201, body=Status(status="Success", code=201)), events

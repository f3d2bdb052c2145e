"""Validation of every kind: `validate(obj, old)` dispatches to the group modules.

Owns the dispatch only. `old is None` means a create; otherwise `old` is the stored
object of the same kind and the update rules apply too (immutable fields, what a pod
update may change). The result is a tuple of `FieldError`, empty when the object is
valid; the apiserver turns a non-empty one into 422 Invalid and stores nothing.

Rules: pure, total (every `Kind` has a case; an unknown class is a `KcoreBug`), never
raises on user input.

Mirrors the Validate/ValidateUpdate methods of the strategies in pkg/registry/*.
"""

from __future__ import annotations

from typing import TypeVar

from kcore.api.apps import DaemonSet, Deployment, ReplicaSet, StatefulSet
from kcore.api.autoscaling import HorizontalPodAutoscaler
from kcore.api.batch import CronJob, Job
from kcore.api.coordination import Lease
from kcore.api.core import (
    ConfigMap,
    Endpoints,
    Event,
    LimitRange,
    Namespace,
    Node,
    PersistentVolumeClaim,
    ReplicationController,
    ResourceQuota,
    Secret,
    Service,
    ServiceAccount,
)
from kcore.api.meta import ApiObject
from kcore.api.networking import Ingress
from kcore.api.pod import Pod
from kcore.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from kcore.apiserver.validation import apps, batch, core, other, pod
from kcore.apiserver.validation.meta import Errors, validate_object_meta_update
from kcore.state import KcoreBug
from kcore.validation import FieldError

__all__ = ["FieldError", "validate"]

T = TypeVar("T")


def _old(old: ApiObject | None, cls: type[T]) -> T | None:
    return old if isinstance(old, cls) else None


def _with_meta_update(errors: Errors, obj: ApiObject, old: ApiObject | None) -> Errors:
    """Kinds without update rules of their own: the metadata rules, then the create rules."""
    if old is None:
        return errors
    return (*validate_object_meta_update(obj.metadata, old.metadata), *errors)


def validate(obj: ApiObject, old: ApiObject | None) -> tuple[FieldError, ...]:
    """Every validation error of `obj` (a create when `old` is None, else an update)."""
    match obj:
        case Pod():
            o_pod = _old(old, Pod)
            return pod.validate_pod(obj) if o_pod is None else pod.validate_pod_update(obj, o_pod)
        case Service():
            o_svc = _old(old, Service)
            if o_svc is None:
                return core.validate_service(obj)
            return core.validate_service_update(obj, o_svc)
        case ConfigMap():
            o_cm = _old(old, ConfigMap)
            if o_cm is None:
                return core.validate_config_map(obj)
            return core.validate_config_map_update(obj, o_cm)
        case Secret():
            o_sec = _old(old, Secret)
            return (
                core.validate_secret(obj)
                if o_sec is None
                else core.validate_secret_update(obj, o_sec)
            )
        case PersistentVolumeClaim():
            o_pvc = _old(old, PersistentVolumeClaim)
            return core.validate_pvc(obj) if o_pvc is None else core.validate_pvc_update(obj, o_pvc)
        case ReplicaSet():
            o_rs = _old(old, ReplicaSet)
            if o_rs is None:
                return apps.validate_replica_set(obj)
            return apps.validate_replica_set_update(obj, o_rs)
        case Deployment():
            o_d = _old(old, Deployment)
            if o_d is None:
                return apps.validate_deployment(obj)
            return apps.validate_deployment_update(obj, o_d)
        case DaemonSet():
            o_ds = _old(old, DaemonSet)
            if o_ds is None:
                return apps.validate_daemon_set(obj)
            return apps.validate_daemon_set_update(obj, o_ds)
        case StatefulSet():
            o_sts = _old(old, StatefulSet)
            if o_sts is None:
                return apps.validate_stateful_set(obj)
            return apps.validate_stateful_set_update(obj, o_sts)
        case Job():
            o_job = _old(old, Job)
            return (
                batch.validate_job(obj) if o_job is None else batch.validate_job_update(obj, o_job)
            )
        case CronJob():
            o_cj = _old(old, CronJob)
            if o_cj is None:
                return batch.validate_cron_job(obj)
            return batch.validate_cron_job_update(obj, o_cj)
        case RoleBinding():
            o_rb = _old(old, RoleBinding)
            if o_rb is None:
                return other.validate_role_binding(obj)
            return other.validate_role_binding_update(obj, o_rb)
        case ClusterRoleBinding():
            o_crb = _old(old, ClusterRoleBinding)
            if o_crb is None:
                return other.validate_cluster_role_binding(obj)
            return other.validate_cluster_role_binding_update(obj, o_crb)
        case Namespace():
            return _with_meta_update(core.validate_namespace(obj), obj, old)
        case Node():
            return _with_meta_update(core.validate_node(obj), obj, old)
        case Endpoints():
            return _with_meta_update(core.validate_endpoints(obj), obj, old)
        case Event():
            return _with_meta_update(core.validate_event(obj), obj, old)
        case ServiceAccount():
            return _with_meta_update(core.validate_service_account(obj), obj, old)
        case ResourceQuota():
            return _with_meta_update(core.validate_resource_quota(obj), obj, old)
        case LimitRange():
            return _with_meta_update(core.validate_limit_range(obj), obj, old)
        case ReplicationController():
            return _with_meta_update(core.validate_replication_controller(obj), obj, old)
        case HorizontalPodAutoscaler():
            return _with_meta_update(other.validate_hpa(obj), obj, old)
        case Ingress():
            return _with_meta_update(other.validate_ingress(obj), obj, old)
        case Role():
            return _with_meta_update(other.validate_role(obj), obj, old)
        case ClusterRole():
            return _with_meta_update(other.validate_cluster_role(obj), obj, old)
        case Lease():
            return _with_meta_update(other.validate_lease(obj), obj, old)
        case _:
            raise KcoreBug(f"no validation for {type(obj).__name__}")

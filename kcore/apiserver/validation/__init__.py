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

from collections.abc import Callable
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
from kcore.api.metrics import PodMetrics
from kcore.api.networking import Ingress
from kcore.api.pod import Pod
from kcore.api.policy import PodDisruptionBudget
from kcore.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from kcore.api.scheduling import PriorityClass
from kcore.apiserver.validation import apps, batch, core, metrics, other, pod, policy, scheduling
from kcore.apiserver.validation.meta import Errors, validate_object_meta_update
from kcore.state import KcoreBug
from kcore.validation import FieldError

__all__ = ["FieldError", "validate"]

T = TypeVar("T")


def _old(old: ApiObject | None, cls: type[T]) -> T | None:
    return old if isinstance(old, cls) else None


def _either(
    obj: T,
    old: ApiObject | None,
    cls: type[T],
    create: Callable[[T], Errors],
    update: Callable[[T, T], Errors],
) -> Errors:
    """The create rules when there is no stored object of the same kind, else the update rules."""
    stored = _old(old, cls)
    return create(obj) if stored is None else update(obj, stored)


def _with_meta_update(errors: Errors, obj: ApiObject, old: ApiObject | None) -> Errors:
    """Kinds without update rules of their own: the metadata rules, then the create rules."""
    if old is None:
        return errors
    return (*validate_object_meta_update(obj.metadata, old.metadata), *errors)


def validate(obj: ApiObject, old: ApiObject | None) -> tuple[FieldError, ...]:
    """Every validation error of `obj` (a create when `old` is None, else an update)."""
    match obj:
        case Pod():
            return _either(obj, old, Pod, pod.validate_pod, pod.validate_pod_update)
        case Service():
            return _either(obj, old, Service, core.validate_service, core.validate_service_update)
        case ConfigMap():
            return _either(obj, old, ConfigMap, core.validate_config_map, core.validate_config_map_update)
        case Secret():
            return _either(obj, old, Secret, core.validate_secret, core.validate_secret_update)
        case PersistentVolumeClaim():
            return _either(obj, old, PersistentVolumeClaim, core.validate_pvc, core.validate_pvc_update)
        case ReplicaSet():
            return _either(obj, old, ReplicaSet, apps.validate_replica_set, apps.validate_replica_set_update)
        case Deployment():
            return _either(obj, old, Deployment, apps.validate_deployment, apps.validate_deployment_update)
        case DaemonSet():
            return _either(obj, old, DaemonSet, apps.validate_daemon_set, apps.validate_daemon_set_update)
        case StatefulSet():
            return _either(obj, old, StatefulSet, apps.validate_stateful_set, apps.validate_stateful_set_update)
        case Job():
            return _either(obj, old, Job, batch.validate_job, batch.validate_job_update)
        case CronJob():
            return _either(obj, old, CronJob, batch.validate_cron_job, batch.validate_cron_job_update)
        case RoleBinding():
            return _either(obj, old, RoleBinding, other.validate_role_binding, other.validate_role_binding_update)
        case ClusterRoleBinding():
            return _either(obj, old, ClusterRoleBinding, other.validate_cluster_role_binding, other.validate_cluster_role_binding_update)
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
        case PodDisruptionBudget():
            return _either(obj, old, PodDisruptionBudget, policy.validate_pdb, policy.validate_pdb_update)
        case PriorityClass():
            return _either(
                obj, old, PriorityClass, scheduling.validate_priority_class, scheduling.validate_priority_class_update
            )
        case PodMetrics():
            return _with_meta_update(metrics.validate_pod_metrics(obj), obj, old)
        case _:
            raise KcoreBug(f"no validation for {type(obj).__name__}")

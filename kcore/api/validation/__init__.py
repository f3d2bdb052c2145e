"""Validation of every kind: `validate(obj, old)` dispatches to the group modules.

Owns the dispatch only. `old is None` means a create; otherwise `old` is the stored
object of the same kind and the update rules apply too (immutable fields, what a pod
update may change). The result is a tuple of `FieldError`, empty when the object is
valid; the apiserver turns a non-empty one into 422 Invalid and stores nothing.

Rules: pure, total (every `Kind` has an entry in `RULES`; an unknown class is a
`KcoreBug`), never raises on user input. An object's rules are found by its class in one
dict lookup; the ordered isinstance tries of `RULES` are only the fallback.

Mirrors the Validate/ValidateUpdate methods of the strategies in pkg/registry/*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

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
from kcore.api.discovery import EndpointSlice
from kcore.api.meta import ApiObject
from kcore.api.metrics import PodMetrics
from kcore.api.networking import Ingress, IngressClass, NetworkPolicy
from kcore.api.pod import Pod
from kcore.api.policy import PodDisruptionBudget
from kcore.api.rbac import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from kcore.api.scheduling import PriorityClass
from kcore.api.validation import apps, batch, core, metrics, network, other, pod, policy, scheduling
from kcore.api.validation.meta import Errors, validate_object_meta_update
from kcore.bug import KcoreBug
from kcore.util_validation import FieldError

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


Rule = Callable[[Any, ApiObject | None], Errors]
"""One kind's validation: (object, stored object or None) -> errors."""


def _create_or_update(cls: type[T], create: Callable[[T], Errors], update: Callable[[T, T], Errors]) -> Rule:
    def rule(obj: Any, old: ApiObject | None) -> Errors:
        return _either(obj, old, cls, create, update)

    return rule


def _meta_update_after(create: Callable[[Any], Errors]) -> Rule:
    def rule(obj: Any, old: ApiObject | None) -> Errors:
        return _with_meta_update(create(obj), obj, old)

    return rule


RULES: Final[tuple[tuple[type, Rule], ...]] = (
    (Pod, _create_or_update(Pod, pod.validate_pod, pod.validate_pod_update)),
    (Service, _create_or_update(Service, core.validate_service, core.validate_service_update)),
    (ConfigMap, _create_or_update(ConfigMap, core.validate_config_map, core.validate_config_map_update)),
    (Secret, _create_or_update(Secret, core.validate_secret, core.validate_secret_update)),
    (PersistentVolumeClaim, _create_or_update(PersistentVolumeClaim, core.validate_pvc, core.validate_pvc_update)),
    (ReplicaSet, _create_or_update(ReplicaSet, apps.validate_replica_set, apps.validate_replica_set_update)),
    (Deployment, _create_or_update(Deployment, apps.validate_deployment, apps.validate_deployment_update)),
    (DaemonSet, _create_or_update(DaemonSet, apps.validate_daemon_set, apps.validate_daemon_set_update)),
    (StatefulSet, _create_or_update(StatefulSet, apps.validate_stateful_set, apps.validate_stateful_set_update)),
    (Job, _create_or_update(Job, batch.validate_job, batch.validate_job_update)),
    (CronJob, _create_or_update(CronJob, batch.validate_cron_job, batch.validate_cron_job_update)),
    (RoleBinding, _create_or_update(RoleBinding, other.validate_role_binding, other.validate_role_binding_update)),
    (ClusterRoleBinding, _create_or_update(ClusterRoleBinding, other.validate_cluster_role_binding, other.validate_cluster_role_binding_update)),
    (Namespace, _meta_update_after(core.validate_namespace)),
    (Node, _meta_update_after(core.validate_node)),
    (Endpoints, _meta_update_after(core.validate_endpoints)),
    (Event, _meta_update_after(core.validate_event)),
    (ServiceAccount, _meta_update_after(core.validate_service_account)),
    (ResourceQuota, _meta_update_after(core.validate_resource_quota)),
    (LimitRange, _meta_update_after(core.validate_limit_range)),
    (ReplicationController, _meta_update_after(core.validate_replication_controller)),
    (HorizontalPodAutoscaler, _meta_update_after(other.validate_hpa)),
    (Ingress, _meta_update_after(other.validate_ingress)),
    (IngressClass, _create_or_update(IngressClass, network.validate_ingress_class, network.validate_ingress_class_update)),
    (NetworkPolicy, _create_or_update(NetworkPolicy, network.validate_network_policy, network.validate_network_policy_update)),
    (EndpointSlice, _create_or_update(EndpointSlice, network.validate_endpoint_slice, network.validate_endpoint_slice_update)),
    (Role, _meta_update_after(other.validate_role)),
    (ClusterRole, _meta_update_after(other.validate_cluster_role)),
    (Lease, _meta_update_after(other.validate_lease)),
    (PodDisruptionBudget, _create_or_update(PodDisruptionBudget, policy.validate_pdb, policy.validate_pdb_update)),
    (PriorityClass, _create_or_update(PriorityClass, scheduling.validate_priority_class, scheduling.validate_priority_class_update)),
    (PodMetrics, _meta_update_after(metrics.validate_pod_metrics)),
)
"""Every kind's rules, in the order an object's class is tried against them (isinstance)."""

_RULE_OF_CLASS: Final[dict[type, Rule]] = {cls: rule for cls, rule in reversed(RULES)}
"""The rules of each class in `RULES`, looked up by `type(obj)`: one dict lookup where
trying the classes in order costs an isinstance test per kind listed before it. The same
choice as the ordered tries, since no class in `RULES` subclasses one listed before it."""


def validate(obj: ApiObject, old: ApiObject | None) -> tuple[FieldError, ...]:
    """Every validation error of `obj` (a create when `old` is None, else an update)."""
    try:
        rule = _RULE_OF_CLASS[type(obj)]
    except KeyError:  # a subclass of a kind's class, or no kind's class at all
        for cls, candidate in RULES:
            if isinstance(obj, cls):
                return candidate(obj, old)
        raise KcoreBug(f"no validation for {type(obj).__name__}") from None
    return rule(obj, old)

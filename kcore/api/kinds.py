"""The closed set of API kinds kcore serves, and what the REST layer knows about each.

Owns: `Kind` (an enum; kinds are never compared as loose strings), `KindInfo` (group,
version, resource plural, singular, short names, scope, subresources) and `ObjectKey`,
the identity of a stored object. Knows nothing of the object classes themselves: the
class for a kind is looked up in `kcore.api.registry`, which imports every group module.

Mirrors the discovery data of the upstream apiserver (`kubectl api-resources`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs


class Kind(enum.Enum):
    """Every kind kcore stores. The value is the Kubernetes `kind` string."""

    NAMESPACE = "Namespace"
    NODE = "Node"
    POD = "Pod"
    SERVICE = "Service"
    ENDPOINTS = "Endpoints"
    ENDPOINT_SLICE = "EndpointSlice"
    EVENT = "Event"
    CONFIG_MAP = "ConfigMap"
    SECRET = "Secret"
    SERVICE_ACCOUNT = "ServiceAccount"
    RESOURCE_QUOTA = "ResourceQuota"
    LIMIT_RANGE = "LimitRange"
    PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"
    REPLICATION_CONTROLLER = "ReplicationController"
    REPLICA_SET = "ReplicaSet"
    DEPLOYMENT = "Deployment"
    DAEMON_SET = "DaemonSet"
    STATEFUL_SET = "StatefulSet"
    JOB = "Job"
    CRON_JOB = "CronJob"
    HORIZONTAL_POD_AUTOSCALER = "HorizontalPodAutoscaler"
    INGRESS = "Ingress"
    INGRESS_CLASS = "IngressClass"
    NETWORK_POLICY = "NetworkPolicy"
    ROLE = "Role"
    ROLE_BINDING = "RoleBinding"
    CLUSTER_ROLE = "ClusterRole"
    CLUSTER_ROLE_BINDING = "ClusterRoleBinding"
    LEASE = "Lease"
    POD_DISRUPTION_BUDGET = "PodDisruptionBudget"
    PRIORITY_CLASS = "PriorityClass"
    POD_METRICS = "PodMetrics"

    @property
    def info(self) -> KindInfo:
        return KIND_INFO[self]


@attrs.frozen(kw_only=True)
class KindInfo:
    """REST facts about one kind, as upstream discovery publishes them."""

    kind: Kind
    group: str  # "" is the core (legacy) group
    version: str
    plural: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    has_status: bool = True  # a /status subresource exists
    has_scale: bool = False  # a /scale subresource exists

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.value.lower()

    @property
    def resource(self) -> str:
        """How kubectl's name printer spells the kind: `deployment.apps`, `pod`."""
        return f"{self.singular}.{self.group}" if self.group else self.singular


def _info(
    kind: Kind,
    group: str,
    version: str,
    plural: str,
    *short: str,
    namespaced: bool = True,
    status: bool = True,
    scale: bool = False,
) -> KindInfo:
    return KindInfo(
        kind=kind,
        group=group,
        version=version,
        plural=plural,
        short_names=short,
        namespaced=namespaced,
        has_status=status,
        has_scale=scale,
    )


KIND_INFO: Final[Mapping[Kind, KindInfo]] = MappingProxyType(
    {
        i.kind: i
        for i in (
            _info(Kind.NAMESPACE, "", "v1", "namespaces", "ns", namespaced=False),
            _info(Kind.NODE, "", "v1", "nodes", "no", namespaced=False),
            _info(Kind.POD, "", "v1", "pods", "po"),
            _info(Kind.SERVICE, "", "v1", "services", "svc"),
            _info(Kind.ENDPOINTS, "", "v1", "endpoints", "ep", status=False),
            _info(Kind.EVENT, "", "v1", "events", "ev", status=False),
            _info(Kind.CONFIG_MAP, "", "v1", "configmaps", "cm", status=False),
            _info(Kind.SECRET, "", "v1", "secrets", status=False),
            _info(Kind.SERVICE_ACCOUNT, "", "v1", "serviceaccounts", "sa", status=False),
            _info(Kind.RESOURCE_QUOTA, "", "v1", "resourcequotas", "quota"),
            _info(Kind.LIMIT_RANGE, "", "v1", "limitranges", "limits", status=False),
            _info(Kind.PERSISTENT_VOLUME_CLAIM, "", "v1", "persistentvolumeclaims", "pvc"),
            _info(Kind.REPLICATION_CONTROLLER, "", "v1", "replicationcontrollers", "rc", scale=True),
            _info(Kind.REPLICA_SET, "apps", "v1", "replicasets", "rs", scale=True),
            _info(Kind.DEPLOYMENT, "apps", "v1", "deployments", "deploy", scale=True),
            _info(Kind.DAEMON_SET, "apps", "v1", "daemonsets", "ds"),
            _info(Kind.STATEFUL_SET, "apps", "v1", "statefulsets", "sts", scale=True),
            _info(Kind.JOB, "batch", "v1", "jobs"),
            _info(Kind.CRON_JOB, "batch", "v1", "cronjobs", "cj"),
            _info(Kind.HORIZONTAL_POD_AUTOSCALER, "autoscaling", "v2", "horizontalpodautoscalers", "hpa"),
            _info(Kind.INGRESS, "networking.k8s.io", "v1", "ingresses", "ing"),
            _info(
                Kind.INGRESS_CLASS,
                "networking.k8s.io",
                "v1",
                "ingressclasses",
                namespaced=False,
                status=False,
            ),
            _info(Kind.NETWORK_POLICY, "networking.k8s.io", "v1", "networkpolicies", "netpol", status=False),
            _info(Kind.ENDPOINT_SLICE, "discovery.k8s.io", "v1", "endpointslices", status=False),
            _info(Kind.ROLE, "rbac.authorization.k8s.io", "v1", "roles", status=False),
            _info(Kind.ROLE_BINDING, "rbac.authorization.k8s.io", "v1", "rolebindings", status=False),
            _info(Kind.CLUSTER_ROLE, "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False, status=False),
            _info(
                Kind.CLUSTER_ROLE_BINDING,
                "rbac.authorization.k8s.io",
                "v1",
                "clusterrolebindings",
                namespaced=False,
                status=False,
            ),
            _info(Kind.LEASE, "coordination.k8s.io", "v1", "leases", status=False),
            _info(Kind.POD_DISRUPTION_BUDGET, "policy", "v1", "poddisruptionbudgets", "pdb"),
            _info(
                Kind.PRIORITY_CLASS,
                "scheduling.k8s.io",
                "v1",
                "priorityclasses",
                "pc",
                namespaced=False,
                status=False,
            ),
            # metrics.k8s.io serves PodMetrics under the resource name "pods", as the
            # metrics-server's aggregated API does: the bare name stays the core Pod's
            # (see _build_name_index); "pods.metrics.k8s.io" and "PodMetrics" name this one.
            _info(Kind.POD_METRICS, "metrics.k8s.io", "v1beta1", "pods", status=False),
        )
    }
)


def _build_name_index() -> Mapping[str, Kind]:
    """Every name kubectl accepts. A bare name two groups share (metrics.k8s.io's "pods")
    stays with the kind registered first, the core group's, as kubectl prefers the core
    group; the group-qualified form ("pods.metrics.k8s.io") reaches the other."""
    names: dict[str, Kind] = {}
    for info in KIND_INFO.values():
        for name in (info.plural, info.singular, info.kind.value, *info.short_names):
            names.setdefault(name.lower(), info.kind)
            if info.group:
                names[f"{name.lower()}.{info.group}"] = info.kind
    return MappingProxyType(names)


_BY_NAME: Final[Mapping[str, Kind]] = _build_name_index()
_BY_GVK: Final[Mapping[tuple[str, str], Kind]] = MappingProxyType(
    {(i.api_version, i.kind.value): i.kind for i in KIND_INFO.values()}
)


class UnknownKindError(ValueError):
    """A kind name, resource name or apiVersion/kind pair kcore does not serve."""


def kind_for_name(name: str) -> Kind:
    """Resolve kubectl's plural, singular, short or Kind name (case-insensitive)."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        raise UnknownKindError(f'the server doesn\'t have a resource type "{name}"') from None


def kind_for_gvk(api_version: str, kind: str) -> Kind:
    """Resolve an object's apiVersion and kind as written in a manifest."""
    try:
        return _BY_GVK[(api_version, kind)]
    except KeyError:
        raise UnknownKindError(
            f'no matches for kind "{kind}" in version "{api_version}"'
        ) from None


@attrs.frozen(kw_only=True, order=True, cache_hash=True)
class ObjectKey:
    """Identity of a stored object. `namespace` is "" for cluster-scoped kinds.

    The hash is cached: keys are hashed several times per write (tables and indexes)."""

    kind: Kind = attrs.field(order=lambda k: k.value)
    namespace: str
    name: str

    def __str__(self) -> str:
        scope = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.value} {scope}{self.name}"

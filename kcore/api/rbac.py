"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding.

Owns the RBAC object model and its context-dependent defaulting (a subject's apiGroup
follows from its kind). Knows nothing of evaluation: which rule allows which request is
`kcore.apiserver.auth`'s business.

Mirrors k8s.io/api/rbac/v1/types.go and pkg/apis/rbac/v1/defaults.go.
"""

from __future__ import annotations

from typing import ClassVar, Final

import attrs

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, wire
from kcore.api.pod import LabelSelector

GROUP: Final = "rbac.authorization.k8s.io"

USER_KIND: Final = "User"
GROUP_KIND: Final = "Group"
SERVICE_ACCOUNT_KIND: Final = "ServiceAccount"


@attrs.frozen(kw_only=True)
class PolicyRule:
    """One grant: verbs on resources (or on non-resource URLs)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = attrs.field(default=(), metadata=wire("nonResourceURLs"))


@attrs.frozen(kw_only=True)
class AggregationRule:
    """A ClusterRole whose rules are the union of those of every ClusterRole matching
    any selector (filled in by upstream's clusterrole-aggregation controller)."""

    cluster_role_selectors: tuple[LabelSelector, ...] = ()


@attrs.frozen(kw_only=True)
class Subject:
    """Who a binding grants to: kind is "User", "Group" or "ServiceAccount"."""

    kind: str
    name: str
    api_group: str = ""
    namespace: str = ""


@attrs.frozen(kw_only=True)
class RoleRef:
    """The Role or ClusterRole a binding grants; immutable after creation."""

    api_group: str
    kind: str
    name: str


@attrs.frozen(kw_only=True)
class Role:
    KIND: ClassVar[Kind] = Kind.ROLE
    metadata: ObjectMeta = ObjectMeta()
    rules: tuple[PolicyRule, ...] = ()


@attrs.frozen(kw_only=True)
class ClusterRole:
    KIND: ClassVar[Kind] = Kind.CLUSTER_ROLE
    metadata: ObjectMeta = ObjectMeta()
    rules: tuple[PolicyRule, ...] = ()
    aggregation_rule: AggregationRule | None = None


@attrs.frozen(kw_only=True)
class RoleBinding:
    KIND: ClassVar[Kind] = Kind.ROLE_BINDING
    metadata: ObjectMeta = ObjectMeta()
    subjects: tuple[Subject, ...] = ()
    role_ref: RoleRef


@attrs.frozen(kw_only=True)
class ClusterRoleBinding:
    KIND: ClassVar[Kind] = Kind.CLUSTER_ROLE_BINDING
    metadata: ObjectMeta = ObjectMeta()
    subjects: tuple[Subject, ...] = ()
    role_ref: RoleRef


def default_subject(subject: Subject) -> Subject:
    """Upstream SetDefaults_Subject: apiGroup from the kind when it is unset."""
    if subject.api_group:
        return subject
    if subject.kind in (USER_KIND, GROUP_KIND):
        return attrs.evolve(subject, api_group=GROUP)
    return subject


def default(obj: ApiObject) -> ApiObject:
    """Default the subjects of bindings; every other kind is returned unchanged."""
    if isinstance(obj, RoleBinding | ClusterRoleBinding):
        subjects = tuple(default_subject(s) for s in obj.subjects)
        if subjects != obj.subjects:
            return attrs.evolve(obj, subjects=subjects)
    return obj

"""Authentication (who is asking) and RBAC authorization (may they), as pure functions.

Owns: bearer-token authentication (static tokens from the cluster config, and
service-account tokens that kcore mints deterministically), the RBAC authorizer, the
rule-matching helpers it is built from, and the bootstrap policy the CLI stores when a
cluster is created.

Rules:
- Members of `system:masters` are allowed everything before RBAC is consulted, as
  upstream's privileged-group authorizer; this is the local admin's (`types.ADMIN`) path
  and costs one membership test.
- Everyone else is checked against the stored RBAC objects exactly as upstream's
  authorizer does: every ClusterRoleBinding (cluster-wide grants), then the RoleBindings
  of the request's namespace. Deny is the default; there are no deny rules.
- A request's name takes part in `resourceNames` matching only where upstream's request
  carries one: create (of the collection), list, watch and deletecollection have no name,
  so a rule limited by resourceNames never permits them.
- Service-account tokens are `kcore-sa.<payload>.<mac>`: base64url (unpadded) of
  "namespace:name:uid" and its HMAC-SHA256 under `config.token_key`. A token is valid only
  while that ServiceAccount exists with that uid and is not being deleted, as upstream's
  legacy token validator.
- Never raises on bad input: an unknown or malformed token authenticates as nobody.

Must not know: request routing, admission, storage. It reads the state only through
`kcore.state.get` and the RBAC kinds' tables.

Mirrors plugin/pkg/auth/authorizer/rbac/rbac.go, pkg/apis/rbac/v1/evaluation_helpers.go,
pkg/registry/rbac/validation/rule.go (appliesTo, role-ref resolution),
staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (the
Forbidden text), pkg/serviceaccount (usernames and groups) and
plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap

from kcore import state as cluster_state
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ObjectMeta, Status
from kcore.api.rbac import (
    GROUP as RBAC_GROUP,
)
from kcore.api.rbac import (
    GROUP_KIND,
    SERVICE_ACCOUNT_KIND,
    USER_KIND,
    ClusterRole,
    ClusterRoleBinding,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    Subject,
)
from kcore.api.user import UserInfo
from kcore.apiserver import errors
from kcore.component.requests import Subresource
from kcore.state import ClusterState

MASTERS: Final = "system:masters"
AUTHENTICATED: Final = "system:authenticated"
ANONYMOUS: Final = "system:anonymous"
SERVICE_ACCOUNTS: Final = "system:serviceaccounts"
SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"
SA_TOKEN_PREFIX: Final = "kcore-sa"

VERB_ALL: Final = "*"
API_GROUP_ALL: Final = "*"
RESOURCE_ALL: Final = "*"
NON_RESOURCE_ALL: Final = "*"

# Verbs whose upstream request URL names no object (POST to, or GET of, a collection).
_NAMELESS_VERBS: Final = frozenset({"list", "watch", "deletecollection"})


# --- authentication ----------------------------------------------------------------


def authenticate(state: ClusterState, token: str) -> UserInfo | None:
    """The identity a bearer token proves, or None when it proves none."""
    user = state.config.static_tokens.get(token)
    if user is None:
        user = _service_account_user(state, token)
    if user is None:
        return None
    return _with_authenticated_group(user)


def service_account_token(state: ClusterState, namespace: str, name: str, uid: str) -> str:
    """Mint the (deterministic) bearer token of ServiceAccount namespace/name with uid."""
    payload = f"{namespace}:{name}:{uid}".encode()
    mac = hmac.new(_token_key(state), payload, hashlib.sha256).digest()
    return f"{SA_TOKEN_PREFIX}.{_b64encode(payload)}.{_b64encode(mac)}"


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def service_account_user(namespace: str, name: str, uid: str) -> UserInfo:
    """The UserInfo upstream gives a service account (pkg/serviceaccount.UserInfo)."""
    return UserInfo(
        name=service_account_username(namespace, name),
        groups=(SERVICE_ACCOUNTS, f"{SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED),
        uid=uid,
    )


def _token_key(state: ClusterState) -> bytes:
    return state.config.token_key.encode()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None


def _parse_sa_token(token: str) -> tuple[str, str, str] | None:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != SA_TOKEN_PREFIX or not token.isascii():
        return None
    payload = _b64decode(parts[1])
    if payload is None:
        return None
    try:
        fields = payload.decode().split(":", 2)
    except UnicodeDecodeError:
        return None
    if len(fields) != 3 or not fields[0] or not fields[1]:
        return None
    return fields[0], fields[1], fields[2]


def _service_account_user(state: ClusterState, token: str) -> UserInfo | None:
    parsed = _parse_sa_token(token)
    if parsed is None:
        return None
    namespace, name, uid = parsed
    expected = service_account_token(state, namespace, name, uid)
    if not hmac.compare_digest(expected.encode(), token.encode()):
        return None
    sa = cluster_state.get(state, ObjectKey(kind=Kind.SERVICE_ACCOUNT, namespace=namespace, name=name))
    if sa is None or sa.metadata.uid != uid or sa.metadata.deletion_timestamp is not None:
        return None
    return service_account_user(namespace, name, uid)


def _with_authenticated_group(user: UserInfo) -> UserInfo:
    # Upstream's AuthenticatedGroupAdder: every authenticated user but anonymous.
    if user.name == ANONYMOUS or AUTHENTICATED in user.groups:
        return user
    return attrs.evolve(user, groups=(*user.groups, AUTHENTICATED))


# --- rule matching (pure, over the rbac classes only) ----------------------------------


@attrs.frozen(kw_only=True)
class RequestAttributes:
    """What RBAC sees of a resource request (authorizer.Attributes)."""

    user: UserInfo
    verb: str
    api_group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def request_attributes(
    user: UserInfo, verb: str, kind: Kind, namespace: str, name: str, subresource: Subresource
) -> RequestAttributes:
    """Attributes of a request as upstream's RequestInfo would derive them from the URL."""
    info = kind.info
    nameless = verb in _NAMELESS_VERBS or (verb == "create" and subresource is Subresource.NONE)
    return RequestAttributes(
        user=user,
        verb=verb,
        api_group=info.group,
        resource=info.plural,
        subresource=subresource.value,
        namespace=namespace if info.namespaced else "",
        name="" if nameless else name,
    )


def verb_matches(rule: PolicyRule, verb: str) -> bool:
    return any(v in (VERB_ALL, verb) for v in rule.verbs)


def api_group_matches(rule: PolicyRule, group: str) -> bool:
    return any(g in (API_GROUP_ALL, group) for g in rule.api_groups)


def resource_matches(rule: PolicyRule, combined_resource: str, subresource: str) -> bool:
    """"*", an exact "pods" / "pods/status", or "*/status" for any resource's subresource."""
    for r in rule.resources:
        if r in (RESOURCE_ALL, combined_resource):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: PolicyRule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in (NON_RESOURCE_ALL, path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(rule: PolicyRule, request: RequestAttributes) -> bool:
    """Upstream RuleAllows for a resource request."""
    return (
        verb_matches(rule, request.verb)
        and api_group_matches(rule, request.api_group)
        and resource_matches(rule, request.combined_resource, request.subresource)
        and resource_name_matches(rule, request.name)
    )


def rules_allow(rules: Iterable[PolicyRule], request: RequestAttributes) -> bool:
    return any(rule_allows(rule, request) for rule in rules)


def applies_to(user: UserInfo, subject: Subject, binding_namespace: str) -> bool:
    """Upstream appliesToUser: a ServiceAccount subject without a namespace means the
    binding's own namespace (and so never matches from a ClusterRoleBinding)."""
    if subject.kind == USER_KIND:
        return user.name == subject.name
    if subject.kind == GROUP_KIND:
        return subject.name in user.groups
    if subject.kind == SERVICE_ACCOUNT_KIND:
        namespace = subject.namespace or binding_namespace
        return bool(namespace) and user.name == service_account_username(namespace, subject.name)
    return False


def forbidden_reason(request: RequestAttributes) -> str:
    """Upstream forbiddenMessage: `User "bob" cannot get resource "pods" in API group ""
    in the namespace "default"` (or `at the cluster scope`)."""
    head = (
        f"User {_q(request.user.name)} cannot {request.verb} resource "
        f"{_q(request.combined_resource)} in API group {_q(request.api_group)}"
    )
    if request.namespace:
        return f"{head} in the namespace {_q(request.namespace)}"
    return f"{head} at the cluster scope"


def _q(text: str) -> str:
    # Go's %q for the printable strings Kubernetes names are made of.
    return json.dumps(text, ensure_ascii=False)


# --- authorization against the stored policy -------------------------------------------


def authorize(
    state: ClusterState,
    user: UserInfo,
    verb: str,
    kind: Kind,
    namespace: str,
    name: str,
    subresource: Subresource,
) -> Status | None:
    """None when `user` may `verb` the object; otherwise the 403 Forbidden upstream sends."""
    if MASTERS in user.groups:
        return None
    request = request_attributes(user, verb, kind, namespace, name, subresource)
    if rbac_allows(state, request):
        return None
    return errors.forbidden(kind, request.name, forbidden_reason(request))


def rbac_allows(state: ClusterState, request: RequestAttributes) -> bool:
    """Whether a stored binding permits the request (RBAC alone, no masters short cut)."""
    # Table scans, unsorted: the answer is a boolean, so iteration order cannot leak out,
    # and list_objects would sort (or walk every key of the namespace) per request.
    for crb in _table(state, Kind.CLUSTER_ROLE_BINDING):
        if isinstance(crb, ClusterRoleBinding) and _binding_allows(
            state, crb.subjects, crb.role_ref, "", request
        ):
            return True
    if not request.namespace:
        return False
    for rb in _table(state, Kind.ROLE_BINDING):
        if (
            isinstance(rb, RoleBinding)
            and rb.metadata.namespace == request.namespace
            and _binding_allows(
                state, rb.subjects, rb.role_ref, rb.metadata.namespace, request
            )
        ):
            return True
    return False


def _binding_allows(
    state: ClusterState,
    subjects: tuple[Subject, ...],
    role_ref: RoleRef,
    binding_namespace: str,
    request: RequestAttributes,
) -> bool:
    if not any(applies_to(request.user, s, binding_namespace) for s in subjects):
        return False
    return rules_allow(role_ref_rules(state, role_ref, binding_namespace), request)


def role_ref_rules(state: ClusterState, role_ref: RoleRef, binding_namespace: str) -> tuple[PolicyRule, ...]:
    """The rules a binding's roleRef grants; none when the role is missing or the ref is
    malformed (upstream logs a resolution error and grants nothing from it)."""
    if role_ref.api_group != RBAC_GROUP:
        return ()
    if role_ref.kind == Kind.ROLE.value and binding_namespace:
        key = ObjectKey(kind=Kind.ROLE, namespace=binding_namespace, name=role_ref.name)
    elif role_ref.kind == Kind.CLUSTER_ROLE.value:
        key = ObjectKey(kind=Kind.CLUSTER_ROLE, namespace="", name=role_ref.name)
    else:
        return ()
    role = cluster_state.get(state, key)
    if isinstance(role, Role | ClusterRole):
        return role.rules
    return ()


def _table(state: ClusterState, kind: Kind) -> Iterable[ApiObject]:
    table = state.tables.get(kind)
    return () if table is None else table.values()


# --- bootstrap policy ----------------------------------------------------------------

_READ: Final = ("get", "list", "watch")
_WRITE: Final = ("create", "delete", "deletecollection", "patch", "update")
_ALL_VERBS: Final = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _rule(groups: tuple[str, ...], resources: tuple[str, ...], verbs: tuple[str, ...]) -> PolicyRule:
    return PolicyRule(api_groups=groups, resources=resources, verbs=verbs)


# Upstream's system:aggregate-to-view, -edit and -admin, restricted to what kcore serves.
_VIEW_RULES: Final = (
    _rule(
        ("",),
        (
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ),
        _READ,
    ),
    _rule(
        ("",),
        (
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ),
        _READ,
    ),
    _rule(("",), ("namespaces",), _READ),
    _rule(
        ("apps",),
        (
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ),
        _READ,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers", "horizontalpodautoscalers/status"), _READ),
    _rule(("batch",), ("cronjobs", "cronjobs/status", "jobs", "jobs/status"), _READ),
    _rule(("discovery.k8s.io",), ("endpointslices",), _READ),
    _rule(("networking.k8s.io",), ("ingresses", "ingresses/status", "networkpolicies"), _READ),
    _rule(("policy",), ("poddisruptionbudgets", "poddisruptionbudgets/status"), _READ),
)

_EDIT_ONLY_RULES: Final = (
    _rule(
        ("",),
        ("pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"),
        _READ,
    ),
    _rule(("",), ("serviceaccounts",), ("impersonate",)),
    _rule(("",), ("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"), _WRITE),
    _rule(("",), ("pods/eviction",), ("create",)),
    _rule(
        ("",),
        (
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ),
        _WRITE,
    ),
    _rule(("",), ("serviceaccounts/token",), ("create",)),
    _rule(
        ("apps",),
        (
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ),
        _WRITE,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers",), _WRITE),
    _rule(("batch",), ("cronjobs", "jobs"), _WRITE),
    _rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), _WRITE),
    _rule(("policy",), ("poddisruptionbudgets",), _WRITE),
    _rule(("coordination.k8s.io",), ("leases",), _ALL_VERBS),
)

_ADMIN_ONLY_RULES: Final = (_rule((RBAC_GROUP,), ("rolebindings", "roles"), _ALL_VERBS),)

_BOOTSTRAP_LABEL: Final = ("kubernetes.io/bootstrapping", "rbac-defaults")
_AUTOUPDATE: Final = ("rbac.authorization.kubernetes.io/autoupdate", "true")


def _bootstrap_meta(name: str, *labels: tuple[str, str]) -> ObjectMeta:
    return ObjectMeta(
        name=name,
        labels=pmap(dict((_BOOTSTRAP_LABEL, *labels))),
        annotations=pmap(dict((_AUTOUPDATE,))),
    )


def _cluster_role(name: str, rules: tuple[PolicyRule, ...], *labels: tuple[str, str]) -> ClusterRole:
    return ClusterRole(metadata=_bootstrap_meta(name, *labels), rules=rules)


def _group_binding(name: str, role: str, group: str) -> ClusterRoleBinding:
    return ClusterRoleBinding(
        metadata=_bootstrap_meta(name),
        subjects=(Subject(kind=GROUP_KIND, api_group=RBAC_GROUP, name=group),),
        role_ref=RoleRef(api_group=RBAC_GROUP, kind=Kind.CLUSTER_ROLE.value, name=role),
    )


def bootstrap_policy() -> tuple[ApiObject, ...]:
    """The default ClusterRoles and ClusterRoleBindings a new cluster starts with.

    admin, edit and view carry their aggregated rules directly (kcore runs no
    clusterrole-aggregation controller), so admin ⊇ edit ⊇ view as upstream.
    """
    edit_rules = _EDIT_ONLY_RULES + _VIEW_RULES
    return (
        _cluster_role(
            "cluster-admin",
            (
                _rule((API_GROUP_ALL,), (RESOURCE_ALL,), (VERB_ALL,)),
                PolicyRule(non_resource_urls=(NON_RESOURCE_ALL,), verbs=(VERB_ALL,)),
            ),
        ),
        _cluster_role("admin", _ADMIN_ONLY_RULES + edit_rules),
        _cluster_role("edit", edit_rules, ("rbac.authorization.k8s.io/aggregate-to-admin", "true")),
        _cluster_role("view", _VIEW_RULES, ("rbac.authorization.k8s.io/aggregate-to-edit", "true")),
        _cluster_role(
            "system:basic-user",
            (
                _rule(
                    ("authorization.k8s.io",),
                    ("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
                    ("create",),
                ),
                _rule(("authentication.k8s.io",), ("selfsubjectreviews",), ("create",)),
            ),
        ),
        _group_binding("cluster-admin", "cluster-admin", MASTERS),
        _group_binding("system:basic-user", "system:basic-user", AUTHENTICATED),
    )

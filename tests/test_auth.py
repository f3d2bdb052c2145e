"""Authentication and RBAC authorization (kcore.apiserver.auth), one behaviour per test."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore import state as cluster_state
from kcore.api import rbac
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, Status, StatusDetails, StatusReason, Time
from kcore.api.rbac import (
    PolicyRule,
    RoleBinding,
    RoleRef,
    Subject,
)
from kcore.api.user import ADMIN, UserInfo
from kcore.apiserver import auth
from kcore.component.requests import Subresource
from kcore.state import ClusterConfig, ClusterState
from tests.builders import (
    a_cluster_role,
    a_cluster_role_binding,
    a_role,
    a_role_binding,
    a_rule,
    a_service_account,
)

BOB = UserInfo(name="bob", groups=("system:authenticated",))
ALICE = UserInfo(name="alice", groups=("devs", "system:authenticated"))
KEY = "test-token-key"


def a_state(*objects: ApiObject, tokens: dict[str, UserInfo] | None = None) -> ClusterState:
    state = cluster_state.empty_state(ClusterConfig(static_tokens=pmap(tokens or {}), token_key=KEY))
    for obj in objects:
        state = cluster_state.put(state, obj)
    return state


def user(name: str) -> Subject:
    return Subject(kind="User", api_group=rbac.GROUP, name=name)


def group(name: str) -> Subject:
    return Subject(kind="Group", api_group=rbac.GROUP, name=name)


def allowed(
    state: ClusterState,
    who: UserInfo,
    verb: str,
    kind: Kind = Kind.POD,
    namespace: str = "default",
    name: str = "x",
    subresource: Subresource = Subresource.NONE,
) -> bool:
    return auth.authorize(state, who, verb, kind, namespace, name, subresource) is None


def pod_reader_in(namespace: str, *subjects: Subject) -> tuple[ApiObject, ...]:
    return (
        a_role("pod-reader", namespace, a_rule(verbs=("get", "list"))),
        a_role_binding("read-pods", namespace, "Role", "pod-reader", *subjects),
    )


# --- authentication ------------------------------------------------------------------


def test_a_static_token_authenticates_as_its_user_with_system_authenticated_added() -> None:
    state = a_state(tokens={"s3cret": UserInfo(name="carol", groups=("ops",))})
    assert auth.authenticate(state, "s3cret") == UserInfo(
        name="carol", groups=("ops", "system:authenticated")
    )


def test_an_unknown_token_authenticates_as_nobody() -> None:
    state = a_state(tokens={"s3cret": BOB})
    assert auth.authenticate(state, "guess") is None


def test_a_service_account_token_authenticates_as_the_service_account() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"))
    token = auth.service_account_token(state, "team", "builder", "uid-1")
    assert auth.authenticate(state, token) == UserInfo(
        name="system:serviceaccount:team:builder",
        groups=("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"),
        uid="uid-1",
    )


def test_a_service_account_token_is_deterministic_for_a_key() -> None:
    state = a_state()
    first = auth.service_account_token(state, "team", "builder", "uid-1")
    assert first == auth.service_account_token(a_state(), "team", "builder", "uid-1")
    assert first.startswith("kcore-sa.")


def test_a_service_account_token_with_a_wrong_mac_is_rejected() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"))
    other_key = attrs.evolve(state, config=attrs.evolve(state.config, token_key="other"))
    forged = auth.service_account_token(other_key, "team", "builder", "uid-1")
    assert auth.authenticate(state, forged) is None


def test_a_service_account_token_with_a_swapped_payload_is_rejected() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"), a_service_account("admin", "team", uid="uid-2"))
    good = auth.service_account_token(state, "team", "builder", "uid-1")
    other = auth.service_account_token(state, "team", "admin", "uid-2")
    spliced = ".".join((*other.split(".")[:2], good.split(".")[2]))
    assert auth.authenticate(state, spliced) is None


def test_a_service_account_token_stops_working_when_the_account_is_deleted() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"))
    token = auth.service_account_token(state, "team", "builder", "uid-1")
    gone = cluster_state.remove(state, cluster_state.key_of(a_service_account("builder", "team", uid="uid-1")))
    assert auth.authenticate(gone, token) is None


def test_a_service_account_token_does_not_work_for_a_recreated_account() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"))
    token = auth.service_account_token(state, "team", "builder", "uid-1")
    recreated = cluster_state.put(state, a_service_account("builder", "team", uid="uid-2"))
    assert auth.authenticate(recreated, token) is None


def test_a_service_account_token_stops_working_once_deletion_starts() -> None:
    sa = a_service_account("builder", "team", uid="uid-1")
    state = a_state(sa)
    token = auth.service_account_token(state, "team", "builder", "uid-1")
    deleting = attrs.evolve(sa, metadata=attrs.evolve(sa.metadata, deletion_timestamp=Time(5.0)))
    assert auth.authenticate(cluster_state.put(state, deleting), token) is None


def test_malformed_service_account_tokens_authenticate_as_nobody() -> None:
    state = a_state(a_service_account("builder", "team", uid="uid-1"))
    for token in ("kcore-sa..", "kcore-sa.!!!.abc", "kcore-sa.dGVhbQ.abc", "kcore-sa.é.x", "", "a.b.c.d"):
        assert auth.authenticate(state, token) is None, token


# --- rule matching -------------------------------------------------------------------


def attrs_of(
    verb: str = "get",
    kind: Kind = Kind.POD,
    name: str = "x",
    subresource: Subresource = Subresource.NONE,
) -> auth.RequestAttributes:
    return auth.request_attributes(BOB, verb, kind, "default", name, subresource)


def test_a_rule_matches_group_resource_and_verb_exactly() -> None:
    rule = a_rule(verbs=("get",), groups=("apps",), resources=("deployments",))
    assert auth.rule_allows(rule, attrs_of(kind=Kind.DEPLOYMENT))
    assert not auth.rule_allows(rule, attrs_of(verb="delete", kind=Kind.DEPLOYMENT))
    assert not auth.rule_allows(rule, attrs_of(kind=Kind.REPLICA_SET))
    assert not auth.rule_allows(rule, attrs_of(kind=Kind.POD))


def test_wildcards_match_any_verb_resource_and_group() -> None:
    rule = a_rule(verbs=("*",), groups=("*",), resources=("*",))
    for kind in (Kind.POD, Kind.DEPLOYMENT, Kind.INGRESS, Kind.ROLE):
        assert auth.rule_allows(rule, attrs_of(verb="deletecollection", kind=kind))
    assert auth.rule_allows(rule, attrs_of(verb="update", subresource=Subresource.STATUS))


def test_a_resource_rule_does_not_grant_its_subresources() -> None:
    rule = a_rule(verbs=("update",), resources=("pods",))
    assert not auth.rule_allows(rule, attrs_of(verb="update", subresource=Subresource.STATUS))


def test_a_subresource_rule_grants_only_that_subresource() -> None:
    rule = a_rule(verbs=("update",), resources=("pods/status",))
    assert auth.rule_allows(rule, attrs_of(verb="update", subresource=Subresource.STATUS))
    assert not auth.rule_allows(rule, attrs_of(verb="update"))
    assert not auth.rule_allows(rule, attrs_of(verb="create", subresource=Subresource.BINDING))


def test_a_star_subresource_rule_grants_that_subresource_of_every_resource() -> None:
    rule = a_rule(verbs=("update",), groups=("*",), resources=("*/scale",))
    assert auth.rule_allows(rule, attrs_of(verb="update", kind=Kind.DEPLOYMENT, subresource=Subresource.SCALE))
    assert auth.rule_allows(rule, attrs_of(verb="update", kind=Kind.STATEFUL_SET, subresource=Subresource.SCALE))
    assert not auth.rule_allows(rule, attrs_of(verb="update", kind=Kind.DEPLOYMENT))
    assert not auth.rule_allows(rule, attrs_of(verb="update", subresource=Subresource.STATUS))


def test_resource_slash_star_is_not_a_wildcard_upstream() -> None:
    # Upstream matches "pods/*" only literally (evaluation_helpers.go ResourceMatches).
    rule = a_rule(verbs=("update",), resources=("pods/*",))
    assert not auth.rule_allows(rule, attrs_of(verb="update", subresource=Subresource.STATUS))


def test_resource_names_restrict_the_rule_to_those_objects() -> None:
    rule = a_rule(verbs=("get", "update"), names=("web",))
    assert auth.rule_allows(rule, attrs_of(name="web"))
    assert not auth.rule_allows(rule, attrs_of(name="db"))


def test_resource_names_never_grant_create_or_list() -> None:
    # Upstream: create and list requests carry no name, so a resourceNames rule misses.
    rule = a_rule(verbs=("create", "list", "watch", "deletecollection"), names=("web",))
    for verb in ("create", "list", "watch", "deletecollection"):
        assert not auth.rule_allows(rule, attrs_of(verb=verb, name="web")), verb


def test_resource_names_do_grant_create_on_a_named_subresource() -> None:
    rule = a_rule(verbs=("create",), resources=("pods/binding",), names=("web",))
    assert auth.rule_allows(rule, attrs_of(verb="create", name="web", subresource=Subresource.BINDING))


def test_non_resource_urls_match_exactly_or_by_star_suffix() -> None:
    rule = PolicyRule(verbs=("get",), non_resource_urls=("/healthz", "/apis/*"))
    assert auth.non_resource_url_matches(rule, "/healthz")
    assert auth.non_resource_url_matches(rule, "/apis/apps/v1")
    assert not auth.non_resource_url_matches(rule, "/metrics")


def test_a_service_account_subject_without_namespace_means_the_bindings_namespace() -> None:
    sa_user = auth.service_account_user("team", "builder", "u")
    subject = Subject(kind="ServiceAccount", name="builder")
    assert auth.applies_to(sa_user, subject, "team")
    assert not auth.applies_to(sa_user, subject, "other")
    assert not auth.applies_to(sa_user, subject, "")


# --- authorization -------------------------------------------------------------------


def test_system_masters_are_allowed_everything_without_any_policy() -> None:
    state = a_state()
    assert allowed(state, ADMIN, "delete", Kind.NODE, "", "node-1")
    assert allowed(state, ADMIN, "create", Kind.POD, "default", "x", Subresource.BINDING)


def test_nobody_else_is_allowed_anything_without_policy() -> None:
    assert not allowed(a_state(), BOB, "get")


def test_a_role_binding_grants_in_its_namespace_only() -> None:
    state = a_state(*pod_reader_in("team", user("bob")))
    assert allowed(state, BOB, "get", namespace="team")
    assert allowed(state, BOB, "list", namespace="team")
    assert not allowed(state, BOB, "get", namespace="default")
    assert not allowed(state, BOB, "list", namespace="")
    assert not allowed(state, BOB, "delete", namespace="team")


def test_a_role_binding_grants_only_its_subjects() -> None:
    state = a_state(*pod_reader_in("team", user("bob")))
    assert not allowed(state, ALICE, "get", namespace="team")


def test_a_role_binding_to_a_cluster_role_grants_in_the_bindings_namespace_only() -> None:
    state = a_state(
        a_cluster_role("pod-reader", a_rule()),
        a_role_binding("read", "team", "ClusterRole", "pod-reader", user("bob")),
    )
    assert allowed(state, BOB, "get", namespace="team")
    assert not allowed(state, BOB, "get", namespace="default")


def test_a_role_binding_cannot_use_a_role_of_another_namespace() -> None:
    state = a_state(
        a_role("pod-reader", "other", a_rule()),
        a_role_binding("read", "team", "Role", "pod-reader", user("bob")),
    )
    assert not allowed(state, BOB, "get", namespace="team")


def test_a_cluster_role_binding_grants_in_every_namespace_and_cluster_wide() -> None:
    state = a_state(
        a_cluster_role("reader", a_rule(verbs=("get", "list"), resources=("pods", "nodes"))),
        a_cluster_role_binding("read", "reader", user("bob")),
    )
    assert allowed(state, BOB, "get", namespace="team")
    assert allowed(state, BOB, "get", namespace="default")
    assert allowed(state, BOB, "list", namespace="")
    assert allowed(state, BOB, "get", Kind.NODE, "", "node-1")


def test_a_binding_to_a_missing_role_grants_nothing() -> None:
    state = a_state(a_cluster_role_binding("read", "absent", user("bob")))
    assert not allowed(state, BOB, "get")


def test_a_group_subject_grants_to_every_member() -> None:
    state = a_state(*pod_reader_in("team", group("devs")))
    assert allowed(state, ALICE, "get", namespace="team")
    assert not allowed(state, BOB, "get", namespace="team")


def test_a_service_account_subject_grants_to_that_account() -> None:
    builder = auth.service_account_user("team", "builder", "u")
    subject = Subject(kind="ServiceAccount", name="builder", namespace="team")
    state = a_state(*pod_reader_in("team", subject))
    assert allowed(state, builder, "get", namespace="team")
    assert not allowed(state, auth.service_account_user("other", "builder", "u"), "get", namespace="team")


def test_the_service_accounts_group_of_a_namespace_can_be_bound() -> None:
    state = a_state(*pod_reader_in("team", group("system:serviceaccounts:team")))
    assert allowed(state, auth.service_account_user("team", "any", "u"), "get", namespace="team")
    assert not allowed(state, auth.service_account_user("other", "any", "u"), "get", namespace="team")


def test_a_namespaced_kinds_namespace_is_ignored_for_cluster_scoped_kinds() -> None:
    state = a_state(*pod_reader_in("team", user("bob")))
    assert not allowed(state, BOB, "get", Kind.NODE, "team", "node-1")


def test_resource_names_in_a_bound_role_are_honoured() -> None:
    state = a_state(
        a_role("one-pod", "team", a_rule(verbs=("get",), names=("web",))),
        a_role_binding("b", "team", "Role", "one-pod", user("bob")),
    )
    assert allowed(state, BOB, "get", namespace="team", name="web")
    assert not allowed(state, BOB, "get", namespace="team", name="db")


def test_a_status_rule_in_a_bound_role_grants_status_updates_only() -> None:
    state = a_state(
        a_cluster_role("status-writer", a_rule(verbs=("update", "patch"), resources=("pods/status",))),
        a_cluster_role_binding("b", "status-writer", user("bob")),
    )
    assert allowed(state, BOB, "update", subresource=Subresource.STATUS)
    assert not allowed(state, BOB, "update")


def test_forbidden_names_the_user_verb_resource_group_and_namespace() -> None:
    status = auth.authorize(a_state(), BOB, "get", Kind.POD, "default", "x", Subresource.NONE)
    assert status == Status(
        message='pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" '
        'in the namespace "default"',
        reason=StatusReason.FORBIDDEN,
        details=StatusDetails(name="x", group="", kind="pods"),
        code=403,
    )


def test_forbidden_at_cluster_scope_says_so() -> None:
    status = auth.authorize(a_state(), BOB, "list", Kind.NODE, "", "", Subresource.NONE)
    assert status is not None
    assert status.message == (
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'
    )


def test_forbidden_names_a_subresource_with_its_resource() -> None:
    status = auth.authorize(a_state(), BOB, "create", Kind.POD, "default", "x", Subresource.BINDING)
    assert status is not None
    assert status.message == (
        'pods "x" is forbidden: User "bob" cannot create resource "pods/binding" in API group "" '
        'in the namespace "default"'
    )


def test_forbidden_qualifies_a_grouped_resource_and_omits_the_name_of_a_create() -> None:
    status = auth.authorize(a_state(), BOB, "create", Kind.DEPLOYMENT, "team", "web", Subresource.NONE)
    assert status is not None
    assert status.message == (
        'deployments.apps is forbidden: User "bob" cannot create resource "deployments" '
        'in API group "apps" in the namespace "team"'
    )


# --- bootstrap policy ----------------------------------------------------------------


def test_bootstrap_policy_makes_system_masters_cluster_admin_through_rbac_too() -> None:
    state = a_state(*auth.bootstrap_policy())
    # A masters member that lost the short cut would still be allowed by the binding.
    crb_only = UserInfo(name="root", groups=("system:masters",))
    request = auth.request_attributes(crb_only, "delete", Kind.NODE, "", "n", Subresource.NONE)
    assert auth.rbac_allows(state, request)


def test_bootstrap_view_reads_but_does_not_write() -> None:
    state = a_state(
        *auth.bootstrap_policy(), a_role_binding("v", "team", "ClusterRole", "view", user("bob"))
    )
    assert allowed(state, BOB, "list", Kind.DEPLOYMENT, "team")
    assert allowed(state, BOB, "get", Kind.DEPLOYMENT, "team", "web", Subresource.SCALE)
    assert not allowed(state, BOB, "get", Kind.SECRET, "team", "s")
    assert not allowed(state, BOB, "create", Kind.POD, "team")


def test_bootstrap_edit_writes_workloads_but_not_rbac_and_admin_writes_rbac() -> None:
    state = a_state(
        *auth.bootstrap_policy(),
        a_role_binding("e", "team", "ClusterRole", "edit", user("bob")),
        a_role_binding("a", "team", "ClusterRole", "admin", user("alice")),
    )
    assert allowed(state, BOB, "update", Kind.DEPLOYMENT, "team", "web", Subresource.SCALE)
    assert allowed(state, BOB, "get", Kind.SECRET, "team", "s")
    assert not allowed(state, BOB, "create", Kind.ROLE_BINDING, "team")
    assert allowed(state, ALICE, "create", Kind.ROLE_BINDING, "team")
    assert allowed(state, ALICE, "delete", Kind.POD, "team")


def test_bootstrap_policy_objects_are_named_uniquely_and_deterministic() -> None:
    objs = auth.bootstrap_policy()
    keys = [cluster_state.key_of(o) for o in objs]
    assert len(set(keys)) == len(keys)
    assert auth.bootstrap_policy() == objs


# --- rbac defaulting -----------------------------------------------------------------


def test_rbac_default_sets_subject_api_groups_by_kind() -> None:
    binding = RoleBinding(
        metadata=ObjectMeta(name="b", namespace="team"),
        subjects=(
            Subject(kind="User", name="bob"),
            Subject(kind="Group", name="devs"),
            Subject(kind="ServiceAccount", name="builder", namespace="team"),
        ),
        role_ref=RoleRef(api_group=rbac.GROUP, kind="Role", name="r"),
    )
    defaulted = rbac.default(binding)
    assert isinstance(defaulted, RoleBinding)
    assert [s.api_group for s in defaulted.subjects] == [rbac.GROUP, rbac.GROUP, ""]
    assert rbac.default(defaulted) == defaulted


def test_rbac_default_leaves_other_kinds_unchanged() -> None:
    sa = a_service_account("builder", "team", uid="u")
    assert rbac.default(sa) is sa

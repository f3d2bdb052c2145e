"""How `handle` wires authorization and admission: 403 first, 422 with causes, nothing stored."""

from __future__ import annotations

import attrs

from kcore.api.apps import Deployment
from kcore.api.core import Service
from kcore.api.kinds import Kind
from kcore.api.meta import Status, StatusCause, StatusReason, Time
from kcore.api.user import UserInfo
from kcore.apiserver import handle
from kcore.apiserver.auth import bootstrap_policy
from kcore.component.requests import Create, Delete, Get, ListObjects, Update
from kcore.state import cluster_ip_owner, get
from tests.builders import (
    T0,
    a_config_map,
    a_deployment,
    a_pod,
    a_service,
    cluster_with,
    key,
    with_meta,
)

NOW = Time(T0)
BOB = UserInfo(name="bob", groups=("system:authenticated",))


def test_a_request_without_a_permitting_rule_is_forbidden_and_changes_nothing() -> None:
    s0 = cluster_with(*bootstrap_policy())
    s1, response, events = handle(s0, Create(obj=a_pod("x"), user=BOB), NOW)
    assert response.code == 403
    assert isinstance(response.body, Status)
    assert response.body.reason is StatusReason.FORBIDDEN
    assert response.body.message == (
        'pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "default"'
    )
    assert (s1, events) == (s0, ())


def test_authorization_comes_before_existence() -> None:
    s = cluster_with()
    _, response, _ = handle(s, Get(key=key(Kind.POD, "missing"), user=BOB), NOW)
    assert response.code == 403
    _, listed, _ = handle(s, ListObjects(kind=Kind.POD, namespace="default", user=BOB), NOW)
    assert listed.code == 403


def test_an_invalid_object_is_422_with_one_cause_per_field_and_stores_nothing() -> None:
    s0 = cluster_with()
    bad = with_meta(a_deployment(replicas=-1), name="Bad_Name")
    s1, response, events = handle(s0, Create(obj=bad), NOW)
    assert response.code == 422
    assert isinstance(response.body, Status) and response.body.details is not None
    assert response.body.reason is StatusReason.INVALID
    fields = [c.field for c in response.body.details.causes]
    assert fields == ["metadata.name", "spec.replicas"]
    assert all(isinstance(c, StatusCause) and c.reason == "FieldValueInvalid" for c in response.body.details.causes)
    assert (s1, events) == (s0, ())


def test_an_invalid_update_is_422_and_keeps_the_stored_object() -> None:
    s0 = cluster_with(a_deployment())
    old = get(s0, key(Kind.DEPLOYMENT, "web"))
    assert isinstance(old, Deployment)
    bad = attrs.evolve(old, spec=attrs.evolve(old.spec, replicas=-3))
    s1, response, events = handle(s0, Update(obj=bad), NOW)
    assert response.code == 422
    assert (s1, events) == (s0, ())


def test_creating_in_a_missing_namespace_is_not_found() -> None:
    s0 = cluster_with()
    _, response, _ = handle(s0, Create(obj=a_config_map("c", "nope")), NOW)
    assert response.code == 404
    assert isinstance(response.body, Status)
    assert response.body.message == 'namespaces "nope" not found'


def test_a_services_cluster_ip_is_allocated_and_released_on_delete() -> None:
    s0 = cluster_with(a_service("web"))
    svc = get(s0, key(Kind.SERVICE, "web"))
    assert isinstance(svc, Service) and svc.spec.cluster_ip
    assert cluster_ip_owner(s0, svc.spec.cluster_ip) == key(Kind.SERVICE, "web")
    s1, response, _ = handle(s0, Delete(key=key(Kind.SERVICE, "web")), NOW)
    assert response.code == 200
    assert cluster_ip_owner(s1, svc.spec.cluster_ip) is None


def test_the_default_namespace_cannot_be_deleted() -> None:
    s0 = cluster_with()
    s1, response, events = handle(s0, Delete(key=key(Kind.NAMESPACE, "default")), NOW)
    assert response.code == 403
    assert (s1, events) == (s0, ())

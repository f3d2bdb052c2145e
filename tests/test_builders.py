"""The builders (`tests/builders.py`): one per kind, each object valid as a user submits it."""

from __future__ import annotations

import attrs

from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject
from kcore.apiserver import handle
from kcore.component.requests import Create
from kcore.state import list_objects
from tests.builders import (
    T0,
    a_claim_template,
    a_cluster_role,
    a_cluster_role_binding,
    a_config_map,
    a_cron_job,
    a_daemon_set,
    a_deployment,
    a_job,
    a_lease,
    a_limit_range,
    a_namespace,
    a_network_policy,
    a_node,
    a_pdb,
    a_pod,
    a_pod_metrics,
    a_priority_class,
    a_pvc,
    a_replica_set,
    a_replication_controller,
    a_resource_quota,
    a_role,
    a_role_binding,
    a_rule,
    a_secret,
    a_service,
    a_service_account,
    a_stateful_set,
    an_endpoint_slice,
    an_endpoints,
    an_event,
    an_hpa,
    an_ingress,
    an_ingress_class,
    cluster_with,
    key,
)

ONE_OF_EACH: tuple[ApiObject, ...] = (
    a_namespace("team"),
    a_node("node-2"),
    a_pod(),
    a_service(),
    an_endpoints(),
    an_event(a_pod()),
    a_config_map(),
    a_secret(data={"token": "s3cret"}),
    a_service_account("robot"),
    a_resource_quota(pods="10"),
    a_limit_range(default={"cpu": "500m"}),
    a_pvc(),
    a_replication_controller("rc"),
    a_replica_set("rs"),
    a_deployment(),
    a_daemon_set(),
    a_stateful_set("db"),
    a_job(),
    a_cron_job(),
    an_hpa(),
    an_ingress(),
    an_ingress_class(),
    a_network_policy(),
    an_endpoint_slice(),
    a_role("pod-reader", "default", a_rule(verbs=("get", "list"))),
    a_role_binding("read-pods", "default", "Role", "pod-reader"),
    a_cluster_role("node-reader", a_rule(resources=("nodes",))),
    a_cluster_role_binding("read-nodes", "node-reader"),
    a_lease(namespace="default"),
    a_pdb(min_available=1),
    a_priority_class(),
    a_pod_metrics("web"),
)


def test_every_kind_has_a_builder() -> None:
    assert {obj.KIND for obj in ONE_OF_EACH} == set(Kind)


def test_the_apiserver_accepts_every_built_object_as_it_is() -> None:
    state = cluster_with()
    for obj in ONE_OF_EACH:
        state, response, _ = handle(state, Create(obj=obj), T0)
        assert response.code == 201, (obj.KIND, response.body)


def test_a_workload_selects_its_templates_labels_app_name_unless_told() -> None:
    assert a_stateful_set("db").spec.selector.match_labels == a_stateful_set("db").spec.template.metadata.labels
    assert dict(a_daemon_set().spec.template.metadata.labels) == {"app": "agent"}
    assert dict(a_replication_controller("rc", labels={"tier": "web"}).spec.selector) == {"tier": "web"}
    assert dict(a_job("pi").spec.template.metadata.labels) == {"app": "pi"}


def test_a_workloads_min_ready_seconds_is_upstreams_zero_unless_told() -> None:
    assert (a_replica_set().spec.min_ready_seconds, a_replica_set(min_ready_seconds=10).spec.min_ready_seconds) == (0, 10)
    assert a_replica_set(min_ready_seconds=10) == attrs.evolve(
        a_replica_set(), spec=attrs.evolve(a_replica_set().spec, min_ready_seconds=10)
    )


def test_a_stateful_sets_claims_are_templates_without_a_namespace() -> None:
    assert a_stateful_set(claims=("www", "logs")).spec.volume_claim_templates == (a_claim_template("www"), a_claim_template("logs"))
    assert (a_claim_template().metadata.namespace, a_pvc().metadata.namespace) == ("", "default")


def test_cluster_with_creates_namespaces_first_then_the_objects_through_the_apiserver() -> None:
    state = cluster_with(a_node(), a_pod(namespace="team"), namespaces=("default", "team"))
    assert [n.metadata.name for n in list_objects(state, Kind.NAMESPACE)] == ["default", "team"]
    (node,) = list_objects(state, Kind.NODE)
    assert isinstance(node, Node) and node.metadata.uid != "" and node.metadata.creation_timestamp == T0
    assert [p.metadata.name for p in list_objects(state, Kind.POD, "team")] == ["web"]
    assert key(Kind.NODE, "node-1", "ignored") == key(Kind.NODE, "node-1", "")

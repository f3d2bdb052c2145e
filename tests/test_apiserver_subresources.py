"""Subresources and patch requests through `handle`: scale, binding, eviction, PATCH."""

from __future__ import annotations

import json

import attrs
from pyrsistent import pmap

from kcore.api.apps import Deployment
from kcore.api.core import ConfigMap
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import Pod, PodCondition, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors, handle
from kcore.component.requests import (
    Bind,
    Evict,
    GetScale,
    Patch,
    PatchType,
    Response,
    Scale,
    Subresource,
    UpdateScale,
)
from kcore.state import ClusterState, get
from tests.builders import T0, a_config_map, a_deployment, a_pod, cluster_with, key

NOW = Time(T0 + 20)
POD = key(Kind.POD, "web")
DEPLOY = key(Kind.DEPLOYMENT, "web")
CM = key(Kind.CONFIG_MAP, "cfg")


def _stored(state: ClusterState, k: object) -> ApiObject:
    obj = get(state, k)  # type: ignore[arg-type]
    assert obj is not None
    return obj


# --- scale ----------------------------------------------------------------------------------


def test_get_scale_reads_replicas_and_selector() -> None:
    s = cluster_with(a_deployment(replicas=3, labels={"app": "web", "tier": "fe"}))
    d = _stored(s, DEPLOY)
    _, response, events = handle(s, GetScale(key=DEPLOY), NOW)
    assert response == Response(
        code=200,
        body=Scale(
            key=DEPLOY,
            replicas=3,
            status_replicas=0,
            selector="app=web,tier=fe",
            resource_version=d.metadata.resource_version,
            uid=d.metadata.uid,
        ),
    )
    assert events == ()


def test_update_scale_writes_spec_replicas_and_bumps_generation() -> None:
    s0 = cluster_with(a_deployment(replicas=3))
    s1, response, events = handle(s0, UpdateScale(key=DEPLOY, replicas=5), NOW)
    d = _stored(s1, DEPLOY)
    assert isinstance(d, Deployment)
    assert (d.spec.replicas, d.metadata.generation, d.metadata.resource_version) == (5, 2, s0.revision + 1)
    assert response == Response(
        code=200,
        body=Scale(key=DEPLOY, replicas=5, selector="app=web", resource_version=s0.revision + 1, uid=d.metadata.uid),
    )
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=d, resource_version=s0.revision + 1),)


def test_update_scale_with_a_stale_version_is_conflict() -> None:
    s0 = cluster_with(a_deployment(replicas=3))
    s1, response, events = handle(s0, UpdateScale(key=DEPLOY, replicas=5, resource_version=1), NOW)
    assert response == Response(code=409, body=errors.stale(DEPLOY))
    assert (s1, events) == (s0, ())


def test_scale_of_a_missing_object_is_not_found() -> None:
    _, response, _ = handle(cluster_with(), GetScale(key=DEPLOY), NOW)
    assert response == Response(code=404, body=errors.not_found(DEPLOY))


def test_scale_of_a_kind_without_scale_is_not_found() -> None:
    s = cluster_with(a_config_map("cfg"))
    _, response, _ = handle(s, GetScale(key=CM), NOW)
    assert response.code == 404


# --- binding --------------------------------------------------------------------------------


def test_bind_sets_the_node_and_the_pod_scheduled_condition() -> None:
    s0 = cluster_with(a_pod())
    old = _stored(s0, POD)
    assert isinstance(old, Pod)
    s1, response, events = handle(s0, Bind(key=POD, node_name="node-1"), NOW)
    rev = s0.revision + 1
    expected = attrs.evolve(
        old,
        metadata=attrs.evolve(old.metadata, resource_version=rev),
        spec=attrs.evolve(old.spec, node_name="node-1"),
        status=attrs.evolve(
            old.status,
            conditions=(PodCondition(type="PodScheduled", status=ConditionStatus.TRUE, last_transition_time=NOW),),
        ),
    )
    assert response == Response(code=201, body=Status(status="Success", code=201))
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=expected, resource_version=rev),)
    assert _stored(s1, POD) == expected
    assert set(s1.pods_by_node["node-1"]) == {POD}


def test_binding_a_bound_pod_is_conflict() -> None:
    s0 = cluster_with(a_pod(node_name="node-1"))
    s1, response, events = handle(s0, Bind(key=POD, node_name="node-2"), NOW)
    assert response == Response(
        code=409, body=errors.conflict(POD, 'pod web is already assigned to node "node-1"')
    )
    assert (s1, events) == (s0, ())


def test_binding_a_missing_pod_is_not_found() -> None:
    _, response, _ = handle(cluster_with(), Bind(key=POD, node_name="n"), NOW)
    assert response == Response(code=404, body=errors.not_found(POD))


# --- eviction -------------------------------------------------------------------------------


def test_evicting_a_bound_pod_marks_it_a_disruption_target_then_starts_its_graceful_deletion() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", grace=30))
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    pod = _stored(s1, POD)
    assert isinstance(pod, Pod)
    m = pod.metadata
    assert response == Response(code=201, body=Status(status="Success", code=201))
    assert (m.deletion_timestamp, m.deletion_grace_period_seconds) == (Time(NOW + 30), 30)
    assert pod.status.conditions[-1] == PodCondition(
        type="DisruptionTarget",
        status=ConditionStatus.TRUE,
        reason="EvictionByEvictionAPI",
        message="Eviction API: evicting",
        last_transition_time=NOW,
    )
    assert [(e.type, e.resource_version) for e in events] == [
        (WatchType.MODIFIED, s0.revision + 1),
        (WatchType.MODIFIED, s0.revision + 2),
    ]


def test_evicting_an_unbound_pod_deletes_it() -> None:
    s0 = cluster_with(a_pod())
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert response.code == 201 and [e.type for e in events] == [WatchType.MODIFIED, WatchType.DELETED]
    assert get(s1, POD) is None


def test_evicting_a_missing_pod_is_not_found() -> None:
    _, response, _ = handle(cluster_with(), Evict(key=POD), NOW)
    assert response == Response(code=404, body=errors.not_found(POD))


# --- patch ----------------------------------------------------------------------------------


def test_a_merge_patch_updates_labels() -> None:
    s0 = cluster_with(a_config_map("cfg", data={"a": "1"}))
    s1, response, events = handle(
        s0, Patch(key=CM, patch_type=PatchType.MERGE, patch='{"metadata": {"labels": {"x": "y"}}, "data": {"a": null, "b": "2"}}'), NOW
    )
    cm = _stored(s1, CM)
    assert isinstance(cm, ConfigMap)
    assert (cm.metadata.labels, cm.data, cm.metadata.resource_version) == (pmap({"x": "y"}), pmap({"b": "2"}), s0.revision + 1)
    assert response == Response(code=200, body=cm)
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=cm, resource_version=s0.revision + 1),)


def test_a_strategic_patch_changes_one_container_image_and_bumps_generation() -> None:
    s0 = cluster_with(a_deployment())
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]}}}}
    s1, response, _ = handle(s0, Patch(key=DEPLOY, patch_type=PatchType.STRATEGIC, patch=json.dumps(patch)), NOW)
    d = _stored(s1, DEPLOY)
    assert isinstance(d, Deployment)
    assert response.code == 200
    assert [c.image for c in d.spec.template.spec.containers] == ["nginx:1.26"]
    assert d.metadata.generation == 2


def test_a_json_patch_replaces_replicas() -> None:
    s0 = cluster_with(a_deployment(replicas=3))
    s1, response, _ = handle(
        s0, Patch(key=DEPLOY, patch_type=PatchType.JSON, patch='[{"op": "replace", "path": "/spec/replicas", "value": 7}]'), NOW
    )
    d = _stored(s1, DEPLOY)
    assert isinstance(d, Deployment)
    assert (response.code, d.spec.replicas) == (200, 7)


def test_a_no_op_patch_does_not_bump_the_revision() -> None:
    s0 = cluster_with(a_config_map("cfg", data={"a": "1"}))
    s1, response, events = handle(s0, Patch(key=CM, patch_type=PatchType.MERGE, patch='{"data": {"a": "1"}}'), NOW)
    assert response == Response(code=200, body=_stored(s0, CM))
    assert (s1, events) == (s0, ())


def test_a_patch_of_a_missing_object_is_not_found() -> None:
    _, response, _ = handle(cluster_with(), Patch(key=CM, patch_type=PatchType.MERGE, patch="{}"), NOW)
    assert response == Response(code=404, body=errors.not_found(CM))


def test_a_malformed_patch_is_bad_request() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    s1, response, events = handle(s0, Patch(key=CM, patch_type=PatchType.MERGE, patch="{nope"), NOW)
    assert response.code == 400
    assert isinstance(response.body, Status) and response.body.reason is StatusReason.BAD_REQUEST
    assert (s1, events) == (s0, ())


def test_a_failing_json_patch_test_is_invalid() -> None:
    s0 = cluster_with(a_config_map("cfg", data={"a": "1"}))
    patch = '[{"op": "test", "path": "/data/a", "value": "2"}]'
    _, response, _ = handle(s0, Patch(key=CM, patch_type=PatchType.JSON, patch=patch), NOW)
    assert response.code == 422
    assert isinstance(response.body, Status) and response.body.reason is StatusReason.INVALID


def test_a_patch_producing_a_wrong_type_is_invalid_naming_the_field() -> None:
    s0 = cluster_with(a_deployment())
    _, response, _ = handle(s0, Patch(key=DEPLOY, patch_type=PatchType.MERGE, patch='{"spec": {"replicas": "many"}}'), NOW)
    assert response.code == 422
    assert isinstance(response.body, Status) and response.body.details is not None
    assert [c.field for c in response.body.details.causes] == ["spec.replicas"]


def test_a_patch_with_a_stale_resource_version_is_conflict() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    patch = '{"metadata": {"resourceVersion": "1"}, "data": {"a": "b"}}'
    _, response, _ = handle(s0, Patch(key=CM, patch_type=PatchType.MERGE, patch=patch), NOW)
    assert response == Response(code=409, body=errors.stale(CM))


def test_a_patch_cannot_rename_the_object() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    _, response, _ = handle(s0, Patch(key=CM, patch_type=PatchType.MERGE, patch='{"metadata": {"name": "other"}}'), NOW)
    assert response == Response(
        code=400, body=errors.bad_request("the name of the object (other) does not match the name on the URL (cfg)")
    )


def test_a_status_patch_changes_only_status() -> None:
    s0 = cluster_with(a_pod())
    patch = '{"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Running", "podIP": "10.244.0.9"}}'
    s1, response, _ = handle(s0, Patch(key=POD, patch_type=PatchType.MERGE, patch=patch, subresource=Subresource.STATUS), NOW)
    pod = _stored(s1, POD)
    assert isinstance(pod, Pod)
    assert response.code == 200
    assert (pod.status.phase, pod.status.pod_ip, pod.metadata.labels) == (PodPhase.RUNNING, "10.244.0.9", pmap())


def test_a_main_resource_patch_cannot_change_status() -> None:
    s0 = cluster_with(a_pod())
    s1, response, events = handle(s0, Patch(key=POD, patch_type=PatchType.MERGE, patch='{"status": {"phase": "Running"}}'), NOW)
    assert response == Response(code=200, body=_stored(s0, POD))
    assert (s1, events) == (s0, ())


def test_binding_or_evicting_something_that_is_not_a_pod_is_not_found() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    _, bound, _ = handle(s0, Bind(key=CM, node_name="n"), NOW)
    _, evicted, _ = handle(s0, Evict(key=CM), NOW)
    assert bound == evicted == Response(code=404, body=errors.not_found(CM))

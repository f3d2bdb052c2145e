"""The apiserver's create, get, list and update: stamps, versions, errors, selectors."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import Deployment
from kcore.api.core import ConfigMap, Event, ObjectReference
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, Status, StatusDetails, StatusReason, Time
from kcore.api.pod import Pod, PodPhase, PodQOSClass
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors, handle
from kcore.apiserver.naming import ALPHABET, uid_for
from kcore.component.requests import (
    Create,
    Get,
    ListObjects,
    ObjectList,
    Response,
    Subresource,
    Update,
)
from kcore.state import ClusterConfig, ClusterState, get
from tests.builders import (
    T0,
    a_config_map,
    a_deployment,
    a_namespace,
    a_node,
    a_pod,
    cluster_with,
    key,
    meta,
    with_meta,
)

NOW = Time(T0 + 0.75)



def _stored(state: ClusterState, kind: Kind, name: str, namespace: str = "default") -> ApiObject:
    obj = get(state, key(kind, name, namespace))
    assert obj is not None
    return obj


def _status(response: Response) -> Status:
    assert isinstance(response.body, Status)
    return response.body


# --- create ---------------------------------------------------------------------------------


def test_create_stamps_uid_timestamp_generation_and_the_new_revision() -> None:
    s0 = cluster_with()
    s1, response, events = handle(s0, Create(obj=a_config_map("cfg", data={"k": "v"})), NOW)
    expected = ConfigMap(
        metadata=ObjectMeta(
            name="cfg",
            namespace="default",
            uid=uid_for(0, 2),
            resource_version=2,
            generation=1,
            creation_timestamp=T0,
        ),
        data=pmap({"k": "v"}),
    )
    assert response == Response(code=201, body=expected)
    assert events == (WatchEvent(type=WatchType.ADDED, obj=expected, resource_version=2),)
    assert s1.revision == 2
    assert get(s1, key(Kind.CONFIG_MAP, "cfg")) == expected


def test_create_resets_a_pods_status_to_pending_with_its_qos_class() -> None:
    pod = attrs.evolve(a_pod(), status=attrs.evolve(a_pod().status, phase=PodPhase.RUNNING, pod_ip="1.2.3.4"))
    s, response, _ = handle(cluster_with(), Create(obj=pod), NOW)
    assert response.code == 201
    stored = _stored(s, Kind.POD, "web")
    assert isinstance(stored, Pod)
    assert (stored.status.phase, stored.status.pod_ip, stored.status.qos_class) == (
        PodPhase.PENDING,
        "",
        PodQOSClass.BEST_EFFORT,
    )


def test_create_keeps_a_nodes_status() -> None:
    node = a_node("node-1")
    s, response, _ = handle(cluster_with(), Create(obj=node), NOW)
    assert response.code == 201
    assert with_meta(_stored(s, Kind.NODE, "node-1"), **attrs.asdict(node.metadata, recurse=False)) == node


def test_create_of_an_existing_name_is_already_exists_and_changes_nothing() -> None:
    s0 = cluster_with(a_pod("web"))
    s1, response, events = handle(s0, Create(obj=a_pod("web")), NOW)
    assert response == Response(code=409, body=errors.already_exists(key(Kind.POD, "web")))
    assert _status(response) == Status(
        message='pods "web" already exists',
        reason=StatusReason.ALREADY_EXISTS,
        details=StatusDetails(name="web", kind="pods"),
        code=409,
    )
    assert (s1, events) == (s0, ())


def test_the_same_name_in_another_namespace_is_a_different_object() -> None:
    s0 = cluster_with(a_pod("web", "a"), namespaces=("a", "b"))
    s1, response, _ = handle(s0, Create(obj=a_pod("web", "b")), NOW)
    assert response.code == 201
    assert s1.revision == s0.revision + 1


def test_create_of_a_namespaced_kind_without_namespace_is_bad_request() -> None:
    s0 = cluster_with()
    s1, response, events = handle(s0, Create(obj=a_pod("web", "")), NOW)
    assert response == Response(code=400, body=errors.bad_request("namespace is required"))
    assert (s1, events) == (s0, ())


def test_create_of_a_cluster_scoped_kind_drops_the_namespace() -> None:
    node = attrs.evolve(a_node("n1"), metadata=attrs.evolve(a_node("n1").metadata, namespace="default"))
    s, response, _ = handle(cluster_with(), Create(obj=node), NOW)
    assert response.code == 201
    assert _stored(s, Kind.NODE, "n1").metadata.namespace == ""


def test_generate_name_appends_five_characters_from_upstreams_alphabet() -> None:
    s0 = cluster_with()
    _, response, _ = handle(s0, Create(obj=a_pod("", generate_name="web-")), NOW)
    assert response.code == 201
    assert isinstance(response.body, Pod)
    name = response.body.metadata.name
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set(ALPHABET)
    assert response.body.metadata.generate_name == "web-"
    # deterministic: the same state and request give the same name
    _, again, _ = handle(s0, Create(obj=a_pod("", generate_name="web-")), NOW)
    assert again == response


def test_generated_names_differ_across_revisions() -> None:
    s = cluster_with()
    names = set()
    for _ in range(20):
        s, response, _ = handle(s, Create(obj=a_pod("", generate_name="web-")), NOW)
        assert isinstance(response.body, Pod)
        names.add(response.body.metadata.name)
    assert len(names) == 20


def test_uids_depend_on_the_seed() -> None:
    a = cluster_with(a_pod(), config=ClusterConfig(seed=1))
    b = cluster_with(a_pod(), config=ClusterConfig(seed=2))
    assert _stored(a, Kind.POD, "web").metadata.uid != _stored(b, Kind.POD, "web").metadata.uid


# --- get and list ---------------------------------------------------------------------------


def test_get_returns_the_stored_object() -> None:
    s = cluster_with(a_pod())
    _, response, events = handle(s, Get(key=key(Kind.POD, "web")), NOW)
    assert response == Response(code=200, body=_stored(s, Kind.POD, "web"))
    assert events == ()


def test_get_of_a_missing_object_is_not_found() -> None:
    s = cluster_with()
    _, response, _ = handle(s, Get(key=key(Kind.DEPLOYMENT, "web")), NOW)
    assert response == Response(
        code=404,
        body=Status(
            message='deployments.apps "web" not found',
            reason=StatusReason.NOT_FOUND,
            details=StatusDetails(name="web", group="apps", kind="deployments"),
            code=404,
        ),
    )


def _names(response: Response) -> list[str]:
    assert isinstance(response.body, ObjectList)
    return [f"{o.metadata.namespace}/{o.metadata.name}" for o in response.body.items]


def test_list_returns_one_namespace_or_all_sorted_at_the_current_revision() -> None:
    s = cluster_with(a_pod("b", "x"), a_pod("a", "y"), a_pod("c", "x"), namespaces=("x", "y"))
    _, one, _ = handle(s, ListObjects(kind=Kind.POD, namespace="x"), NOW)
    _, every, _ = handle(s, ListObjects(kind=Kind.POD), NOW)
    assert _names(one) == ["x/b", "x/c"]
    assert _names(every) == ["x/b", "x/c", "y/a"]
    assert isinstance(every.body, ObjectList)
    assert (every.code, every.body.resource_version, every.body.kind) == (200, s.revision, Kind.POD)


def test_list_filters_by_label_selector() -> None:
    s = cluster_with(
        a_pod("a", labels={"app": "web", "tier": "fe"}),
        a_pod("b", labels={"app": "db"}),
        a_pod("c", labels={"app": "web"}),
    )
    _, r1, _ = handle(s, ListObjects(kind=Kind.POD, namespace="default", label_selector="app=web"), NOW)
    _, r2, _ = handle(s, ListObjects(kind=Kind.POD, label_selector="app in (web,db),!tier"), NOW)
    assert _names(r1) == ["default/a", "default/c"]
    assert _names(r2) == ["default/b", "default/c"]


def test_list_filters_by_pod_field_selectors() -> None:
    s = cluster_with(a_pod("a", node_name="n1"), a_pod("b"), a_pod("c", node_name="n2"))
    _, bound, _ = handle(s, ListObjects(kind=Kind.POD, field_selector="spec.nodeName!="), NOW)
    _, on_n1, _ = handle(s, ListObjects(kind=Kind.POD, field_selector="spec.nodeName=n1"), NOW)
    _, pending, _ = handle(
        s, ListObjects(kind=Kind.POD, field_selector="status.phase=Pending,metadata.name!=a"), NOW
    )
    assert _names(bound) == ["default/a", "default/c"]
    assert _names(on_n1) == ["default/a"]
    assert _names(pending) == ["default/b", "default/c"]


def test_list_filters_namespaces_by_name_and_nodes_by_unschedulable() -> None:
    s = cluster_with(a_node("n1"), a_node("n2", unschedulable=True), namespaces=("default", "other"))
    _, ns, _ = handle(s, ListObjects(kind=Kind.NAMESPACE, field_selector="metadata.name=other"), NOW)
    _, nodes, _ = handle(s, ListObjects(kind=Kind.NODE, field_selector="spec.unschedulable=false"), NOW)
    assert _names(ns) == ["/other"]
    assert _names(nodes) == ["/n1"]


def test_list_filters_events_by_involved_object() -> None:
    def event(name: str, pod: str) -> Event:
        return Event(
            metadata=meta(name),
            involved_object=ObjectReference(kind="Pod", namespace="default", name=pod),
            reason="Scheduled",
            type="Normal",
        )

    s = cluster_with(event("e1", "a"), event("e2", "b"))
    _, r, _ = handle(
        s, ListObjects(kind=Kind.EVENT, field_selector="involvedObject.name=b,reason=Scheduled"), NOW
    )
    assert _names(r) == ["default/e2"]


def test_an_unsupported_field_selector_is_bad_request() -> None:
    s = cluster_with(a_pod())
    _, response, _ = handle(s, ListObjects(kind=Kind.CONFIG_MAP, field_selector="spec.nodeName=x"), NOW)
    assert response == Response(code=400, body=errors.bad_request("field label not supported: spec.nodeName"))


def test_a_malformed_label_selector_is_bad_request() -> None:
    _, response, _ = handle(cluster_with(), ListObjects(kind=Kind.POD, label_selector="a in (b"), NOW)
    assert response.code == 400
    assert _status(response).reason is StatusReason.BAD_REQUEST


# --- update ---------------------------------------------------------------------------------


def test_update_with_the_current_version_stores_a_new_revision() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    old = _stored(s0, Kind.CONFIG_MAP, "cfg")
    assert isinstance(old, ConfigMap)
    new = attrs.evolve(old, data=pmap({"k": "v2"}))
    s1, response, events = handle(s0, Update(obj=new), NOW)
    expected = attrs.evolve(new, metadata=attrs.evolve(old.metadata, resource_version=s0.revision + 1, generation=2))
    assert response == Response(code=200, body=expected)
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=expected, resource_version=s0.revision + 1),)
    assert s1.revision == s0.revision + 1


def test_update_with_a_stale_version_is_conflict() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    old = _stored(s0, Kind.CONFIG_MAP, "cfg")
    assert isinstance(old, ConfigMap)
    s1, _, _ = handle(s0, Update(obj=attrs.evolve(old, data=pmap({"k": "1"}))), NOW)
    s2, response, events = handle(s1, Update(obj=attrs.evolve(old, data=pmap({"k": "2"}))), NOW)
    assert response == Response(
        code=409,
        body=Status(
            message=(
                'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; '
                "please apply your changes to the latest version and try again"
            ),
            reason=StatusReason.CONFLICT,
            details=StatusDetails(name="cfg", kind="configmaps"),
            code=409,
        ),
    )
    assert (s2, events) == (s1, ())


def test_update_without_a_version_is_unconditional() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    s1, _, _ = handle(s0, Update(obj=a_config_map("cfg", data={"k": "1"})), NOW)
    s2, response, _ = handle(s1, Update(obj=a_config_map("cfg", data={"k": "2"})), NOW)
    assert response.code == 200
    stored = _stored(s2, Kind.CONFIG_MAP, "cfg")
    assert isinstance(stored, ConfigMap)
    assert stored.data == pmap({"k": "2"})


def test_update_of_a_missing_object_is_not_found() -> None:
    s0 = cluster_with()
    s1, response, events = handle(s0, Update(obj=a_config_map("cfg")), NOW)
    assert response == Response(code=404, body=errors.not_found(key(Kind.CONFIG_MAP, "cfg")))
    assert (s1, events) == (s0, ())


def test_update_keeps_server_owned_metadata() -> None:
    s0 = cluster_with(a_pod(), a_pod("", generate_name="gen-"))
    old = _stored(s0, Kind.POD, "web")
    forged = with_meta(
        a_pod(labels={"new": "label"}),
        creation_timestamp=Time(5.0),
        generation=99,
        generate_name="x",
        deletion_timestamp=Time(7.0),
    )
    s1, response, _ = handle(s0, Update(obj=forged), NOW)
    assert response.code == 200
    m = _stored(s1, Kind.POD, "web").metadata
    om = old.metadata
    assert (m.uid, m.creation_timestamp, m.generation, m.generate_name, m.deletion_timestamp) == (
        om.uid,
        om.creation_timestamp,
        om.generation,
        "",
        None,
    )
    assert m.labels == pmap({"new": "label"})


def test_update_with_another_uid_is_conflict() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    _, response, _ = handle(s0, Update(obj=with_meta(a_config_map("cfg"), uid="other")), NOW)
    old = _stored(s0, Kind.CONFIG_MAP, "cfg")
    why = f"Precondition failed: UID in precondition: other, UID in object meta: {old.metadata.uid}"
    assert response == Response(code=409, body=errors.conflict(key(Kind.CONFIG_MAP, "cfg"), why))


def test_a_no_op_update_returns_the_stored_object_without_a_new_revision() -> None:
    s0 = cluster_with(a_pod())
    old = _stored(s0, Kind.POD, "web")
    s1, response, events = handle(s0, Update(obj=old), NOW)
    assert response == Response(code=200, body=old)
    assert (s1, events) == (s0, ())


def test_a_metadata_only_change_does_not_bump_generation() -> None:
    s0 = cluster_with(a_deployment())
    old = _stored(s0, Kind.DEPLOYMENT, "web")
    s1, _, _ = handle(s0, Update(obj=with_meta(old, labels=pmap({"x": "y"}))), NOW)
    assert _stored(s1, Kind.DEPLOYMENT, "web").metadata.generation == 1


def test_a_spec_change_bumps_generation_once() -> None:
    s0 = cluster_with(a_deployment(replicas=3))
    old = _stored(s0, Kind.DEPLOYMENT, "web")
    assert isinstance(old, Deployment)
    new = attrs.evolve(old, spec=attrs.evolve(old.spec, replicas=5))
    s1, response, _ = handle(s0, Update(obj=new), NOW)
    assert response.code == 200
    assert _stored(s1, Kind.DEPLOYMENT, "web").metadata.generation == 2


def test_update_of_the_main_resource_ignores_status() -> None:
    s0 = cluster_with(a_pod())
    old = _stored(s0, Kind.POD, "web")
    assert isinstance(old, Pod)
    new = attrs.evolve(old, status=attrs.evolve(old.status, phase=PodPhase.RUNNING))
    s1, response, events = handle(s0, Update(obj=new), NOW)
    assert response == Response(code=200, body=old)
    assert (s1, events) == (s0, ())


def test_update_of_status_changes_only_status_and_keeps_generation() -> None:
    s0 = cluster_with(a_pod())
    old = _stored(s0, Kind.POD, "web")
    assert isinstance(old, Pod)
    new = attrs.evolve(
        old,
        metadata=attrs.evolve(old.metadata, labels=pmap({"ignored": "yes"})),
        spec=attrs.evolve(old.spec, node_name="ignored"),
        status=attrs.evolve(old.status, phase=PodPhase.RUNNING, pod_ip="10.244.0.5"),
    )
    s1, response, events = handle(s0, Update(obj=new, subresource=Subresource.STATUS), NOW)
    expected = attrs.evolve(
        old,
        metadata=attrs.evolve(old.metadata, resource_version=s0.revision + 1),
        status=new.status,
    )
    assert response == Response(code=200, body=expected)
    assert events == (WatchEvent(type=WatchType.MODIFIED, obj=expected, resource_version=s0.revision + 1),)
    assert _stored(s1, Kind.POD, "web") == expected


def test_a_status_update_of_a_kind_without_status_is_not_found() -> None:
    s0 = cluster_with(a_config_map("cfg"))
    _, response, _ = handle(s0, Update(obj=a_config_map("cfg"), subresource=Subresource.STATUS), NOW)
    assert response.code == 404


def test_namespaces_and_nodes_are_cluster_scoped() -> None:
    s = cluster_with(namespaces=("a",))
    _, response, _ = handle(s, Get(key=key(Kind.NAMESPACE, "a", "ignored")), NOW)
    assert isinstance(response.body, type(a_namespace("a")))
    assert response.body.metadata.namespace == ""


def test_a_job_without_a_selector_gets_the_generated_controller_uid_selector() -> None:
    from kcore.api.batch import CONTROLLER_UID_LABEL, JOB_NAME_LABEL, Job, JobSpec
    from kcore.api.pod import PodTemplateSpec, RestartPolicy

    template = PodTemplateSpec(
        spec=attrs.evolve(a_pod(name="x").spec, restart_policy=RestartPolicy.NEVER)
    )
    job = Job(metadata=ObjectMeta(name="pi", namespace="default"), spec=JobSpec(template=template))
    _, response, _ = handle(cluster_with(), Create(obj=job), T0)
    assert response.code == 201
    stored = response.body
    assert isinstance(stored, Job) and stored.spec.selector is not None
    uid = stored.metadata.uid
    assert dict(stored.spec.selector.match_labels) == {CONTROLLER_UID_LABEL: uid}
    labels = stored.spec.template.metadata.labels
    assert labels[CONTROLLER_UID_LABEL] == uid and labels[JOB_NAME_LABEL] == "pi"

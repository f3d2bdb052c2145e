"""PriorityClass end to end: kind, codec, validation, the Priority admission plugin
through `handle`, the system classes of a bootstrapped cluster, and preemption by a pod
whose priority comes from a user PriorityClass."""

from __future__ import annotations

import attrs
import pytest

from kcore.api.codec import from_dict, to_dict
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind, ObjectKey, kind_for_gvk, kind_for_name
from kcore.api.manifest import load_manifests
from kcore.api.meta import ApiObject, ObjectMeta, Status, StatusReason, Time
from kcore.api.pod import Pod, PreemptionPolicy
from kcore.api.scheduling import SYSTEM_PRIORITY_CLASSES, PriorityClass
from kcore.api.validation import validate
from kcore.apiserver import handle
from kcore.apiserver.priority import PodPriority, default_priority_class, pod_priority
from kcore.component.requests import Create, Delete, Response, Update
from kcore.driver import new_cluster
from kcore.driver.bootstrap import NodeShape
from kcore.printers import rows
from kcore.state import ClusterState, get, list_objects, put
from tests.builders import T0, a_container, a_pod, a_priority_class, cluster_with


def a_pod_of(class_name: str = "", *, priority: int | None = None, name: str = "web") -> Pod:
    pod = a_pod(name)
    spec = attrs.evolve(pod.spec, priority_class_name=class_name, priority=priority)
    return attrs.evolve(pod, spec=spec)


def pc_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.PRIORITY_CLASS, namespace="", name=name)


def create(state: ClusterState, obj: ApiObject) -> tuple[ClusterState, Response]:
    state, response, _ = handle(state, Create(obj=obj), T0)
    return state, response


def created(state: ClusterState, obj: ApiObject) -> ApiObject:
    _, response = create(state, obj)
    assert response.ok, response.body
    return response.body  # type: ignore[return-value]  # a successful Create answers the object


def refusal(state: ClusterState, obj: ApiObject) -> Status:
    after, response = create(state, obj)
    assert isinstance(response.body, Status), response.body
    assert after == state
    return response.body


def messages(obj: ApiObject, old: ApiObject | None = None) -> list[str]:
    return [str(e) for e in validate(obj, old)]


# ---- kind and codec ---------------------------------------------------------------------


def test_kind_is_cluster_scoped_scheduling_v1_with_short_name_pc() -> None:
    info = Kind.PRIORITY_CLASS.info
    assert (info.api_version, info.plural, info.short_names) == (
        "scheduling.k8s.io/v1",
        "priorityclasses",
        ("pc",),
    )
    assert (info.namespaced, info.has_status, info.has_scale) == (False, False, False)
    assert kind_for_name("pc") is kind_for_name("priorityclass.scheduling.k8s.io") is Kind.PRIORITY_CLASS
    assert kind_for_gvk("scheduling.k8s.io/v1", "PriorityClass") is Kind.PRIORITY_CLASS


def test_codec_round_trips_every_field_and_always_writes_value() -> None:
    wire = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "batch"},
        "value": 500,
        "globalDefault": True,
        "description": "batch jobs",
        "preemptionPolicy": "Never",
    }
    decoded = from_dict(wire)
    assert decoded.warnings == ()
    assert decoded.obj == PriorityClass(
        metadata=ObjectMeta(name="batch"),
        value=500,
        global_default=True,
        description="batch jobs",
        preemption_policy=PreemptionPolicy.NEVER,
    )
    assert to_dict(decoded.obj) == wire
    assert to_dict(a_priority_class("zero", 0)) == {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "zero"},
        "value": 0,
    }


def test_preemption_policy_defaults_to_preempt_lower_priority() -> None:
    assert apply_defaults(a_priority_class()) == a_priority_class(policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY)
    assert apply_defaults(a_priority_class(policy=PreemptionPolicy.NEVER)) == a_priority_class(policy=PreemptionPolicy.NEVER)


def test_fixture_classes_land_where_they_belong() -> None:
    path = "tests/manifests/priority-class.yaml"
    with open(path, encoding="utf-8") as f:
        loaded = load_manifests(f.read(), source=path)
    classes = [item.obj for item in loaded]
    assert [
        (c.metadata.name, c.value, c.global_default, c.preemption_policy)
        for c in classes
        if isinstance(c, PriorityClass)
    ] == [
        ("high-priority", 1_000_000, False, PreemptionPolicy.PREEMPT_LOWER_PRIORITY),
        ("default-priority", 1000, True, PreemptionPolicy.PREEMPT_LOWER_PRIORITY),
        ("high-priority-nonpreempting", 1_000_000, False, PreemptionPolicy.NEVER),
    ]


def test_kubectl_columns_name_value_global_default_age_preemption_policy() -> None:
    state = cluster_with(a_priority_class("high", 1000, default=True))
    objs = list_objects(state, Kind.PRIORITY_CLASS)
    assert rows(objs, Kind.PRIORITY_CLASS, Time(T0 + 90)) == [
        ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"],
        ["high", "1000", "true", "90s", "PreemptLowerPriority"],
    ]


# ---- validation --------------------------------------------------------------------------


def test_a_user_class_may_not_exceed_one_billion() -> None:
    assert messages(a_priority_class("big", 1_000_000_000)) == []
    assert messages(a_priority_class("big", 1_000_000_001)) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"
    ]


def test_class_names_are_dns_subdomains() -> None:
    assert messages(a_priority_class("Bad_Name"))[0].startswith('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')


def test_system_prefix_is_reserved_for_the_two_system_classes_with_their_values() -> None:
    for pc in SYSTEM_PRIORITY_CLASSES:
        assert messages(pc) == []
    prefix = "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: "
    assert messages(a_priority_class("system-mine", 10)) == [prefix + "system-mine is not a known system priority class"]
    assert messages(a_priority_class("system-node-critical", 10)) == [
        prefix + "value of system-node-critical PriorityClass must be 2000001000"
    ]
    assert messages(a_priority_class("system-cluster-critical", 2_000_000_000, default=True)) == [
        prefix + "globalDefault of system-cluster-critical PriorityClass must be false"
    ]


def test_value_and_preemption_policy_are_immutable() -> None:
    old = a_priority_class("high", 1000, policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY)
    changed = a_priority_class("high", 2000, policy=PreemptionPolicy.NEVER)
    assert messages(changed, old) == [
        "value: Forbidden: may not be changed in an update.",
        'preemptionPolicy: Invalid value: "Never": field is immutable',
    ]
    described = attrs.evolve(old, description="now documented", global_default=True)
    assert messages(described, old) == []


# ---- admission: pods ----------------------------------------------------------------------


def test_a_pod_takes_value_and_policy_from_its_class() -> None:
    state = cluster_with(a_priority_class("batch", 300, policy=PreemptionPolicy.NEVER))
    pod = created(state, a_pod_of("batch"))
    assert isinstance(pod, Pod)
    assert (pod.spec.priority_class_name, pod.spec.priority, pod.spec.preemption_policy) == (
        "batch",
        300,
        PreemptionPolicy.NEVER,
    )


def test_an_unknown_class_is_forbidden() -> None:
    status = refusal(cluster_with(), a_pod_of("high"))
    assert (status.code, status.reason, status.message) == (
        403,
        StatusReason.FORBIDDEN,
        'pods "web" is forbidden: no PriorityClass with name high was found',
    )


def test_a_pod_naming_no_class_gets_the_global_default_class() -> None:
    state = cluster_with(a_priority_class("normal", 50, default=True, policy=PreemptionPolicy.NEVER))
    pod = created(state, a_pod_of())
    assert isinstance(pod, Pod)
    assert (pod.spec.priority_class_name, pod.spec.priority, pod.spec.preemption_policy) == (
        "normal",
        50,
        PreemptionPolicy.NEVER,
    )


def test_without_a_default_class_a_pod_gets_priority_zero() -> None:
    pod = created(cluster_with(a_priority_class("high", 1000)), a_pod_of())
    assert isinstance(pod, Pod)
    assert (pod.spec.priority_class_name, pod.spec.priority, pod.spec.preemption_policy) == (
        "",
        0,
        PreemptionPolicy.PREEMPT_LOWER_PRIORITY,
    )


def test_a_stated_priority_must_agree_with_the_class() -> None:
    state = cluster_with(a_priority_class("high", 1000))
    assert refusal(state, a_pod_of("high", priority=5)).message == (
        'pods "web" is forbidden: the integer value of priority (5) must not be provided in pod spec; '
        "priority admission controller computed 1000 from the given PriorityClass name"
    )
    pod = created(state, a_pod_of("high", priority=1000))
    assert isinstance(pod, Pod) and pod.spec.priority == 1000


def test_a_stated_preemption_policy_must_agree_with_the_class() -> None:
    state = cluster_with(a_priority_class("high", 1000, policy=PreemptionPolicy.NEVER))
    pod = a_pod_of("high")
    pod = attrs.evolve(pod, spec=attrs.evolve(pod.spec, preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY))
    assert refusal(state, pod).message == (
        'pods "web" is forbidden: the string value of PreemptionPolicy (PreemptLowerPriority) must not be '
        "provided in pod spec; priority admission controller computed Never from the given PriorityClass name"
    )


def test_pod_priority_is_a_pure_answer_from_the_state() -> None:
    state = cluster_with(a_priority_class("a", 7, default=True), a_priority_class("b", 9))
    assert pod_priority(state, a_pod_of("b")) == PodPriority(
        class_name="b", value=9, preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY
    )
    assert pod_priority(state, a_pod_of()) == PodPriority(
        class_name="a", value=7, preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY
    )


# ---- admission: PriorityClasses -------------------------------------------------------------


def test_a_second_default_class_is_forbidden() -> None:
    state = cluster_with(a_priority_class("first", 10, default=True))
    status = refusal(state, a_priority_class("second", 20, default=True))
    assert (status.code, status.message) == (
        403,
        'priorityclasses.scheduling.k8s.io "second" is forbidden: '
        "PriorityClass first is already marked as default. Only one default can exist",
    )


def test_marking_another_class_default_by_update_is_forbidden_but_the_default_may_be_updated() -> None:
    state = cluster_with(a_priority_class("first", 10, default=True), a_priority_class("second", 20))
    stored = get(state, pc_key("second"))
    assert isinstance(stored, PriorityClass)
    _, response, _ = handle(state, Update(obj=attrs.evolve(stored, global_default=True)), T0)
    assert isinstance(response.body, Status) and response.code == 403
    first = get(state, pc_key("first"))
    assert isinstance(first, PriorityClass)
    _, response, _ = handle(state, Update(obj=attrs.evolve(first, description="the default")), T0)
    assert response.ok, response.body


def test_of_several_defaults_the_lowest_value_wins() -> None:
    # Two defaults coexist only after a race upstream; `put` stores one past admission.
    state = cluster_with(a_priority_class("b", 5, default=True))
    state = put(state, apply_defaults(a_priority_class("a", 9, default=True)))
    found = default_priority_class(state)
    assert found is not None and found.metadata.name == "b"


def test_system_classes_cannot_be_deleted_user_classes_can() -> None:
    state = cluster_with(*SYSTEM_PRIORITY_CLASSES, a_priority_class("mine", 1))
    _, response, _ = handle(state, Delete(key=pc_key("system-node-critical")), T0)
    assert isinstance(response.body, Status)
    assert (response.code, response.body.message) == (
        403,
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
        "this is a system priority class and cannot be deleted",
    )
    after, response, _ = handle(state, Delete(key=pc_key("mine")), T0)
    assert response.ok and get(after, pc_key("mine")) is None


def test_system_classes_resolve_even_before_they_are_stored() -> None:
    pod = created(cluster_with(), a_pod_of("system-node-critical"))
    assert isinstance(pod, Pod) and pod.spec.priority == 2_000_001_000


# ---- a bootstrapped cluster ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cluster_state() -> ClusterState:
    return new_cluster(nodes=1, shape=NodeShape(cpu="1")).state


def test_create_cluster_stores_the_two_system_classes(small_cluster_state: ClusterState) -> None:
    stored = list_objects(small_cluster_state, Kind.PRIORITY_CLASS)
    assert [(pc.metadata.name, pc.value) for pc in stored if isinstance(pc, PriorityClass)] == [
        ("system-cluster-critical", 2_000_000_000),
        ("system-node-critical", 2_000_001_000),
    ]
    assert all(isinstance(pc, PriorityClass) and pc.metadata.uid for pc in stored)
    assert all(
        isinstance(pc, PriorityClass) and pc.preemption_policy is PreemptionPolicy.PREEMPT_LOWER_PRIORITY
        for pc in stored
    )


def test_a_high_priority_class_pod_preempts_a_low_priority_pod_on_a_full_node() -> None:
    cluster = new_cluster(nodes=1, shape=NodeShape(cpu="1"))
    for pc in (a_priority_class("low", 10), a_priority_class("high", 1_000_000)):
        assert cluster.request(Create(obj=pc)).ok
    low = a_pod("low", containers=[a_container(cpu="800m")])
    low = attrs.evolve(low, spec=attrs.evolve(low.spec, priority_class_name="low"))
    assert cluster.request(Create(obj=low)).ok
    cluster.run_until_stable()
    placed = get(cluster.state, ObjectKey(kind=Kind.POD, namespace="default", name="low"))
    assert isinstance(placed, Pod) and (placed.spec.node_name, placed.spec.priority) == ("node-1", 10)

    high = a_pod("high", containers=[a_container(cpu="500m")])
    high = attrs.evolve(high, spec=attrs.evolve(high.spec, priority_class_name="high"))
    assert cluster.request(Create(obj=high)).ok
    cluster.run_until_stable()
    cluster.advance(60)

    assert get(cluster.state, ObjectKey(kind=Kind.POD, namespace="default", name="low")) is None
    bound = get(cluster.state, ObjectKey(kind=Kind.POD, namespace="default", name="high"))
    assert isinstance(bound, Pod)
    assert (bound.spec.priority, bound.spec.node_name) == (1_000_000, "node-1")

"""The EndpointSlice reconciler as a pure function: upstream's reconciler_test.go cases
(staging/src/k8s.io/endpointslice/reconciler_test.go) as a table of pods and existing
slices in, the writes of the Plan and the slice sizes they leave out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.core import IPFamily, Node, ObjectReference, Service, ServicePort, ServiceSpec
from kcore.api.discovery import (
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    MANAGED_BY_CONTROLLER,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, ObjectMeta, Time
from kcore.api.pod import (
    Container,
    ContainerPort,
    Pod,
    PodCondition,
    PodIP,
    PodPhase,
    PodSpec,
    PodStatus,
    Protocol,
)
from kcore.controllers.endpoint_util import ANNOTATION_LAST_CHANGE_TRIGGER_TIME, LABEL_HEADLESS
from kcore.controllers.endpointslice_reconciler import (
    DELETION_EXPECTED,
    LABEL_ZONE,
    Plan,
    SliceTracker,
    handle_deletion,
    new_slice,
    pod_to_endpoint,
    reconcile,
    same_placeholder,
    should_sync,
    stale_slices,
    track,
)

NS: Final = "test"
T: Final = Time(1_700_000_000.5)
NODE: Final = Node(metadata=ObjectMeta(name="node-1"))


def service(
    name: str = "foo", *, labels: dict[str, str] | None = None, target: int | str = 80, cluster_ip: str = "10.0.0.10",
    families: tuple[IPFamily, ...] = (IPFamily.IPV4,), publish: bool = False,
) -> Service:
    return Service(
        metadata=ObjectMeta(name=name, namespace=NS, uid="svc-uid", labels=pmap(labels or {})),
        spec=ServiceSpec(
            ports=(ServicePort(port=80, target_port=target),),
            selector=pmap({"foo": "bar"}),
            cluster_ip=cluster_ip,
            ip_families=families,
            publish_not_ready_addresses=publish,
        ),
    )


def pod(i: int, *, ready: bool = True, node: str = "node-1", named_port: int | None = None) -> Pod:
    ip = f"1.2.{i // 250}.{i % 250}"
    ports = (ContainerPort(name="http", container_port=named_port),) if named_port is not None else ()
    return Pod(
        metadata=ObjectMeta(name=f"pod{i}", namespace=NS, uid=f"pod-uid-{i}", labels=pmap({"foo": "bar"})),
        spec=PodSpec(containers=(Container(name="c", image="i", ports=ports),), node_name=node),
        status=PodStatus(
            phase=PodPhase.RUNNING,
            pod_ip=ip,
            pod_ips=(PodIP(ip=ip),),
            conditions=(PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE),),
        ),
    )


def pods(n: int) -> list[Pod]:
    """upstream's fixture: pods 0..n-1, every third not ready."""
    return [pod(i, ready=i % 3 != 0) for i in range(n)]


def existing(n: int, svc: Service, members: Sequence[Pod], *, ports: tuple[EndpointPort, ...] | None = None,
             address_type: AddressType = AddressType.IPV4) -> EndpointSlice:
    """newEmptyEndpointSlice(n) holding `members`' endpoints, as stored (named, uid, generation 1)."""
    p = (EndpointPort(name="", protocol=Protocol.TCP, port=80),) if ports is None else ports
    es = new_slice(svc, p, address_type, MANAGED_BY_CONTROLLER)
    meta = attrs.evolve(es.metadata, name=f"{svc.metadata.name}-{n}", generate_name="", uid=f"slice-{n}", generation=1)
    return attrs.evolve(es, metadata=meta, endpoints=tuple(pod_to_endpoint(m, NODE, svc, address_type) for m in members))


def plan_of(svc: Service, members: Sequence[Pod], slices: Sequence[EndpointSlice], *, max_endpoints: int = 100) -> Plan:
    return reconcile(svc, members, slices, lambda n: NODE if n == "node-1" else None, T, max_endpoints=max_endpoints)


def sizes_after(slices: Sequence[EndpointSlice], plan: Plan) -> list[int]:
    """The endpoint counts of the slices once the plan is written, sorted."""
    by_name = {es.metadata.name: es for es in slices}
    for es in plan.deletes:
        del by_name[es.metadata.name]
    for es in plan.updates:
        by_name[es.metadata.name] = es
    return sorted([len(es.endpoints) for es in by_name.values()] + [len(es.endpoints) for es in plan.creates])


def counts(plan: Plan) -> tuple[int, int, int]:
    return len(plan.creates), len(plan.updates), len(plan.deletes)


# --- the table ----------------------------------------------------------------------------------


def _some_preexisting(n: int) -> tuple[list[Pod], list[EndpointSlice]]:
    members = pods(n)
    svc = service()
    return members, [existing(1, svc, members[1 : n - 4 : 4]), existing(2, svc, members[3 : n - 4 : 4])]


def _packing() -> tuple[list[Pod], list[EndpointSlice]]:
    svc = service()
    first = [pod(i) for i in range(80)]
    second = [pod(i) for i in range(100, 120)]
    slices = [existing(1, svc, first), existing(2, svc, second)]
    changed = [pod(int(p.metadata.name[3:]), ready=False) if k % 10 == 0 else p for k, p in enumerate(first + second)]
    return changed + [pod(i) for i in range(200, 215)], slices


def _thirty_each(svc: Service, members: list[Pod]) -> list[EndpointSlice]:
    return [existing(k, svc, members[k * 30 : (k + 1) * 30]) for k in range(10)]


CASES: Final = [
    # (name, service, pods, existing, (creates, updates, deletes), sizes after)
    ("ReconcileManyPods", service(), pods(250), [], (3, 0, 0), [50, 100, 100]),
    ("SomePreexisting: 127 to add -> 1 new full slice, 27 into the fuller", service(), *_some_preexisting(250), (1, 1, 0), [61, 89, 100]),
    ("SomePreexistingWorseAllocation: 52 fit nowhere -> 2 creates", service(), *_some_preexisting(300), (2, 0, 0), [52, 74, 74, 100]),
    ("EndpointSlicesUpdating: a target port change updates every slice", service(target=81),
     pods(250), [existing(k, service(), pods(250)[k * 100 : (k + 1) * 100]) for k in range(3)], (0, 3, 0), [50, 100, 100]),
    ("ServicesLabelsUpdating: new Service labels update every slice", service(labels={"foo": "bar"}),
     pods(250), [existing(k, service(), pods(250)[k * 100 : (k + 1) * 100]) for k in range(3)], (0, 3, 0), [50, 100, 100]),
    ("ServicesReservedLabels: reserved Service labels change nothing",
     service(labels={LABEL_SERVICE_NAME: "bad", LABEL_MANAGED_BY: "actor", LABEL_HEADLESS: "invalid"}),
     pods(250), [existing(k, service(), pods(250)[k * 100 : (k + 1) * 100]) for k in range(3)], (0, 0, 0), [50, 100, 100]),
    ("Recycling: 10 slices of 30, unchanged -> no writes", service(), pods(300), _thirty_each(service(), pods(300)), (0, 0, 0), [30] * 10),
    ("Recycling: a port change repacks into 3 updates + 7 deletes", service(target=81), pods(300),
     _thirty_each(service(), pods(300)), (0, 3, 7), [100, 100, 100]),
    ("UpdatePacking: the 15 new endpoints go to the fuller slice being updated", service(), *_packing(), (0, 2, 0), [20, 95]),
    ("ReplaceDeprecated (another address type): its slices go, new ones are packed", service(),
     [pod(i) for i in (*range(80), *range(100, 150))],
     [existing(1, service(), [pod(i) for i in range(80)], address_type=AddressType.IPV6),
      existing(2, service(), [pod(i) for i in range(100, 150)], address_type=AddressType.IPV6)], (2, 0, 2), [30, 100]),
    ("Recreation: a slice of the same Service uid is kept", service(), [pod(1)], [existing(1, service(), [pod(1)])], (0, 0, 0), [1]),
    ("Recreation: a slice of another Service uid is replaced", service(), [pod(1)],
     [attrs.evolve(existing(1, service(), [pod(1)]), metadata=attrs.evolve(existing(1, service(), [pod(1)]).metadata,
      owner_references=(attrs.evolve(existing(1, service(), [pod(1)]).metadata.owner_references[0], uid="different"),)))],
     (1, 0, 1), [1]),
    ("NamedPorts: 5 port numbers for one name -> 5 slices of 60", service(target="http"),
     [attrs.evolve(pod(i, ready=i % 3 != 0, named_port=8080 + i % 5)) for i in range(300)], [], (5, 0, 0), [60] * 5),
]


@pytest.mark.parametrize(("name", "svc", "members", "slices", "writes", "sizes"), CASES, ids=[c[0] for c in CASES])
def test_upstream_reconciler_cases(
    name: str, svc: Service, members: list[Pod], slices: list[EndpointSlice], writes: tuple[int, int, int], sizes: list[int]
) -> None:
    plan = plan_of(svc, members, slices)
    assert (counts(plan), sizes_after(slices, plan)) == (writes, sorted(sizes))


@pytest.mark.parametrize(("most", "sizes"), [(50, [50] * 5), (80, [10, 80, 80, 80]), (150, [100, 150]), (250, [250]), (500, [250])])
def test_max_endpoints_per_slice_sets_the_packing(most: int, sizes: list[int]) -> None:
    plan = plan_of(service(), pods(250), [], max_endpoints=most)
    assert sizes_after([], plan) == sizes


def test_named_ports_give_one_port_list_per_slice() -> None:
    members = [pod(i, named_port=8080 + i % 5) for i in range(300)]
    plan = plan_of(service(target="http"), members, [])
    assert [es.ports for es in plan.creates] == [(EndpointPort(name="", protocol=Protocol.TCP, port=8080 + k),) for k in range(5)]


# --- placeholders ------------------------------------------------------------------------------


def test_a_service_without_pods_gets_one_placeholder() -> None:
    plan = plan_of(service(), [], [])
    placeholder = new_slice(service(), (), AddressType.IPV4, MANAGED_BY_CONTROLLER)
    annotated = attrs.evolve(placeholder, metadata=attrs.evolve(
        placeholder.metadata, annotations=pmap({ANNOTATION_LAST_CHANGE_TRIGGER_TIME: "2023-11-14T22:13:20.5Z"})))
    assert plan == Plan(creates=(annotated,))


def test_an_existing_placeholder_that_is_the_same_is_kept_and_a_different_one_rewritten() -> None:
    same = attrs.evolve(existing(1, service(), [], ports=()))
    assert plan_of(service(), [], [same]) == Plan()
    different = attrs.evolve(same, metadata=attrs.evolve(same.metadata, labels=pmap({"bar": "baz"})))
    plan = plan_of(service(), [], [different])
    assert counts(plan) == (0, 1, 0) and plan.updates[0].metadata.name == "foo-1"
    assert same_placeholder(attrs.evolve(plan.updates[0], metadata=attrs.evolve(plan.updates[0].metadata, annotations=pmap())), same)


def test_a_service_whose_pods_all_left_keeps_a_placeholder_by_recycling_its_slice() -> None:
    plan = plan_of(service(), [], [existing(1, service(), [pod(1), pod(2)])])
    assert counts(plan) == (0, 1, 0)
    assert (plan.updates[0].metadata.name, plan.updates[0].endpoints, plan.updates[0].ports) == ("foo-1", (), ())


# --- endpoints and labels (TestReconcile1Pod) --------------------------------------------------


def test_one_pod_gives_one_endpoint_with_its_node_zone_and_target() -> None:
    zoned = Node(metadata=ObjectMeta(name="node-1", labels=pmap({LABEL_ZONE: "us-central1-a"})))
    p = attrs.evolve(pod(1), spec=attrs.evolve(pod(1).spec, hostname="example-hostname"))
    plan = reconcile(service(), [p], [], lambda n: zoned, T)
    (es,) = plan.creates
    assert es.endpoints == (
        Endpoint(
            addresses=("1.2.0.1",),
            conditions=EndpointConditions(ready=True, serving=True, terminating=False),
            target_ref=ObjectReference(kind="Pod", namespace=NS, name="pod1", uid="pod-uid-1"),
            node_name="node-1",
            zone="us-central1-a",
        ),
    )
    assert (es.metadata.generate_name, es.metadata.labels, es.metadata.annotations) == (
        "foo-",
        pmap({LABEL_SERVICE_NAME: "foo", LABEL_MANAGED_BY: MANAGED_BY_CONTROLLER}),
        pmap({ANNOTATION_LAST_CHANGE_TRIGGER_TIME: "2023-11-14T22:13:20.5Z"}),
    )


@pytest.mark.parametrize(
    ("labels", "cluster_ip", "want"),
    [
        ({}, "10.0.0.10", {}),
        ({"foo": "bar"}, "None", {"foo": "bar", LABEL_HEADLESS: ""}),
        ({LABEL_SERVICE_NAME: "bad", LABEL_MANAGED_BY: "actor", LABEL_HEADLESS: "invalid"}, "None", {LABEL_HEADLESS: ""}),
    ],
    ids=["ipv4-clusterip", "ipv4-labels (headless)", "ipv4-bad-labels (headless)"],
)
def test_slice_labels_are_the_services_but_the_reserved_ones(labels: dict[str, str], cluster_ip: str, want: dict[str, str]) -> None:
    (es,) = plan_of(service(labels=labels, cluster_ip=cluster_ip), [pod(1)], []).creates
    assert es.metadata.labels == pmap({**want, LABEL_SERVICE_NAME: "foo", LABEL_MANAGED_BY: MANAGED_BY_CONTROLLER})


def test_publish_not_ready_addresses_makes_every_endpoint_ready() -> None:
    plan = plan_of(service(publish=True), pods(50), [])
    assert [e.conditions.ready for es in plan.creates for e in es.endpoints] == [True] * 50


def test_a_terminating_pod_is_serving_but_not_ready() -> None:
    p = attrs.evolve(pod(1), metadata=attrs.evolve(pod(1).metadata, deletion_timestamp=T))
    (es,) = plan_of(service(), [p], []).creates
    assert es.endpoints[0].conditions == EndpointConditions(ready=False, serving=True, terminating=True)


def test_a_pod_on_an_unknown_node_is_left_out_and_the_sync_retried() -> None:
    plan = plan_of(service(), [pod(1), pod(2, node="gone")], [])
    assert [e.target_ref.name for e in plan.creates[0].endpoints if e.target_ref] == ["pod1"]
    assert plan.missing_nodes == ("gone",)


def test_a_dual_stack_service_gets_a_slice_per_family() -> None:
    p = attrs.evolve(pod(1), status=attrs.evolve(pod(1).status, pod_ips=(PodIP(ip="1.2.3.4"), PodIP(ip="1234::5678:0000:0000:9abc:def0"))))
    plan = plan_of(service(families=(IPFamily.IPV4, IPFamily.IPV6)), [p], [])
    assert [(es.address_type, es.endpoints[0].addresses) for es in plan.creates] == [
        (AddressType.IPV4, ("1.2.3.4",)),
        (AddressType.IPV6, ("1234::5678:0:0:9abc:def0",)),
    ]


def test_a_deleting_service_gets_no_new_slices() -> None:
    svc = attrs.evolve(service(), metadata=attrs.evolve(service().metadata, deletion_timestamp=T))
    assert plan_of(svc, pods(3), []) == Plan()


# --- the tracker ---------------------------------------------------------------------------------

SVC_KEY: Final = ObjectKey(kind=Kind.SERVICE, namespace=NS, name="foo")


def test_the_tracker_tells_a_stale_view_from_a_fresh_one() -> None:
    es = existing(1, service(), [pod(1)])
    t = track(SliceTracker(), SVC_KEY, "slice-1", 2)
    assert should_sync(t, SVC_KEY, es) is False
    assert stale_slices(t, SVC_KEY, "svc-uid", [es])[1] is True  # generation 1 < written 2
    assert stale_slices(t, SVC_KEY, "svc-uid", [])[1] is True  # written but not seen
    newer = attrs.evolve(es, metadata=attrs.evolve(es.metadata, generation=2))
    assert stale_slices(t, SVC_KEY, "svc-uid", [newer])[1] is False
    doomed = track(t, SVC_KEY, "slice-1", DELETION_EXPECTED)
    assert stale_slices(doomed, SVC_KEY, "svc-uid", [newer])[1] is True
    assert stale_slices(doomed, SVC_KEY, "svc-uid", [])[1] is False
    assert handle_deletion(doomed, SVC_KEY, "slice-1")[1] is True
    assert handle_deletion(t, SVC_KEY, "slice-1")[1] is False


def test_a_recreated_service_forgets_the_old_ones_writes() -> None:
    t, stale = stale_slices(track(SliceTracker(), SVC_KEY, "slice-1", 2), SVC_KEY, "old-uid", [])
    assert stale
    t, stale = stale_slices(t, SVC_KEY, "new-uid", [])
    assert not stale and t.generations == pmap()

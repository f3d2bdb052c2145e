"""EndpointSlice reconciler laws, for random pod sets: the slices a Service ends with (after
writing the plan, from nothing or from the slices of an earlier pod set) list exactly the
pods that should be endpoints, each once, with upstream's conditions and its own resolved
port list; no slice holds more than 100; and at that fixed point another reconcile writes
nothing.

Strategies are local: they build pure reconciler inputs, which no other suite shares."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import IPFamily, Node, Service, ServicePort, ServiceSpec
from kcore.api.discovery import MAX_ENDPOINTS_PER_SLICE, EndpointConditions, EndpointSlice
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
)
from kcore.controllers.endpoint_util import find_port, should_pod_be_in_endpoints
from kcore.controllers.endpointslice_reconciler import Plan, reconcile

T = Time(1_700_000_000.0)
NODE = Node(metadata=ObjectMeta(name="node-1"))


def service(publish: bool) -> Service:
    return Service(
        metadata=ObjectMeta(name="web", namespace="default", uid="svc-uid"),
        spec=ServiceSpec(
            ports=(ServicePort(port=80, name="http", target_port="web"), ServicePort(port=443, name="tls", target_port=8443)),
            selector=pmap({"app": "web"}),
            cluster_ip="10.96.0.10",
            ip_families=(IPFamily.IPV4,),
            publish_not_ready_addresses=publish,
        ),
    )


@st.composite
def pod_sets(draw: st.DrawFn) -> list[Pod]:
    """Pods web-0.. with random readiness, named port (8080, 8081 or none), phase, IP and
    deletion."""
    count = draw(st.integers(min_value=0, max_value=230))
    pods = []
    for i in range(count):
        ready = draw(st.booleans())
        port = draw(st.sampled_from([8080, 8081, None]))
        phase = draw(st.sampled_from([PodPhase.RUNNING, PodPhase.RUNNING, PodPhase.RUNNING, PodPhase.FAILED]))
        has_ip = draw(st.integers(0, 9)) > 0
        deleting = draw(st.integers(0, 9)) == 0
        ip = f"10.244.{i // 250}.{i % 250 + 1}" if has_ip else ""
        ports = (ContainerPort(name="web", container_port=port),) if port is not None else ()
        status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
        pods.append(
            Pod(
                metadata=ObjectMeta(
                    name=f"web-{i}", namespace="default", uid=f"uid-{i}", labels=pmap({"app": "web"}),
                    deletion_timestamp=T if deleting else None,
                ),
                spec=PodSpec(containers=(Container(name="app", image="nginx", ports=ports),), node_name="node-1"),
                status=PodStatus(
                    phase=phase, pod_ip=ip, pod_ips=(PodIP(ip=ip),) if ip else (),
                    conditions=(PodCondition(type="Ready", status=status),),
                ),
            )
        )
    return pods


def run(svc: Service, pods: Sequence[Pod], slices: Sequence[EndpointSlice], round_: int) -> tuple[list[EndpointSlice], Plan]:
    """Reconcile and write the plan as the apiserver would (creates named `web-<round>-<i>`)."""
    plan = reconcile(svc, pods, slices, lambda n: NODE, T)
    by_name = {es.metadata.name: es for es in slices}
    for es in plan.deletes:
        del by_name[es.metadata.name]
    for es in plan.updates:
        by_name[es.metadata.name] = attrs.evolve(es, metadata=attrs.evolve(es.metadata, uid=f"uid-{es.metadata.name}"))
    for i, es in enumerate(plan.creates):
        name = f"web-{round_}-{i}"
        by_name[name] = attrs.evolve(es, metadata=attrs.evolve(es.metadata, name=name, generate_name="", uid=f"uid-{name}"))
    return [by_name[n] for n in sorted(by_name)], plan


def check(svc: Service, pods: Sequence[Pod], slices: Sequence[EndpointSlice]) -> None:
    wanted = {p.metadata.name: p for p in pods if should_pod_be_in_endpoints(p, True)}
    seen: list[str] = []
    for es in slices:
        assert len(es.endpoints) <= MAX_ENDPOINTS_PER_SLICE
        for e in es.endpoints:
            assert e.target_ref is not None
            pod = wanted[e.target_ref.name]
            seen.append(pod.metadata.name)
            serving = any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in pod.status.conditions)
            terminating = pod.metadata.deletion_timestamp is not None
            ready = svc.spec.publish_not_ready_addresses or (serving and not terminating)
            assert e.conditions == EndpointConditions(ready=ready, serving=serving, terminating=terminating)
            assert e.addresses == (pod.status.pod_ip,)
            resolved = [(sp.name, find_port(pod, sp)) for sp in svc.spec.ports if find_port(pod, sp) is not None]
            assert [(p.name, p.port) for p in es.ports] == resolved
    assert sorted(seen) == sorted(wanted)
    if not wanted:
        assert [(es.endpoints, es.ports) for es in slices] == [((), ())]  # the placeholder


@given(pods=pod_sets(), later=pod_sets(), publish=st.booleans())
def test_slices_list_exactly_the_pods_that_should_be_endpoints(pods: list[Pod], later: list[Pod], publish: bool) -> None:
    svc = service(publish)
    slices, _ = run(svc, pods, [], 1)
    check(svc, pods, slices)
    assert run(svc, pods, slices, 2)[1] == Plan()  # a fixed point writes nothing
    slices, _ = run(svc, later, slices, 3)
    check(svc, later, slices)
    assert run(svc, later, slices, 4)[1] == Plan()


@given(pods=pod_sets())
def test_reconcile_is_deterministic(pods: list[Pod]) -> None:
    svc = service(False)
    assert run(svc, pods, [], 1) == run(svc, list(pods), [], 1)

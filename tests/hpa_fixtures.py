"""Shared fixtures of the HPA tests and properties: a cluster running the autoscaler, a
ReplicaSet whose pods the test keeps Running and Ready (as a ReplicaSet controller and
kubelets would), and PodMetrics written directly through `Cluster.request`."""

from __future__ import annotations

import attrs

from kcore.api.apps import ReplicaSet
from kcore.api.autoscaling import (
    HorizontalPodAutoscaler,
)
from kcore.api.core import Event as EventObject
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time
from kcore.api.pod import Pod, PodCondition, PodPhase
from kcore.component.requests import Create, Delete, ObjectList, Scale, Subresource, Update
from kcore.controllers.hpa import HorizontalPodAutoscalerController
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_container, a_pod, a_pod_metrics, a_replica_set, owner_ref

RS = ObjectKey(kind=Kind.REPLICA_SET, namespace="default", name="web")
HPA = ObjectKey(kind=Kind.HORIZONTAL_POD_AUTOSCALER, namespace="default", name="web")
LABELS = {"app": "web"}


def a_cluster() -> Cluster:
    return create_cluster(ClusterConfig(seed=3), nodes=1, components=(HorizontalPodAutoscalerController(),))


def created(c: Cluster, obj: ApiObject) -> ApiObject:
    response = c.request(Create(obj=obj))
    assert response.ok, response.body
    assert not isinstance(response.body, Status | ObjectList | Scale)
    return response.body


def replica_set(c: Cluster) -> ReplicaSet:
    rs = get(c.state, RS)
    assert isinstance(rs, ReplicaSet)
    return rs


def hpa(c: Cluster) -> HorizontalPodAutoscaler:
    obj = get(c.state, HPA)
    assert isinstance(obj, HorizontalPodAutoscaler)
    return obj


def pods(c: Cluster) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]


def write_metrics(c: Cluster, pod: str, cpu_milli: int | None) -> None:
    """Create or replace the PodMetrics of `pod` (None: delete it) sampled now."""
    key = ObjectKey(kind=Kind.POD_METRICS, namespace="default", name=pod)
    if cpu_milli is None:
        if get(c.state, key) is not None:
            assert c.request(Delete(key=key)).ok
        return
    sample = a_pod_metrics(pod, at=c.now, cpu_milli={"app": cpu_milli})
    request = Update(obj=sample) if get(c.state, key) is not None else Create(obj=sample)
    assert c.request(request).ok


def run_pod(c: Cluster, name: str, *, cpu_request: str = "100m", ready: bool = True) -> Pod:
    """A pod of the ReplicaSet, Running (Ready or not) since ten minutes ago."""
    owner = replica_set(c)
    pod = created(c, a_pod(name, node_name="node-1", labels=LABELS, owners=(owner_ref(owner),), containers=(a_container(cpu=cpu_request),)))
    assert isinstance(pod, Pod)
    since = Time(c.now - 600)
    cond = PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE, last_transition_time=since)
    status = attrs.evolve(pod.status, phase=PodPhase.RUNNING, conditions=(cond,), start_time=since)
    response = c.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS))
    assert response.ok, response.body
    assert isinstance(response.body, Pod)
    return response.body


def start_replica_set(c: Cluster, replicas: int) -> None:
    created(c, a_replica_set("web", replicas=replicas, labels=LABELS))


def follow(c: Cluster, cpu_milli_per_pod: int) -> None:
    """Bring the pods to the ReplicaSet's count (newest names last) and sample each."""
    want = replica_set(c).spec.replicas
    have = sorted(p.metadata.name for p in pods(c))
    for name in have[want:]:
        assert c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name=name), grace_period_seconds=0)).ok
        write_metrics(c, name, None)
    n = len(have)
    while n < want:
        run_pod(c, f"web-{n:03d}")
        n += 1
    for p in pods(c):
        write_metrics(c, p.metadata.name, cpu_milli_per_pod)
    c.run_until_stable()


def events_about(c: Cluster, name: str = "web", kind: str = "HorizontalPodAutoscaler") -> list[tuple[str, str]]:
    objs = list_objects(c.state, Kind.EVENT, "default")
    return [
        (e.reason, e.message)
        for e in objs
        if isinstance(e, EventObject) and e.involved_object.name == name and e.involved_object.kind == kind
    ]

"""The watch filters (`wants`) of the control-plane controllers.

Each filter is a pure function of one watch event: these tests check that it rejects the
events its controller never acts on (chiefly pods controlled by a ReplicaSet, the
benchmark's traffic) and accepts the relevant ones, orphans and deletions included; the
last tests run the real driver, which applies the filters, and check both the deliveries
and that the controllers still do their work.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from kcore.api.batch import Job, JobSpec
from kcore.api.coordination import Lease
from kcore.api.core import ServiceAccount
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference, Time
from kcore.api.metrics import PodMetrics
from kcore.api.pod import Pod, PodPhase
from kcore.apiserver.types import Create, Delete, WatchEvent, WatchType
from kcore.controllers.cronjob import CronJobController
from kcore.controllers.daemonset import DaemonSetController
from kcore.controllers.hpa import HorizontalPodAutoscalerController
from kcore.controllers.job import JobController
from kcore.controllers.job_rules import JOB_TRACKING_FINALIZER
from kcore.controllers.metricsserver import MetricsServer
from kcore.controllers.namespace import NamespaceController
from kcore.controllers.nodelifecycle import NodeLifecycleController
from kcore.controllers.podgc import PodGCController
from kcore.controllers.statefulset import StatefulSetController
from kcore.driver.cluster import Cluster, Delivered
from kcore.driver.component import Component
from kcore.driver.events import WatchDelivered
from kcore.state import get
from tests.builders import (
    a_deployment,
    a_namespace,
    a_node,
    a_pod,
    a_replica_set,
    cluster_with,
    key,
)

T = Time(1000.0)


def ref(kind: str, name: str = "owner", *, controller: bool = True, api: str = "apps/v1") -> OwnerReference:
    return OwnerReference(api_version=api, kind=kind, name=name, uid=f"uid-{name}", controller=controller)


def ev(obj: ApiObject, type_: WatchType = WatchType.MODIFIED) -> WatchEvent:
    return WatchEvent(type=type_, obj=obj, resource_version=7)


def pod(
    *owners: OwnerReference,
    node: str = "",
    phase: PodPhase = PodPhase.PENDING,
    deleting: bool = False,
    finalizers: tuple[str, ...] = (),
) -> Pod:
    p = a_pod("p", owners=owners, node_name=node, finalizers=finalizers)
    if deleting:
        p = attrs.evolve(p, metadata=attrs.evolve(p.metadata, deletion_timestamp=T))
    return attrs.evolve(p, status=attrs.evolve(p.status, phase=phase))


RS_POD = pod(ref("ReplicaSet"), node="node-1", phase=PodPhase.RUNNING)
ORPHAN = pod(node="node-1", phase=PodPhase.RUNNING)
ALL_TYPES = (WatchType.ADDED, WatchType.MODIFIED, WatchType.DELETED)


# --- workload controllers: their own kind's pods and orphans -------------------------------


@pytest.mark.parametrize(
    ("component", "kind"),
    [(DaemonSetController(), "DaemonSet"), (StatefulSetController(), "StatefulSet"), (JobController(), "Job")],
)
def test_a_workload_controller_takes_only_its_own_pods_and_orphans(component: object, kind: str) -> None:
    wants = component.wants  # type: ignore[attr-defined]  # each parametrized controller has one
    own = pod(ref(kind, api="batch/v1" if kind == "Job" else "apps/v1"), node="node-1")
    for t in ALL_TYPES:
        assert wants(ev(own, t)), (kind, t)
        assert wants(ev(ORPHAN, t)), (kind, t)
        assert not wants(ev(RS_POD, t)), (kind, t)
    # a non-controller reference of its kind does not make the pod its own
    assert not wants(ev(pod(ref("ReplicaSet"), ref(kind, "other", controller=False))))
    assert wants(ev(pod(ref(kind, "other", controller=False))))  # still an orphan
    assert wants(ev(a_node("node-9"))) or not isinstance(component, DaemonSetController)


def test_the_workload_controllers_keep_their_other_kinds() -> None:
    assert DaemonSetController().wants(ev(a_node("node-2"), WatchType.MODIFIED))
    rs = a_replica_set()
    for c in (DaemonSetController(), StatefulSetController(), JobController()):
        # any non-pod kind the driver sends them passes (watches decides which kinds come)
        assert c.wants(ev(rs))


def test_the_job_controller_takes_foreign_pods_with_its_tracking_finalizer() -> None:
    stray = pod(ref("ReplicaSet"), finalizers=(JOB_TRACKING_FINALIZER,))
    assert JobController().wants(ev(stray))
    assert JobController().wants(ev(stray, WatchType.DELETED))


# --- namespace, node lifecycle, pod GC, metrics server, HPA, CronJob ------------------------


def test_the_namespace_controller_takes_namespaces_deletions_and_objects_going() -> None:
    wants = NamespaceController().wants
    assert wants(ev(a_namespace("team")))
    assert wants(ev(RS_POD, WatchType.DELETED))
    assert wants(ev(pod(ref("ReplicaSet"), node="node-1", deleting=True)))
    assert wants(ev(attrs.evolve(a_replica_set(), metadata=attrs.evolve(a_replica_set().metadata, deletion_timestamp=T))))
    assert not wants(ev(RS_POD, WatchType.ADDED))
    assert not wants(ev(RS_POD))
    assert not wants(ev(a_replica_set()))


def test_the_node_lifecycle_controller_takes_bound_and_deleted_pods() -> None:
    wants = NodeLifecycleController().wants
    assert wants(ev(RS_POD))
    assert wants(ev(ORPHAN, WatchType.ADDED))
    unbound = pod(ref("ReplicaSet"))
    assert not wants(ev(unbound, WatchType.ADDED))
    assert not wants(ev(unbound))
    assert wants(ev(unbound, WatchType.DELETED))
    assert wants(ev(a_node("node-1")))
    assert wants(ev(Lease(metadata=ObjectMeta(name="node-1", namespace="kube-node-lease"))))


def test_the_pod_gc_takes_what_a_pass_can_act_on() -> None:
    wants = PodGCController().wants
    rs = ref("ReplicaSet")
    assert not wants(ev(pod(rs), WatchType.ADDED))  # unbound, pending
    assert not wants(ev(pod(rs, node="node-1", phase=PodPhase.RUNNING)))
    assert not wants(ev(ORPHAN))  # ownership plays no part
    assert wants(ev(pod(rs, node="node-1")))  # the binding: its node may be missing
    assert wants(ev(pod(rs, deleting=True)))  # unscheduled, terminating
    assert wants(ev(pod(rs, node="node-1", phase=PodPhase.RUNNING, deleting=True)))
    assert wants(ev(pod(rs, node="node-1", phase=PodPhase.SUCCEEDED)))
    assert wants(ev(pod(rs, phase=PodPhase.FAILED)))
    assert wants(ev(pod(rs, node="node-1", phase=PodPhase.UNKNOWN)))
    for t in ALL_TYPES:
        assert wants(ev(pod(rs), WatchType.DELETED)) and wants(ev(a_node("node-1"), t))


def test_the_metrics_server_skips_pending_pods_only() -> None:
    wants = MetricsServer().wants
    assert not wants(ev(pod(ref("ReplicaSet")), WatchType.ADDED))
    assert not wants(ev(pod(ref("ReplicaSet"), node="node-1")))
    assert wants(ev(pod(ref("ReplicaSet")), WatchType.DELETED))
    assert wants(ev(pod(ref("ReplicaSet"), deleting=True)))
    for phase in (PodPhase.RUNNING, PodPhase.SUCCEEDED, PodPhase.FAILED, PodPhase.UNKNOWN):
        assert wants(ev(pod(ref("ReplicaSet"), node="node-1", phase=phase)))
    assert wants(ev(PodMetrics(metadata=ObjectMeta(name="p", namespace="default")), WatchType.ADDED))


def test_the_hpa_skips_scale_owners_but_no_pod() -> None:
    wants = HorizontalPodAutoscalerController().wants
    assert not wants(ev(a_replica_set()))
    assert not wants(ev(a_deployment(), WatchType.DELETED))
    for p in (RS_POD, ORPHAN, pod(ref("ReplicaSet"))):
        for t in ALL_TYPES:
            assert wants(ev(p, t))
    assert wants(ev(PodMetrics(metadata=ObjectMeta(name="p", namespace="default"))))


def test_the_cronjob_controller_takes_its_jobs_and_orphans() -> None:
    wants = CronJobController().wants

    def job(*owners: OwnerReference) -> Job:
        return Job(metadata=ObjectMeta(name="j", namespace="default", owner_references=owners), spec=JobSpec())

    for t in ALL_TYPES:
        assert wants(ev(job(ref("CronJob", api="batch/v1")), t))
        assert wants(ev(job(), t))
        assert not wants(ev(job(ref("Foo", api="example.com/v1")), t))


# --- with the real driver ------------------------------------------------------------------


def _deliveries(cluster: Cluster, component: str, name: str) -> list[WatchType]:
    out = []
    for entry in cluster.trace:
        if not (isinstance(entry, Delivered) and entry.component == component):
            continue
        if isinstance(entry.event, WatchDelivered) and entry.event.event.obj.metadata.name == name:
            out.append(entry.event.event.type)
    return out


def test_the_driver_delivers_a_replica_set_pod_only_to_who_wants_it() -> None:
    rs = a_replica_set("web")
    state = cluster_with(rs, a_node("node-1"), ServiceAccount(metadata=ObjectMeta(name="default", namespace="default")))
    stored = get(state, key(rs.KIND, "web"))
    assert stored is not None
    owner = attrs.evolve(ref("ReplicaSet", "web"), uid=stored.metadata.uid)
    comps: list[Component[Any]] = [DaemonSetController(), StatefulSetController(), JobController(), NamespaceController(), NodeLifecycleController()]
    cluster = Cluster.empty(state, comps)
    cluster.run_until_stable()
    assert cluster.request(Create(obj=a_pod("owned", owners=(owner,)))).ok
    assert cluster.request(Create(obj=a_pod("orphan"))).ok
    cluster.run_until_stable()
    assert cluster.request(Delete(key=key(Pod.KIND, "owned"), grace_period_seconds=0)).ok
    cluster.run_until_stable()
    for name in ("daemonset-controller", "statefulset-controller", "job-controller"):
        assert _deliveries(cluster, name, "owned") == [], name
        assert _deliveries(cluster, name, "orphan") == [WatchType.ADDED], name
    assert _deliveries(cluster, "namespace-controller", "owned") == [WatchType.DELETED]
    assert _deliveries(cluster, "node-lifecycle-controller", "owned") == [WatchType.DELETED]

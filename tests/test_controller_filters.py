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
from pyrsistent import pmap

from kcore.addons.metricsserver import MetricsServer
from kcore.api.batch import Job, JobSpec
from kcore.api.coordination import Lease
from kcore.api.core import ServiceAccount
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, OwnerReference, Time
from kcore.api.metrics import PodMetrics
from kcore.api.pod import Pod, PodCondition, PodPhase, Toleration, TolerationOperator
from kcore.api.policy import PodDisruptionBudget
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import WatchDelivered
from kcore.component.protocol import Component
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.controllers.cronjob import CronJobController
from kcore.controllers.daemonset import DaemonSetController
from kcore.controllers.disruption import DisruptionController
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.controllers.hpa import HorizontalPodAutoscalerController
from kcore.controllers.job import JobController
from kcore.controllers.job_rules import JOB_TRACKING_FINALIZER
from kcore.controllers.namespace import NamespaceController
from kcore.controllers.nodelifecycle import NodeLifecycleController
from kcore.controllers.podgc import PodGCController
from kcore.controllers.statefulset import StatefulSetController
from kcore.driver.cluster import Cluster
from kcore.driver.snapshot import Delivered
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
    assert wants(ev(pod(rs, node="node-1", phase=PodPhase.RUNNING)))  # no old object: unknown
    assert not wants(*upd(ORPHAN, with_status(ORPHAN, message="x")))  # a status write of a Running pod
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


# --- old/new-aware filters: an update passes only when it changes what is read ------------


def upd(old: ApiObject, new: ApiObject) -> tuple[WatchEvent, ApiObject]:
    return ev(new, WatchType.MODIFIED), old


def with_status(p: Pod, **changes: Any) -> Pod:
    return attrs.evolve(p, status=attrs.evolve(p.status, **changes))


def with_meta(p: Pod, **changes: Any) -> Pod:
    return attrs.evolve(p, metadata=attrs.evolve(p.metadata, **changes))


def ready(status: ConditionStatus, at: float = 10.0) -> tuple[PodCondition, ...]:
    return (
        PodCondition(type="Initialized", status=ConditionStatus.TRUE),
        PodCondition(type="Ready", status=status, last_transition_time=Time(at)),
    )


BASE = with_status(pod(ref("ReplicaSet"), node="node-1", phase=PodPhase.RUNNING), conditions=ready(ConditionStatus.FALSE), start_time=Time(5.0))
KUBELET_WRITES = (  # status writes no filtered controller reads
    with_status(BASE, pod_ip="10.0.0.7"),
    with_status(BASE, message="busy"),
    with_status(BASE, conditions=(PodCondition(type="Initialized", status=ConditionStatus.FALSE), BASE.status.conditions[1])),
    with_meta(BASE, resource_version=99),
)
CHANGES = {  # what each field change looks like
    "phase": with_status(BASE, phase=PodPhase.SUCCEEDED),
    "ready": with_status(BASE, conditions=ready(ConditionStatus.TRUE)),
    "ready-time": with_status(BASE, conditions=ready(ConditionStatus.FALSE, at=20.0)),
    "start": with_status(BASE, start_time=Time(6.0)),
    "labels": with_meta(BASE, labels=pmap({"app": "other"})),
    "annotations": with_meta(BASE, annotations=pmap({"kcore.io/cpu-usage": "100m"})),
    "owners": with_meta(BASE, owner_references=()),
    "deleting": with_meta(BASE, deletion_timestamp=T),
    "finalizers": with_meta(BASE, finalizers=("example.com/hold",)),
    "uid": with_meta(BASE, uid="another"),
    "node": attrs.evolve(BASE, spec=attrs.evolve(BASE.spec, node_name="node-2")),
    "tolerations": attrs.evolve(BASE, spec=attrs.evolve(BASE.spec, tolerations=(Toleration(key="k", operator=TolerationOperator.EXISTS),))),
}
READS: dict[str, frozenset[str]] = {
    "garbage-collector-controller": frozenset({"owners", "deleting", "finalizers", "uid"}),
    "metrics-server": frozenset({"phase", "labels", "annotations", "deleting", "uid"}),
    "horizontal-pod-autoscaler-controller": frozenset({"phase", "ready", "ready-time", "start", "labels", "deleting", "uid"}),
    "disruption-controller": frozenset({"ready", "labels", "owners", "deleting", "uid"}),
    "node-lifecycle-controller": frozenset({"ready", "deleting", "uid", "node", "tolerations"}),
    "pod-garbage-collector-controller": frozenset({"phase", "deleting", "uid", "node"}),
}
FILTERED: tuple[Any, ...] = (
    GarbageCollector(),
    MetricsServer(),
    HorizontalPodAutoscalerController(),
    DisruptionController(),
    NodeLifecycleController(),
    PodGCController(),
)


@pytest.mark.parametrize("component", FILTERED, ids=lambda c: c.name)
def test_a_pod_update_passes_exactly_when_it_changes_a_field_read(component: Any) -> None:
    wants = component.wants
    for change, new in CHANGES.items():
        assert wants(*upd(BASE, new)) is (change in READS[component.name]), change
        if change != "deleting":  # a deletionTimestamp never goes away
            assert wants(*upd(new, BASE)) is (change in READS[component.name]), ("back", change)
    for new in KUBELET_WRITES:
        assert not wants(*upd(BASE, new)), new
    assert not wants(*upd(BASE, BASE))


@pytest.mark.parametrize("component", FILTERED, ids=lambda c: c.name)
def test_deletions_and_unknown_olds_always_pass(component: Any) -> None:
    wants = component.wants
    for p in (BASE, RS_POD, ORPHAN, pod(ref("ReplicaSet"))):
        assert wants(ev(p, WatchType.DELETED), p)
        assert wants(ev(p, WatchType.DELETED))
    assert wants(ev(BASE))  # MODIFIED with no old: unknown, so it passes


def test_adds_pass_where_the_component_can_act_on_them() -> None:
    unbound_pending = pod(ref("ReplicaSet"))
    for c in (GarbageCollector(), HorizontalPodAutoscalerController(), DisruptionController()):
        assert c.wants(ev(unbound_pending, WatchType.ADDED)), c.name
        assert c.wants(ev(ORPHAN, WatchType.ADDED)) is not isinstance(c, GarbageCollector), c.name
    for other in (MetricsServer(), NodeLifecycleController(), PodGCController()):
        assert not other.wants(ev(unbound_pending, WatchType.ADDED)), other.name
        assert other.wants(ev(BASE, WatchType.ADDED)), other.name


def test_the_metrics_server_skips_pending_pods_even_when_they_change() -> None:
    pending = pod(ref("ReplicaSet"), node="node-1")
    labelled = with_meta(pending, labels=pmap({"app": "x"}))
    assert not MetricsServer().wants(*upd(pending, labelled))
    running = with_status(pending, phase=PodPhase.RUNNING)
    assert MetricsServer().wants(*upd(pending, running))  # starts being measured


def test_podmetrics_updates_reach_the_hpa_but_not_the_metrics_server() -> None:
    pm = PodMetrics(metadata=ObjectMeta(name="p", namespace="default"), timestamp=Time(1.0))
    later = attrs.evolve(pm, timestamp=Time(16.0))
    assert HorizontalPodAutoscalerController().wants(*upd(pm, later))  # the sample is read
    assert not MetricsServer().wants(*upd(pm, later))  # only its existence is
    assert MetricsServer().wants(ev(later))
    for t in (WatchType.ADDED, WatchType.DELETED):
        assert MetricsServer().wants(ev(later, t))


def test_workload_updates_reach_the_disruption_controller_only_when_its_scale_moves() -> None:
    wants = DisruptionController().wants
    rs = a_replica_set("web")
    status_only = attrs.evolve(rs, status=attrs.evolve(rs.status, replicas=3))
    assert not wants(*upd(rs, status_only))
    scaled = attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=rs.spec.replicas + 1))
    assert wants(*upd(rs, scaled))
    adopted = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, owner_references=(ref("Deployment", "web"),)))
    assert wants(*upd(rs, adopted))
    assert wants(ev(rs, WatchType.DELETED), rs)
    pdb = PodDisruptionBudget(metadata=ObjectMeta(name="b", namespace="default"))
    assert wants(*upd(pdb, attrs.evolve(pdb, metadata=attrs.evolve(pdb.metadata, resource_version=9))))


def test_the_garbage_collector_reacts_to_graph_changes_of_any_kind() -> None:
    wants = GarbageCollector().wants
    rs = a_replica_set("web")
    assert not wants(*upd(rs, attrs.evolve(rs, status=attrs.evolve(rs.status, replicas=3))))
    assert not wants(*upd(rs, attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=7))))
    going = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, deletion_timestamp=T, finalizers=("foregroundDeletion",)))
    assert wants(*upd(rs, going))
    lease = Lease(metadata=ObjectMeta(name="node-1", namespace="kube-node-lease"))
    assert not wants(*upd(lease, attrs.evolve(lease, metadata=attrs.evolve(lease.metadata, resource_version=5))))
    assert not wants(ev(lease, WatchType.ADDED))  # ownerless and new: nothing to sync
    assert wants(ev(lease, WatchType.DELETED))  # an owner gone: its dependents dangle
    owned = attrs.evolve(lease, metadata=attrs.evolve(lease.metadata, owner_references=(ref("Node", "node-1", api="v1"),)))
    assert wants(ev(owned, WatchType.ADDED))
    assert wants(ev(with_meta(ORPHAN, deletion_timestamp=T, finalizers=("orphan",)), WatchType.ADDED))


def test_the_metrics_server_skips_updates_of_a_pod_being_deleted() -> None:
    going = with_meta(BASE, deletion_timestamp=T)
    assert MetricsServer().wants(*upd(BASE, going))  # its sample goes at the next scrape
    assert not MetricsServer().wants(*upd(going, with_status(going, phase=PodPhase.SUCCEEDED)))
    assert MetricsServer().wants(ev(going, WatchType.DELETED), going)


def test_the_hpa_and_the_disruption_controller_skip_readiness_of_a_pod_being_deleted() -> None:
    going = with_meta(BASE, deletion_timestamp=T)
    flipped = with_status(going, conditions=ready(ConditionStatus.TRUE))
    for c in (HorizontalPodAutoscalerController(), DisruptionController()):
        assert not c.wants(*upd(going, flipped)), c.name
        assert c.wants(*upd(going, with_meta(going, labels=pmap({"app": "x"})))), c.name
    assert NodeLifecycleController().wants(*upd(going, flipped))  # MarkPodsNotReady still reads it


def test_with_the_real_driver_kubelet_like_status_writes_reach_none_of_them() -> None:
    state = cluster_with(a_node("node-1"), ServiceAccount(metadata=ObjectMeta(name="default", namespace="default")))
    cluster = Cluster.empty(state, list(FILTERED))
    cluster.run_until_stable()
    assert cluster.request(Create(obj=a_pod("w", node_name="node-1"))).ok
    cluster.run_until_stable()
    for i in range(3):
        stored = get(cluster.state, key(Pod.KIND, "w"))
        assert isinstance(stored, Pod)
        assert cluster.request(Update(obj=with_status(stored, message=f"write {i}"), subresource=Subresource.STATUS)).ok
        cluster.run_until_stable()
    stored = get(cluster.state, key(Pod.KIND, "w"))
    assert isinstance(stored, Pod)
    assert cluster.request(Update(obj=with_status(stored, phase=PodPhase.RUNNING), subresource=Subresource.STATUS)).ok
    cluster.run_until_stable()
    seen = {c.name: _deliveries(cluster, c.name, "w") for c in FILTERED}
    assert seen["garbage-collector-controller"] == []  # ownerless: nothing for it but its deletion
    assert seen["disruption-controller"] == [WatchType.ADDED]
    assert seen["node-lifecycle-controller"] == [WatchType.ADDED]
    assert seen["metrics-server"] == [WatchType.MODIFIED]  # Pending until then: never measured
    assert seen["horizontal-pod-autoscaler-controller"] == [WatchType.ADDED, WatchType.MODIFIED]  # the phase moved
    assert seen["pod-garbage-collector-controller"] == [WatchType.ADDED]  # Pending -> Running: not terminal either way


def test_the_node_lifecycle_controller_skips_a_first_ready_false() -> None:
    no_ready = with_status(BASE, conditions=BASE.status.conditions[:1])
    assert not NodeLifecycleController().wants(*upd(no_ready, BASE))  # MarkPodsNotReady skips both
    assert NodeLifecycleController().wants(*upd(no_ready, CHANGES["ready"]))

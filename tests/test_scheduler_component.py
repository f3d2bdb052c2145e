"""The Scheduler component driven by the Cluster: binding, FailedScheduling, backoff,
cluster events, preemption and bind conflicts."""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from pyrsistent import pmap

from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import ContainerStatus, Pod, PodCondition, PodIP, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.events import ApiAnswered, Started, TimerFired, WatchDelivered
from kcore.component.requests import Bind, Create, Delete, Response, Subresource, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.driver.snapshot import Delivered, Performed
from kcore.scheduler import Scheduler, SchedulerState
from kcore.scheduler import queue as sq
from kcore.scheduler.component import Binding, Preemption, StatusWrite, Timer
from kcore.state import ClusterConfig, ClusterState, get, list_objects
from tests.builders import a_container, a_pod, cluster_with
from tests.scheduler_builders import node, taint

CP = taint("node-role.kubernetes.io/control-plane")


def add_node(cluster: Cluster, n: Node) -> None:
    """Register `n` as a kubelet does: create it, then write its status."""
    created = cluster.request(Create(obj=n)).body
    assert isinstance(created, Node)
    with_status = attrs.evolve(n, metadata=created.metadata)
    assert cluster.request(Update(obj=with_status, subresource=Subresource.STATUS)).ok


def cluster_of(nodes: Iterable[Node], *, seed: int = 7) -> Cluster:
    cluster = create_cluster(ClusterConfig(seed=seed), components=[Scheduler()])
    for n in nodes:
        add_node(cluster, n)
    cluster.run_until_stable()
    return cluster


def create(cluster: Cluster, obj: ApiObject) -> None:
    resp = cluster.request(Create(obj=obj))
    assert resp.ok, resp.body


def pod_named(cluster: Cluster, name: str, namespace: str = "default") -> Pod:
    obj = get(cluster.state, ObjectKey(kind=Kind.POD, namespace=namespace, name=name))
    assert isinstance(obj, Pod)
    return obj


def events(cluster: Cluster, reason: str) -> list[tuple[str, str]]:
    """(involved object name, message) of the recorded Events with `reason`, in order."""
    return [
        (e.effect.involved.name, e.effect.message)
        for e in cluster.trace
        if isinstance(e, Performed) and isinstance(e.effect, RecordEvent) and e.effect.reason == reason
    ]


def attempt_times(cluster: Cluster, start: Time) -> list[float]:
    """Seconds after `start` at which the scheduler recorded FailedScheduling."""
    return [
        e.at - start
        for e in cluster.trace
        if isinstance(e, Performed)
        and isinstance(e.effect, RecordEvent)
        and e.effect.reason == "FailedScheduling"
        and e.at >= start
    ]


def cpu_pod(name: str, cpu: str, **kw: object) -> Pod:
    return a_pod(name, containers=[a_container(cpu=cpu)], **kw)  # type: ignore[arg-type]


def binding(view: ClusterState, key: ObjectKey) -> Binding:
    """The tag of the binding of the pod at `key` in `view`."""
    pod = get(view, key)
    assert pod is not None
    return Binding(pod=key, uid=pod.metadata.uid)


def touch(cluster: Cluster, name: str, n: int) -> None:
    """Change a node's labels: a Node update that may make pods schedulable."""
    current = get(cluster.state, ObjectKey(kind=Kind.NODE, namespace="", name=name))
    assert isinstance(current, Node)
    labels = current.metadata.labels.set("touched", str(n))
    changed = attrs.evolve(current, metadata=attrs.evolve(current.metadata, labels=labels))
    assert cluster.request(Update(obj=changed)).ok


def test_pending_pods_are_bound_and_get_a_scheduled_event() -> None:
    cluster = cluster_of([node(f"n{i}") for i in range(3)])
    for i in range(6):
        create(cluster, cpu_pod(f"p{i}", "1"))
    cluster.run_until_stable()
    bound = {p.metadata.name: p.spec.node_name for p in list_objects(cluster.state, Kind.POD) if isinstance(p, Pod)}
    assert sorted(bound) == [f"p{i}" for i in range(6)]
    assert all(n in {"n0", "n1", "n2"} for n in bound.values())
    assert sorted(events(cluster, "Scheduled")) == sorted(
        (name, f"Successfully assigned default/{name} to {n}") for name, n in bound.items()
    )
    cond = pod_named(cluster, "p0").status.conditions
    assert [(c.type, c.status) for c in cond] == [("PodScheduled", ConditionStatus.TRUE)]


def test_pods_pending_at_start_are_scheduled_from_the_list() -> None:
    cluster = create_cluster(ClusterConfig(seed=3), nodes=2)
    create(cluster, cpu_pod("early", "1"))
    late = Cluster(cluster.snapshot(), [Scheduler()])
    late.run_until_stable()
    assert pod_named(late, "early").spec.node_name in {"node-1", "node-2"}


def test_pod_that_fits_nowhere_gets_the_upstream_failed_scheduling_message() -> None:
    nodes = [node(f"w{i}", cpu="1") for i in range(3)] + [node(f"cp{i}", taints=[CP]) for i in range(2)]
    cluster = cluster_of(nodes)
    create(cluster, cpu_pod("big", "2"))
    cluster.run_until_stable()
    message = (
        "0/5 nodes are available: 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 3 Insufficient cpu. "
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling."
    )
    assert events(cluster, "FailedScheduling") == [("big", message)]
    pod = pod_named(cluster, "big")
    assert pod.spec.node_name == ""
    (cond,) = pod.status.conditions
    assert (cond.type, cond.status, cond.reason, cond.message) == (
        "PodScheduled",
        ConditionStatus.FALSE,
        "Unschedulable",
        message,
    )
    recorded = [e for e in list_objects(cluster.state, Kind.EVENT) if getattr(e, "reason", "") == "FailedScheduling"]
    assert len(recorded) == 1


def test_backoff_doubles_from_one_second_to_a_ten_second_cap() -> None:
    cluster = cluster_of([node("small", cpu="1")])
    start = cluster.now
    create(cluster, cpu_pod("big", "2"))
    cluster.run_until_stable()
    for n in range(1, 160):  # a node change every 0.25 s keeps moving the pod out
        cluster.advance(0.25)
        touch(cluster, "small", n)
    assert attempt_times(cluster, start) == [0.0, 1.0, 3.0, 7.0, 15.0, 25.0, 35.0]


def test_unschedulable_pod_waits_five_minutes_without_a_cluster_event() -> None:
    cluster = cluster_of([node("small", cpu="1")])
    start = cluster.now
    create(cluster, cpu_pod("big", "2"))
    cluster.run_until_stable()
    cluster.advance(299)
    assert attempt_times(cluster, start) == [0.0]
    cluster.advance(1)
    assert attempt_times(cluster, start) == [0.0, 300.0]


def test_unschedulable_pod_is_bound_once_a_fitting_node_is_added() -> None:
    cluster = cluster_of([node("small", cpu="1")])
    create(cluster, cpu_pod("big", "2"))
    cluster.run_until_stable()
    add_node(cluster, node("large", cpu="8"))
    cluster.run_until_stable()
    assert pod_named(cluster, "big").spec.node_name == ""  # still backing off (1 s)
    cluster.advance(1)
    assert pod_named(cluster, "big").spec.node_name == "large"


def test_preemption_evicts_a_lower_priority_pod_and_binds_the_preemptor() -> None:
    cluster = cluster_of([node("only", cpu="4")])
    create(cluster, a_pod("low", "kube-system", containers=[a_container(cpu="3")], grace=0))
    cluster.run_until_stable()
    assert pod_named(cluster, "low", "kube-system").spec.node_name == "only"
    critical = a_pod("high", "kube-system", containers=[a_container(cpu="2")])
    create(cluster, attrs.evolve(critical, spec=attrs.evolve(critical.spec, priority_class_name="system-cluster-critical")))
    cluster.run_until_stable()
    high = pod_named(cluster, "high", "kube-system")
    assert high.status.nominated_node_name == "only"
    assert events(cluster, "Preempted") == [("low", f"Preempted by pod {high.metadata.uid} on node only")]
    low = ObjectKey(kind=Kind.POD, namespace="kube-system", name="low")
    deletes = [e.effect for e in cluster.trace if isinstance(e, Performed) and isinstance(e.effect, CallApi) and isinstance(e.effect.request, Delete)]
    assert deletes == [CallApi(request=Delete(key=low), tag=Preemption(victim=low, preemptor=ObjectKey(kind=Kind.POD, namespace="kube-system", name="high")))]
    assert get(cluster.state, low) is None
    cluster.advance(1)
    assert pod_named(cluster, "high", "kube-system").spec.node_name == "only"


def test_bind_refused_because_someone_else_bound_the_pod_forgets_the_assumption() -> None:
    cluster = cluster_of([node("small", cpu="1")])
    create(cluster, cpu_pod("web", "2"))
    cluster.run_until_stable()
    cluster.advance(2)
    cluster.inject(PauseComponent(name="kube-scheduler"))
    add_node(cluster, node("large", cpu="8"))
    assert cluster.request(Bind(key=ObjectKey(kind=Kind.POD, namespace="default", name="web"), node_name="small")).ok
    cluster.inject(ResumeComponent(name="kube-scheduler"))
    cluster.run_until_stable()
    state: SchedulerState = cluster.component_state("kube-scheduler")
    key = ObjectKey(kind=Kind.POD, namespace="default", name="web")
    assert state.snapshot.pod_nodes[key] == "small"
    assert state.snapshot.info("large").pods == pmap()
    assert state.assumed == pmap() and len(state.queue) == 0


def test_bind_conflict_forgets_the_pod_and_requeues_it_with_backoff() -> None:
    view = cluster_with(node("n1"), cpu_pod("web", "1"))
    sched = Scheduler()
    key = ObjectKey(kind=Kind.POD, namespace="default", name="web")
    s, _ = sched.init(view, Time(100.0))
    s, effects = sched.step(s, Started(now=Time(100.0)))
    assert effects == (CallApi(request=Bind(key=key, node_name="n1"), tag=binding(view, key)),)
    assert s.snapshot.pod_nodes[key] == "n1"
    conflict = Status(
        status="Failure",
        message='Operation cannot be fulfilled on pods "web": the object has been modified',
        reason=StatusReason.CONFLICT,
        code=409,
    )
    answer = ApiAnswered(tag=binding(view, key), response=Response(code=409, body=conflict), now=Time(100.5))
    s, effects = sched.step(s, answer)
    assert key not in s.snapshot.pod_nodes and s.assumed == pmap()
    queued = s.queue.get(key)
    assert queued is not None and (queued.where, queued.attempts) == (sq.Where.BACKOFF, 1)
    message = f'running Bind plugin "DefaultBinder": {conflict.message}'
    assert effects[0] == RecordEvent(involved=key, type=EventType.WARNING, reason="FailedScheduling", message=message)
    status_call = effects[1]
    assert isinstance(status_call, CallApi) and isinstance(status_call.request, Update)
    written = status_call.request.obj
    assert isinstance(written, Pod)
    assert status_call.tag == StatusWrite(pod=key, resource_version=written.metadata.resource_version)
    assert [(c.reason, c.message) for c in written.status.conditions] == [("SchedulerError", message)]
    assert effects[2:] == (WakeMeAt(at=Time(101.5), key=Timer.BACKOFF, in_motion=True),)  # a retry in motion
    s, effects = sched.step(s, TimerFired(key=Timer.BACKOFF, now=Time(101.5)))
    assert effects == (CallApi(request=Bind(key=key, node_name="n1"), tag=binding(view, key)),)


def test_deleted_pending_pod_leaves_the_queue() -> None:
    cluster = cluster_of([node("small", cpu="1")])
    create(cluster, cpu_pod("big", "2"))
    cluster.run_until_stable()
    assert cluster.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="big"))).ok
    cluster.run_until_stable()
    state: SchedulerState = cluster.component_state("kube-scheduler")
    assert len(state.queue) == 0


def test_backoff_duration_follows_upstream() -> None:
    assert [sq.backoff_duration(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_active_queue_pops_higher_priority_first_then_earlier() -> None:
    def prio(name: str, p: int) -> Pod:
        pod = a_pod(name)
        return attrs.evolve(pod, spec=attrs.evolve(pod.spec, priority=p))

    q = sq.SchedulingQueue()
    q = sq.add(q, prio("late-low", 0), Time(2.0))
    q = sq.add(q, prio("early-low", 0), Time(1.0))
    q = sq.add(q, prio("high", 5), Time(3.0))
    order = []
    while True:
        q, qp = sq.pop(q)
        if qp is None:
            break
        order.append((qp.key.name, qp.attempts))
    assert order == [("high", 1), ("early-low", 1), ("late-low", 1)]


def test_preemptor_waits_while_its_victims_terminate_instead_of_preempting_again() -> None:
    cluster = cluster_of([node("only", cpu="4")])
    create(cluster, a_pod("low", "kube-system", containers=[a_container(cpu="3")], grace=30))
    cluster.run_until_stable()
    critical = a_pod("high", "kube-system", containers=[a_container(cpu="2")])
    create(cluster, attrs.evolve(critical, spec=attrs.evolve(critical.spec, priority_class_name="system-cluster-critical")))
    cluster.run_until_stable()
    assert pod_named(cluster, "low", "kube-system").metadata.deletion_timestamp is not None
    cluster.advance(2)
    touch(cluster, "only", 1)
    cluster.run_until_stable()
    assert len(events(cluster, "Preempted")) == 1
    assert events(cluster, "FailedScheduling")[-1] == (
        "high",
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to a terminating pod on the nominated node.",
    )
    assert pod_named(cluster, "high", "kube-system").spec.node_name == ""


def test_benchmark_binds_every_pod_at_a_tiny_size() -> None:
    from benchmarks import bench_scheduler_component as bench

    r = bench.run(3, 12)
    assert (r.nodes, r.pods) == (3, 12)
    # the resume, then per pod: its ADDED, the bind, its answer, the Scheduled event, the bound MODIFIED
    assert r.steps == 1 + 5 * 12


def test_restarted_scheduler_relists_and_binds_what_is_still_pending() -> None:
    from kcore.driver.faults import CrashComponent

    cluster = cluster_of([node("n1"), node("n2")])
    create(cluster, cpu_pod("before", "1"))
    cluster.run_until_stable()
    cluster.inject(PauseComponent(name="kube-scheduler"))
    create(cluster, cpu_pod("during", "1"))
    cluster.inject(CrashComponent(name="kube-scheduler"))
    cluster.inject(ResumeComponent(name="kube-scheduler"))
    cluster.run_until_stable()
    assert pod_named(cluster, "before").spec.node_name in {"n1", "n2"}
    assert pod_named(cluster, "during").spec.node_name in {"n1", "n2"}
    state: SchedulerState = cluster.component_state("kube-scheduler")
    assert len(state.queue) == 0 and state.assumed == pmap()
    assert len(state.snapshot.pod_nodes) == 2


def test_resync_replaces_the_view_and_queues_pods_it_had_missed() -> None:
    from kcore.component.events import Resynced

    sched = Scheduler()
    s, _ = sched.init(cluster_with(node("n1")), Time(100.0))
    s, effects = sched.step(s, Started(now=Time(100.0)))
    assert effects == ()
    fresh = cluster_with(node("n1"), cpu_pod("missed", "1"), cpu_pod("bound", "1", node_name="n1"))
    s, effects = sched.step(s, Resynced(view=fresh, now=Time(101.0)))
    missed = ObjectKey(kind=Kind.POD, namespace="default", name="missed")
    bound = ObjectKey(kind=Kind.POD, namespace="default", name="bound")
    assert effects == (CallApi(request=Bind(key=missed, node_name="n1"), tag=binding(fresh, missed)),)
    assert s.view is fresh
    assert dict(s.snapshot.pod_nodes) == {bound: "n1", missed: "n1"}


# --- the watch filter (wants, with the object the previous write left) --------------------


def _status(pod: Pod, **changes: object) -> Pod:
    return attrs.evolve(pod, status=attrs.evolve(pod.status, **changes))  # type: ignore[arg-type]


def _meta(pod: Pod, **changes: object) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, **changes))  # type: ignore[arg-type]


def _modified(old: Pod, new: ApiObject) -> bool:
    return Scheduler().wants(WatchEvent(type=WatchType.MODIFIED, obj=new, resource_version=9), old)


BOUND = _status(cpu_pod("web", "1", labels={"app": "web"}), phase=PodPhase.PENDING)
BOUND = attrs.evolve(BOUND, spec=attrs.evolve(BOUND.spec, node_name="n1"))


def test_the_filter_drops_kubelet_status_writes_that_leave_a_bound_pod_counted_as_it_was() -> None:
    ready = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=Time(5.0))
    running = _status(
        BOUND,
        phase=PodPhase.RUNNING,
        conditions=(ready,),
        container_statuses=(ContainerStatus(name="c", ready=True, restart_count=2),),
        pod_ip="10.0.0.5",
        pod_ips=(PodIP(ip="10.0.0.5"),),
    )
    assert not _modified(BOUND, running)  # Pending -> Running, conditions, statuses, IPs
    assert not _modified(running, _status(running, conditions=()))
    assert not _modified(running, _meta(running, resource_version=99, annotations=pmap({"a": "b"})))


def test_the_filter_takes_every_change_the_cache_or_the_queue_reads() -> None:
    assert _modified(BOUND, _meta(BOUND, labels=pmap({"app": "db"})))  # affinity, spread
    assert _modified(BOUND, _meta(BOUND, deletion_timestamp=Time(3.0)))  # terminating (preemption)
    assert _modified(BOUND, _meta(BOUND, uid="other"))
    assert _modified(BOUND, _status(BOUND, start_time=Time(4.0)))  # victims' start time
    for terminal in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        assert _modified(BOUND, _status(BOUND, phase=terminal))  # its space is free
    bigger = cpu_pod("web", "2", labels={"app": "web"})
    assert _modified(BOUND, attrs.evolve(BOUND, spec=attrs.evolve(bigger.spec, node_name="n1")))  # requests
    unbound = attrs.evolve(BOUND, spec=attrs.evolve(BOUND.spec, node_name=""))
    assert _modified(unbound, BOUND)  # the binding: confirms the assumed pod
    assert _modified(unbound, _status(unbound, nominated_node_name="n2"))  # pending: every write
    assert _modified(unbound, _meta(unbound, resource_version=99))


def test_the_filter_takes_additions_deletions_old_unknown_and_other_kinds() -> None:
    sched = Scheduler()
    later = _status(BOUND, phase=PodPhase.RUNNING)
    for t in (WatchType.ADDED, WatchType.DELETED):
        assert sched.wants(WatchEvent(type=t, obj=later, resource_version=9), None)
    assert sched.wants(WatchEvent(type=WatchType.DELETED, obj=later, resource_version=9), BOUND)
    assert sched.wants(WatchEvent(type=WatchType.MODIFIED, obj=later, resource_version=9), None)
    n = node("n1")
    assert sched.wants(WatchEvent(type=WatchType.MODIFIED, obj=n, resource_version=9), n)


@attrs.frozen(kw_only=True)
class _Unfiltered(Scheduler):
    """The scheduler taking every watch event."""

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        return True


def _run_status_churn(sched: Scheduler) -> tuple[Cluster, int]:
    """Bind pods, churn kubelet-like status writes on them, end one so a waiting pod
    fits; the cluster and the watch events delivered to the scheduler."""
    cluster = create_cluster(ClusterConfig(seed=5), components=[sched])
    for n in (node("n1", cpu="2"), node("n2", cpu="2")):
        add_node(cluster, n)
    cluster.run_until_stable()
    for i in range(4):
        create(cluster, cpu_pod(f"p{i}", "1", labels={"app": "web"}))
    cluster.run_until_stable()
    for round_ in range(3):
        for i in range(4):
            pod = pod_named(cluster, f"p{i}")
            cond = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=Time(float(round_)))
            written = _status(pod, phase=PodPhase.RUNNING, conditions=(cond,), pod_ip=f"10.0.0.{i}")
            assert cluster.request(Update(obj=written, subresource=Subresource.STATUS)).ok
        cluster.advance(1)
    create(cluster, cpu_pod("late", "1"))
    cluster.advance(1)
    assert pod_named(cluster, "late").spec.node_name == ""
    assert cluster.request(Update(obj=_status(pod_named(cluster, "p0"), phase=PodPhase.SUCCEEDED), subresource=Subresource.STATUS)).ok
    cluster.advance(2)
    delivered = sum(
        1 for e in cluster.trace if isinstance(e, Delivered) and e.component == "kube-scheduler" and isinstance(e.event, WatchDelivered)
    )
    return cluster, delivered


def test_dropped_status_writes_change_no_effect_under_the_real_driver() -> None:
    filtered, few = _run_status_churn(Scheduler())
    full, many = _run_status_churn(_Unfiltered())
    assert pod_named(filtered, "late").spec.node_name == pod_named(full, "late").spec.node_name != ""

    def effects(c: Cluster) -> list[tuple[float, object]]:
        return [(e.at, e.effect) for e in c.trace if isinstance(e, Performed) and e.component == "kube-scheduler"]

    assert effects(filtered) == effects(full)
    assert many - few == 3 * 4  # every status-only write to a bound pod, and nothing else

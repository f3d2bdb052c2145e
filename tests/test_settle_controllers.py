"""Settling and the controllers: which of their timers are work in motion, and what a user sees.

The first part drives each controller by hand (`tests.rig.Rig`: the real apiserver, watch
events delivered when asked; objects from `tests.builders`) and checks the
`WakeMeAt.in_motion` of each timer kind: waits that are part of the work (minReadySeconds,
a deletion progressing) and the first retry after a failure are in motion; periodic work,
deadlines and a retry after the same failure happened again are not; and a merely
scheduled pending timer never covers one in motion (the rule itself, as data:
`tests/test_workqueue.py`).

The second part applies workload manifests (YAML, as a user writes them) to a 3-node
cluster (`new_cluster`), settles, and checks when settling ended and what the workloads'
status says then. The default image pull takes 1 s; a container of a pod that runs to
completion runs 1 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet
from kcore.api.batch import CronJob, Job, JobConditionType
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.manifest import load_manifests
from kcore.api.meta import ApiObject, ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import ContainerStatus, Pod, PodCondition, PodPhase, PodStatus
from kcore.component.effects import CallApi, Effect, Tag, WakeMeAt
from kcore.component.protocol import Component
from kcore.component.requests import (
    Bind,
    Create,
    Delete,
    Request,
    Response,
    Subresource,
    Update,
    UpdateScale,
)
from kcore.component.workqueue import Wake
from kcore.controllers import serviceaccount
from kcore.driver import new_cluster
from kcore.driver.clock import EPOCH
from kcore.driver.cluster import Cluster
from kcore.driver.settling import SettleEnd
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import (
    T0,
    a_cron_job,
    a_daemon_set,
    a_deployment,
    a_job,
    a_pdb,
    a_replica_set,
    a_stateful_set,
    key,
)
from tests.rig import Rig

FORBIDDEN = Response(code=403, body=Status(message="exceeded quota: q", reason=StatusReason.FORBIDDEN, code=403))
BOOM = Response(code=500, body=Status(message="etcd down", reason=StatusReason.INTERNAL_ERROR, code=500))
CONFLICT = Response(code=409, body=Status(message="conflict", reason=StatusReason.CONFLICT, code=409))


def wakes(effects: Iterable[Effect]) -> list[WakeMeAt]:
    return [e for e in effects if isinstance(e, WakeMeAt)]


def make_ready(rig: Rig[Any], pod: Pod, since: Time) -> None:
    """Bind `pod` to node-1 and make it Running and Ready since `since`."""
    pk = key(Kind.POD, pod.metadata.name)
    if not pod.spec.node_name:
        assert rig.request(Bind(key=pk, node_name="node-1")).ok
    bound = rig.get(pk, Pod)
    status = PodStatus(
        phase=PodPhase.RUNNING,
        conditions=(PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=since),),
        container_statuses=tuple(ContainerStatus(name=c.name, ready=True) for c in bound.spec.containers),
    )
    assert rig.request(Update(obj=attrs.evolve(bound, status=status), subresource=Subresource.STATUS)).ok


def finish(rig: Rig[Any], pod: Pod, phase: PodPhase) -> None:
    """Bind `pod` to node-1 and end it in `phase` (its container terminated at `rig.now`)."""
    from kcore.api.pod import ContainerState, ContainerStateTerminated

    pk = key(Kind.POD, pod.metadata.name)
    assert rig.request(Bind(key=pk, node_name="node-1")).ok
    bound = rig.get(pk, Pod)
    code = 0 if phase is PodPhase.SUCCEEDED else 2
    done = ContainerState(terminated=ContainerStateTerminated(exit_code=code, finished_at=rig.now))
    status = PodStatus(phase=phase, container_statuses=(ContainerStatus(name=bound.spec.containers[0].name, state=done),))
    assert rig.request(Update(obj=attrs.evolve(bound, status=status), subresource=Subresource.STATUS)).ok


# --- each controller's timers -----------------------------------------------------------------


def refusing(*kinds: type[ApiObject], response: Response = FORBIDDEN) -> Callable[[Request], Response | None]:
    """Answer every create of these kinds with `response`."""
    return lambda r: response if isinstance(r, Create) and isinstance(r.obj, kinds) else None


def refusing_status(r: Request) -> Response | None:
    return BOOM if isinstance(r, Update) and r.subresource is Subresource.STATUS else None


def events_and_wakes(effects: Iterable[Effect]) -> list[tuple[object, ...]]:
    """The effects other than API calls, briefly: (reason,) for an event, (key, +seconds
    from T0, motion) for a timer."""
    out: list[tuple[object, ...]] = []
    for e in effects:
        if isinstance(e, WakeMeAt):
            out.append((e.key, f"+{round(e.at - T0, 6):g}", "in motion" if e.in_motion else "scheduled"))
        elif not isinstance(e, CallApi):
            out.append((getattr(e, "reason", type(e).__name__),))
    return out


# ReplicaSet

WEB_RS = key(Kind.REPLICA_SET, "web")


def test_replicaset_availability_wait_is_in_motion_and_a_scheduled_expiry_wake_does_not_cover_it() -> None:
    from kcore.controllers.replicaset import ReplicaSetController

    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=2, min_ready_seconds=600))
    # the burst is answered before its pods are seen: a safety net at the expectations' expiry
    assert events_and_wakes(rig.settle(rig.start())) == [
        ("SuccessfulCreate",),
        ("SuccessfulCreate",),
        (WEB_RS, "+301", "scheduled"),
    ]
    for p in rig.pods():
        make_ready(rig, p, T0)
    # available at +600: a later wake, but in motion, so the pending one does not cover it
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(WEB_RS, "+601", "in motion")]


def test_replicaset_retries_a_refused_create_in_motion_once_then_merely_scheduled() -> None:
    from kcore.controllers.replicaset import ReplicaSetController

    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=2))
    quota = refusing(Pod)
    assert events_and_wakes(rig.settle(rig.start(), quota)) == [
        ("FailedCreate",),
        (WEB_RS, "+0.005", "in motion"),
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_RS, T0 + 0.005), quota)) == [
        ("FailedCreate",),
        (WEB_RS, "+0.015", "scheduled"),  # the same refusal again: a repeating state
    ]


def test_replicaset_retries_a_failed_status_write_in_motion_once_then_merely_scheduled() -> None:
    from kcore.controllers.replicaset import ReplicaSetController

    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=0))
    assert events_and_wakes(rig.settle(rig.start(), refusing_status)) == [(WEB_RS, "+1", "in motion")]
    assert events_and_wakes(rig.settle(rig.fire(WEB_RS, T0 + 1), refusing_status)) == [
        (WEB_RS, "+2", "scheduled")
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_RS, T0 + 2))) == []
    assert rig.s.queue.requeues == pmap()  # a write that lands starts the count afresh


# DaemonSet

WEB_DS = key(Kind.DAEMON_SET, "web")


def test_daemonset_availability_wait_is_in_motion() -> None:
    from kcore.controllers.daemonset import DaemonSetController

    rig = Rig(DaemonSetController(), a_daemon_set("web", min_ready_seconds=10))
    assert events_and_wakes(rig.settle(rig.start())) == [("SuccessfulCreate",)]
    (pod,) = rig.pods()
    make_ready(rig, pod, T0)
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(WEB_DS, "+11", "in motion")]


def test_daemonset_waits_out_the_failed_pod_backoff_merely_scheduled_when_a_pod_fails_again() -> None:
    from kcore.controllers.daemonset import DaemonSetController

    rig = Rig(DaemonSetController(), a_daemon_set("web"))
    rig.settle(rig.start())
    (pod,) = rig.pods()
    finish(rig, pod, PodPhase.FAILED)
    # the first failure: deleted and replaced at once, no timer
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [("FailedDaemonPod",), ("SuccessfulDelete",), ("SuccessfulCreate",)]
    (again,) = rig.pods()
    rig.now = Time(T0 + 0.5)
    finish(rig, again, PodPhase.FAILED)
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(WEB_DS, "+1", "scheduled")]


def test_daemonset_backs_off_after_a_refused_create_instead_of_creating_again_at_once() -> None:
    from kcore.controllers.daemonset import DaemonSetController

    rig = Rig(DaemonSetController(), a_daemon_set("web"))
    quota = refusing(Pod)
    # its status write's event syncs it once more at once; that second refusal's backoff
    # (10 ms) is covered by the first's, in motion
    assert events_and_wakes(rig.settle(rig.start(), quota)) == [
        ("FailedCreate",),
        (WEB_DS, "+0.005", "in motion"),
        ("FailedCreate",),
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_DS, T0 + 0.005), quota)) == [
        ("FailedCreate",),
        (WEB_DS, "+0.025", "scheduled"),  # the third in a row: 20 ms
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_DS, T0 + 0.025))) == [("SuccessfulCreate",)]
    assert rig.s.queue.requeues == pmap()  # a burst that lands starts the count afresh


# StatefulSet

WEB_STS = key(Kind.STATEFUL_SET, "web")


def test_statefulset_retries_a_refused_create_in_motion_once_and_the_backoff_doubles() -> None:
    from kcore.controllers.statefulset import StatefulSetController

    rig = Rig(StatefulSetController(), a_stateful_set("web", replicas=2, claims=(), service_name="web"))
    quota = refusing(Pod)
    assert events_and_wakes(rig.settle(rig.start(), quota)) == [
        ("FailedCreate",),
        (WEB_STS, "+0.005", "in motion"),
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_STS, T0 + 0.005), quota)) == [
        ("FailedCreate",),
        (WEB_STS, "+0.015", "scheduled"),
    ]
    assert events_and_wakes(rig.settle(rig.fire(WEB_STS, T0 + 0.015))) == [("SuccessfulCreate",)]
    assert rig.s.queue.requeues == pmap()  # a create that lands starts the count afresh


def test_statefulset_availability_wait_is_in_motion() -> None:
    from kcore.controllers.statefulset import StatefulSetController

    sts = a_stateful_set("web", replicas=2, claims=(), service_name="web", min_ready_seconds=10)
    rig = Rig(StatefulSetController(), sts)
    assert events_and_wakes(rig.settle(rig.start())) == [("SuccessfulCreate",)]
    (pod,) = rig.pods()
    make_ready(rig, pod, T0)
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(WEB_STS, "+11", "in motion")]


# Deployment


def test_deployment_backs_off_in_motion_after_a_first_failed_round_merely_scheduled_after_a_second() -> None:
    from kcore.controllers.deployment import DeploymentController

    rig = Rig(DeploymentController(), a_deployment("web", replicas=2))
    # the failed create writes a ReplicaFailure condition, whose watch event retries at once
    assert events_and_wakes(rig.settle(rig.start(), refusing(ReplicaSet, response=BOOM))) == [
        ("ReplicaSetCreateError",),
        (key(Kind.DEPLOYMENT, "web"), "+0.005", "in motion"),
        ("ReplicaSetCreateError",),
        (key(Kind.DEPLOYMENT, "web"), "+0.01", "scheduled"),
    ]


# Job

PI_JOB = key(Kind.JOB, "pi")


def test_job_waits_out_the_pod_failure_backoff_in_motion_after_the_first_failure_only() -> None:
    from kcore.controllers.job import JobController

    rig = Rig(JobController(), a_job("pi", backoff_limit=6))
    assert events_and_wakes(rig.settle(rig.start())) == [("SuccessfulCreate",)]
    (first,) = rig.pods()
    rig.now = Time(T0 + 2)
    finish(rig, first, PodPhase.FAILED)
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(PI_JOB, "+12", "in motion")]
    assert events_and_wakes(rig.settle(rig.fire(PI_JOB, T0 + 12))) == [("SuccessfulCreate",)]
    (second,) = [p for p in rig.pods() if p.status.phase is not PodPhase.FAILED]
    rig.now = Time(T0 + 14)
    finish(rig, second, PodPhase.FAILED)
    # 20 s after the second failure in a row: the pods keep failing, merely scheduled
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(PI_JOB, "+34", "scheduled")]


def test_job_active_deadline_is_merely_scheduled() -> None:
    from kcore.controllers.job import JobController

    rig = Rig(JobController(), a_job("pi", deadline=100))
    assert events_and_wakes(rig.settle(rig.start())) == [(PI_JOB, "+100", "scheduled"), ("SuccessfulCreate",)]


def test_job_retries_a_refused_create_in_motion_once_and_a_success_starts_afresh() -> None:
    from kcore.controllers.job import JobController

    rig = Rig(JobController(), a_job("pi"))
    quota = refusing(Pod)
    # synced twice at once (its status write's event): the second refusal is covered
    assert events_and_wakes(rig.settle(rig.start(), quota)) == [
        ("FailedCreate",),
        (PI_JOB, "+1", "in motion"),
        ("FailedCreate",),
    ]
    assert events_and_wakes(rig.settle(rig.fire(PI_JOB, T0 + 1), quota)) == [
        ("FailedCreate",),
        (PI_JOB, "+2", "scheduled"),
    ]
    assert events_and_wakes(rig.settle(rig.fire(PI_JOB, T0 + 2))) == [("SuccessfulCreate",)]
    assert rig.s.queue.requeues == pmap()


# CronJob and TTL-after-finished


def test_cronjob_next_run_is_merely_scheduled_and_a_refused_job_is_retried_in_motion_once() -> None:
    from kcore.controllers.cronjob import Call, CronJobController, Verb

    rig = Rig(CronJobController(), a_cron_job("tick", schedule="*/5 * * * *"))
    tick = key(Kind.CRON_JOB, "tick")
    # T0 is 22:13:20: the next run is 22:15 (+100 ms)
    assert events_and_wakes(rig.settle(rig.start())) == [(tick, "+100.1", "scheduled")]
    quota = refusing(Job)
    wake, create = rig.fire(tick, T0 + 100.1)
    assert isinstance(create, CallApi) and create.tag == Call(cronjob=tick, verb=Verb.CREATE, target=key(Kind.JOB, "tick-28333335"))
    assert events_and_wakes([wake, *rig.settle([create], quota)]) == [
        (tick, "+400.1", "scheduled"),
        ("FailedCreate",),
        (tick, "+101.1", "in motion"),
    ]
    assert events_and_wakes(rig.settle(rig.fire(tick, T0 + 101.1), quota)) == [
        (tick, "+400.1", "scheduled"),
        ("FailedCreate",),
        (tick, "+102.1", "scheduled"),
    ]


def test_ttl_expiry_is_merely_scheduled_and_a_failed_get_is_retried_in_motion_once() -> None:
    from kcore.api.batch import JobCondition, JobStatus
    from kcore.component.requests import Get
    from kcore.controllers.ttlafterfinished import Call, Step, TTLAfterFinishedController

    rig = Rig(TTLAfterFinishedController(), a_job("pi", ttl=100))
    job = rig.get(key(Kind.JOB, "pi"), Job)
    done = tuple(
        JobCondition(type=t, status=ConditionStatus.TRUE, last_transition_time=T0)
        for t in (JobConditionType.SUCCESS_CRITERIA_MET, JobConditionType.COMPLETE)
    )
    status = JobStatus(conditions=done, start_time=T0, completion_time=T0, succeeded=1)
    assert rig.request(Update(obj=attrs.evolve(job, status=status), subresource=Subresource.STATUS)).ok
    assert rig.start() == ()
    pi = key(Kind.JOB, "pi")
    assert events_and_wakes(rig.deliver_watches()) == [(pi, "+100", "scheduled")]
    (get_,) = rig.fire(pi, T0 + 100)
    assert get_ == CallApi(request=Get(key=pi), tag=Call(job=pi, step=Step.GET))
    assert events_and_wakes(rig.answer(get_, BOOM)) == [(pi, "+101", "in motion")]
    (get_,) = rig.fire(pi, T0 + 101)
    assert events_and_wakes(rig.answer(get_, BOOM)) == [(pi, "+102", "scheduled")]


# Garbage collector and namespace controller


def an_orphan(name: str) -> Pod:
    from kcore.api.meta import OwnerReference
    from tests.builders import a_pod

    gone = OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="gone", uid="u-gone", controller=True)
    return a_pod(name, owners=[gone])


def test_garbage_collector_resyncs_in_motion_after_an_answer_unless_the_same_write_failed_again() -> None:
    from kcore.controllers.garbagecollector import GarbageCollector, Timer

    rig = Rig(GarbageCollector(), an_orphan("a"))
    (delete,) = rig.start()
    assert isinstance(delete, CallApi) and delete.tag == key(Kind.POD, "a")
    assert rig.answer(delete, CONFLICT) == (WakeMeAt(at=Time(T0 + 1), key=Timer.RETRY, in_motion=True),)
    (delete,) = rig.fire(Timer.RETRY, T0 + 1)
    assert rig.answer(delete, CONFLICT) == (WakeMeAt(at=Time(T0 + 2), key=Timer.RETRY, in_motion=False),)
    # another dependent's delete lands while the scheduled retry is pending: that one does
    # not cover the resync in motion, due at the same time
    assert rig.request(Create(obj=an_orphan("b"))).ok
    (delete_b,) = rig.deliver_watches()
    assert rig.answer(delete_b) == (WakeMeAt(at=Time(T0 + 2), key=Timer.RETRY, in_motion=True),)
    assert rig.s.retry_wake == Wake(at=Time(T0 + 2), in_motion=True)


def test_namespace_deletion_resyncs_in_motion_after_each_answer_but_not_after_a_write_failed_twice() -> None:
    from kcore.controllers.namespace import NamespaceController, Timer
    from tests.builders import a_namespace, a_pod

    rig = Rig(NamespaceController(), a_namespace("team"), a_pod("p", "team"))
    assert rig.start() == ()
    assert rig.request(Delete(key=key(Kind.NAMESPACE, "team"))).ok
    delete, status = rig.deliver_watches()
    assert [e.tag for e in (delete, status) if isinstance(e, CallApi)] == [key(Kind.POD, "p", "team"), key(Kind.NAMESPACE, "team")]
    assert rig.answer(status) == (WakeMeAt(at=Time(T0 + 1), key=Timer.RETRY, in_motion=True),)
    assert rig.answer(delete, CONFLICT) == ()  # covered by the pending one, in motion too
    delete, status = rig.fire(Timer.RETRY, T0 + 1)
    assert rig.answer(delete, CONFLICT) == (WakeMeAt(at=Time(T0 + 2), key=Timer.RETRY, in_motion=False),)
    assert rig.answer(status) == (WakeMeAt(at=Time(T0 + 2), key=Timer.RETRY, in_motion=True),)


# Service accounts, disruption budgets, node IPAM, node lifecycle


def failing_twice(rig: Rig[Any], effects: tuple[Effect, ...], response: Response) -> list[tuple[object, ...]]:
    """Answer the one write among `effects` with `response`, fire the timer that asks for,
    and answer the write it sends with `response` again: what the two answers asked for."""
    out: list[tuple[object, ...]] = []
    for _ in range(2):
        (write,) = [e for e in effects if isinstance(e, CallApi)]
        answered = rig.answer(write, response)
        out.extend(events_and_wakes(answered))
        (timer,) = wakes(answered)
        effects = rig.fire(timer.key, timer.at)
    return out


@pytest.mark.parametrize(
    ("controller", "objects", "response", "timer"),
    [
        ("serviceaccount", (), BOOM, serviceaccount.Timer.RETRY),  # the default ServiceAccount's create
        ("disruption", (a_pdb("web", min_available=1),), CONFLICT, key(Kind.POD_DISRUPTION_BUDGET, "web")),  # the budget's status write
        ("nodeipam", (), CONFLICT, key(Kind.NODE, "node-1")),  # node-1's podCIDR
    ],
)
def test_a_failed_write_is_retried_in_motion_once_then_merely_scheduled(
    controller: str, objects: tuple[ApiObject, ...], response: Response, timer: Tag
) -> None:
    from kcore.controllers.disruption import DisruptionController
    from kcore.controllers.nodeipam import NodeIpamController
    from kcore.controllers.serviceaccount import ServiceAccountController

    comps: dict[str, Component[Any]] = {
        "serviceaccount": ServiceAccountController(),
        "disruption": DisruptionController(),
        "nodeipam": NodeIpamController(),
    }
    rig = Rig(comps[controller], *objects)
    assert failing_twice(rig, rig.start(), response) == [(timer, "+1", "in motion"), (timer, "+2", "scheduled")]


def test_taint_eviction_after_toleration_seconds_is_scheduled_and_a_failed_delete_retried_in_motion_once() -> None:
    from kcore.api.core import Node, Taint
    from kcore.api.pod import TaintEffect, Toleration, TolerationOperator
    from kcore.controllers.nodelifecycle import NodeLifecycleController
    from kcore.controllers.nodelifecycle_state import Call, Purpose, Timer
    from tests.builders import a_pod

    rig = Rig(NodeLifecycleController())
    assert rig.start() == (WakeMeAt(at=Time(T0 + 5), key=Timer.MONITOR, in_motion=False),)
    tolerate = Toleration(key="example.com/drain", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE, toleration_seconds=60)
    pod = a_pod("web", node_name="node-1", grace=0)
    assert rig.request(Create(obj=attrs.evolve(pod, spec=attrs.evolve(pod.spec, tolerations=(tolerate,))))).ok
    node = rig.get(key(Kind.NODE, "node-1"), Node)
    drain = Taint(key="example.com/drain", effect=TaintEffect.NO_EXECUTE)
    assert rig.request(Update(obj=attrs.evolve(node, spec=attrs.evolve(node.spec, taints=(drain,))))).ok
    web = key(Kind.POD, "web")
    assert events_and_wakes(rig.settle(rig.deliver_watches())) == [(web, "+60", "scheduled")]
    delete, _ = rig.fire(web, T0 + 60)
    assert isinstance(delete, CallApi) and delete.tag == Call(purpose=Purpose.POD_DELETE, key=web)
    assert rig.answer(delete, BOOM) == (WakeMeAt(at=Time(T0 + 61), key=web, in_motion=True),)
    delete, _ = rig.fire(web, T0 + 61)
    assert rig.answer(delete, BOOM) == (WakeMeAt(at=Time(T0 + 62), key=web, in_motion=False),)


# --- end to end: what a user sees right after a command ---------------------------------------


def manifest(text: str) -> ApiObject:
    """The one object of a YAML manifest, in namespace default when namespaced."""
    (loaded,) = load_manifests(text, defaults=False)
    obj = loaded.obj
    if not obj.KIND.info.namespaced or obj.metadata.namespace:
        return obj
    return attrs.evolve(obj, metadata=attrs.evolve(obj.metadata, namespace="default"))  # type: ignore[misc]  # every kind is an attrs class


def workload(kind: str, name: str = "web", *, replicas: int | None = 2, spec: str = "", pod: str = "") -> str:
    """A Deployment / ReplicaSet / StatefulSet / DaemonSet manifest of one nginx container;
    `spec` adds lines to the spec, `pod` to the pod template's spec."""
    count = f"\n  replicas: {replicas}" if replicas is not None else ""
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}}}
spec:{count}
  selector: {{matchLabels: {{app: {name}}}}}{spec}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{{name: web, image: nginx}}]{pod}
"""


def job_manifest(spec: str = "", annotations: str = "{}") -> str:
    """A Job manifest of one perl container named pi; `spec` adds lines to the spec."""
    return f"""
apiVersion: batch/v1
kind: Job
metadata: {{name: pi}}
spec:{spec}
  template:
    metadata: {{annotations: {annotations}}}
    spec:
      restartPolicy: Never
      containers: [{{name: pi, image: perl}}]
"""


CRON_JOB = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: t, image: busybox}]
"""


def a_cluster() -> Cluster:
    cluster = new_cluster(ClusterConfig(seed=7), nodes=3, addons=False)  # workloads alone: no add-on pods
    assert cluster.now == EPOCH
    return cluster


def applied(cluster: Cluster, *texts: str) -> tuple[SettleEnd, float]:
    """Apply the manifests (namespace default) and settle: how it ended, after how long."""
    objs = [manifest(t) for t in texts]
    assert all(r.response.ok for r in cluster.apply(objs))
    settled = cluster.settle()
    return settled.end, settled.seconds


def deleted(cluster: Cluster, k: ObjectKey) -> tuple[SettleEnd, float]:
    assert cluster.request(Delete(key=k)).ok
    settled = cluster.settle()
    return settled.end, settled.seconds


def the(cluster: Cluster, kind: Kind, name: str, namespace: str = "default") -> Any:
    obj = get(cluster.state, key(kind, name, namespace))
    assert obj is not None, (kind, name)
    return obj


def pods_of(cluster: Cluster, namespace: str = "default") -> list[tuple[str, str, bool]]:
    """(image, phase, ready) of every pod in the namespace, sorted."""
    out = []
    for p in list_objects(cluster.state, Kind.POD, namespace):
        assert isinstance(p, Pod)
        ready = any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in p.status.conditions)
        out.append((p.spec.containers[0].image, p.status.phase.value if p.status.phase else "", ready))
    return sorted(out)


def deployment_counts(cluster: Cluster, name: str = "web") -> tuple[int, int, int, int, int]:
    """(replicas, updated, ready, available, unavailable) of the Deployment's status."""
    st = the(cluster, Kind.DEPLOYMENT, name).status
    return (st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas, st.unavailable_replicas)


def rolling(image: str = "nginx", replicas: int = 3, surge: str = "1", unavailable: str = "0") -> str:
    """A Deployment of nginx pods with minReadySeconds 10 and a RollingUpdate strategy."""
    strategy = f"{{type: RollingUpdate, rollingUpdate: {{maxSurge: {surge}, maxUnavailable: {unavailable}}}}}"
    spec = f"\n  minReadySeconds: 10\n  strategy: {strategy}"
    return workload("Deployment", replicas=replicas, spec=spec).replace("image: nginx", f"image: {image}")


def test_a_deployment_with_min_ready_seconds_settles_all_available() -> None:
    cluster = a_cluster()
    # Ready once pulled (1 s), available 10 s later; the ReplicaSet looks 1 s after that
    assert applied(cluster, rolling()) == (SettleEnd.SETTLED, 12.0)
    assert deployment_counts(cluster) == (3, 3, 3, 3, 0)
    assert pods_of(cluster) == [("nginx", "Running", True)] * 3


def complete(cluster: Cluster, image: str) -> bool:
    """The rollout is complete: every pod runs `image` Ready, Progressing NewReplicaSetAvailable."""
    d = the(cluster, Kind.DEPLOYMENT, "web")
    progressing = [c.reason for c in d.status.conditions if c.type.value == "Progressing"]
    return (
        deployment_counts(cluster) == (3, 3, 3, 3, 0)
        and pods_of(cluster) == [(image, "Running", True)] * 3
        and progressing == ["NewReplicaSetAvailable"]
    )


@pytest.mark.parametrize(
    ("surge", "unavailable", "seconds"),
    [
        ("1", "0", 35.0),  # one new pod at a time: pulled (1 s), available 10 s later (+1 s)
        ("0", "1", 36.0),  # one old pod goes first, each time
        ("25%", "25%", 35.0),  # 3 replicas: surge 1, unavailable 0
        ("2", "1", 12.0),  # all three new pods at once
    ],
)
def test_a_rolling_update_with_min_ready_seconds_settles_complete(surge: str, unavailable: str, seconds: float) -> None:
    cluster = a_cluster()
    applied(cluster, rolling(surge=surge, unavailable=unavailable))
    assert applied(cluster, rolling("nginx:1.27", surge=surge, unavailable=unavailable)) == (SettleEnd.SETTLED, seconds)
    assert complete(cluster, "nginx:1.27")


def test_rollout_undo_settles_back_on_the_previous_template() -> None:
    from kcore.kubectl.rollback import rollback_request

    cluster = a_cluster()
    applied(cluster, rolling())
    applied(cluster, rolling("nginx:1.27"))
    undo = rollback_request(cluster.state, key(Kind.DEPLOYMENT, "web"))
    assert not isinstance(undo, Status)
    assert cluster.request(undo).ok
    settled = cluster.settle()
    # the old ReplicaSet's pods come back one at a time; the image is on every node already
    assert (settled.end, settled.seconds) == (SettleEnd.SETTLED, 33.0)
    assert complete(cluster, "nginx")


def scaled(cluster: Cluster, replicas: int) -> tuple[SettleEnd, float]:
    """`kcore scale deployment/web --replicas=N`: the scale subresource, then settle."""
    assert cluster.request(UpdateScale(key=key(Kind.DEPLOYMENT, "web"), replicas=replicas)).ok
    settled = cluster.settle()
    return settled.end, settled.seconds


def test_scaling_up_and_down_settles_at_the_new_count() -> None:
    cluster = a_cluster()
    applied(cluster, rolling())
    # every node has the image already: Ready at once, available 10 s later (+1 s)
    assert scaled(cluster, 5) == (SettleEnd.SETTLED, 11.0)
    assert deployment_counts(cluster) == (5, 5, 5, 5, 0)
    end, seconds = scaled(cluster, 2)
    assert end is SettleEnd.SETTLED and seconds <= 1.0
    assert deployment_counts(cluster) == (2, 2, 2, 2, 0)
    assert pods_of(cluster) == [("nginx", "Running", True)] * 2


def test_an_ordered_ready_statefulset_settles_with_every_pod_ready_one_after_the_other() -> None:
    cluster = a_cluster()
    sts = workload("StatefulSet", replicas=3, spec="\n  serviceName: web\n  podManagementPolicy: OrderedReady")
    assert applied(cluster, sts) == (SettleEnd.SETTLED, 3.0)  # each pod pulled and Ready in turn
    st = the(cluster, Kind.STATEFUL_SET, "web").status
    assert (st.replicas, st.ready_replicas, st.available_replicas, st.current_replicas) == (3, 3, 3, 3)
    assert sorted(p.metadata.name for p in list_objects(cluster.state, Kind.POD, "default")) == ["web-0", "web-1", "web-2"]


def test_a_daemonset_settles_with_a_ready_pod_on_each_of_three_nodes() -> None:
    cluster = a_cluster()
    assert applied(cluster, workload("DaemonSet", replicas=None)) == (SettleEnd.SETTLED, 1.0)
    st = the(cluster, Kind.DAEMON_SET, "web").status
    assert (st.desired_number_scheduled, st.current_number_scheduled, st.number_ready, st.number_available) == (3, 3, 3, 3)
    nodes = {p.spec.node_name for p in list_objects(cluster.state, Kind.POD, "default") if isinstance(p, Pod)}
    assert nodes == {"node-1", "node-2", "node-3"}


def test_a_job_of_three_completions_one_at_a_time_settles_complete() -> None:
    cluster = a_cluster()
    end, seconds = applied(cluster, job_manifest("\n  completions: 3\n  parallelism: 1"))
    # three pods one after the other, each pulled (1 s, on a node without the image) and run 1 s
    assert end is SettleEnd.SETTLED and 4.0 <= seconds <= 6.0
    job = the(cluster, Kind.JOB, "pi")
    assert (job.status.succeeded, job.status.failed, job.status.active) == (3, 0, 0)
    assert {c.type for c in job.status.conditions if c.status is ConditionStatus.TRUE} >= {JobConditionType.COMPLETE}


def test_a_job_whose_pods_always_fail_lets_settling_end_long_before_the_bound() -> None:
    cluster = a_cluster()
    end, seconds = applied(cluster, job_manifest("\n  backoffLimit: 6", annotations='{kcore.io/exit-code: "2"}'))
    # the first failure's 10 s back-off is waited out; after the second the pods keep failing
    assert end is SettleEnd.SETTLED and seconds <= 30.0
    job = the(cluster, Kind.JOB, "pi")
    assert (job.status.failed, job.status.succeeded, job.status.active) == (2, 0, 0)
    assert not [c for c in job.status.conditions if c.status is ConditionStatus.TRUE]


def test_a_cronjob_applied_alone_runs_nothing_while_settling_but_its_schedule_fires_in_time() -> None:
    cluster = a_cluster()
    assert applied(cluster, CRON_JOB) == (SettleEnd.SETTLED, 0.0)  # 00:00: the first run is 00:05
    assert list_objects(cluster.state, Kind.JOB) == ()
    assert isinstance(the(cluster, Kind.CRON_JOB, "tick"), CronJob)
    cluster.advance(301)
    (job,) = list_objects(cluster.state, Kind.JOB)
    assert job.metadata.name == "tick-29453765"  # 2026-01-01T00:05:00Z in minutes


def test_an_hpa_does_not_keep_settling_going() -> None:
    cluster = a_cluster()
    hpa = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
"""
    end, seconds = applied(cluster, workload("Deployment"), hpa)
    assert (end, seconds) == (SettleEnd.SETTLED, 1.0)  # the pods' pull; the 15 s syncs are scheduled
    assert deployment_counts(cluster) == (2, 2, 2, 2, 0)


def test_deleting_a_deployment_settles_with_its_replicaset_and_pods_gone() -> None:
    cluster = a_cluster()
    applied(cluster, workload("Deployment", replicas=3))
    end, seconds = deleted(cluster, key(Kind.DEPLOYMENT, "web"))
    assert end is SettleEnd.SETTLED and seconds <= 5.0
    assert list_objects(cluster.state, Kind.REPLICA_SET, "default") == ()
    assert list_objects(cluster.state, Kind.POD, "default") == ()


def test_deleting_a_namespace_with_pods_settles_with_the_namespace_gone() -> None:
    cluster = a_cluster()
    applied(cluster, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n")
    d = manifest(workload("Deployment", replicas=3))
    d = attrs.evolve(d, metadata=attrs.evolve(d.metadata, namespace="team"))  # type: ignore[misc]  # an attrs class
    assert all(r.response.ok for r in cluster.apply([d]))
    cluster.settle()
    assert len(pods_of(cluster, "team")) == 3
    end, seconds = deleted(cluster, key(Kind.NAMESPACE, "team"))
    assert end is SettleEnd.SETTLED and seconds <= 5.0
    assert get(cluster.state, key(Kind.NAMESPACE, "team")) is None
    assert pods_of(cluster, "team") == []


def test_a_quota_refusing_a_daemonsets_pods_lets_settling_end_with_one_scheduled() -> None:
    cluster = a_cluster()
    applied(cluster, "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec:\n  hard: {pods: '1'}\n")
    end, seconds = applied(cluster, workload("DaemonSet", replicas=None))
    assert end is SettleEnd.SETTLED and seconds <= 5.0
    st = the(cluster, Kind.DAEMON_SET, "web").status
    assert (st.desired_number_scheduled, st.current_number_scheduled, st.number_ready) == (3, 1, 1)


def test_a_quota_refusing_pods_lets_settling_end_with_the_deployment_short() -> None:
    cluster = a_cluster()
    quota = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec:\n  hard: {pods: '1'}\n"
    applied(cluster, quota)
    end, seconds = applied(cluster, workload("Deployment", replicas=3))
    assert end is SettleEnd.SETTLED and seconds <= 5.0
    assert deployment_counts(cluster) == (1, 1, 1, 1, 2)
    rs = list_objects(cluster.state, Kind.REPLICA_SET, "default")[0]
    assert isinstance(rs, ReplicaSet)
    assert [c.reason for c in rs.status.conditions] == ["FailedCreate"]

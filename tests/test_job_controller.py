"""The Job controller: exact outcomes of scripted scenarios over the driver.

Each test runs a `Cluster` (from `create_cluster`) with only the Job controller (and, where
needed, the garbage collector); no kubelet runs, so the test plays the kubelet: it makes
pods succeed or fail by writing their status through `Cluster.request`, and moves the
simulated clock with `Cluster.advance`.
"""

from __future__ import annotations

import attrs

from kcore.api.batch import (
    Job,
    JobConditionType,
    UncountedTerminatedPods,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, ObjectMeta, Time
from kcore.api.pod import (
    ContainerState,
    ContainerStateTerminated,
    ContainerStatus,
    EnvVar,
    EnvVarSource,
    ObjectFieldSelector,
    Pod,
    PodPhase,
    PodStatus,
    RestartPolicy,
)
from kcore.component.effects import RecordEvent
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.controllers.job import JobController
from kcore.controllers.job_backoff import (
    BackoffRecord,
    backoff_duration,
    new_backoff_record,
    remaining_backoff,
)
from kcore.controllers.job_indexes import (
    first_pending_indexes,
    format_indexes,
    generate_name_with_index,
    parse_indexes,
    with_indexes,
)
from kcore.controllers.job_rules import JOB_TRACKING_FINALIZER, ensure_condition, is_pod_failed
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.driver.snapshot import Performed
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_job

NS = "default"


def job_cluster() -> Cluster:
    base = create_cluster(ClusterConfig(seed=7), nodes=1)
    return Cluster(base.snapshot(), [JobController()])


def create(c: Cluster, job: Job) -> Job:
    resp = c.request(Create(obj=job))
    assert resp.ok, resp.body
    c.run_until_stable()
    return the_job(c, job.metadata.name)


def the_job(c: Cluster, name: str = "pi") -> Job:
    job = get(c.state, ObjectKey(kind=Kind.JOB, namespace=NS, name=name))
    assert isinstance(job, Job)
    return job


def job_pods(c: Cluster, name: str = "pi") -> list[Pod]:
    job = the_job(c, name)
    return [
        p
        for p in list_objects(c.state, Kind.POD, NS)
        if isinstance(p, Pod) and any(r.uid == job.metadata.uid for r in p.metadata.owner_references)
    ]


def running(c: Cluster, name: str = "pi") -> list[Pod]:
    return sorted(
        (p for p in job_pods(c, name) if p.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED) and p.metadata.deletion_timestamp is None),
        key=lambda p: p.metadata.name,
    )


def finish(c: Cluster, pod: Pod, phase: PodPhase, *, settle: bool = True) -> None:
    """Play the kubelet: the pod's container terminated now, the pod is `phase`."""
    current = get(c.state, ObjectKey(kind=Kind.POD, namespace=NS, name=pod.metadata.name))
    assert isinstance(current, Pod)
    code = 0 if phase is PodPhase.SUCCEEDED else 1
    term = ContainerStateTerminated(exit_code=code, finished_at=c.now, started_at=c.now)
    status = PodStatus(
        phase=phase,
        container_statuses=(ContainerStatus(name="main", state=ContainerState(terminated=term)),),
    )
    resp = c.request(Update(obj=attrs.evolve(current, status=status), subresource=Subresource.STATUS))
    assert resp.ok, resp.body
    if settle:
        c.run_until_stable()


def conditions(job: Job) -> list[tuple[str, str, str]]:
    return [(cnd.type.value, cnd.reason, cnd.status.value) for cnd in job.status.conditions]


def events(c: Cluster, reason: str) -> list[str]:
    return [
        e.effect.message
        for e in c.trace
        if isinstance(e, Performed) and isinstance(e.effect, RecordEvent) and e.effect.reason == reason
    ]


def creations(c: Cluster) -> list[Time]:
    """When each SuccessfulCreate event was recorded."""
    return [
        e.at
        for e in c.trace
        if isinstance(e, Performed) and isinstance(e.effect, RecordEvent) and e.effect.reason == "SuccessfulCreate"
    ]


# --- scenarios ------------------------------------------------------------------------------


def test_pods_are_stamped_from_the_template_with_owner_labels_and_finalizer() -> None:
    c = job_cluster()
    job = create(c, a_job())
    (pod,) = job_pods(c)
    assert pod.metadata.generate_name == "pi-"
    assert pod.metadata.name.startswith("pi-")
    ref = pod.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == ("Job", "pi", job.metadata.uid, True, True)
    assert pod.metadata.labels["batch.kubernetes.io/job-name"] == "pi"
    assert pod.metadata.labels["batch.kubernetes.io/controller-uid"] == job.metadata.uid
    assert pod.metadata.finalizers == (JOB_TRACKING_FINALIZER,)
    assert events(c, "SuccessfulCreate") == [f"Created pod: {pod.metadata.name}"]
    assert job.status.active == 1
    assert job.status.start_time == Time(float(int(c.now)))


def test_completions_five_parallelism_two_runs_at_most_two_and_completes() -> None:
    c = job_cluster()
    create(c, a_job(completions=5, parallelism=2))
    seen_active: list[int] = []
    succeeded: list[int] = []
    while len(running(c)) > 0:
        seen_active.append(len(running(c)))
        finish(c, running(c)[0], PodPhase.SUCCEEDED)
        succeeded.append(the_job(c).status.succeeded)
    job = the_job(c)
    assert seen_active == [2, 2, 2, 2, 1]
    assert succeeded == [1, 2, 3, 4, 5]
    assert job.status.succeeded == 5 and job.status.active == 0 and job.status.failed == 0
    assert conditions(job) == [("SuccessCriteriaMet", "CompletionsReached", "True"), ("Complete", "CompletionsReached", "True")]
    assert job.status.completion_time is not None
    assert job.status.uncounted_terminated_pods == UncountedTerminatedPods()
    assert len(job_pods(c)) == 5
    assert all(p.metadata.finalizers == () for p in job_pods(c))
    assert events(c, "Completed") == ["Job completed"]


def test_work_queue_job_is_done_once_a_pod_succeeded_and_none_is_active() -> None:
    c = job_cluster()
    create(c, a_job(completions=None, parallelism=3))
    assert len(running(c)) == 3
    pods = running(c)
    finish(c, pods[0], PodPhase.SUCCEEDED)
    assert len(running(c)) == 2  # no replacement after a success
    assert not the_job(c).status.conditions
    finish(c, pods[1], PodPhase.SUCCEEDED)
    finish(c, pods[2], PodPhase.SUCCEEDED)
    job = the_job(c)
    assert job.status.succeeded == 3
    assert [t for t, _, _ in conditions(job)] == ["SuccessCriteriaMet", "Complete"]


def test_failed_pods_are_replaced_after_10_20_40_seconds() -> None:
    c = job_cluster()
    create(c, a_job(backoff_limit=6))
    delays: list[float] = []
    for _ in range(3):
        (pod,) = running(c)
        failed_at = c.now
        finish(c, pod, PodPhase.FAILED)
        assert running(c) == []
        c.advance(60)
        assert len(running(c)) == 1
        delays.append(creations(c)[-1] - failed_at)
    assert delays == [10.0, 20.0, 40.0]
    assert the_job(c).status.failed == 3


def test_backoff_limit_two_fails_the_job_after_the_third_failure() -> None:
    c = job_cluster()
    create(c, a_job(backoff_limit=2))
    for n in range(3):
        (pod,) = running(c)
        finish(c, pod, PodPhase.FAILED)
        if n < 2:
            assert not any(t == "Failed" for t, _, _ in conditions(the_job(c)))
            c.advance(400)
    job = the_job(c)
    assert job.status.failed == 3
    assert conditions(job) == [("FailureTarget", "BackoffLimitExceeded", "True"), ("Failed", "BackoffLimitExceeded", "True")]
    assert job.status.conditions[1].message == "Job has reached the specified backoff limit"
    assert job.status.completion_time is None
    assert running(c) == []
    assert events(c, "BackoffLimitExceeded") == ["Job has reached the specified backoff limit"]


def test_active_deadline_fails_the_job_and_deletes_its_pods() -> None:
    c = job_cluster()
    create(c, a_job(completions=3, parallelism=2, deadline=30))
    assert len(running(c)) == 2
    c.advance(29)
    assert not the_job(c).status.conditions
    c.advance(2)
    job = the_job(c)
    assert conditions(job) == [("FailureTarget", "DeadlineExceeded", "True"), ("Failed", "DeadlineExceeded", "True")]
    assert job.status.conditions[1].message == "Job was active longer than specified deadline"
    assert job_pods(c) == []  # deleted, finalizers removed, gone
    assert job.status.failed == 2 and job.status.active == 0 and job.status.terminating == 0
    assert events(c, "DeadlineExceeded") == ["Job was active longer than specified deadline"]


def test_indexed_job_reports_completed_indexes_as_ranges() -> None:
    c = job_cluster()
    create(c, a_job(completions=5, parallelism=5, indexed=True))
    pods = {p.metadata.annotations["batch.kubernetes.io/job-completion-index"]: p for p in running(c)}
    assert sorted(pods) == ["0", "1", "2", "3", "4"]
    p3 = pods["3"]
    assert p3.metadata.generate_name == "pi-3-"
    assert p3.metadata.labels["batch.kubernetes.io/job-completion-index"] == "3"
    assert p3.spec.hostname == "pi-3"
    ref = ObjectFieldSelector(field_path="metadata.labels['batch.kubernetes.io/job-completion-index']", api_version="v1")
    assert p3.spec.containers[0].env == (EnvVar(name="JOB_COMPLETION_INDEX", value_from=EnvVarSource(field_ref=ref)),)
    for i in ("0", "1", "2", "4"):
        finish(c, pods[i], PodPhase.SUCCEEDED)
    job = the_job(c)
    assert job.status.completed_indexes == "0-2,4"
    assert job.status.succeeded == 4
    finish(c, pods["3"], PodPhase.FAILED)
    c.advance(11)
    (again,) = running(c)
    assert again.metadata.annotations["batch.kubernetes.io/job-completion-index"] == "3"
    finish(c, again, PodPhase.SUCCEEDED)
    job = the_job(c)
    assert job.status.completed_indexes == "0-4"
    assert (job.status.succeeded, job.status.failed) == (5, 1)
    assert [t for t, _, _ in conditions(job)] == ["SuccessCriteriaMet", "Complete"]


def test_suspend_deletes_active_pods_uncounted_and_resume_restarts_the_clock() -> None:
    c = job_cluster()
    job = create(c, a_job(completions=4, parallelism=2, deadline=100))
    started = job.status.start_time
    c.advance(50)
    resp = c.request(Update(obj=attrs.evolve(job, spec=attrs.evolve(job.spec, suspend=True))))
    assert resp.ok, resp.body
    c.run_until_stable()
    job = the_job(c)
    assert job_pods(c) == []
    assert (job.status.active, job.status.failed) == (0, 0)
    assert conditions(job) == [("Suspended", "JobSuspended", "True")]
    assert events(c, "Suspended") == ["Job suspended"]
    assert job.status.start_time == started
    c.advance(200)
    assert not any(t == "Failed" for t, _, _ in conditions(the_job(c)))
    job = the_job(c)
    resp = c.request(Update(obj=attrs.evolve(job, spec=attrs.evolve(job.spec, suspend=False))))
    assert resp.ok, resp.body
    c.run_until_stable()
    job = the_job(c)
    assert conditions(job) == [("Suspended", "JobResumed", "False")]
    assert events(c, "Resumed") == ["Job resumed"]
    assert job.status.start_time == Time(float(int(c.now)))
    assert len(running(c)) == 2


def test_a_restart_between_status_write_and_finalizer_removal_never_double_counts() -> None:
    c = job_cluster()
    create(c, a_job(completions=3, parallelism=3))
    pods = running(c)
    # the success is written to uncountedTerminatedPods; crash before the rest lands
    finish(c, pods[0], PodPhase.SUCCEEDED, settle=False)
    for _ in range(3):
        c.step()
    c.inject(CrashComponent(name="job-controller"))
    c.run_until_stable()
    finish(c, pods[1], PodPhase.SUCCEEDED, settle=False)
    c.step()
    c.inject(CrashComponent(name="job-controller"))
    c.run_until_stable()
    job = the_job(c)
    assert job.status.succeeded == 2
    assert job.status.uncounted_terminated_pods == UncountedTerminatedPods()
    finish(c, pods[2], PodPhase.SUCCEEDED)
    job = the_job(c)
    assert job.status.succeeded == 3
    assert len(job_pods(c)) == 3
    assert [t for t, _, _ in conditions(job)] == ["SuccessCriteriaMet", "Complete"]


def test_restart_on_failure_restarts_count_toward_the_backoff_limit() -> None:
    c = job_cluster()
    create(c, a_job(backoff_limit=2, restart=RestartPolicy.ON_FAILURE))
    (pod,) = running(c)
    status = PodStatus(phase=PodPhase.RUNNING, container_statuses=(ContainerStatus(name="main", restart_count=2),))
    assert c.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS)).ok
    c.run_until_stable()
    job = the_job(c)
    assert [(t, r) for t, r, _ in conditions(job)] == [("FailureTarget", "BackoffLimitExceeded"), ("Failed", "BackoffLimitExceeded")]
    assert job.status.failed == 1  # the running pod was deleted and counted as failed
    assert job_pods(c) == []


def test_deleting_a_running_pod_counts_it_as_failed_and_replaces_it() -> None:
    c = job_cluster()
    create(c, a_job())
    (pod,) = running(c)
    assert c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace=NS, name=pod.metadata.name))).ok
    c.run_until_stable()
    assert the_job(c).status.failed == 1
    assert [p.metadata.name for p in job_pods(c)] == []
    c.advance(10)
    assert len(running(c)) == 1


def test_reducing_parallelism_deletes_the_extra_pods_without_counting_them() -> None:
    c = job_cluster()
    job = create(c, a_job(completions=6, parallelism=3))
    assert len(running(c)) == 3
    assert c.request(Update(obj=attrs.evolve(job, spec=attrs.evolve(job.spec, parallelism=1)))).ok
    c.run_until_stable()
    assert len(running(c)) == 1
    assert len(job_pods(c)) == 1
    assert the_job(c).status.failed == 0
    assert len(events(c, "SuccessfulDelete")) == 2


def test_pods_of_a_deleted_job_lose_their_finalizer() -> None:
    c = job_cluster()
    create(c, a_job(completions=2, parallelism=2))
    pods = running(c)
    assert c.request(Delete(key=ObjectKey(kind=Kind.JOB, namespace=NS, name="pi"))).ok
    c.run_until_stable()
    for p in pods:
        now = get(c.state, ObjectKey(kind=Kind.POD, namespace=NS, name=p.metadata.name))
        assert now is not None and now.metadata.finalizers == ()


def test_at_a_fixed_point_a_resync_emits_nothing() -> None:
    c = job_cluster()
    create(c, a_job(completions=2, parallelism=2))
    before = len(c.trace)
    c.inject(CrashComponent(name="job-controller"))
    c.run_until_stable()
    performed = [e for e in list(c.trace)[before:] if isinstance(e, Performed)]
    assert performed == []


# --- pure helpers ---------------------------------------------------------------------------


def test_indexes_round_trip_through_the_compressed_form() -> None:
    assert format_indexes(with_indexes((), [1, 3, 4, 5])) == "1,3-5"
    assert format_indexes(with_indexes((), [0, 1, 2, 4])) == "0-2,4"
    assert format_indexes(with_indexes((), [3, 4])) == "3,4"
    assert parse_indexes("0-2,4,x,9", 5) == ((0, 2), (4, 4))
    assert parse_indexes("1,2,3-9", 5) == ((1, 4),)
    assert first_pending_indexes(((0, 1), (3, 3)), (), 3, 6) == (2, 4, 5)
    assert generate_name_with_index("a" * 60, 12) == "a" * 54 + "-12-"


def test_backoff_doubles_from_ten_seconds_to_a_six_minute_cap() -> None:
    assert [backoff_duration(n) for n in range(7)] == [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0]
    assert backoff_duration(7) == 360.0 and backoff_duration(30) == 360.0
    rec = BackoffRecord(failures_after_last_success=2, last_failure_time=Time(100.0))
    assert remaining_backoff(rec, Time(105.0)) == 15.0
    assert remaining_backoff(rec, Time(121.0)) == 0.0


def test_a_success_after_the_last_failure_resets_the_backoff() -> None:
    def pod(t: float, phase: PodPhase) -> Pod:
        term = ContainerStateTerminated(exit_code=0, finished_at=Time(t))
        return Pod(status=PodStatus(phase=phase, container_statuses=(ContainerStatus(name="m", state=ContainerState(terminated=term)),)))

    old = BackoffRecord(failures_after_last_success=3, last_failure_time=Time(5.0))
    assert new_backoff_record(old, [pod(10, PodPhase.SUCCEEDED)], []) == BackoffRecord()
    assert new_backoff_record(old, [pod(10, PodPhase.SUCCEEDED)], [pod(9, PodPhase.FAILED), pod(12, PodPhase.FAILED)]) == BackoffRecord(
        failures_after_last_success=1, last_failure_time=Time(12.0)
    )
    assert new_backoff_record(old, [], [pod(7, PodPhase.FAILED)]) == BackoffRecord(failures_after_last_success=4, last_failure_time=Time(7.0))


def test_a_terminating_pod_counts_as_failed_unless_it_succeeded() -> None:
    job = a_job()
    deleting = Pod(metadata=ObjectMeta(deletion_timestamp=Time(1.0)), status=PodStatus(phase=PodPhase.RUNNING))
    done = attrs.evolve(deleting, status=PodStatus(phase=PodPhase.SUCCEEDED))
    assert is_pod_failed(deleting, job) and not is_pod_failed(done, job)


def test_ensure_condition_never_adds_a_false_condition_from_nothing() -> None:
    conds, changed = ensure_condition((), JobConditionType.SUSPENDED, ConditionStatus.FALSE, "JobResumed", "Job resumed", Time(5.0))
    assert (conds, changed) == ((), False)



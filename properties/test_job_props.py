"""The Job controller under random pod outcomes and controller crashes.

A random program of actions (a running pod succeeds or fails, the controller crashes and
relists, time passes) runs against a Job; after every action: never more active pods
than parallelism, `succeeded` never exceeds completions nor decreases, and it never
exceeds the number of pods that really succeeded (no completion is counted twice). After
the program, letting every new pod succeed converges the Job to Complete or Failed, with
succeeded + failed equal to the pods that finished.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kcore.api.batch import Job, JobConditionType
from kcore.api.meta import ConditionStatus
from kcore.api.pod import PodPhase
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from tests.builders import a_job
from tests.test_job_controller import create, finish, job_cluster, job_pods, running, the_job

Action = tuple[str, int]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("succeed"), st.integers(0, 3)),
        st.tuples(st.just("fail"), st.integers(0, 3)),
        st.tuples(st.just("crash"), st.just(0)),
        st.tuples(st.just("advance"), st.sampled_from([1, 15, 90, 400])),
    ),
    max_size=12,
)


def finished(job: Job) -> JobConditionType | None:
    for c in job.status.conditions:
        if c.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and c.status is ConditionStatus.TRUE:
            return c.type
    return None


def really(c: Cluster, phase: PodPhase) -> int:
    return sum(1 for p in job_pods(c) if p.status.phase is phase)


@settings(max_examples=15, deadline=None)
@given(
    completions=st.integers(1, 4),
    parallelism=st.integers(1, 3),
    backoff_limit=st.integers(0, 3),
    program=actions,
)
def test_job_counts_each_completion_once_and_converges(
    completions: int, parallelism: int, backoff_limit: int, program: list[Action]
) -> None:
    c = job_cluster()
    create(c, a_job(completions=completions, parallelism=parallelism, backoff_limit=backoff_limit))
    last_succeeded = 0
    for verb, arg in program:
        pods = running(c)
        if verb in ("succeed", "fail") and pods:
            phase = PodPhase.SUCCEEDED if verb == "succeed" else PodPhase.FAILED
            finish(c, pods[arg % len(pods)], phase)
        elif verb == "crash":
            c.inject(CrashComponent(name="job-controller"))
            c.run_until_stable()
        elif verb == "advance":
            c.advance(arg)
        job = the_job(c)
        assert len(running(c)) <= parallelism
        assert last_succeeded <= job.status.succeeded <= completions
        assert job.status.succeeded <= really(c, PodPhase.SUCCEEDED)
        last_succeeded = job.status.succeeded
    for _ in range(4 * (completions + backoff_limit) + 4):
        if finished(the_job(c)) is not None:
            break
        pods = running(c)
        if pods:
            finish(c, pods[0], PodPhase.SUCCEEDED)
        else:
            c.advance(400)
    job = the_job(c)
    assert finished(job) is not None
    assert job.status.active == 0
    assert job.status.succeeded == really(c, PodPhase.SUCCEEDED)
    if finished(job) is JobConditionType.COMPLETE:
        assert job.status.succeeded == completions
    else:
        assert job.status.failed > backoff_limit

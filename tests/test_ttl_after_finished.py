"""The TTL-after-finished controller: finished Jobs with a TTL are deleted when it runs out.

Runs the Job controller, the TTL controller and the garbage collector over the driver;
the test plays the kubelet by writing pod status.
"""

from __future__ import annotations

import attrs

from kcore.api.batch import Job
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.api.pod import Pod, PodPhase, PodStatus
from kcore.component.requests import Create, Subresource, Update
from kcore.controllers.garbagecollector import GarbageCollector
from kcore.controllers.job import JobController
from kcore.controllers.ttlafterfinished import TTLAfterFinishedController, expire_at
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashComponent
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_job

JOB = ObjectKey(kind=Kind.JOB, namespace="default", name="pi")


def ttl_cluster() -> Cluster:
    base = create_cluster(ClusterConfig(seed=11), nodes=1)
    return Cluster(base.snapshot(), [JobController(), TTLAfterFinishedController(), GarbageCollector()])


def run_to_completion(c: Cluster, ttl: int | None) -> Job | None:
    assert c.request(Create(obj=a_job(ttl=ttl))).ok
    c.run_until_stable()
    (pod,) = [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]
    done = attrs.evolve(pod, status=PodStatus(phase=PodPhase.SUCCEEDED))
    assert c.request(Update(obj=done, subresource=Subresource.STATUS)).ok
    c.run_until_stable()
    job = get(c.state, JOB)
    if job is None:
        return None
    assert isinstance(job, Job) and expire_at(job) == (None if ttl is None else Time(job.status.completion_time or 0) + ttl)
    return job


def pods(c: Cluster) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]


def test_a_finished_job_and_its_pods_are_deleted_when_the_ttl_runs_out() -> None:
    c = ttl_cluster()
    run_to_completion(c, ttl=100)
    c.advance(99)
    assert get(c.state, JOB) is not None
    c.advance(2)
    c.advance(5)
    assert get(c.state, JOB) is None
    assert pods(c) == []


def test_a_zero_ttl_deletes_at_once() -> None:
    c = ttl_cluster()
    assert run_to_completion(c, ttl=0) is None
    assert pods(c) == []


def test_a_job_without_ttl_stays() -> None:
    c = ttl_cluster()
    job = run_to_completion(c, ttl=None)
    c.advance(10_000)
    assert get(c.state, JOB) == job  # untouched


def test_a_restarted_ttl_controller_still_deletes_on_time() -> None:
    c = ttl_cluster()
    run_to_completion(c, ttl=60)
    c.advance(30)
    c.inject(CrashComponent(name="ttl-after-finished-controller"))
    c.run_until_stable()
    c.advance(29)
    assert get(c.state, JOB) is not None
    c.advance(5)
    assert get(c.state, JOB) is None


def test_a_ttl_raised_before_expiry_is_honoured() -> None:
    c = ttl_cluster()
    job = run_to_completion(c, ttl=10)
    assert job is not None
    assert c.request(Update(obj=attrs.evolve(job, spec=attrs.evolve(job.spec, ttl_seconds_after_finished=100)))).ok
    c.advance(50)
    assert get(c.state, JOB) is not None
    c.advance(55)
    assert get(c.state, JOB) is None

"""Each benchmark runs at a tiny size and does what it claims to measure.

Asserts only on what the runs did (pods stored, labels and statuses written, a fork left
the original alone), never on timing.
"""

from __future__ import annotations

import pytest

from benchmarks import BenchmarkError, run
from benchmarks import bench_apiserver as api
from benchmarks import bench_fork as fork
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod, PodPhase
from kcore.state import ClusterState, count, get


def _pod(state: ClusterState, name: str) -> Pod:
    obj = get(state, ObjectKey(kind=Kind.POD, namespace=api.NAMESPACE, name=name))
    assert isinstance(obj, Pod)
    return obj


def test_base_state_holds_the_existing_pods_with_distinct_uids_and_revisions() -> None:
    state = api.base_state(5)
    pods = [_pod(state, f"fill-{i}") for i in range(5)]
    assert count(state, Kind.POD) == 5
    assert len({p.metadata.uid for p in pods}) == 5
    assert sorted(p.metadata.resource_version for p in pods) == [p.metadata.resource_version for p in pods]
    assert state.revision >= pods[-1].metadata.resource_version


def test_measured_creates_store_every_pod_through_the_apiserver() -> None:
    base = api.base_state(3)
    m = api.measure_creates(base, 4, repeats=2)
    assert (m.operation, m.existing, m.ops) == ("create", 3, 4)
    assert count(m.state, Kind.POD) == 7
    assert count(base, Kind.POD) == 3
    created = _pod(m.state, "new-3")
    assert created.metadata.uid != ""
    assert created.metadata.resource_version > base.revision
    assert m.state.revision > base.revision


def test_measured_updates_write_a_new_label_at_a_new_revision() -> None:
    base = api.base_state(2)
    m = api.measure_updates(base, 4, repeats=1)
    assert count(m.state, Kind.POD) == 2
    # round robin over fill-0 and fill-1: rounds 0 and 2 hit fill-0, 1 and 3 fill-1
    assert _pod(m.state, "fill-0").metadata.labels["round"] == "2"
    assert _pod(m.state, "fill-1").metadata.labels["round"] == "3"
    assert _pod(m.state, "fill-1").metadata.resource_version == m.state.revision


def test_measured_status_updates_write_the_status_subresource() -> None:
    base = api.base_state(2)
    m = api.measure_status_updates(base, 3, repeats=1)
    pod = _pod(m.state, "fill-0")
    assert pod.status.phase is PodPhase.RUNNING
    assert pod.status.pod_ip == "10.244.0.2"
    assert pod.metadata.labels == _pod(base, "fill-0").metadata.labels


def test_a_failing_request_fails_the_benchmark() -> None:
    base = api.base_state(1)
    twice = api.create_requests(1, prefix="dup") * 2
    with pytest.raises(BenchmarkError):
        api.run_creates(base, twice)


def test_profile_names_the_create_path() -> None:
    prof = api.profile_creates(api.base_state(2), 5, top=5)
    assert len(prof.top) == 5
    names = {line.function.rsplit("(", 1)[-1].rstrip(")") for line in prof.stages}
    assert {"handle", "create", "put"} <= names


def test_fork_leaves_the_original_state_alone() -> None:
    assert fork.fork_is_independent(3) == (3, 4)


def test_fork_measure_converts_every_pod_to_json() -> None:
    t = fork.measure(3)
    assert t.pods == 3
    assert len(fork.as_json(api.base_state(3, api.LIMITED))) == 3


def test_quick_report_lists_every_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    tiny = run.Plan(
        existing=(2,), ops=3, repeats=1, profile_existing=2, profile_ops=3, fork_sizes=(2,), quota_budget=4
    )
    out: list[str] = []
    run.apiserver_section(tiny, out)
    run.fork_section(tiny, out)
    text = "\n".join(out)
    for holds in ("namespace only", "LimitRange", "LimitRange + ResourceQuota"):
        assert f"| 2 | create | {holds} |" in text
    assert "| 2 | update | LimitRange + ResourceQuota |" in text
    assert "| 2 | status update | LimitRange + ResourceQuota |" in text
    assert "admission.py" in text and "(resource_quota)" in text
    assert "`copy.deepcopy`" in text

"""The whole-cluster benchmark runs at a tiny size and does what it claims to measure.

Asserts on what the runs did (nodes kept Ready with fresh Leases, every pod bound and
Running, the report's rows), never on timing.
"""

from __future__ import annotations

import pytest

from benchmarks import BenchmarkError, run
from benchmarks import bench_cluster as whole
from kcore.api.kinds import Kind
from kcore.api.meta import Time
from kcore.api.pod import Pod, PodPhase
from kcore.state import list_objects


def test_idle_nodes_stay_ready_and_renew_their_leases() -> None:
    cluster, built = whole.build(3)
    assert built.nodes == 3 and built.deliveries > 0
    r = whole.idle(cluster, 3, 0.5)
    assert r.simulated == 30.0
    assert cluster.now >= 30.0
    assert r.deliveries > 0


def test_pods_converge_to_running_on_nodes() -> None:
    cluster, _ = whole.build(2)
    r = whole.converge(cluster, 2, 5)
    assert (r.pods, r.nodes) == (5, 2)
    pods = [p for p in list_objects(cluster.state, Kind.POD, whole.NAMESPACE) if isinstance(p, Pod)]
    assert len(pods) == 5
    assert all(p.spec.node_name and p.status.phase is PodPhase.RUNNING for p in pods)
    assert whole.running(cluster) == 5


def test_a_stale_lease_fails_the_check() -> None:
    cluster, _ = whole.build(2)
    with pytest.raises(BenchmarkError):
        whole.check_nodes_alive(cluster, 2, Time(cluster.now + 1000.0))
    with pytest.raises(BenchmarkError):
        whole.check_nodes_alive(cluster, 3, cluster.now)


def test_memory_counts_the_stored_objects() -> None:
    cluster, _ = whole.build(2)
    m = whole.memory(cluster)
    assert m.rss_bytes > 0
    assert m.objects >= 2 + 2  # at least the nodes and their Leases


def test_run_section_reports_every_scenario() -> None:
    tiny = run.Plan(
        existing=(), ops=1, repeats=1, profile_existing=1, profile_ops=1, fork_sizes=(), quota_budget=1,
        cluster_nodes=2, cluster_minutes=0.25, cluster_pods=3,
    )
    out: list[str] = []
    run.cluster_section(tiny, out)
    text = "\n".join(out)
    assert "| 2 | new_cluster (settled) |" in text
    assert "| 2 | idle 0.25 simulated min |" in text
    assert "| 2 | 3 pods created -> all Running |" in text
    assert "| 2 | memory (RSS) |" in text


def test_profile_names_the_driver_loop() -> None:
    cluster, _ = whole.build(2)
    text = whole.profile_idle(cluster, 20.0, top=10)
    assert "advance" in text


def test_pods_created_in_batches_all_run() -> None:
    cluster, _ = whole.build(2)
    r = whole.converge(cluster, 2, 5, batch=2)
    assert r.pods == 5
    assert whole.running(cluster) == 5
    assert r.simulated >= 3.0  # one advance at least per batch of 2, 2 and 1

"""The Deployment benchmark runs at a tiny size and does what it claims to measure; the
ReplicaSet controller's per-owner tallies (kept pod event by pod event to make that
benchmark fast) always equal a claim counted afresh from the view.

Asserts on what the runs did (every pod Ready on the new image, the old ReplicaSet empty,
the report's rows), never on timing.
"""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap

from benchmarks import BenchmarkError, run
from benchmarks import bench_deployment as bench
from kcore.api.apps import ReplicaSet
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod
from kcore.component.requests import Create, Get, Update
from kcore.controllers.podcontrol import is_pod_ready
from kcore.controllers.replicaset import ReplicaSetState
from kcore.driver.cluster import Cluster
from kcore.state import get, list_objects
from properties.test_replicaset_props import stale_tallies
from tests.builders import a_pod, with_meta


def _pods(cluster: Cluster) -> list[Pod]:
    return [p for p in list_objects(cluster.state, Kind.POD, bench.NAMESPACE) if isinstance(p, Pod)]


def test_create_then_rolling_update_end_with_every_pod_ready_on_the_new_image() -> None:
    cluster = bench.build(2)
    created = bench.create_phase(cluster, 2, 6)
    assert (created.name, created.replicas, created.nodes) == ("create", 6, 2)
    assert created.entries > 0 and created.simulated > 0
    pods = _pods(cluster)
    assert len(pods) == 6 and all(p.spec.node_name and is_pod_ready(p) for p in pods)
    updated = bench.update_phase(cluster, 2, 6)
    assert updated.name == "rolling update" and updated.entries > 0
    pods = _pods(cluster)
    assert len(pods) == 6
    assert all(p.spec.containers[0].image == bench.IMAGE_V2 and is_pod_ready(p) for p in pods)
    rss = bench.replica_sets(cluster)
    assert sorted((bench._image(rs), rs.spec.replicas, rs.status.replicas) for rs in rss) == [
        (bench.IMAGE_V1, 0, 0),
        (bench.IMAGE_V2, 6, 6),
    ]


def test_the_completion_check_refuses_a_rollout_not_done() -> None:
    cluster = bench.build(2)
    resp = cluster.request(Create(obj=bench.deployment(4)))
    assert resp.ok
    assert not bench.rollout_complete(cluster, 4, bench.IMAGE_V1)  # nothing ran yet
    cluster.advance(5.0)
    assert bench.rollout_complete(cluster, 4, bench.IMAGE_V1)
    assert not bench.rollout_complete(cluster, 4, bench.IMAGE_V2)
    assert not bench.rollout_complete(cluster, 5, bench.IMAGE_V1)


def test_a_phase_that_cannot_finish_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "LIMIT_SECONDS", 3.0)
    cluster = bench.build(1)
    with pytest.raises(BenchmarkError):
        bench.create_phase(cluster, 1, 115)  # a node takes 110 pods: 5 stay Pending


def test_report_has_a_row_per_phase() -> None:
    rows = bench.run(2, 3)
    text = "\n".join(rows)
    assert rows[0] == bench.HEADER[0]
    assert "| 2 | 3 | upstream | create |" in text
    assert "| 2 | 3 | upstream | rolling update |" in text


def test_run_section_reports_both_phases() -> None:
    tiny = attrs.evolve(run.QUICK, deployment_nodes=2, deployment_replicas=3)
    out: list[str] = []
    run.deployment_section(tiny, out)
    text = "\n".join(out)
    assert "| 2 | 3 | upstream | create |" in text and "| 2 | 3 | upstream | rolling update |" in text


def _check_tallies(cluster: Cluster) -> int:
    """Every tally the ReplicaSet controller keeps equals one counted afresh (the check of
    the ReplicaSet machine's `tallies_equal_a_recount` invariant); how many it keeps."""
    st = cluster.snapshot().components["replicaset-controller"]
    assert isinstance(st, ReplicaSetState)
    assert stale_tallies(st) == []
    return len(st.tallies)


def test_tallies_equal_a_fresh_count_after_every_step() -> None:
    cluster = bench.build(2)
    assert cluster.request(Create(obj=bench.deployment(5))).ok
    assert cluster.request(Create(obj=a_pod("other", labels={"app": "other"}))).ok  # never claimed
    seen = 0
    for _ in range(3000):
        cluster.advance(1.0, max_steps=1)  # at most a step or two, then check
        seen = max(seen, _check_tallies(cluster))
        if bench.rollout_complete(cluster, 5, bench.IMAGE_V1):
            break
    assert seen >= 1
    # an orphan with the ReplicaSet's labels (adopted, one extra deleted), a claimed pod
    # that stops matching (released, replaced), then a rolling update
    (rs,) = bench.replica_sets(cluster)
    pod = next(p for p in _pods(cluster) if p.metadata.name.startswith(rs.metadata.name))
    assert cluster.request(Update(obj=with_meta(pod, labels=pmap({"app": "gone"})))).ok
    for _ in range(50):
        cluster.advance(1.0, max_steps=1)
        _check_tallies(cluster)
    released = get(cluster.state, ObjectKey(kind=Kind.POD, namespace=bench.NAMESPACE, name=pod.metadata.name))
    assert released is not None and released.metadata.owner_references == ()
    assert cluster.request(Create(obj=a_pod("stray", labels=rs.spec.template.metadata.labels))).ok
    for _ in range(50):
        cluster.advance(1.0, max_steps=1)
        _check_tallies(cluster)
    got = cluster.request(Get(key=bench._KEY))
    assert got.ok and isinstance(got.body, type(bench.deployment(1)))
    assert cluster.request(Update(obj=bench.with_image(got.body, bench.IMAGE_V2))).ok
    steps = 0
    while not bench.rollout_complete(cluster, 5, bench.IMAGE_V2):
        cluster.advance(1.0, max_steps=1)
        _check_tallies(cluster)
        steps += 1
        assert steps < 5000
    rss = [rs for rs in list_objects(cluster.state, Kind.REPLICA_SET) if isinstance(rs, ReplicaSet)]
    assert len(rss) == 2
    assert {p.metadata.name for p in _pods(cluster) if p.metadata.labels.get("app") != bench.NAME} == {
        "other",
        pod.metadata.name,
    }


def test_the_profile_lists_both_phases_work() -> None:
    text = bench.profile(2, 3, top=5)
    assert "Ordered by: internal time" in text and "Ordered by: cumulative time" in text
    assert "update_phase" in text or "run_until_stable" in text

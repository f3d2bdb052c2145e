"""HPA laws under a constant load: bounds, convergence, and a quiet fixed point.

Each example runs the autoscaler over a ReplicaSet whose pods the test keeps at the
ReplicaSet's count (tests/hpa_fixtures.py) and whose PodMetrics share a constant total
cpu load evenly. Laws: after every sync period the ReplicaSet's count lies within
[minReplicas, maxReplicas]; once the stabilisation window has passed, the count stops
changing; and at that fixed point a further period emits no UpdateScale.
"""

from __future__ import annotations

from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from kcore.api.autoscaling import HorizontalPodAutoscalerBehavior
from kcore.component.effects import CallApi
from kcore.component.requests import UpdateScale
from kcore.controllers.hpa import NAME
from kcore.driver.cluster import Cluster
from kcore.driver.snapshot import Performed
from tests.builders import an_hpa
from tests.hpa_fixtures import a_cluster, created, follow, replica_set, start_replica_set

PERIOD: Final = 15.0
SETTLE_PERIODS: Final = 26  # > 300 s of scale-down stabilisation, plus the climb


def _rescales_since(c: Cluster, since: float) -> int:
    return sum(
        1
        for e in c.trace
        if isinstance(e, Performed)
        and e.component == NAME
        and e.at > since
        and isinstance(e.effect, CallApi)
        and isinstance(e.effect.request, UpdateScale)
    )


def _follow_load(c: Cluster, total_milli: int) -> None:
    n = max(replica_set(c).spec.replicas, 1)
    follow(c, total_milli // n)


@settings(max_examples=8)
@given(
    replicas=st.integers(1, 6),
    min_replicas=st.integers(1, 3),
    spread=st.integers(0, 8),
    total_milli=st.integers(0, 2_000),
    with_behavior=st.booleans(),
)
def test_constant_load_converges_within_bounds_to_a_quiet_fixed_point(
    replicas: int, min_replicas: int, spread: int, total_milli: int, with_behavior: bool
) -> None:
    max_replicas = min_replicas + spread
    c = a_cluster()
    start_replica_set(c, replicas)
    _follow_load(c, total_milli)
    behavior = HorizontalPodAutoscalerBehavior() if with_behavior else None
    created(c, an_hpa(min_replicas=min_replicas, max_replicas=max_replicas, behavior=behavior))
    c.run_until_stable()
    counts = []
    for _ in range(SETTLE_PERIODS):
        _follow_load(c, total_milli)
        c.advance(PERIOD)
        count = replica_set(c).spec.replicas
        assert min_replicas <= count <= max_replicas
        counts.append(count)
    assert len(set(counts[-4:])) == 1, counts
    mark = c.now
    _follow_load(c, total_milli)
    c.advance(PERIOD)
    assert _rescales_since(c, mark) == 0
    assert replica_set(c).spec.replicas == counts[-1]

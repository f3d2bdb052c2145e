"""Scheduler regressions found by properties/test_scheduler_legality_props.py (the
independent legality oracle in properties/legality.py), minimised to plain unit tests.

Each test names the upstream rule it restates.
"""

from __future__ import annotations

import attrs

from kcore.api.pod import NodeInclusionPolicy
from kcore.scheduler import SchedulerConfig, Success, schedule_one
from tests.scheduler_builders import node, pod, snapshot, spread

ZONE = "topology.kubernetes.io/zone"


def test_a_hard_spread_constraint_with_an_empty_selector_counts_no_existing_pods() -> None:
    """Upstream podtopologyspread/common.go countPodsMatchSelector returns 0 when the
    constraint's selector is empty (`labelSelector: {}`), while the incoming pod still
    matches itself (Everything matches): every domain counts 0, so the skew on any node is
    0 + 1 - 0 = 1 and maxSkew 1 always passes. kcore's plugin counted every pod of the
    namespace instead, so a pod already in zone-a makes zone-a's skew 1 + 1 - 0 = 2 (zone-b
    is an eligible domain with 0: nodeAffinityPolicy Ignore) and the pod, which may only
    go to zone-a, was wrongly Unschedulable."""
    nodes = [node("a", labels={ZONE: "zone-a"}), node("b", labels={ZONE: "zone-b"})]
    existing = pod("old", labels={"app": "web"}, node_name="a")
    constraint = attrs.evolve(spread(ZONE, {}), node_affinity_policy=NodeInclusionPolicy.IGNORE)
    incoming = pod("new", labels={"app": "web"}, node_selector={ZONE: "zone-a"}, spread=[constraint])
    result = schedule_one(snapshot(nodes, [existing]), incoming, SchedulerConfig())
    assert isinstance(result, Success)
    assert result.node_name == "a"

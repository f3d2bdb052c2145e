"""NodeAffinity: spec.nodeSelector and required node affinity (filter); preferred node
affinity terms' weights (score, normalized by the maximum).

The matching itself (required terms ORed, requirements ANDed, matchFields) is
`kcore.helpers.scheduling`, shared with the kubelet and the DaemonSet controller.
Preferred terms with weight 0 or no requirements are ignored.

Mirrors pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kcore.helpers.scheduling import required_matches, term_matches
from kcore.scheduler.nodeinfo import NodeInfo
from kcore.scheduler.plugins.framework import (
    Cycle,
    FilterFn,
    ScorePlan,
    Status,
    default_normalize,
    unresolvable,
)

NAME: Final = "NodeAffinity"
ERR_REASON_POD: Final = "node(s) didn't match Pod's node affinity/selector"
def prefilter(cycle: Cycle) -> FilterFn | None:
    """Nodes not matching nodeSelector and the required terms fail, unresolvably."""
    pod = cycle.pod.pod
    aff = pod.spec.affinity
    na = aff.node_affinity if aff is not None else None
    if not pod.spec.node_selector and (
        na is None or na.required_during_scheduling_ignored_during_execution is None
    ):
        return None
    failure = unresolvable(NAME, ERR_REASON_POD)

    def check(ni: NodeInfo) -> Status | None:
        if ni.node is None:
            return failure
        return None if required_matches(pod, ni.node) else failure

    return check


def prescore(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan | None:
    """Sum of the weights of the preferred terms a node matches."""
    aff = cycle.pod.pod.spec.affinity
    na = aff.node_affinity if aff is not None else None
    if na is None:
        return None
    terms = tuple(
        t
        for t in na.preferred_during_scheduling_ignored_during_execution
        if t.weight != 0 and (t.preference.match_expressions or t.preference.match_fields)
    )
    if not terms:
        return None

    def score(ni: NodeInfo) -> int:
        node = ni.node
        if node is None:
            return 0
        return sum(t.weight for t in terms if term_matches(t.preference, node))

    def normalize(_nodes: Sequence[NodeInfo], scores: list[int]) -> list[int]:
        return default_normalize(scores, reverse=False)

    return ScorePlan(score=score, normalize=normalize)

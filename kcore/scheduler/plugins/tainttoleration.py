"""TaintToleration: NoSchedule/NoExecute taints need a toleration (filter); untolerated
PreferNoSchedule taints count against a node (score, reversed on normalizing).

Mirrors pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go and
k8s.io/api/core/v1/toleration.go (ToleratesTaint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kcore.api.pod import TaintEffect, Toleration
from kcore.helpers.scheduling import tolerates
from kcore.scheduler.nodeinfo import NodeInfo
from kcore.scheduler.plugins.framework import (
    Cycle,
    FilterFn,
    ScorePlan,
    Status,
    default_normalize,
    unresolvable,
)

NAME: Final = "TaintToleration"


def _tolerated(tolerations: Sequence[Toleration], key: str, value: str, effect: TaintEffect) -> bool:
    return any(tolerates(t, key, value, effect) for t in tolerations)


def prefilter(cycle: Cycle) -> FilterFn | None:
    """The first NoSchedule/NoExecute taint without a toleration fails the node."""
    tolerations = cycle.pod.pod.spec.tolerations

    def check(ni: NodeInfo) -> Status | None:
        if ni.node is None:
            return None
        for taint in ni.node.spec.taints:
            if taint.effect is TaintEffect.PREFER_NO_SCHEDULE:
                continue
            if not _tolerated(tolerations, taint.key, taint.value, taint.effect):
                return unresolvable(
                    NAME, f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
                )
        return None

    return check


def prescore(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan | None:
    """Score = untolerated PreferNoSchedule taints; normalized in reverse (fewer is better).

    Only tolerations with no effect or PreferNoSchedule count (getAllTolerationPreferNoSchedule).
    Skipped when no feasible node has a PreferNoSchedule taint: every node would score
    the same 100 after normalizing, which changes no choice.
    """
    if not any(
        t.effect is TaintEffect.PREFER_NO_SCHEDULE
        for ni in feasible
        if ni.node is not None and ni.node.spec.taints
        for t in ni.node.spec.taints
    ):
        return None
    tolerations = tuple(
        t
        for t in cycle.pod.pod.spec.tolerations
        if t.effect is None or t.effect is TaintEffect.PREFER_NO_SCHEDULE
    )

    def score(ni: NodeInfo) -> int:
        if ni.node is None:
            return 0
        return sum(
            1
            for taint in ni.node.spec.taints
            if taint.effect is TaintEffect.PREFER_NO_SCHEDULE
            and not _tolerated(tolerations, taint.key, taint.value, taint.effect)
        )

    def normalize(_nodes: Sequence[NodeInfo], scores: list[int]) -> list[int]:
        return default_normalize(scores, reverse=True)

    return ScorePlan(score=score, normalize=normalize)

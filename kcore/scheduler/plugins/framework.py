"""The scheduling framework's shapes: `Code`, `Status`, `SchedulerConfig`, `Cycle`, and the
two plan types a plugin hands the algorithm (`FilterFn`, `ScorePlan`).

Rules: a plugin is a module with `NAME` and up to two pure functions,
`prefilter(cycle) -> FilterFn | None` (None: Skip, nothing to check) and
`prescore(cycle, feasible) -> ScorePlan | None` (None: Skip). What upstream keeps in
CycleState lives in the closures those return; nothing outlives one `schedule_one`.

Mirrors pkg/scheduler/framework/interface.go (Code, Status, MaxNodeScore),
pkg/scheduler/apis/config/v1/default_plugins.go (weights) and
pkg/scheduler/framework/plugins/helper/normalize_score.go.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot

MAX_NODE_SCORE: Final = 100

DEFAULT_SCORE_WEIGHTS: Final[PMap[str, int]] = pmap(
    {
        "TaintToleration": 3,
        "NodeAffinity": 2,
        "NodeResourcesFit": 1,
        "PodTopologySpread": 2,
        "InterPodAffinity": 2,
        "NodeResourcesBalancedAllocation": 1,
    }
)


class Code(enum.Enum):
    SUCCESS = "Success"
    UNSCHEDULABLE = "Unschedulable"
    UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"


@attrs.frozen(kw_only=True)
class Status:
    """A plugin's verdict on one node: why the pod does not fit (never Success here)."""

    code: Code
    reasons: tuple[str, ...]
    plugin: str


def unschedulable(plugin: str, *reasons: str) -> Status:
    return Status(code=Code.UNSCHEDULABLE, reasons=reasons, plugin=plugin)


def unresolvable(plugin: str, *reasons: str) -> Status:
    return Status(code=Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons=reasons, plugin=plugin)


@attrs.frozen(kw_only=True)
class SchedulerConfig:
    """The profile's knobs kcore models (KubeSchedulerConfiguration v1 defaults).

    `percentage_of_nodes_to_score` None or 0 is the adaptive default.
    """

    percentage_of_nodes_to_score: int | None = None
    score_weights: PMap[str, int] = DEFAULT_SCORE_WEIGHTS
    hard_pod_affinity_weight: int = 1  # InterPodAffinityArgs.hardPodAffinityWeight
    fit_resources: tuple[tuple[str, int], ...] = (("cpu", 1), ("memory", 1))
    balanced_resources: tuple[tuple[str, int], ...] = (("cpu", 1), ("memory", 1))


@attrs.frozen(kw_only=True)
class Cycle:
    """One scheduling attempt: the pod (parsed), the snapshot and the config."""

    snapshot: Snapshot
    pod: PodInfo
    config: SchedulerConfig


FilterFn = Callable[[NodeInfo], Status | None]
ScoreFn = Callable[[NodeInfo], int]
NormalizeFn = Callable[[Sequence[NodeInfo], list[int]], list[int]]


def no_normalize(_nodes: Sequence[NodeInfo], scores: list[int]) -> list[int]:
    return scores


@attrs.frozen(kw_only=True)
class ScorePlan:
    score: ScoreFn
    normalize: NormalizeFn = no_normalize


def default_normalize(scores: list[int], *, reverse: bool) -> list[int]:
    """helper.DefaultNormalizeScore: scale to [0, MaxNodeScore] by the maximum."""
    top = max(scores, default=0)
    if top <= 0:
        return [MAX_NODE_SCORE] * len(scores) if reverse else scores
    out = [MAX_NODE_SCORE * s // top for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out

"""One scheduling decision: `schedule_one(snapshot, pod, config, seed, start_index)`.

Rules (schedule_one.go): run every plugin's PreFilter once; walk the nodes round-robin
from `start_index`, filtering until `num_feasible_nodes_to_find` feasible nodes are found
(each node stops at its first failing plugin); the next start index moves past every node
looked at. One feasible node is taken without scoring. Otherwise each score plugin scores
the feasible nodes, normalizes, and is weighted; the highest total wins, ties broken by a
seeded hash of (seed, pod) over the tied names sorted, instead of upstream's reservoir sampling. With no
feasible node the result is `Unschedulable` with a per-node diagnosis, after preemption
(the PostFilter) had its say, and the FailedScheduling message built as FitError.Error.

Must not know: the queue, binding, events, the apiserver.

Mirrors pkg/scheduler/schedule_one.go (schedulePod, findNodesThatFitPod,
findNodesThatPassFilters, numFeasibleNodesToFind, prioritizeNodes, selectHost) and
pkg/scheduler/framework/types.go (FitError.Error, via `kcore.scheduler.filtering`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import Final

import attrs

from kcore.api.pod import Pod
from kcore.scheduler import preemption
from kcore.scheduler.filtering import Diagnosis, Nomination, fit_error_message, prepare_filters
from kcore.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot, pod_info
from kcore.scheduler.plugins import SCORERS
from kcore.scheduler.plugins.framework import Cycle, FilterFn, SchedulerConfig, Status

MIN_FEASIBLE_NODES_TO_FIND: Final = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: Final = 5
NO_NODES_AVAILABLE: Final = "no nodes available to schedule pods"


@attrs.frozen(kw_only=True)
class Success:
    node_name: str
    evaluated_nodes: int
    feasible_nodes: int
    next_start_index: int


@attrs.frozen(kw_only=True)
class Unschedulable:
    diagnosis: Diagnosis
    message: str
    next_start_index: int
    nomination: Nomination | None = None


ScheduleResult = Success | Unschedulable


def num_feasible_nodes_to_find(percentage: int | None, num_all_nodes: int) -> int:
    """numFeasibleNodesToFind: all nodes below 100; else the percentage (adaptive
    `50 - nodes/125`, at least 5%) of the nodes, but at least 100."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    pct = percentage or 0
    if pct == 0:
        pct = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * pct // 100, MIN_FEASIBLE_NODES_TO_FIND)


def score_nodes(cycle: Cycle, feasible: Sequence[NodeInfo]) -> list[int]:
    """prioritizeNodes: each plugin's normalized scores times its weight, summed."""
    totals = [0] * len(feasible)
    weights = cycle.config.score_weights
    for name, prescore in SCORERS:
        weight = weights.get(name, 0)
        if weight == 0:
            continue
        plan = prescore(cycle, feasible)
        if plan is None:
            continue
        raw = [plan.score(ni) for ni in feasible]
        for i, s in enumerate(plan.normalize(feasible, raw)):
            totals[i] += s * weight
    return totals


def tie_key(seed: int, pod: PodInfo) -> bytes:
    """The seeded tie-breaker: a hash of the seed and the pod's identity."""
    text = f"{seed}\x00{pod.uid}\x00{pod.namespace}\x00{pod.key.name}"
    return hashlib.sha256(text.encode()).digest()


def select_host(
    feasible: Sequence[NodeInfo], scores: Sequence[int], seed: int, pod: PodInfo
) -> str:
    """selectHost: the highest total; among equals (sorted by name), the one a seeded hash
    of the pod picks, so the choice does not depend on where the node walk started."""
    best = max(scores)
    tied = sorted(ni.name for ni, s in zip(feasible, scores, strict=True) if s == best)
    if len(tied) == 1:
        return tied[0]
    return tied[int.from_bytes(tie_key(seed, pod)[:8], "big") % len(tied)]


def find_feasible(
    cycle: Cycle, filters: Sequence[FilterFn], start_index: int
) -> tuple[list[NodeInfo], list[tuple[str, Status]], int]:
    """findNodesThatPassFilters, sequentially: (feasible, failures, next start index)."""
    nodes = cycle.snapshot.node_order
    n = len(nodes)
    to_find = n if not filters else num_feasible_nodes_to_find(
        cycle.config.percentage_of_nodes_to_score, n
    )
    infos = cycle.snapshot.nodes
    feasible: list[NodeInfo] = []
    failed: list[tuple[str, Status]] = []
    start = start_index % n
    for ni in itertools.chain(infos[start:], infos[:start]):
        status = None
        for f in filters:
            status = f(ni)
            if status is not None:
                failed.append((ni.name, status))
                break
        else:
            feasible.append(ni)
            if len(feasible) >= to_find:
                break
    processed = len(feasible) + len(failed)
    return feasible, failed, (start + processed) % n


def schedule_one(
    snapshot: Snapshot,
    pod: Pod,
    config: SchedulerConfig | None = None,
    seed: int = 0,
    start_index: int = 0,
) -> ScheduleResult:
    """schedulePod for one pod against one snapshot (the pod is not yet in it)."""
    cfg = config if config is not None else SchedulerConfig()
    if not snapshot.node_order:
        return Unschedulable(
            diagnosis=Diagnosis(), message=NO_NODES_AVAILABLE, next_start_index=start_index
        )
    cycle = Cycle(snapshot=snapshot, pod=pod_info(pod), config=cfg)
    filters = prepare_filters(cycle)
    feasible, failed, next_start = find_feasible(cycle, filters, start_index)
    if not feasible:
        diagnosis = Diagnosis(
            node_to_status=tuple(sorted(failed, key=lambda f: f[0])),
            unschedulable_plugins=tuple(sorted({s.plugin for _, s in failed})),
        )
        outcome = preemption.preempt(cycle, diagnosis, seed)
        post_msg = outcome if isinstance(outcome, str) else ""
        message = fit_error_message(
            len(snapshot.node_order), (s for _, s in diagnosis.node_to_status), post_msg
        )
        return Unschedulable(
            diagnosis=diagnosis,
            message=message,
            next_start_index=next_start,
            nomination=None if isinstance(outcome, str) else outcome,
        )
    evaluated = len(feasible) + len(failed)
    if len(feasible) == 1:
        return Success(
            node_name=feasible[0].name,
            evaluated_nodes=evaluated,
            feasible_nodes=1,
            next_start_index=next_start,
        )
    scores = score_nodes(cycle, feasible)
    return Success(
        node_name=select_host(feasible, scores, seed, cycle.pod),
        evaluated_nodes=evaluated,
        feasible_nodes=len(feasible),
        next_start_index=next_start,
    )


__all__ = [
    "ScheduleResult",
    "Success",
    "Unschedulable",
    "num_feasible_nodes_to_find",
    "schedule_one",
]

"""Filtering a pod against nodes: what one scheduling attempt and preemption's dry run share.

Rules: every enabled plugin's PreFilter runs once per pod and returns the filter for the
nodes (or nothing, when the plugin has nothing to check); a node fits when every filter
passes, and stops at its first failure. `fit_error_message` is FitError.Error: reasons
counted over nodes, the "<count> <reason>" strings sorted as strings, then the
PostFilter's message. `Diagnosis` and `Nomination` are the values a failed attempt and
preemption hand back.

Below `algorithm` and `preemption`, which both use it (preemption re-runs the filters on
a node with victims removed). Pure. Mirrors pkg/scheduler/framework/runtime/framework.go
(RunPreFilterPlugins, RunFilterPlugins) and pkg/scheduler/framework/types.go (Diagnosis,
FitError.Error).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from kcore.api.kinds import ObjectKey
from kcore.scheduler.nodeinfo import NodeInfo
from kcore.scheduler.plugins import FILTERS
from kcore.scheduler.plugins.framework import Cycle, FilterFn, Status


@attrs.frozen(kw_only=True)
class Diagnosis:
    """Why nodes failed: each evaluated node's status, sorted by node name."""

    node_to_status: tuple[tuple[str, Status], ...] = ()
    unschedulable_plugins: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Nomination:
    """Preemption's outcome: the node the pod is nominated to, after deleting `victims`."""

    node_name: str
    victims: tuple[ObjectKey, ...]


def prepare_filters(cycle: Cycle) -> tuple[FilterFn, ...]:
    """Every enabled plugin's filter for this pod, in order (skipped plugins left out)."""
    out: list[FilterFn] = []
    for _name, prefilter in FILTERS:
        fn = prefilter(cycle)
        if fn is not None:
            out.append(fn)
    return tuple(out)


def run_filters(filters: Sequence[FilterFn], ni: NodeInfo) -> Status | None:
    """RunFilterPlugins: the first failure, or None when the node fits."""
    for f in filters:
        status = f(ni)
        if status is not None:
            return status
    return None


def fit_error_message(num_all_nodes: int, statuses: Iterable[Status], post_filter_msg: str) -> str:
    """FitError.Error: `0/N nodes are available: <count reason>, .... <postfilter>`

    Reasons are counted over nodes and the "<count> <reason>" strings sorted as strings,
    exactly as upstream's sortReasonsHistogram.
    """
    histogram: dict[str, int] = {}
    for status in statuses:
        for reason in status.reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    msg = f"0/{num_all_nodes} nodes are available:"
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    if parts:
        msg += f" {', '.join(parts)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}"
    return msg


def fits(cycle: Cycle, ni: NodeInfo) -> Status | None:
    """All filters on one node, prefilters computed from `cycle` (preemption's dry run)."""
    return run_filters(prepare_filters(cycle), ni)

"""PodTopologySpread: hard (DoNotSchedule) constraints filter, soft (ScheduleAnyway) ones
score.

Rules (filtering.go): a node counts for a constraint when it carries every constraint's
topology key and passes the inclusion policies (nodeAffinityPolicy Honor and
nodeTaintsPolicy Ignore by default); a domain's count is the pods on its counted nodes
that match the selector in the pod's namespace, terminating pods excluded. A node passes
when `count(its domain) + (1 if the pod matches itself) - global minimum <= maxSkew`,
the minimum being 0 while fewer than minDomains domains exist; a node lacking a topology
key fails unresolvably. Scoring (scoring.go) gives each feasible node
`Σ count·log(domains+2) + maxSkew-1` and normalizes so fewer matching pods score higher.
matchLabelKeys add `key in (pod's value)` to the selector.

kcore does not apply upstream's system-default constraints (spreading by the Services
and controllers selecting a pod); docs/semantics.md notes it.

Mirrors pkg/scheduler/framework/plugins/podtopologyspread/{common,filtering,scoring}.go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from kcore.api.core import Node
from kcore.api.pod import (
    NodeInclusionPolicy,
    Pod,
    TaintEffect,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
)
from kcore.helpers.scheduling import required_matches, tolerates
from kcore.labels import Operator, Selector, new_requirement
from kcore.scheduler.nodeinfo import NodeInfo, Snapshot, label_selector
from kcore.scheduler.plugins.framework import (
    MAX_NODE_SCORE,
    Cycle,
    FilterFn,
    ScorePlan,
    Status,
    unresolvable,
    unschedulable,
)

NAME: Final = "PodTopologySpread"
ERR_CONSTRAINTS_NOT_MATCH: Final = "node(s) didn't match pod topology spread constraints"
ERR_NODE_LABEL_NOT_MATCH: Final = ERR_CONSTRAINTS_NOT_MATCH + " (missing required label)"
HOSTNAME: Final = "kubernetes.io/hostname"
_NO_MINIMUM: Final = 2**31 - 1


@attrs.frozen(kw_only=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def constraint_of(c: TopologySpreadConstraint, labels: Mapping[str, str]) -> Constraint:
    selector = label_selector(c.label_selector)
    extra = [new_requirement(k, Operator.IN, (labels[k],)) for k in c.match_label_keys if k in labels]
    if extra and not selector.matches_nothing:
        selector = selector.add(*extra)
    return Constraint(
        max_skew=c.max_skew,
        topology_key=c.topology_key,
        selector=selector,
        min_domains=c.min_domains if c.min_domains is not None else 1,
        honor_affinity=c.node_affinity_policy is not NodeInclusionPolicy.IGNORE,
        honor_taints=c.node_taints_policy is NodeInclusionPolicy.HONOR,
    )


def constraints(pod: Pod, action: UnsatisfiableConstraintAction) -> tuple[Constraint, ...]:
    return tuple(
        constraint_of(c, pod.metadata.labels)
        for c in pod.spec.topology_spread_constraints
        if c.when_unsatisfiable is action
    )


def _has_all_keys(node: Node, cs: Sequence[Constraint]) -> bool:
    labels = node.metadata.labels
    return all(c.topology_key in labels for c in cs)


def _included(c: Constraint, pod: Pod, node: Node) -> bool:
    """matchNodeInclusionPolicies."""
    if c.honor_affinity and not required_matches(pod, node):
        return False
    if c.honor_taints:
        for taint in node.spec.taints:
            if taint.effect is TaintEffect.PREFER_NO_SCHEDULE:
                continue
            if not any(tolerates(t, taint.key, taint.value, taint.effect) for t in pod.spec.tolerations):
                return False
    return True


def matching_per_node(s: Snapshot, namespace: str, selector: Selector) -> dict[str, int]:
    """countPodsMatchSelector for every node at once, from the namespace index. An empty
    selector (`labelSelector: {}`) counts no pod, as upstream (`selector.Empty()`); the
    incoming pod still matches itself (see `self_match`)."""
    counts: dict[str, int] = {}
    if not selector.requirements and not selector.matches_nothing:
        return counts
    for key in s.pods_by_namespace.get(namespace, ()):
        node = s.pod_nodes[key]
        p = s.info(node).pods[key]
        if not p.terminating and selector.matches(p.labels):
            counts[node] = counts.get(node, 0) + 1
    return counts


def _domain_counts(
    s: Snapshot, pod: Pod, cs: Sequence[Constraint], eligible: Sequence[NodeInfo]
) -> list[dict[str, int]]:
    """TpValueToMatchNum per constraint over `eligible` nodes (all carry every key)."""
    out: list[dict[str, int]] = []
    for c in cs:
        per_node = matching_per_node(s, pod.metadata.namespace, c.selector)
        domains: dict[str, int] = {}
        for ni in eligible:
            assert ni.node is not None
            if not _included(c, pod, ni.node):
                continue
            value = ni.labels[c.topology_key]
            domains[value] = domains.get(value, 0) + per_node.get(ni.name, 0)
        out.append(domains)
    return out


def prefilter(cycle: Cycle) -> FilterFn | None:
    """Count matching pods per domain once; each node then checks its skew."""
    pod = cycle.pod.pod
    cs = constraints(pod, UnsatisfiableConstraintAction.DO_NOT_SCHEDULE)
    if not cs:
        return None
    s = cycle.snapshot
    eligible = [ni for ni in s.node_infos() if ni.node is not None and _has_all_keys(ni.node, cs)]
    counts = _domain_counts(s, pod, cs, eligible)
    minimums = [
        0 if len(d) < c.min_domains else min(d.values(), default=_NO_MINIMUM)
        for c, d in zip(cs, counts, strict=True)
    ]
    self_match = [1 if c.selector.matches(pod.metadata.labels) else 0 for c in cs]
    missing = unresolvable(NAME, ERR_NODE_LABEL_NOT_MATCH)
    skewed = unschedulable(NAME, ERR_CONSTRAINTS_NOT_MATCH)

    def check(ni: NodeInfo) -> Status | None:
        labels = ni.labels
        for i, c in enumerate(cs):
            value = labels.get(c.topology_key)
            if value is None:
                return missing
            if counts[i].get(value, 0) + self_match[i] - minimums[i] > c.max_skew:
                return skewed
        return None

    return check


def prescore(cycle: Cycle, feasible: Sequence[NodeInfo]) -> ScorePlan | None:
    """Soft constraints: nodes in emptier domains score higher."""
    pod = cycle.pod.pod
    cs = constraints(pod, UnsatisfiableConstraintAction.SCHEDULE_ANYWAY)
    if not cs:
        return None
    s = cycle.snapshot
    ignored = frozenset(
        ni.name for ni in feasible if ni.node is None or not _has_all_keys(ni.node, cs)
    )
    candidates = [ni for ni in feasible if ni.name not in ignored]
    pairs: list[set[str]] = [
        set() if c.topology_key == HOSTNAME else {ni.labels[c.topology_key] for ni in candidates}
        for c in cs
    ]
    weights = [
        math.log((len(candidates) if c.topology_key == HOSTNAME else len(pairs[i])) + 2)
        for i, c in enumerate(cs)
    ]
    per_node = [matching_per_node(s, pod.metadata.namespace, c.selector) for c in cs]
    domain_counts: list[dict[str, int]] = [dict.fromkeys(p, 0) for p in pairs]
    for i, c in enumerate(cs):
        if c.topology_key == HOSTNAME:
            continue
        for ni in s.node_infos():
            node = ni.node
            if node is None or not _has_all_keys(node, cs) or not _included(c, pod, node):
                continue
            value = ni.labels[c.topology_key]
            if value in domain_counts[i]:
                domain_counts[i][value] += per_node[i].get(ni.name, 0)

    def score(ni: NodeInfo) -> int:
        if ni.name in ignored:
            return 0
        total = 0.0
        for i, c in enumerate(cs):
            value = ni.labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == HOSTNAME:
                count = per_node[i].get(ni.name, 0)
            else:
                count = domain_counts[i][value]
            total += count * weights[i] + (c.max_skew - 1)
        return round_half_away(total)

    def normalize(nodes: Sequence[NodeInfo], scores: list[int]) -> list[int]:
        valid = [sc for ni, sc in zip(nodes, scores, strict=True) if ni.name not in ignored]
        lowest = min(valid, default=_NO_MINIMUM)
        highest = max([0, *valid])
        out: list[int] = []
        for ni, sc in zip(nodes, scores, strict=True):
            if ni.name in ignored:
                out.append(0)
            elif highest == 0:
                out.append(MAX_NODE_SCORE)
            else:
                out.append(MAX_NODE_SCORE * (highest + lowest - sc) // highest)
        return out

    return ScorePlan(score=score, normalize=normalize)


def round_half_away(x: float) -> int:
    """Go's math.Round: halves away from zero (Python's round() goes to even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)

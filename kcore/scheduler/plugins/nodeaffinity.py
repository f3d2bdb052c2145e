"""NodeAffinity: spec.nodeSelector and required node affinity (filter); preferred node
affinity terms' weights (score, normalized by the maximum).

Rules (component-helpers/scheduling/corev1/nodeaffinity): required terms are ORed, the
requirements inside a term ANDed; a term with neither expressions nor fields matches
nothing; an invalid requirement (Gt/Lt without one integer value, In without values)
fails its term. matchFields knows only `metadata.name` (In/NotIn). Preferred terms with
weight 0 or no requirements are ignored.

Mirrors pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from kcore.api.core import Node
from kcore.api.pod import NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, Pod
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
_NAME_FIELD: Final = "metadata.name"


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def requirement_matches(r: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    """One matchExpressions requirement against node labels."""
    op = r.operator
    value = labels.get(r.key)
    if op is NodeSelectorOperator.IN:
        return bool(r.values) and value is not None and value in r.values
    if op is NodeSelectorOperator.NOT_IN:
        return bool(r.values) and (value is None or value not in r.values)
    if op is NodeSelectorOperator.EXISTS:
        return not r.values and value is not None
    if op is NodeSelectorOperator.DOES_NOT_EXIST:
        return not r.values and value is None
    if len(r.values) != 1 or value is None:
        return False
    have, want = _as_int(value), _as_int(r.values[0])
    if have is None or want is None:
        return False
    return have > want if op is NodeSelectorOperator.GT else have < want


def _field_matches(r: NodeSelectorRequirement, node_name: str) -> bool:
    """nodeSelectorRequirementsAsFieldSelector: metadata.name In/NotIn with one value;
    anything else is a parse error, which fails the term."""
    if r.key != _NAME_FIELD or len(r.values) != 1:
        return False
    if r.operator is NodeSelectorOperator.IN:
        return node_name == r.values[0]
    if r.operator is NodeSelectorOperator.NOT_IN:
        return node_name != r.values[0]
    return False


def term_matches(term: NodeSelectorTerm, node: Node) -> bool:
    """A NodeSelectorTerm: all requirements hold; an empty term matches nothing."""
    if not term.match_expressions and not term.match_fields:
        return False
    labels = node.metadata.labels
    return all(requirement_matches(r, labels) for r in term.match_expressions) and all(
        _field_matches(r, node.metadata.name) for r in term.match_fields
    )


def required_matches(pod: Pod, node: Node) -> bool:
    """GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND required terms."""
    labels = node.metadata.labels
    for k, v in pod.spec.node_selector.items():
        if labels.get(k) != v:
            return False
    aff = pod.spec.affinity
    na = aff.node_affinity if aff is not None else None
    required = na.required_during_scheduling_ignored_during_execution if na else None
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.node_selector_terms)


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

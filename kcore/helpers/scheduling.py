"""Taints, tolerations and node affinity: the matching rules every component shares.

Rules (component-helpers/scheduling/corev1/nodeaffinity): required terms are ORed, the
requirements inside a term ANDed; a term with neither expressions nor fields matches
nothing; an invalid requirement (Gt/Lt without one integer value, In without values)
fails its term. matchFields knows only `metadata.name` (In/NotIn). A toleration matches
a taint when its effect and key (when set) are equal, then by its operator.

Owns the matching only; the scheduler's plugins (`kcore.scheduler.plugins.nodeaffinity`,
`tainttoleration`) turn it into filters and scores. Pure. Mirrors
k8s.io/component-helpers/scheduling/corev1 (helpers.go, nodeaffinity/nodeaffinity.go) and
k8s.io/api/core/v1/toleration.go (ToleratesTaint).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kcore.api.core import Node
from kcore.api.pod import (
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    TaintEffect,
    Toleration,
    TolerationOperator,
)

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


def tolerates(t: Toleration, key: str, value: str, effect: TaintEffect) -> bool:
    """Toleration.ToleratesTaint: effect and key (when set) equal, then the operator."""
    if t.effect is not None and t.effect is not effect:
        return False
    if t.key and t.key != key:
        return False
    op = t.operator
    if op is TolerationOperator.EXISTS:
        return True
    if op is TolerationOperator.EQUAL:
        return t.value == value
    have, limit = _as_int(value), _as_int(t.value)
    if have is None or limit is None:
        return False
    return have > limit if op is TolerationOperator.GT else have < limit

"""An independent oracle for scheduling legality, written from the Kubernetes API semantics.

Owns `World` (nodes, the pods bound to them, namespace labels) and `violations(world,
pod, node_name)`: every reason why binding `pod` to the node would break a hard
scheduling rule, given the pods already bound. Empty means the binding is legal.

Rules (each cites the upstream code whose *meaning* it restates; nothing here imports
kcore.scheduler, so a bug shared with the scheduler's plugins cannot hide):
- Resources (noderesources/fit.go, component-helpers resource.PodRequests): a pod asks
  for max(sum of containers + sidecars, each init container + the sidecars started
  before it) plus overhead; cpu in ceil-millicores, the rest in ceil-units. A resource
  the pod asks > 0 of must fit in allocatable minus what bound pods ask; the pod count
  must stay <= allocatable pods. A resource the node does not list has 0 allocatable.
- NodeUnschedulable: spec.unschedulable refuses the pod unless it tolerates
  node.kubernetes.io/unschedulable:NoSchedule.
- nodeSelector: every pair is a label of the node. Required nodeAffinity: an OR of
  terms, each an AND of matchExpressions (In/NotIn/Exists/DoesNotExist/Gt/Lt, Gt/Lt as
  int64, NotIn/DoesNotExist hold when the label is absent) and matchFields (only
  metadata.name, In/NotIn); a term with neither matches nothing.
- Taints (tainttoleration): each NoSchedule/NoExecute taint needs a toleration whose
  effect is empty or equal, key empty or equal, and operator Exists or value equal.
- Host ports (nodeports, HostPortInfo.CheckConflict): only regular containers' ports
  with hostPort > 0; a clash is the same protocol and port where either hostIP is
  0.0.0.0 (or empty) or both are equal.
- Pod affinity (interpodaffinity/filtering.go): an existing pod *counts* when it matches
  every required affinity term of P (namespaces, or namespaceSelector on the namespace's
  labels, or P's own namespace when both are unset; and the label selector). For each
  term the node must carry the term's topologyKey, and some counted pod must sit on a
  node with the same value. Upstream's special case: when no counted pod sits on any
  node carrying the key of the term it would count for, P passes on any node with all
  the keys if P matches all its own terms.
- Anti-affinity, both directions: no pod matching one of P's required anti-affinity
  terms on a node with the node's value of the term's key; and no existing pod whose own
  required anti-affinity term matches P on a node sharing that term's key and value.
- Hard topology spread (podtopologyspread/filtering.go, common.go): per DoNotSchedule
  constraint, the node must carry the key; eligible nodes carry every hard
  constraint's key and pass the inclusion policies (nodeAffinityPolicy default Honor:
  nodeSelector + required affinity; nodeTaintsPolicy default Ignore); a domain's count
  is the non-terminating pods of P's namespace matching the selector on its eligible
  nodes (an empty selector counts nothing, a nil one matches nothing); the global
  minimum is over eligible domains, 0 when there are fewer than minDomains (default 1),
  and the constraint is skipped when no domain is eligible. Legal iff count(node's
  domain) + (P matches the selector) - minimum <= maxSkew. (This is upstream's formula:
  the skew of the domain P lands in, not the spread of the whole cluster afterwards.)

Pods that are Succeeded or Failed take nothing (the scheduler cache drops them).
Must not know: kcore.scheduler. Mirrors nothing: it is the tests' second opinion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import attrs

from kcore.api.core import Node, Taint
from kcore.api.pod import (
    ContainerRestartPolicy,
    LabelSelector,
    NodeInclusionPolicy,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    PodPhase,
    Protocol,
    TaintEffect,
    Toleration,
    TolerationOperator,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
)
from kcore.labels import Operator, Requirement, Selector, selector_from_label_selector
from kcore.quantity import Quantity

CPU: Final = "cpu"
PODS: Final = "pods"
UNSCHEDULABLE_TAINT: Final = Taint(key="node.kubernetes.io/unschedulable", effect=TaintEffect.NO_SCHEDULE)

_NODE_OPS: Final = {
    NodeSelectorOperator.IN: Operator.IN,
    NodeSelectorOperator.NOT_IN: Operator.NOT_IN,
    NodeSelectorOperator.EXISTS: Operator.EXISTS,
    NodeSelectorOperator.DOES_NOT_EXIST: Operator.DOES_NOT_EXIST,
    NodeSelectorOperator.GT: Operator.GREATER_THAN,
    NodeSelectorOperator.LT: Operator.LESS_THAN,
}


@attrs.frozen(kw_only=True)
class World:
    """Nodes by name, the counted pods bound to each, and namespace labels."""

    nodes: Mapping[str, Node]
    pods_on: Mapping[str, tuple[Pod, ...]]
    namespace_labels: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)

    def pods(self) -> Iterable[tuple[Node, Pod]]:
        for name in sorted(self.pods_on):
            node = self.nodes.get(name)
            if node is None:
                continue
            for p in self.pods_on[name]:
                yield node, p


def takes_room(pod: Pod) -> bool:
    """Bound and not terminal."""
    return bool(pod.spec.node_name) and pod.status.phase not in (PodPhase.SUCCEEDED, PodPhase.FAILED)


def world_of(nodes: Iterable[Node], pods: Iterable[Pod], namespace_labels: Mapping[str, Mapping[str, str]] | None = None) -> World:
    """The world of `nodes` with the pods (those bound and not terminal) on them."""
    on: dict[str, list[Pod]] = {}
    for p in pods:
        if takes_room(p):
            on.setdefault(p.spec.node_name, []).append(p)
    return World(
        nodes={n.metadata.name: n for n in nodes},
        pods_on={k: tuple(v) for k, v in on.items()},
        namespace_labels=dict(namespace_labels or {}),
    )


# --- resources ----------------------------------------------------------------------------


def _add(total: dict[str, int], reqs: Mapping[str, Quantity]) -> None:
    for name, q in reqs.items():
        total[name] = total.get(name, 0) + q.nanos


def requests(pod: Pod) -> dict[str, int]:
    """What the pod asks for: cpu in millicores, everything else in units (both rounded up)."""
    total: dict[str, int] = {}
    for c in pod.spec.containers:
        _add(total, c.resources.requests)
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in pod.spec.init_containers:
        if c.restart_policy is ContainerRestartPolicy.ALWAYS:
            _add(total, c.resources.requests)
            _add(sidecars, c.resources.requests)
            this = dict(sidecars)
        else:
            this = dict(sidecars)
            _add(this, c.resources.requests)
        for name, v in this.items():
            init_max[name] = max(init_max.get(name, 0), v)
    for name, v in init_max.items():
        total[name] = max(total.get(name, 0), v)
    _add(total, pod.spec.overhead)
    return {name: _rounded(name, nanos) for name, nanos in total.items()}


def _rounded(name: str, nanos: int) -> int:
    q = Quantity(nanos=nanos)
    return q.milli_value() if name == CPU else q.value()


def _allocatable(node: Node) -> dict[str, int]:
    return {name: _rounded(name, q.nanos) for name, q in node.status.allocatable.items()}


def resource_violations(world: World, pod: Pod, node: Node) -> list[str]:
    on = world.pods_on.get(node.metadata.name, ())
    alloc = _allocatable(node)
    out: list[str] = []
    if len(on) + 1 > alloc.get(PODS, 0):
        out.append("too many pods")
    used: dict[str, int] = {}
    for p in on:
        for name, v in requests(p).items():
            used[name] = used.get(name, 0) + v
    for name, want in sorted(requests(pod).items()):
        if want > 0 and want > alloc.get(name, 0) - used.get(name, 0):
            out.append(f"insufficient {name}")
    return out


# --- node selection -----------------------------------------------------------------------


def _requirement_matches(r: NodeSelectorRequirement, labels: Mapping[str, str]) -> bool:
    op = _NODE_OPS[r.operator]
    if op in (Operator.GREATER_THAN, Operator.LESS_THAN) and len(r.values) != 1:
        return False
    return Requirement(key=r.key, operator=op, values=r.values).matches(labels)


def _field_matches(r: NodeSelectorRequirement, node: Node) -> bool | None:
    """A matchFields requirement; None when it is not one upstream understands."""
    if r.key != "metadata.name" or len(r.values) != 1:
        return None
    if r.operator is NodeSelectorOperator.IN:
        return node.metadata.name == r.values[0]
    if r.operator is NodeSelectorOperator.NOT_IN:
        return node.metadata.name != r.values[0]
    return None


def term_matches(term: NodeSelectorTerm, node: Node) -> bool:
    """One nodeSelectorTerm: all its expressions and fields hold (empty: nothing)."""
    if not term.match_expressions and not term.match_fields:
        return False
    labels = node.metadata.labels
    if not all(_requirement_matches(r, labels) for r in term.match_expressions):
        return False
    return all(_field_matches(r, node) is True for r in term.match_fields)


def node_selection_matches(pod: Pod, node: Node) -> bool:
    """nodeSelector and required nodeAffinity (GetRequiredNodeAffinity(pod).Match)."""
    labels = node.metadata.labels
    if any(labels.get(k) != v for k, v in pod.spec.node_selector.items()):
        return False
    affinity = pod.spec.affinity
    na = affinity.node_affinity if affinity is not None else None
    required = na.required_during_scheduling_ignored_during_execution if na is not None else None
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.node_selector_terms)


# --- taints -------------------------------------------------------------------------------


def tolerates(tol: Toleration, taint: Taint) -> bool:
    """ToleratesTaint for the Equal and Exists operators."""
    if tol.effect is not None and tol.effect is not taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    if tol.operator is TolerationOperator.EXISTS:
        return True
    if tol.operator is TolerationOperator.EQUAL:
        return tol.value == taint.value
    return False  # Gt/Lt are never generated by the properties using this oracle


def untolerated(pod: Pod, node: Node, taints: Iterable[Taint] | None = None) -> list[Taint]:
    """The node's NoSchedule/NoExecute taints no toleration of the pod covers."""
    out = []
    for taint in node.spec.taints if taints is None else taints:
        if taint.effect is TaintEffect.PREFER_NO_SCHEDULE:
            continue
        if not any(tolerates(t, taint) for t in pod.spec.tolerations):
            out.append(taint)
    return out


# --- host ports ---------------------------------------------------------------------------


def host_ports(pod: Pod) -> list[tuple[str, Protocol, int]]:
    return [
        (p.host_ip or "0.0.0.0", p.protocol, p.host_port)
        for c in pod.spec.containers
        for p in c.ports
        if p.host_port > 0
    ]


def _ports_clash(a: tuple[str, Protocol, int], b: tuple[str, Protocol, int]) -> bool:
    if a[1] is not b[1] or a[2] != b[2]:
        return False
    return a[0] == "0.0.0.0" or b[0] == "0.0.0.0" or a[0] == b[0]


# --- inter-pod affinity -------------------------------------------------------------------


def label_selector(sel: LabelSelector | None) -> Selector:
    """LabelSelectorAsSelector: nil matches nothing, empty everything."""
    if sel is None:
        return Selector.nothing()
    return selector_from_label_selector(
        sel.match_labels, [(e.key, e.operator.value, e.values) for e in sel.match_expressions]
    )


def pod_matches_term(world: World, owner: Pod, term: PodAffinityTerm, other: Pod) -> bool:
    """Whether `other` is selected by `owner`'s affinity term (namespaces and labels)."""
    namespaces = set(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = {owner.metadata.namespace}
    ns = other.metadata.namespace
    in_ns = ns in namespaces or (
        term.namespace_selector is not None
        and label_selector(term.namespace_selector).matches(world.namespace_labels.get(ns, {}))
    )
    return in_ns and label_selector(term.label_selector).matches(other.metadata.labels)


def _required_affinity(pod: Pod) -> tuple[PodAffinityTerm, ...]:
    a = pod.spec.affinity
    if a is None or a.pod_affinity is None:
        return ()
    return a.pod_affinity.required_during_scheduling_ignored_during_execution


def _required_anti(pod: Pod) -> tuple[PodAffinityTerm, ...]:
    a = pod.spec.affinity
    if a is None or a.pod_anti_affinity is None:
        return ()
    return a.pod_anti_affinity.required_during_scheduling_ignored_during_execution


def affinity_check(world: World, pod: Pod) -> Callable[[Node], list[str]]:
    """The inter-pod affinity verdict for `pod`, its counts taken once over the world."""
    terms = _required_affinity(pod)
    # (key, value) domains holding a pod that matches all of P's affinity terms
    domains: set[tuple[str, str]] = set()
    # (key, value) domains P's anti-affinity terms forbid, and those existing pods' forbid
    anti: set[tuple[str, str]] = set()
    existing: dict[tuple[str, str], str] = {}
    anti_terms = _required_anti(pod)
    for n, other in world.pods():
        node_labels = n.metadata.labels
        if terms and all(pod_matches_term(world, pod, t, other) for t in terms):
            domains.update((t.topology_key, node_labels[t.topology_key]) for t in terms if t.topology_key in node_labels)
        for t in anti_terms:
            if t.topology_key in node_labels and pod_matches_term(world, pod, t, other):
                anti.add((t.topology_key, node_labels[t.topology_key]))
        for t in _required_anti(other):
            if t.topology_key in node_labels and pod_matches_term(world, other, t, pod):
                existing[(t.topology_key, node_labels[t.topology_key])] = other.metadata.name
    self_match = bool(terms) and all(pod_matches_term(world, pod, t, pod) for t in terms)

    def check(node: Node) -> list[str]:
        labels = node.metadata.labels
        out: list[str] = []
        if terms:
            if any(t.topology_key not in labels for t in terms):
                out.append("pod affinity: node lacks a topology key")
            elif not all((t.topology_key, labels[t.topology_key]) in domains for t in terms) and not (
                not domains and self_match
            ):
                out.append("pod affinity not satisfied")
        out += [
            f"anti-affinity in {t.topology_key}={labels[t.topology_key]}"
            for t in anti_terms
            if t.topology_key in labels and (t.topology_key, labels[t.topology_key]) in anti
        ]
        out += [
            f"existing anti-affinity of {existing[(k, v)]} in {k}={v}" for k, v in sorted(labels.items()) if (k, v) in existing
        ]
        return out

    return check


# --- topology spread ----------------------------------------------------------------------


def hard_constraints(pod: Pod) -> list[TopologySpreadConstraint]:
    return [
        c
        for c in pod.spec.topology_spread_constraints
        if c.when_unsatisfiable is UnsatisfiableConstraintAction.DO_NOT_SCHEDULE
    ]


def _eligible(pod: Pod, node: Node, c: TopologySpreadConstraint, constraints: Sequence[TopologySpreadConstraint]) -> bool:
    labels = node.metadata.labels
    if any(k.topology_key not in labels for k in constraints):
        return False
    if (c.node_affinity_policy or NodeInclusionPolicy.HONOR) is NodeInclusionPolicy.HONOR and not node_selection_matches(pod, node):
        return False
    return not (
        (c.node_taints_policy or NodeInclusionPolicy.IGNORE) is NodeInclusionPolicy.HONOR and untolerated(pod, node)
    )


def spread_check(world: World, pod: Pod) -> Callable[[Node], list[str]]:
    """The hard topology spread verdict for `pod`, domain counts taken once."""
    constraints = hard_constraints(pod)
    plans: list[tuple[TopologySpreadConstraint, dict[str, int], int, int]] = []
    for c in constraints:
        selector = label_selector(c.label_selector)
        counts: dict[str, int] = {}
        for name in sorted(world.nodes):
            n = world.nodes[name]
            if not _eligible(pod, n, c, constraints):
                continue
            domain = n.metadata.labels[c.topology_key]
            matched = 0
            if not selector.is_empty():
                matched = sum(
                    1
                    for p in world.pods_on.get(name, ())
                    if p.metadata.namespace == pod.metadata.namespace
                    and p.metadata.deletion_timestamp is None
                    and selector.matches(p.metadata.labels)
                )
            counts[domain] = counts.get(domain, 0) + matched
        minimum = 0 if len(counts) < (c.min_domains or 1) or not counts else min(counts.values())
        plans.append((c, counts, minimum, 1 if selector.matches(pod.metadata.labels) else 0))

    def check(node: Node) -> list[str]:
        out: list[str] = []
        for c, counts, minimum, self_match in plans:
            value = node.metadata.labels.get(c.topology_key)
            if value is None:
                out.append(f"spread: node lacks {c.topology_key}")
                continue
            if not counts:
                continue  # no eligible domain: upstream skips the constraint
            skew = counts.get(value, 0) + self_match - minimum
            if skew > c.max_skew:
                out.append(f"spread: skew {skew} > {c.max_skew} on {c.topology_key}={value}")
        return out

    return check


# --- the verdict --------------------------------------------------------------------------


def judge(world: World, pod: Pod) -> Callable[[str], list[str]]:
    """A function naming every hard rule binding `pod` to a node would break (empty: legal)."""
    affinity = affinity_check(world, pod)
    spread = spread_check(world, pod)
    want_ports = host_ports(pod)

    def check(node_name: str) -> list[str]:
        node = world.nodes.get(node_name)
        if node is None:
            return [f"no node {node_name}"]
        out = resource_violations(world, pod, node)
        if node.spec.unschedulable and untolerated(pod, node, [UNSCHEDULABLE_TAINT]):
            out.append("node unschedulable")
        if not node_selection_matches(pod, node):
            out.append("node selector/affinity mismatch")
        out += [f"untolerated taint {t.key}:{t.effect.value}" for t in untolerated(pod, node)]
        used = [hp for p in world.pods_on.get(node_name, ()) for hp in host_ports(p)]
        if any(_ports_clash(want, have) for want in want_ports for have in used):
            out.append("host port clash")
        return out + affinity(node) + spread(node)

    return check


def violations(world: World, pod: Pod, node_name: str) -> list[str]:
    """Every hard rule binding `pod` to `node_name` would break (empty: legal)."""
    return judge(world, pod)(node_name)


def legal_nodes(world: World, pod: Pod) -> list[str]:
    """The names of every node `pod` may legally be bound to, sorted."""
    check = judge(world, pod)
    return [name for name in sorted(world.nodes) if not check(name)]


def with_binding(world: World, pod: Pod, node_name: str) -> World:
    """The world after `pod` is bound to `node_name`."""
    bound = attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name=node_name))
    on = dict(world.pods_on)
    on[node_name] = (*on.get(node_name, ()), bound)
    return attrs.evolve(world, pods_on=on)

"""Builders for scheduler tests: nodes with taints and labels, pods with requests,
affinity, tolerations, spread constraints and host ports, and `cycle_for`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs
from pyrsistent import pmap

from kcore.api.core import Node, Taint
from kcore.api.pod import (
    Affinity,
    Container,
    ContainerPort,
    LabelSelector,
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodAntiAffinity,
    Protocol,
    ResourceRequirements,
    TaintEffect,
    Toleration,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
)
from kcore.quantity import parse_quantity
from kcore.scheduler.nodeinfo import Snapshot, pod_info, snapshot_of
from kcore.scheduler.plugins.framework import Cycle, SchedulerConfig
from tests.builders import a_node, a_pod


def node(
    name: str,
    *,
    cpu: str = "4",
    memory: str = "16Gi",
    pods: str = "110",
    labels: Mapping[str, str] | None = None,
    taints: Iterable[Taint] = (),
    unschedulable: bool = False,
    extra: Mapping[str, str] | None = None,
) -> Node:
    n = a_node(name, cpu=cpu, memory=memory, pods=pods, labels=labels, unschedulable=unschedulable)
    alloc = n.status.allocatable
    for k, v in (extra or {}).items():
        alloc = alloc.set(k, parse_quantity(v))
    return attrs.evolve(
        n,
        spec=attrs.evolve(n.spec, taints=tuple(taints)),
        status=attrs.evolve(n.status, allocatable=alloc, capacity=alloc),
    )


def taint(key: str, value: str = "", effect: TaintEffect = TaintEffect.NO_SCHEDULE) -> Taint:
    return Taint(key=key, value=value, effect=effect)


def container(
    name: str = "app",
    *,
    requests: Mapping[str, str] | None = None,
    host_ports: Iterable[tuple[int, str, Protocol]] = (),
) -> Container:
    return Container(
        name=name,
        image="nginx:1.25",
        resources=ResourceRequirements(
            requests=pmap({k: parse_quantity(v) for k, v in (requests or {}).items()})
        ),
        ports=tuple(
            ContainerPort(container_port=p, host_port=p, host_ip=ip, protocol=proto)
            for p, ip, proto in host_ports
        ),
    )


def pod(
    name: str = "p",
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    requests: Mapping[str, str] | None = None,
    containers: Iterable[Container] = (),
    init_containers: Iterable[Container] = (),
    node_name: str = "",
    node_selector: Mapping[str, str] | None = None,
    affinity: Affinity | None = None,
    tolerations: Iterable[Toleration] = (),
    spread: Iterable[TopologySpreadConstraint] = (),
    priority: int | None = None,
    overhead: Mapping[str, str] | None = None,
) -> Pod:
    p = a_pod(name, namespace, labels=labels)
    cs = tuple(containers) or (container(requests=requests),)
    return attrs.evolve(
        p,
        metadata=attrs.evolve(p.metadata, uid=f"uid-{namespace}-{name}"),
        spec=attrs.evolve(
            p.spec,
            containers=cs,
            init_containers=tuple(init_containers),
            node_name=node_name,
            node_selector=pmap(node_selector or {}),
            affinity=affinity,
            tolerations=tuple(tolerations),
            topology_spread_constraints=tuple(spread),
            priority=priority,
            overhead=pmap({k: parse_quantity(v) for k, v in (overhead or {}).items()}),
        ),
    )


def required_node_affinity(*terms: NodeSelectorTerm) -> Affinity:
    return Affinity(
        node_affinity=NodeAffinity(
            required_during_scheduling_ignored_during_execution=NodeSelector(
                node_selector_terms=terms
            )
        )
    )


def expr(key: str, op: NodeSelectorOperator, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key=key, operator=op, values=values)


def selects(labels: Mapping[str, str]) -> LabelSelector:
    return LabelSelector(match_labels=pmap(labels))


def pod_term(labels: Mapping[str, str], topology_key: str) -> PodAffinityTerm:
    return PodAffinityTerm(label_selector=selects(labels), topology_key=topology_key)


def pod_affinity(
    *, affinity: Iterable[PodAffinityTerm] = (), anti: Iterable[PodAffinityTerm] = ()
) -> Affinity:
    return Affinity(
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=tuple(affinity)),
        pod_anti_affinity=PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=tuple(anti)
        ),
    )


def spread(
    key: str,
    labels: Mapping[str, str],
    *,
    max_skew: int = 1,
    hard: bool = True,
    min_domains: int | None = None,
) -> TopologySpreadConstraint:
    return TopologySpreadConstraint(
        max_skew=max_skew,
        topology_key=key,
        when_unsatisfiable=UnsatisfiableConstraintAction.DO_NOT_SCHEDULE
        if hard
        else UnsatisfiableConstraintAction.SCHEDULE_ANYWAY,
        label_selector=selects(labels),
        min_domains=min_domains,
    )


def snapshot(nodes: Iterable[Node], pods: Iterable[Pod] = ()) -> Snapshot:
    return snapshot_of(nodes, pods)


def cycle_for(s: Snapshot, p: Pod, config: SchedulerConfig | None = None) -> Cycle:
    return Cycle(snapshot=s, pod=pod_info(p), config=config or SchedulerConfig())

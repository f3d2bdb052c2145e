"""The scheduler against an independent legality oracle (`properties/legality.py`), on
clusters big enough (150-600 nodes over 3-5 zones) that percentageOfNodesToScore really
samples.

Laws:
1. `schedule_one` with a low percentage (10, 5, and the adaptive default 0) returns
   Success only with a node the oracle calls legal, Unschedulable only when the oracle
   finds no legal node at all, and reports exactly min(legal nodes, nodes to find)
   feasible nodes (its filters agree with the oracle on every node it looks at).
2. With percentageOfNodesToScore=100 the sampled walk picks what a plain all-nodes
   filter + score picks, whatever the start index, and the plain feasible set is the
   oracle's legal set.
3. The Scheduler component, driven through the driver's Cluster over many pods created in
   batches, never binds a pod illegally: every binding in the watch log is replayed
   against the API state at the moment it happened. At the fixed point (after the
   5-minute unschedulable flush) no pending pod has a legal node.

Nodes are derived from a drawn seed (hundreds of nodes drawn one field at a time would
make shrinking hopeless); the pods, which carry the constraints, are drawn field by field.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Final

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pyrsistent import pmap

from kcore.api.core import Namespace, Node, Taint
from kcore.api.kinds import Kind
from kcore.api.pod import (
    Affinity,
    Container,
    ContainerPort,
    ContainerRestartPolicy,
    LabelSelector,
    LabelSelectorOperator,
    LabelSelectorRequirement,
    NodeAffinity,
    NodeInclusionPolicy,
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
    TolerationOperator,
    TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import watch
from kcore.component.requests import Create
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.quantity import parse_quantity
from kcore.scheduler import (
    SchedulerConfig,
    Success,
    add_pod,
    num_feasible_nodes_to_find,
    schedule_one,
    snapshot_of,
)
from kcore.scheduler.algorithm import score_nodes, select_host
from kcore.scheduler.component import Scheduler
from kcore.scheduler.filtering import fits
from kcore.scheduler.nodeinfo import Snapshot, pod_info
from kcore.scheduler.plugins.framework import Cycle
from kcore.state import ClusterConfig, list_objects
from properties.legality import World, judge, legal_nodes, takes_room, with_binding, world_of
from tests.builders import a_namespace, a_node, a_pod
from tests.test_scheduler_component import add_node

ZONE: Final = "topology.kubernetes.io/zone"
HOST: Final = "kubernetes.io/hostname"
DISK: Final = "disk"
GEN: Final = "node-generation"
GPU: Final = "example.com/gpu"
ZONES: Final = ("zone-a", "zone-b", "zone-c", "zone-d", "zone-e")
APPS: Final = ("web", "db", "cache")
NAMESPACES: Final = ("default", "team")
NAMESPACE_LABELS: Final[Mapping[str, Mapping[str, str]]] = {"default": {}, "team": {"env": "prod"}}


def scaled(ci_examples: int) -> settings:
    """`ci_examples` under the ci profile (60 examples), proportionally more under deep."""
    current = settings()  # the loaded profile's values
    return settings(max_examples=max(1, ci_examples * current.max_examples // 60))


# --- clusters -----------------------------------------------------------------------------


def make_node(rng: random.Random, i: int, zones: int) -> Node:
    """Node i of a seeded cluster: realistic labels, some taints, a few odd ones out."""
    name = f"n{i:03d}"
    labels = {DISK: rng.choice(["ssd", "hdd"]), GEN: str(rng.randint(1, 5))}
    if rng.random() > 0.02:  # a rare node without a zone label
        labels[ZONE] = ZONES[rng.randrange(zones)]
    small = rng.random() < 0.1
    n = a_node(
        name,
        cpu=rng.choice(["2", "4", "8"]) if not small else "1",
        memory=rng.choice(["4Gi", "16Gi"]) if not small else "2Gi",
        pods="110" if not small else rng.choice(["1", "3"]),
        labels=labels,
        unschedulable=rng.random() < 0.03,
    )
    taints: list[Taint] = []
    roll = rng.random()
    if roll < 0.08:
        taints.append(Taint(key="dedicated", value=rng.choice(["db", "gpu"]), effect=TaintEffect.NO_SCHEDULE))
    elif roll < 0.12:
        taints.append(Taint(key="evict", effect=TaintEffect.NO_EXECUTE))
    elif roll < 0.2:
        taints.append(Taint(key="soft", effect=TaintEffect.PREFER_NO_SCHEDULE))
    alloc = n.status.allocatable
    if rng.random() < 0.1:
        alloc = alloc.set(GPU, parse_quantity(str(rng.choice([1, 2, 4]))))
    return attrs.evolve(
        n,
        metadata=attrs.evolve(n.metadata, uid=f"uid-{name}"),
        spec=attrs.evolve(n.spec, taints=tuple(taints)),
        status=attrs.evolve(n.status, allocatable=alloc, capacity=alloc),
    )


def make_nodes(seed: int, count: int, zones: int) -> list[Node]:
    rng = random.Random(seed)
    return [make_node(rng, i, zones) for i in range(count)]


def bind(p: Pod, node_name: str) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, node_name=node_name))


def make_background(seed: int, nodes: Sequence[Node], count: int, namespaces: Sequence[str] = NAMESPACES) -> list[Pod]:
    """`count` pods already bound, piled unevenly (most in the first zones' nodes), some
    with host ports or their own required anti-affinity, so that spreads, anti-affinity
    in both directions, ports and resources all bite."""
    rng = random.Random(seed)
    names = [n.metadata.name for n in nodes]
    out = []
    for i in range(count):
        app = rng.choice(APPS)
        ports = [ContainerPort(container_port=80, host_port=80)] if rng.random() < 0.1 else []
        reqs = {"cpu": rng.choice(["100m", "500m", "1"]), "memory": rng.choice(["256Mi", "1Gi"])}
        p = a_pod(f"bg{i}", rng.choice(namespaces), labels={"app": app}, containers=[a_container("app", reqs, ports)], grace=0)
        if rng.random() < 0.05:
            term = PodAffinityTerm(label_selector=selects(rng.choice(APPS)), topology_key=rng.choice([HOST, ZONE]))
            anti = PodAntiAffinity(required_during_scheduling_ignored_during_execution=(term,))
            p = attrs.evolve(p, spec=attrs.evolve(p.spec, affinity=Affinity(pod_anti_affinity=anti)))
        node = names[min(int(rng.expovariate(3.0) * len(names)), len(names) - 1)]
        out.append(attrs.evolve(bind(p, node), metadata=attrs.evolve(p.metadata, uid=f"uid-bg{i}")))
    return out


# --- pods ---------------------------------------------------------------------------------


def selects(app: str | None) -> LabelSelector:
    """app=<app>; None is the empty selector (everything; counts nothing in spreading)."""
    return LabelSelector(match_labels=pmap({"app": app} if app else {}))


def requirements(draw: st.DrawFn) -> dict[str, str]:
    reqs: dict[str, str] = {}
    cpu = draw(st.sampled_from(["", "", "100m", "250m", "500m", "1", "1500m", "3"]))
    if cpu:
        reqs["cpu"] = cpu
    memory = draw(st.sampled_from(["", "", "128Mi", "512Mi", "1Gi", "3Gi", "1.5Gi"]))
    if memory:
        reqs["memory"] = memory
    if draw(st.integers(0, 9)) == 0:
        reqs[GPU] = draw(st.sampled_from(["1", "2"]))
    return reqs


def a_container(name: str, reqs: Mapping[str, str], ports: Sequence[ContainerPort] = (), sidecar: bool = False) -> Container:
    return Container(
        name=name,
        image="nginx:1.25",
        resources=ResourceRequirements(
            requests=pmap({k: parse_quantity(v) for k, v in reqs.items()}),
            limits=pmap({GPU: parse_quantity(reqs[GPU])} if GPU in reqs else {}),  # extended: limits = requests
        ),
        ports=tuple(ports),
        restart_policy=ContainerRestartPolicy.ALWAYS if sidecar else None,
    )


host_port: Final = st.builds(
    lambda port, ip, proto: ContainerPort(container_port=port, host_port=port, host_ip=ip, protocol=proto),
    st.sampled_from([80, 8080]),
    st.sampled_from(["", "", "10.0.0.1", "10.0.0.2", "0.0.0.0"]),
    st.sampled_from([Protocol.TCP, Protocol.TCP, Protocol.UDP]),
)

node_requirement: Final = st.sampled_from(
    [
        NodeSelectorRequirement(key=ZONE, operator=NodeSelectorOperator.IN, values=("zone-a", "zone-b")),
        NodeSelectorRequirement(key=ZONE, operator=NodeSelectorOperator.NOT_IN, values=("zone-c",)),
        NodeSelectorRequirement(key=ZONE, operator=NodeSelectorOperator.EXISTS),
        NodeSelectorRequirement(key=ZONE, operator=NodeSelectorOperator.DOES_NOT_EXIST),
        NodeSelectorRequirement(key=DISK, operator=NodeSelectorOperator.IN, values=("ssd",)),
        NodeSelectorRequirement(key="gpu-model", operator=NodeSelectorOperator.DOES_NOT_EXIST),
        NodeSelectorRequirement(key="gpu-model", operator=NodeSelectorOperator.EXISTS),
        NodeSelectorRequirement(key=GEN, operator=NodeSelectorOperator.GT, values=("2",)),
        NodeSelectorRequirement(key=GEN, operator=NodeSelectorOperator.LT, values=("4",)),
        NodeSelectorRequirement(key=DISK, operator=NodeSelectorOperator.GT, values=("1",)),
    ]
)


@st.composite
def node_term(draw: st.DrawFn, node_names: Sequence[str]) -> NodeSelectorTerm:
    exprs = draw(st.lists(node_requirement, max_size=2, unique=True))
    fields: list[NodeSelectorRequirement] = []
    if draw(st.integers(0, 3)) == 0 or not exprs:
        op = draw(st.sampled_from([NodeSelectorOperator.IN, NodeSelectorOperator.NOT_IN]))
        fields.append(NodeSelectorRequirement(key="metadata.name", operator=op, values=(draw(st.sampled_from(node_names)),)))
    return NodeSelectorTerm(match_expressions=tuple(exprs), match_fields=tuple(fields))


@st.composite
def pod_term(draw: st.DrawFn) -> PodAffinityTerm:
    app = draw(st.sampled_from(APPS))
    selector = selects(app)
    if draw(st.integers(0, 5)) == 0:
        selector = LabelSelector(
            match_expressions=(LabelSelectorRequirement(key="app", operator=LabelSelectorOperator.IN, values=(app, "db")),)
        )
    namespaces: tuple[str, ...] = ()
    ns_selector: LabelSelector | None = None
    which = draw(st.integers(0, 5))
    if which == 0:
        namespaces = NAMESPACES
    elif which == 1:
        ns_selector = LabelSelector()  # every namespace
    elif which == 2:
        ns_selector = LabelSelector(match_labels=pmap({"env": "prod"}))
    return PodAffinityTerm(
        label_selector=selector,
        topology_key=draw(st.sampled_from([ZONE, HOST])),
        namespaces=namespaces,
        namespace_selector=ns_selector,
    )


@st.composite
def spread_constraint(draw: st.DrawFn) -> TopologySpreadConstraint:
    app = draw(st.sampled_from([*APPS, None]))  # None: the empty selector, which counts no pod
    action = draw(
        st.sampled_from([UnsatisfiableConstraintAction.DO_NOT_SCHEDULE] * 3 + [UnsatisfiableConstraintAction.SCHEDULE_ANYWAY])
    )
    hard = action is UnsatisfiableConstraintAction.DO_NOT_SCHEDULE
    return TopologySpreadConstraint(
        max_skew=draw(st.integers(1, 3)),
        topology_key=draw(st.sampled_from([ZONE, ZONE, HOST])),
        when_unsatisfiable=action,
        label_selector=selects(app),
        min_domains=draw(st.sampled_from([None, None, 2, 6])) if hard else None,
        node_affinity_policy=draw(st.sampled_from([None, None, NodeInclusionPolicy.IGNORE, NodeInclusionPolicy.HONOR])),
        node_taints_policy=draw(st.sampled_from([None, None, NodeInclusionPolicy.HONOR, NodeInclusionPolicy.IGNORE])),
    )


tolerations: Final = st.lists(
    st.sampled_from(
        [
            Toleration(key="dedicated", operator=TolerationOperator.EXISTS),
            Toleration(key="dedicated", value="db", effect=TaintEffect.NO_SCHEDULE),
            Toleration(key="evict", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE),
            Toleration(key="evict", operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_SCHEDULE),
            Toleration(operator=TolerationOperator.EXISTS),
            Toleration(key="node.kubernetes.io/unschedulable", operator=TolerationOperator.EXISTS),
        ]
    ),
    max_size=2,
    unique=True,
)


@st.composite
def pods(draw: st.DrawFn, name: str, node_names: Sequence[str], namespaces: Sequence[str] = NAMESPACES) -> Pod:
    """A pod with a realistic mix of hard (and some soft) scheduling constraints."""
    app = draw(st.sampled_from(APPS))
    ports = draw(st.lists(host_port, max_size=2, unique_by=lambda p: (p.host_ip, p.protocol, p.host_port))) if draw(st.integers(0, 4)) == 0 else []
    containers = [a_container("app", requirements(draw), ports)]
    if draw(st.integers(0, 4)) == 0:
        containers.append(a_container("helper", requirements(draw)))
    inits = []
    if draw(st.integers(0, 5)) == 0:
        inits.append(a_container("sidecar", requirements(draw), sidecar=draw(st.booleans())))
        inits.append(a_container("init", requirements(draw)))
    node_selector = draw(st.sampled_from([{}, {}, {}, {DISK: "ssd"}, {ZONE: "zone-b"}]))
    node_affinity = None
    if draw(st.integers(0, 3)) == 0:
        terms = draw(st.lists(node_term(node_names), min_size=1, max_size=2))
        node_affinity = NodeAffinity(required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=tuple(terms)))
    affinity_terms = draw(st.lists(pod_term(), max_size=2)) if draw(st.integers(0, 3)) == 0 else []
    anti_terms = draw(st.lists(pod_term(), max_size=2)) if draw(st.integers(0, 3)) == 0 else []
    spreads = (
        draw(st.lists(spread_constraint(), max_size=2, unique_by=lambda c: (c.topology_key, c.when_unsatisfiable)))
        if draw(st.integers(0, 2)) == 0
        else []
    )
    p = a_pod(name, draw(st.sampled_from(namespaces)), labels={"app": app}, containers=containers, grace=0)
    affinity = Affinity(
        node_affinity=node_affinity,
        pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=tuple(affinity_terms)) if affinity_terms else None,
        pod_anti_affinity=PodAntiAffinity(required_during_scheduling_ignored_during_execution=tuple(anti_terms)) if anti_terms else None,
    )
    overhead = {"cpu": parse_quantity("50m")} if draw(st.integers(0, 9)) == 0 else {}
    return attrs.evolve(
        p,
        metadata=attrs.evolve(p.metadata, uid=f"uid-{p.metadata.namespace}-{name}"),
        spec=attrs.evolve(
            p.spec,
            init_containers=tuple(inits),
            node_selector=pmap(node_selector),
            affinity=affinity if (node_affinity or affinity_terms or anti_terms) else None,
            tolerations=tuple(draw(tolerations)),
            topology_spread_constraints=tuple(spreads),
            overhead=pmap(overhead),
        ),
    )


@attrs.frozen(kw_only=True)
class Scenario:
    """A seeded cluster, pods already bound in it, and pods to schedule in order."""

    nodes: tuple[Node, ...]
    bound: tuple[Pod, ...]
    incoming: tuple[Pod, ...]


@st.composite
def scenarios(draw: st.DrawFn, min_nodes: int = 150, max_nodes: int = 600, max_pods: int = 12) -> Scenario:
    count = draw(st.integers(min_nodes, max_nodes))
    ns = make_nodes(draw(st.integers(0, 2**32)), count, draw(st.integers(3, 5)))
    names = [n.metadata.name for n in ns]
    bound = make_background(draw(st.integers(0, 2**32)), ns, draw(st.sampled_from([0, 50, 300])))
    for i in range(draw(st.integers(0, 12))):
        p = draw(pods(f"old{i}", names))
        bound.append(bind(p, draw(st.sampled_from(names))))
    incoming = tuple(draw(pods(f"p{i}", names)) for i in range(draw(st.integers(1, max_pods))))
    return Scenario(nodes=tuple(ns), bound=tuple(bound), incoming=incoming)


def namespaces() -> list[Namespace]:
    return [a_namespace(name, labels=labels) for name, labels in NAMESPACE_LABELS.items()]


def starting_point(s: Scenario) -> tuple[Snapshot, World]:
    return snapshot_of(s.nodes, s.bound, namespaces()), world_of(s.nodes, s.bound, NAMESPACE_LABELS)


# --- 1. sampled scheduling is legal and complete ------------------------------------------


@scaled(25)
@given(scenarios(), st.sampled_from([0, 5, 10]), st.integers(0, 3), st.integers(0, 700))
def test_sampled_scheduling_binds_only_legally_and_gives_up_only_when_nothing_is_legal(
    s: Scenario, percentage: int, seed: int, start: int
) -> None:
    config = SchedulerConfig(percentage_of_nodes_to_score=percentage)
    snap, world = starting_point(s)
    to_find = num_feasible_nodes_to_find(percentage, len(s.nodes))
    assert to_find < len(s.nodes)  # these clusters are big enough to sample
    for p in s.incoming:
        result = schedule_one(snap, p, config, seed=seed, start_index=start)
        start = result.next_start_index
        legal = legal_nodes(world, p)
        event("success" if isinstance(result, Success) else "unschedulable")
        event("some nodes illegal" if len(legal) < len(s.nodes) else "every node legal")
        if isinstance(result, Success):
            assert result.node_name in legal, (p.metadata.name, result.node_name, judge(world, p)(result.node_name))
            assert result.feasible_nodes == min(len(legal), to_find), (p.metadata.name, result, len(legal))
            snap = add_pod(snap, bind(p, result.node_name))
            world = with_binding(world, p, result.node_name)
        else:
            assert legal == [], (p.metadata.name, legal[:5], result.message)


# --- 2. percentageOfNodesToScore=100 equals the plain algorithm ---------------------------


def plain_choice(s: Snapshot, p: Pod, config: SchedulerConfig, seed: int) -> tuple[str | None, list[str]]:
    cycle = Cycle(snapshot=s, pod=pod_info(p), config=config)
    feasible = [ni for ni in s.node_infos() if fits(cycle, ni) is None]
    names = sorted(ni.name for ni in feasible)
    if not feasible:
        return None, names
    if len(feasible) == 1:
        return feasible[0].name, names
    return select_host(feasible, score_nodes(cycle, feasible), seed, cycle.pod), names


@scaled(12)
@given(scenarios(max_nodes=300, max_pods=8), st.integers(0, 3), st.integers(0, 400))
def test_full_percentage_on_big_clusters_picks_what_the_plain_algorithm_picks(s: Scenario, seed: int, start: int) -> None:
    config = SchedulerConfig(percentage_of_nodes_to_score=100)
    snap, world = starting_point(s)
    for p in s.incoming:
        result = schedule_one(snap, p, config, seed=seed, start_index=start)
        want, feasible = plain_choice(snap, p, config, seed)
        assert feasible == legal_nodes(world, p), p.metadata.name
        got = result.node_name if isinstance(result, Success) else None
        assert got == want, p.metadata.name
        if isinstance(result, Success):
            assert result.evaluated_nodes == len(s.nodes)
            snap = add_pod(snap, bind(p, result.node_name))
            world = with_binding(world, p, result.node_name)


# --- 3. the component never binds illegally ------------------------------------------------


SYSTEM: Final = "kube-system"


@st.composite
def component_runs(draw: st.DrawFn) -> tuple[list[Node], list[Pod], list[list[Pod]]]:
    """Nodes and batches of pods; kube-system pods are sometimes system-cluster-critical, so
    preemption has lower-priority victims to take."""
    ns = make_nodes(draw(st.integers(0, 2**32)), draw(st.integers(150, 220)), draw(st.integers(3, 5)))
    names = [n.metadata.name for n in ns]
    batches = []
    counter = 0
    for _ in range(draw(st.integers(1, 4))):
        batch = []
        for _ in range(draw(st.integers(2, 12))):
            p = draw(pods(f"p{counter}", names, namespaces=(SYSTEM, "team")))
            counter += 1
            if p.metadata.namespace == SYSTEM and draw(st.integers(0, 3)) == 0:
                p = attrs.evolve(p, spec=attrs.evolve(p.spec, priority_class_name="system-cluster-critical"))
            batch.append(p)
        batches.append(batch)
    background = make_background(draw(st.integers(0, 2**32)), ns, draw(st.sampled_from([0, 40, 150])), (SYSTEM, "team"))
    return ns, background, batches


@attrs.define
class Replay:
    """The API's nodes and pods as the watch log tells them, checking each binding."""

    nodes: dict[str, Node] = attrs.field(factory=dict)
    pods: dict[tuple[str, str], Pod] = attrs.field(factory=dict)
    revision: int = 0
    bindings: int = 0

    def world(self, without: tuple[str, str] | None = None) -> World:
        pods = [p for k, p in self.pods.items() if k != without]
        return world_of(self.nodes.values(), pods, {**NAMESPACE_LABELS, SYSTEM: {}})

    def catch_up(self, cluster: Cluster) -> None:
        events: list[WatchEvent] = []
        for kind in (Kind.NODE, Kind.POD):
            got = watch(cluster.state, kind, None, self.revision)
            assert isinstance(got, tuple), got
            events.extend(got)
        events.sort(key=lambda e: e.resource_version)
        for e in events:
            obj = e.obj
            if isinstance(obj, Node):
                if e.type is WatchType.DELETED:
                    self.nodes.pop(obj.metadata.name, None)
                else:
                    self.nodes[obj.metadata.name] = obj
            elif isinstance(obj, Pod):
                key = (obj.metadata.namespace, obj.metadata.name)
                if e.type is WatchType.DELETED:
                    self.pods.pop(key, None)
                    continue
                before = self.pods.get(key)
                # a pod created with spec.nodeName was never the scheduler's to place
                if obj.spec.node_name and before is not None and not before.spec.node_name and takes_room(obj):
                    reasons = judge(self.world(without=key), obj)(obj.spec.node_name)
                    assert not reasons, (obj.metadata.name, obj.spec.node_name, reasons)
                    self.bindings += 1
                self.pods[key] = obj
        self.revision = cluster.state.revision


@scaled(20)
@given(component_runs(), st.integers(0, 3))
def test_the_scheduler_component_never_binds_illegally(run: tuple[list[Node], list[Pod], list[list[Pod]]], seed: int) -> None:
    ns, background, batches = run
    cluster = create_cluster(ClusterConfig(seed=seed), components=[Scheduler()])
    cluster.request(Create(obj=a_namespace("team", labels=NAMESPACE_LABELS["team"])))
    for n in ns:
        add_node(cluster, n)
    for p in background:
        assert cluster.request(Create(obj=p)).ok, p.metadata.name
    replay = Replay()
    replay.catch_up(cluster)
    assert len(replay.pods) == len(background) and replay.bindings == 0
    for batch in batches:
        for p in batch:
            resp = cluster.request(Create(obj=p))
            assert resp.ok, (p.metadata.name, resp.body)
        cluster.advance(1.0)
        replay.catch_up(cluster)
    # a pod waiting for an affinity partner is requeued when the partner is bound (the
    # AssignedPodAdd hint); 700 s also covers pods that wait on anything else for the
    # 5-minute unschedulable flush, possibly twice
    cluster.advance(700)
    replay.catch_up(cluster)
    event(f"scheduler bindings: {min(replay.bindings, 20) // 5 * 5}+")
    world = replay.world()
    for obj in list_objects(cluster.state, Kind.POD):
        assert isinstance(obj, Pod)
        if not obj.spec.node_name:
            legal = legal_nodes(world, obj)
            why = [(c.type, c.reason, c.message) for c in obj.status.conditions]
            assert legal == [], (obj.metadata.name, legal[:3], why, obj.status.nominated_node_name)

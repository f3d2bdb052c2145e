"""Laws of the whole node side under faults: every component a `kcore` cluster runs
(scheduler, kubelets, node lifecycle, controllers), random pods, and a fault plan drawn
from a seed (node crashes, partitions, component pauses and crashes).

Checked after every step of simulated time:
- Scheduling: no node's bound, non-terminal pods request more cpu or memory than it has.
- Flat network: Running pods have pairwise distinct IPs inside their node's podCIDR.
- A pod's phase only moves forward (per uid), and restartCount never decreases.
- Eviction: while exactly one node is unreachable (with more down, the zone is in
  partial or full disruption and upstream stops evicting in small clusters), once it has
  been so past the 300 s toleration plus the grace and monitor periods, every pod bound
  to it has a deletionTimestamp and none is Ready.
- Healing: after the plan ends healed and time passes, every pod left is Running.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus
from kcore.api.pod import Pod, PodPhase
from kcore.component.requests import Create
from kcore.driver import default_components
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashNode, HealPartition, PartitionNode, RestartNode, random_plan
from kcore.state import ClusterConfig, list_objects
from tests.builders import a_container, a_pod

NODES: Final = ("node-1", "node-2", "node-3")
RANK: Final = {PodPhase.PENDING: 0, PodPhase.RUNNING: 1, PodPhase.SUCCEEDED: 2, PodPhase.FAILED: 2, PodPhase.UNKNOWN: 1}
STEP: Final = 30.0

pod_shapes = st.tuples(st.sampled_from(["", "100m", "500m", "1500m"]), st.sampled_from(["", "256Mi", "2Gi"]))


def milli(q: object) -> int:
    return int(q.milli_value()) if q is not None else 0  # type: ignore[attr-defined]


def check(c: Cluster, seen_phase: dict[str, int], seen_restarts: dict[tuple[str, str], int]) -> None:
    nodes = {n.metadata.name: n for n in list_objects(c.state, Kind.NODE) if isinstance(n, Node)}
    pods = [p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod)]
    used: dict[str, list[int]] = {n: [0, 0] for n in nodes}
    ips: dict[str, str] = {}
    for p in pods:
        rank = RANK.get(p.status.phase, 0)
        assert rank >= seen_phase.get(p.metadata.uid, 0), (p.metadata.name, p.status.phase)
        seen_phase[p.metadata.uid] = rank
        for cs in p.status.container_statuses:
            k = (p.metadata.uid, cs.name)
            assert cs.restart_count >= seen_restarts.get(k, 0)
            seen_restarts[k] = cs.restart_count
        if not p.spec.node_name or p.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
            continue
        for ctr in p.spec.containers:
            used[p.spec.node_name][0] += milli(ctr.resources.requests.get("cpu"))
            used[p.spec.node_name][1] += milli(ctr.resources.requests.get("memory"))
        if p.status.phase is PodPhase.RUNNING and p.status.pod_ip:
            assert p.status.pod_ip not in ips, (p.metadata.name, ips.get(p.status.pod_ip))
            ips[p.status.pod_ip] = p.metadata.name
            cidr = ipaddress.ip_network(nodes[p.spec.node_name].spec.pod_cidr)
            assert ipaddress.ip_address(p.status.pod_ip) in cidr
    for name, (cpu, mem) in used.items():
        alloc = nodes[name].status.allocatable
        assert cpu <= milli(alloc.get("cpu")), (name, cpu)
        assert mem <= milli(alloc.get("memory")), (name, mem)


EVICTED_BY: Final = 40 + 10 + 300 + 30  # grace, two monitor passes, toleration, slack
EVICTION_CHECKS: list[str] = []


def check_evicted(c: Cluster, node: str) -> None:
    for p in list_objects(c.state, Kind.POD):
        assert isinstance(p, Pod)
        if p.spec.node_name == node:
            assert p.metadata.deletion_timestamp is not None and not ready(p), p.metadata.name


def ready(p: Pod) -> bool:
    return any(x.type == "Ready" and x.status is ConditionStatus.TRUE for x in p.status.conditions)


@settings(max_examples=12)
@given(
    seed=st.integers(0, 10_000),
    shapes=st.lists(pod_shapes, min_size=1, max_size=12),
    faults=st.integers(0, 3),
    outage=st.sampled_from([60.0, 450.0]),
)
def test_the_node_side_keeps_its_laws_under_faults(
    seed: int, shapes: list[tuple[str, str]], faults: int, outage: float
) -> None:
    base = create_cluster(ClusterConfig(seed=seed), nodes=len(NODES))
    c = Cluster(base.snapshot(), default_components(base.state))
    for i, (cpu, mem) in enumerate(shapes):
        assert c.request(Create(obj=a_pod(f"p-{i}", containers=[a_container(cpu=cpu, memory=mem)]))).ok
    plan = random_plan(seed, nodes=NODES, components=["kube-scheduler", "node-lifecycle-controller"], duration=400, count=faults, outage=outage)
    seen_phase: dict[str, int] = {}
    seen_restarts: dict[tuple[str, str], int] = {}
    start = c.now
    pending = list(plan)
    crashed: set[str] = set()
    cut: set[str] = set()
    down_since: dict[str, float] = {}
    while c.now < start + 900:  # the last outage ends by 400 + 450 s
        while pending and start + pending[0].after <= c.now:
            fault = pending.pop(0).fault
            c.inject(fault)
            match fault:
                case CrashNode(node=n):
                    crashed.add(n)
                case RestartNode(node=n):
                    crashed.discard(n)
                case PartitionNode(node=n):
                    cut.add(n)
                case HealPartition(node=n):
                    cut.discard(n)
            for n in NODES:
                if n in crashed | cut:
                    down_since.setdefault(n, c.now)
                else:
                    down_since.pop(n, None)
        assert c.advance(STEP)
        check(c, seen_phase, seen_restarts)
        if len(down_since) == 1:
            [(n, since)] = down_since.items()
            if c.now - since > EVICTED_BY:
                check_evicted(c, n)
                EVICTION_CHECKS.append(n)
    # healed (the plan ends every outage by 720 s): every pod still in the API runs
    assert c.advance(300)
    check(c, seen_phase, seen_restarts)
    for p in list_objects(c.state, Kind.POD):
        assert isinstance(p, Pod)
        if p.metadata.deletion_timestamp is None and p.spec.node_name:
            assert p.status.phase is PodPhase.RUNNING and ready(p), (p.metadata.name, p.status.phase, plan)


def test_the_eviction_law_was_exercised() -> None:
    """Guards the property above against a strategy change that never keeps a node down
    long enough: some generated run must have checked evictions."""
    test_the_node_side_keeps_its_laws_under_faults()
    assert EVICTION_CHECKS

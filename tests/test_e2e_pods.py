"""End to end through every component a `kcore` cluster runs (`default_components`):
pods are created, scheduled, run by their node's kubelet through the simulated runtime,
and a crashed node's pods are evicted. Only API requests and driver faults go in; every
assertion reads the API state, as `kubectl get` would."""

from __future__ import annotations

import ipaddress

import attrs

from kcore.api.core import Node
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus
from kcore.api.pod import Pod, PodPhase
from kcore.component.requests import Create
from kcore.driver import default_components
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashNode, RestartNode
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_container, a_pod, key


def full_cluster(nodes: int = 3, seed: int = 11) -> Cluster:
    base = create_cluster(ClusterConfig(seed=seed), nodes=nodes)
    c = Cluster(base.snapshot(), default_components(base.state))
    c.run_until_stable()
    return c


def pods(c: Cluster) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod)]


def ready(p: Pod) -> bool:
    return any(x.type == "Ready" and x.status is ConditionStatus.TRUE for x in p.status.conditions)


def node(c: Cluster, name: str) -> Node:
    n = get(c.state, key(Kind.NODE, name))
    assert isinstance(n, Node)
    return n


def test_pods_are_scheduled_run_and_get_ips_from_their_nodes_pod_cidr() -> None:
    c = full_cluster()
    for i in range(6):
        assert c.request(Create(obj=a_pod(f"web-{i}", containers=[a_container(cpu="100m")]))).ok
    c.run_until_stable()
    c.advance(60)
    got = pods(c)
    assert len(got) == 6
    for p in got:
        assert p.status.phase is PodPhase.RUNNING and ready(p), (p.metadata.name, p.status.phase)
        cidr = ipaddress.ip_network(node(c, p.spec.node_name).spec.pod_cidr)
        assert ipaddress.ip_address(p.status.pod_ip) in cidr
    assert len({p.status.pod_ip for p in got}) == 6
    assert len({p.spec.node_name for p in got}) == 3  # spread by LeastAllocated/BalancedAllocation


def test_a_crashed_nodes_pods_are_evicted_after_their_300s_toleration() -> None:
    c = full_cluster()
    for i in range(6):
        assert c.request(Create(obj=a_pod(f"web-{i}"))).ok
    c.run_until_stable()
    c.advance(60)
    victims = sorted(p.metadata.name for p in pods(c) if p.spec.node_name == "node-2")
    assert victims
    c.inject(CrashNode(node="node-2"))
    c.advance(60)  # past the 40 s grace: Unknown, tainted unreachable:NoExecute
    n2 = node(c, "node-2")
    assert {t.key for t in n2.spec.taints} >= {"node.kubernetes.io/unreachable"}
    assert all(not ready(p) for p in pods(c) if p.spec.node_name == "node-2")  # MarkPodsNotReady
    c.advance(200)
    still = {p.metadata.name: p for p in pods(c) if p.spec.node_name == "node-2"}
    assert all(still[v].metadata.deletion_timestamp is None for v in victims)  # tolerated so far
    c.advance(120)  # past 300 s after the taint
    for p in pods(c):
        if p.spec.node_name == "node-2":  # evicted: Terminating (its kubelet is gone), never Ready
            assert p.metadata.deletion_timestamp is not None and not ready(p), p.metadata.name
    others = [p for p in pods(c) if p.spec.node_name != "node-2"]
    assert all(p.status.phase is PodPhase.RUNNING for p in others)


def test_a_node_that_comes_back_clears_its_taints_and_finishes_deletions() -> None:
    c = full_cluster()
    for i in range(4):
        assert c.request(Create(obj=a_pod(f"web-{i}", grace=5))).ok
    c.run_until_stable()
    c.advance(30)
    on_two = [p.metadata.name for p in pods(c) if p.spec.node_name == "node-2"]
    c.inject(CrashNode(node="node-2"))
    c.advance(420)
    c.inject(RestartNode(node="node-2"))
    c.advance(60)
    assert [t.key for t in node(c, "node-2").spec.taints] == []
    assert all(get(c.state, key(Kind.POD, name)) is None for name in on_two)


def test_the_same_seed_gives_the_same_trace() -> None:
    def run() -> tuple[object, ...]:
        c = full_cluster(seed=5)
        for i in range(3):
            c.request(Create(obj=a_pod(f"p-{i}")))
        c.advance(30)
        c.inject(CrashNode(node="node-1"))
        c.advance(100)
        return tuple(c.trace)

    assert run() == run()


def test_a_pod_that_can_never_fit_stays_pending_with_a_failed_scheduling_event() -> None:
    from kcore.api.core import Event as EventObject

    c = full_cluster()
    assert c.request(Create(obj=a_pod("huge", containers=[a_container(cpu="64")]))).ok
    c.advance(120)
    pod = get(c.state, key(Kind.POD, "huge"))
    assert isinstance(pod, Pod) and pod.status.phase is PodPhase.PENDING and not pod.spec.node_name
    events = [e for e in list_objects(c.state, Kind.EVENT, "default") if isinstance(e, EventObject)]
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert failed and failed[0].message.startswith("0/3 nodes are available: 3 Insufficient cpu.")


def test_an_unknown_node_name_stays_pending_until_the_pod_gc_collects_it() -> None:
    c = full_cluster()
    assert c.request(Create(obj=a_pod("lost", node_name="no-such-node"))).ok
    c.advance(30)
    pod = get(c.state, key(Kind.POD, "lost"))
    assert isinstance(pod, Pod) and pod.status.phase is PodPhase.PENDING  # no kubelet runs it
    c.advance(60)  # upstream's PodGC deletes pods bound to a node that does not exist (40 s quarantine)
    assert get(c.state, key(Kind.POD, "lost")) is None


def test_a_pod_waiting_on_pod_affinity_is_retried_when_its_partner_is_placed() -> None:
    """Upstream's InterPodAffinity queueing hint (AssignedPodAdd): the waiting pod is moved
    back to the queue as soon as a matching pod is bound, not after the 5-minute flush."""
    from pyrsistent import pmap

    from kcore.api.pod import Affinity, LabelSelector, PodAffinity, PodAffinityTerm

    c = full_cluster()
    term = PodAffinityTerm(
        label_selector=LabelSelector(match_labels=pmap({"app": "db"})), topology_key="kubernetes.io/hostname"
    )
    web = a_pod("web")
    web = attrs.evolve(web, spec=attrs.evolve(web.spec, affinity=Affinity(pod_affinity=PodAffinity(required_during_scheduling_ignored_during_execution=(term,)))))
    assert c.request(Create(obj=web)).ok
    c.advance(30)
    waiting = get(c.state, key(Kind.POD, "web"))
    assert isinstance(waiting, Pod) and not waiting.spec.node_name
    assert c.request(Create(obj=a_pod("db", labels={"app": "db"}))).ok
    c.advance(15)  # within the pod's backoff, far below the 5-minute unschedulable flush
    placed = get(c.state, key(Kind.POD, "web"))
    db = get(c.state, key(Kind.POD, "db"))
    assert isinstance(placed, Pod) and isinstance(db, Pod)
    assert placed.spec.node_name and placed.spec.node_name == db.spec.node_name

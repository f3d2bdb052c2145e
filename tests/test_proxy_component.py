"""The kube-proxy component (`kcore.addons.kubeproxy`) on the rig: programming latency,
batching, frozen tables on not-Ready nodes, the watch filter, restarts."""

from __future__ import annotations

import attrs

from benchmarks.bench_proxy import measure
from kcore.addons.kubeproxy import KubeProxy, ProxyState, Timer, node_rules, rules_of_service
from kcore.api.core import Node, NodeAddress, ServiceType
from kcore.api.discovery import EndpointSlice
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, Time
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import WakeMeAt
from kcore.component.events import Resynced
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.driver import default_components, new_cluster
from kcore.driver.cluster import Cluster
from kcore.driver.faults import CrashNode
from kcore.network.rules import Backend, NodeRules, Target, compute_table, table_rules
from kcore.state import ClusterConfig
from tests.builders import T0, a_node, a_service, an_endpoint_slice, cluster_with, key
from tests.rig import Rig

WEB = key(Kind.SERVICE, "web")
SLICE = key(Kind.ENDPOINT_SLICE, "web-abcde")
SYNC_AT = WakeMeAt(at=Time(T0 + 1.0), key=Timer.SYNC, in_motion=True)


def a_proxy_rig(*objects: ApiObject) -> Rig[ProxyState]:
    """kube-proxy started on node-1 and node-2 with `objects` in the cluster."""
    return Rig(KubeProxy(), state=cluster_with(a_node("node-1"), a_node("node-2"), *objects))


def backends(rig: Rig[ProxyState], node: str) -> tuple[Backend, ...]:
    return backends_in(rig.s, node)


def backends_in(s: ProxyState, node: str) -> tuple[Backend, ...]:
    """The backends of service web's first rule as `node` programs them."""
    rules = rules_of_service(s, node, WEB)
    assert rules is not None
    return rules.rules[0].backends


def with_ready(node: Node, ready: bool) -> Node:
    status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    conditions = tuple(attrs.evolve(c, status=status) if c.type == "Ready" else c for c in node.status.conditions)
    return attrs.evolve(node, status=attrs.evolve(node.status, conditions=conditions))


def test_a_change_is_programmed_on_every_node_one_min_sync_period_later() -> None:
    rig = a_proxy_rig()
    rig.request(Create(obj=a_service("web")))
    rig.request(Create(obj=an_endpoint_slice("web", ips=("10.244.0.5",))))
    assert rig.deliver_watches() == (SYNC_AT,)
    assert rules_of_service(rig.s, "node-1", WEB) is None
    assert rig.fire(Timer.SYNC, at=T0 + 1.0) == ()
    assert backends(rig, "node-1") == backends(rig, "node-2") == (Backend(ip="10.244.0.5", port=80),)
    assert rig.s.programmed is rig.s.desired and rig.s.sync_due is None


def test_changes_before_the_sync_join_it_and_a_change_after_asks_for_another() -> None:
    rig = a_proxy_rig()
    rig.request(Create(obj=a_service("web")))
    assert rig.deliver_watches() == (SYNC_AT,)
    rig.request(Create(obj=an_endpoint_slice("web", ips=("10.244.0.5",))))
    assert rig.deliver_watches() == ()
    rig.fire(Timer.SYNC, at=T0 + 1.0)
    assert backends(rig, "node-1") == (Backend(ip="10.244.0.5", port=80),)
    rig.now = Time(T0 + 5.0)
    rig.request(Update(obj=attrs.evolve(rig.get(SLICE, EndpointSlice), endpoints=())))
    assert rig.deliver_watches() == (WakeMeAt(at=Time(T0 + 6.0), key=Timer.SYNC, in_motion=True),)


def test_an_event_that_changes_no_rule_asks_for_no_sync() -> None:
    rig = a_proxy_rig()
    node = rig.get(key(Kind.NODE, "node-1"), Node)
    rig.request(Update(obj=attrs.evolve(node, metadata=attrs.evolve(node.metadata, labels=node.metadata.labels.set("x", "y")))))
    assert rig.deliver_watches() == ()


def test_a_start_programs_what_the_list_holds_at_once() -> None:
    state = cluster_with(a_node("node-1"), a_service("web"), an_endpoint_slice("web", ips=("10.244.0.5",)))
    rig: Rig[ProxyState] = Rig(KubeProxy(), state=state)
    assert rig.start() == ()
    assert backends(rig, "node-1") == (Backend(ip="10.244.0.5", port=80),)
    assert rig.s.programmed == compute_table(state)


def test_a_not_ready_node_keeps_the_rules_it_had_and_catches_up_when_ready_again() -> None:
    rig = a_proxy_rig(a_service("web"), an_endpoint_slice("web", ips=("10.244.0.5",)))
    node2 = key(Kind.NODE, "node-2")
    rig.request(Update(obj=with_ready(rig.get(node2, Node), False), subresource=Subresource.STATUS))
    assert rig.deliver_watches() == ()
    rig.request(Update(obj=attrs.evolve(rig.get(SLICE, EndpointSlice), endpoints=())))
    assert rig.deliver_watches() == (SYNC_AT,)
    rig.fire(Timer.SYNC, at=T0 + 1.0)
    assert rules_of_service(rig.s, "node-1", WEB) is not None
    assert backends(rig, "node-1") == ()
    assert backends(rig, "node-2") == (Backend(ip="10.244.0.5", port=80),)
    frozen = node_rules(rig.s, "node-2")
    assert frozen is not None and frozen.frozen
    rig.request(Update(obj=with_ready(rig.get(node2, Node), True), subresource=Subresource.STATUS))
    rig.deliver_watches()
    assert backends(rig, "node-2") == ()
    thawed, other = node_rules(rig.s, "node-2"), node_rules(rig.s, "node-1")
    assert other is not None and thawed == attrs.evolve(other, node="node-2")


def test_node_rules_show_the_nodes_internal_ip_on_its_node_ports_and_none_for_an_unknown_node() -> None:
    node = a_node("node-1")
    node = attrs.evolve(node, status=attrs.evolve(node.status, addresses=(NodeAddress(type="InternalIP", address="172.18.0.2"),)))
    svc = a_service("web")
    svc = attrs.evolve(svc, spec=attrs.evolve(svc.spec, type=ServiceType.NODE_PORT))
    state = cluster_with(node, svc)
    rig: Rig[ProxyState] = Rig(KubeProxy(), state=state)
    rules = node_rules(rig.s, "node-1")
    assert rules is not None
    assert [(r.frontend.value, r.ip, r.target) for r in rules.rules][1] == ("node-port", "172.18.0.2", Target.REJECT)
    assert rules == table_rules(compute_table(state), "node-1")
    assert node_rules(rig.s, "node-9") is None


def test_the_watch_filter_skips_node_heartbeats_but_not_readiness_or_address_changes() -> None:
    proxy = KubeProxy()
    node = a_node("node-1")
    beat = attrs.evolve(node, status=attrs.evolve(node.status, conditions=tuple(
        attrs.evolve(c, last_heartbeat_time=T0) for c in node.status.conditions)))
    moved = attrs.evolve(node, status=attrs.evolve(node.status, addresses=(NodeAddress(type="InternalIP", address="172.18.0.9"),)))

    def modified(obj: Node) -> WatchEvent:
        return WatchEvent(type=WatchType.MODIFIED, obj=obj, resource_version=2)

    assert not proxy.wants(modified(beat), node)
    assert proxy.wants(modified(with_ready(node, False)), node)
    assert proxy.wants(modified(moved), node)
    assert proxy.wants(WatchEvent(type=WatchType.ADDED, obj=node, resource_version=2), None)
    assert proxy.wants(modified(beat), None)


def test_a_deleted_service_leaves_the_tables_after_the_sync_and_nothing_is_written_through_the_api() -> None:
    rig = a_proxy_rig(a_service("web"), an_endpoint_slice("web", ips=("10.244.0.5",)))
    rig.request(Delete(key=WEB))
    assert rig.deliver_watches() == (SYNC_AT,)
    assert rig.fire(Timer.SYNC, at=T0 + 1.0) == ()
    assert node_rules(rig.s, "node-1") == NodeRules(node="node-1", address="")


def test_a_relist_rebuilds_the_rules_from_the_fresh_list_and_programs_them_after_the_period() -> None:
    rig = a_proxy_rig()
    listed = cluster_with(a_node("node-1"), a_node("node-2"), a_service("web"), an_endpoint_slice("web", ips=("10.244.0.7",)))
    assert rig.step(Resynced(view=listed, now=T0)) == (SYNC_AT,)
    assert rules_of_service(rig.s, "node-1", WEB) is None
    rig.fire(Timer.SYNC, at=T0 + 1.0)
    assert backends(rig, "node-2") == (Backend(ip="10.244.0.7", port=80),)
    assert rig.s.programmed == compute_table(listed)


def test_the_benchmark_programs_and_changes_a_tiny_cluster_correctly() -> None:
    result = measure(nodes=20, services=30, endpoints=90, changes=6)
    assert (result.nodes, result.services, result.endpoints, result.changes) == (20, 30, 90, 6)


def test_in_a_cluster_apply_settles_through_the_sync_and_a_crashed_node_keeps_its_rules() -> None:
    snap = new_cluster(ClusterConfig(seed=1), nodes=2, addons=False).snapshot()
    c = Cluster(snap, default_components(snap.state))
    start = c.now
    c.apply([a_service("web"), an_endpoint_slice("web", ips=("10.244.0.5",))])
    assert c.settle().ended == start + 1.0
    assert backends_in(c.component_state("kube-proxy"), "node-2") == (Backend(ip="10.244.0.5", port=80),)
    c.inject(CrashNode(node="node-2"))
    c.advance(120)  # the node lifecycle controller marks it Ready=Unknown after its grace period
    c.apply([an_endpoint_slice("web", ips=("10.244.0.9",))])
    c.settle()
    s = c.component_state("kube-proxy")
    assert backends_in(s, "node-1") == (Backend(ip="10.244.0.9", port=80),)
    assert backends_in(s, "node-2") == (Backend(ip="10.244.0.5", port=80),)
    frozen = node_rules(s, "node-2")
    assert frozen is not None and frozen.frozen

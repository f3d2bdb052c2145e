"""kube-proxy's rule computation (`kcore.network.rules`): exact rules per Service and node.

Inputs are hand-built EndpointSlices (`an_endpoint_slice` and `slice_of` below), as the
EndpointSlice controller would write them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from pyrsistent import pmap, pset

from kcore.api.core import (
    ClientIPConfig,
    LoadBalancerIngress,
    LoadBalancerIPMode,
    LoadBalancerStatus,
    NodeAddress,
    Service,
    ServiceAffinity,
    ServicePort,
    ServiceSpec,
    ServiceStatus,
    ServiceType,
    SessionAffinityConfig,
    TrafficPolicy,
)
from kcore.api.discovery import Endpoint, EndpointConditions, EndpointPort, EndpointSlice
from kcore.api.kinds import Kind
from kcore.api.pod import Protocol
from kcore.network.rules import (
    EMPTY_TABLE,
    Backend,
    Frontend,
    HealthCheck,
    NodeRules,
    Rule,
    RuleTable,
    ServiceRules,
    Target,
    compute_table,
    render_rules,
    rules_json,
    service_entry,
    table_rules,
    with_node,
    with_service,
)
from tests.builders import a_node, a_service, an_endpoint_slice, cluster_with, key

WEB = key(Kind.SERVICE, "web")
HTTP = ServicePort(name="http", port=80, target_port="http")


def a_cluster_ip_service(*ports: ServicePort, ip: str = "10.96.0.10", **spec: Any) -> Service:
    svc = Service(spec=ServiceSpec(ports=ports or (HTTP,), cluster_ip=ip, cluster_ips=(ip,), selector=pmap({"app": "web"})))
    return attrs.evolve(svc, metadata=attrs.evolve(svc.metadata, name="web", namespace="default"), spec=attrs.evolve(svc.spec, **spec))


def an_endpoint(ip: str, node: str = "", *, ready: bool | None = True, serving: bool | None = None, terminating: bool | None = None) -> Endpoint:
    return Endpoint(
        addresses=(ip,), node_name=node or None,
        conditions=EndpointConditions(ready=ready, serving=serving, terminating=terminating),
    )


def slice_of(*endpoints: Endpoint, name: str = "web-abcde", port: int = 8080, port_name: str = "http") -> EndpointSlice:
    sl = an_endpoint_slice(name=name)
    return attrs.evolve(sl, endpoints=endpoints, ports=(EndpointPort(name=port_name, protocol=Protocol.TCP, port=port),))


def rule(frontend: Frontend, ip: str, port: int, *backends: Backend, target: Target = Target.FORWARD, affinity: int | None = None) -> Rule:
    return Rule(
        service=WEB, port_name="http", frontend=frontend, ip=ip, port=port, protocol=Protocol.TCP,
        target=target, backends=backends, affinity_seconds=affinity,
    )


def b(ip: str, port: int = 8080, node: str = "") -> Backend:
    return Backend(ip=ip, port=port, node=node)


def shared_rules(svc: Service, slices: Iterable[EndpointSlice]) -> tuple[Rule, ...]:
    shared, overrides = service_entry(svc, slices)
    assert shared is not None and overrides == pmap()
    return shared.rules


def test_a_cluster_ip_forwards_to_the_ready_endpoints_on_the_slice_port_of_the_same_name() -> None:
    sl = slice_of(an_endpoint("10.244.1.7"), an_endpoint("10.244.0.5"), an_endpoint("10.244.2.9", ready=False))
    assert shared_rules(a_cluster_ip_service(), [sl]) == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5"), b("10.244.1.7")),
    )


def test_a_node_port_rule_is_shared_and_each_node_shows_it_on_its_internal_ip() -> None:
    svc = a_cluster_ip_service(attrs.evolve(HTTP, node_port=30080), type=ServiceType.NODE_PORT)
    shared, _ = service_entry(svc, [slice_of(an_endpoint("10.244.0.5"))])
    assert shared is not None
    table = with_node(with_service(EMPTY_TABLE, WEB, shared, {}), "node-1", "172.18.0.2")
    assert table_rules(table, "node-1").rules == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5")),
        rule(Frontend.NODE_PORT, "172.18.0.2", 30080, b("10.244.0.5")),
    )
    assert shared.rules[1].ip == ""


def test_external_ips_and_load_balancer_ingress_ips_get_rules_on_the_service_port() -> None:
    status = ServiceStatus(load_balancer=LoadBalancerStatus(ingress=(
        LoadBalancerIngress(ip="198.51.100.1"),
        LoadBalancerIngress(hostname="lb.example.com"),
        LoadBalancerIngress(ip="198.51.100.2", ip_mode=LoadBalancerIPMode.PROXY),
    )))
    svc = attrs.evolve(
        a_cluster_ip_service(attrs.evolve(HTTP, node_port=30080), type=ServiceType.LOAD_BALANCER, external_ips=("203.0.113.5",)),
        status=status,
    )
    backend = b("10.244.0.5")
    assert shared_rules(svc, [slice_of(an_endpoint("10.244.0.5"))]) == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, backend),
        rule(Frontend.NODE_PORT, "", 30080, backend),
        rule(Frontend.EXTERNAL_IP, "203.0.113.5", 80, backend),
        rule(Frontend.LOAD_BALANCER, "198.51.100.1", 80, backend),
    )


def test_with_no_ready_endpoint_the_serving_terminating_ones_take_the_traffic() -> None:
    sl = slice_of(
        an_endpoint("10.244.0.5", ready=False, serving=True, terminating=True),
        an_endpoint("10.244.0.6", ready=False, serving=False, terminating=True),
        an_endpoint("10.244.0.7", ready=False),
    )
    assert shared_rules(a_cluster_ip_service(), [sl]) == (rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5")),)


def test_terminating_endpoints_are_not_used_while_one_is_ready() -> None:
    sl = slice_of(an_endpoint("10.244.0.5", ready=False, serving=True, terminating=True), an_endpoint("10.244.0.6"))
    assert shared_rules(a_cluster_ip_service(), [sl]) == (rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.6")),)


def test_without_usable_endpoints_every_frontend_rejects_with_has_no_endpoints() -> None:
    svc = a_cluster_ip_service(attrs.evolve(HTTP, node_port=30080), type=ServiceType.NODE_PORT)
    rules = shared_rules(svc, [slice_of(an_endpoint("10.244.0.5", ready=False))])
    assert rules == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, target=Target.REJECT),
        rule(Frontend.NODE_PORT, "", 30080, target=Target.REJECT),
    )
    assert rules[0].comment == "has no endpoints"
    assert shared_rules(svc, []) == rules


def test_client_ip_affinity_is_a_field_of_the_rule_with_its_timeout() -> None:
    sl = slice_of(an_endpoint("10.244.0.5"))
    defaulted = a_cluster_ip_service(session_affinity=ServiceAffinity.CLIENT_IP)
    custom = attrs.evolve(
        defaulted,
        spec=attrs.evolve(defaulted.spec, session_affinity_config=SessionAffinityConfig(client_ip=ClientIPConfig(timeout_seconds=60))),
    )
    assert shared_rules(defaulted, [sl])[0].affinity_seconds == 10800
    assert shared_rules(custom, [sl])[0].affinity_seconds == 60
    assert shared_rules(a_cluster_ip_service(), [sl])[0].affinity_seconds is None


def test_a_named_target_port_resolves_per_slice_and_only_ports_of_the_same_name_and_protocol_count() -> None:
    a = slice_of(an_endpoint("10.244.0.5"), name="web-a", port=8080)
    c = slice_of(an_endpoint("10.244.1.5"), name="web-c", port=9090)
    other = slice_of(an_endpoint("10.244.2.5"), name="web-b", port=7070, port_name="metrics")
    udp = attrs.evolve(slice_of(an_endpoint("10.244.3.5"), name="web-d"), ports=(EndpointPort(name="http", protocol=Protocol.UDP, port=53),))
    assert shared_rules(a_cluster_ip_service(), [a, c, other, udp]) == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5", 8080), b("10.244.1.5", 9090)),
    )


def test_an_endpoint_listed_in_two_slices_is_one_backend() -> None:
    a = slice_of(an_endpoint("10.244.0.5", "node-1"), name="web-a")
    c = slice_of(an_endpoint("10.244.0.5", "node-2"), name="web-b")
    assert shared_rules(a_cluster_ip_service(), [c, a]) == (
        rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5", node="node-1")),
    )


def test_external_traffic_policy_local_keeps_each_nodes_own_endpoints_and_drops_elsewhere() -> None:
    svc = a_cluster_ip_service(
        attrs.evolve(HTTP, node_port=30080), type=ServiceType.LOAD_BALANCER,
        external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=32000,
    )
    sl = slice_of(an_endpoint("10.244.0.5", "node-1"), an_endpoint("10.244.0.6", "node-1"), an_endpoint("10.244.1.5", "node-2"))
    shared, overrides = service_entry(svc, [sl])
    everywhere = (b("10.244.0.5", node="node-1"), b("10.244.0.6", node="node-1"), b("10.244.1.5", node="node-2"))
    assert shared == ServiceRules(
        service=WEB,
        rules=(
            rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, *everywhere),
            rule(Frontend.NODE_PORT, "", 30080, target=Target.DROP),
        ),
        health_check=HealthCheck(service=WEB, port=32000, local_endpoints=0),
    )
    assert shared.rules[1].comment == "has no local endpoints"
    assert sorted(overrides) == ["node-1", "node-2"]
    assert overrides["node-1"] == ServiceRules(
        service=WEB,
        rules=(
            rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, *everywhere),
            rule(Frontend.NODE_PORT, "", 30080, *everywhere[:2]),
        ),
        health_check=HealthCheck(service=WEB, port=32000, local_endpoints=2),
    )
    assert overrides["node-2"].health_check == HealthCheck(service=WEB, port=32000, local_endpoints=1)
    assert overrides["node-2"].health_check.status_code == 200 and shared.health_check is not None
    assert shared.health_check.status_code == 503


def test_internal_traffic_policy_local_sends_cluster_ip_traffic_only_to_local_endpoints() -> None:
    svc = a_cluster_ip_service(internal_traffic_policy=TrafficPolicy.LOCAL)
    sl = slice_of(an_endpoint("10.244.0.5", "node-1"), an_endpoint("10.244.1.5", "node-2", ready=False))
    shared, overrides = service_entry(svc, [sl])
    assert shared is not None
    assert shared.rules == (rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, target=Target.DROP),)
    assert dict(overrides) == {
        "node-1": ServiceRules(service=WEB, rules=(rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5", node="node-1")),)),
    }


def test_a_local_policy_falls_back_to_the_nodes_serving_terminating_endpoints() -> None:
    svc = a_cluster_ip_service(internal_traffic_policy=TrafficPolicy.LOCAL)
    sl = slice_of(an_endpoint("10.244.0.5", "node-1", ready=False, serving=True, terminating=True), an_endpoint("10.244.1.5", "node-2"))
    _, overrides = service_entry(svc, [sl])
    assert overrides["node-1"].rules == (rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5", node="node-1")),)


def test_headless_external_name_and_unallocated_services_get_no_rules() -> None:
    sl = [slice_of(an_endpoint("10.244.0.5"))]
    assert service_entry(a_cluster_ip_service(ip="None"), sl) == (None, pmap())
    assert service_entry(a_cluster_ip_service(ip=""), sl) == (None, pmap())
    assert service_entry(a_cluster_ip_service(type=ServiceType.EXTERNAL_NAME, external_name="example.com"), sl) == (None, pmap())


def test_replacing_a_service_drops_the_overrides_of_nodes_that_no_longer_host_its_endpoints() -> None:
    svc = a_cluster_ip_service(internal_traffic_policy=TrafficPolicy.LOCAL)
    shared, overrides = service_entry(svc, [slice_of(an_endpoint("10.244.0.5", "node-1"))])
    assert shared is not None
    table = with_service(EMPTY_TABLE, WEB, shared, overrides)
    moved_shared, moved = service_entry(svc, [slice_of(an_endpoint("10.244.1.5", "node-2"))])
    assert moved_shared is not None
    table = with_service(table, WEB, moved_shared, moved)
    assert table == RuleTable(
        services=pmap({WEB: moved_shared}),
        overrides=pmap({"node-2": pmap({WEB: moved["node-2"]})}),
        override_nodes=pmap({WEB: pset(["node-2"])}),
    )
    assert with_service(table, WEB, None, {}) == EMPTY_TABLE


def test_compute_table_reads_every_service_its_slices_and_the_nodes_internal_ips() -> None:
    node = a_node("node-1")
    node = attrs.evolve(node, status=attrs.evolve(node.status, addresses=(NodeAddress(type="InternalIP", address="172.18.0.2"),)))
    state = cluster_with(node, a_service("web"), an_endpoint_slice("web", ips=("10.244.0.5",), port=80))
    table = compute_table(state)
    svc_ip = next(iter(table.services.values())).rules[0].ip
    assert table_rules(table, "node-1") == NodeRules(
        node="node-1", address="172.18.0.2",
        rules=(Rule(service=WEB, port_name="", frontend=Frontend.CLUSTER_IP, ip=svc_ip, port=80, protocol=Protocol.TCP,
                    target=Target.FORWARD, backends=(Backend(ip="10.244.0.5", port=80),)),),
    )


def test_render_rules_lists_one_rule_a_line_then_the_health_checks() -> None:
    other = Rule(service=WEB, port_name="", frontend=Frontend.CLUSTER_IP, ip="10.96.0.11", port=53,
                 protocol=Protocol.UDP, target=Target.REJECT)
    rules = NodeRules(
        node="node-1", address="172.18.0.2",
        rules=(rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5"), b("10.244.1.5"), affinity=10800),
               rule(Frontend.NODE_PORT, "172.18.0.2", 30080, target=Target.DROP), other),
        health_checks=(HealthCheck(service=WEB, port=32000, local_endpoints=0),),
    )
    assert render_rules(rules) == [
        "# node node-1 172.18.0.2",
        "cluster-ip 10.96.0.10:80/TCP default/web:http -> 10.244.0.5:8080 10.244.1.5:8080 affinity=ClientIP/10800s",
        'node-port 172.18.0.2:30080/TCP default/web:http DROP "has no local endpoints"',
        'cluster-ip 10.96.0.11:53/UDP default/web REJECT "has no endpoints"',
        "health-check 172.18.0.2:32000/TCP default/web local-endpoints=0 -> 503",
    ]
    frozen = attrs.evolve(rules, frozen=True, rules=(), health_checks=())
    assert render_rules(frozen) == ["# node node-1 172.18.0.2 (not Ready: frozen at its last rules)"]


def test_rules_json_is_the_same_table_as_data() -> None:
    rules = NodeRules(node="node-1", address="", rules=(rule(Frontend.CLUSTER_IP, "10.96.0.10", 80, b("10.244.0.5", node="node-1")),))
    assert rules_json(rules) == {
        "node": "node-1", "address": "", "frozen": False, "healthChecks": [],
        "rules": [{
            "service": "default/web", "portName": "http", "frontend": "cluster-ip", "ip": "10.96.0.10", "port": 80,
            "protocol": "TCP", "target": "forward", "comment": "",
            "backends": [{"ip": "10.244.0.5", "port": 8080, "node": "node-1"}], "sessionAffinitySeconds": None,
        }],
    }

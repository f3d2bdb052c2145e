"""Laws of kube-proxy's tables under random Services, EndpointSlices and Nodes.

- Incremental = from scratch: after any sequence of watch events, the table kube-proxy
  keeps in step (`desired`) equals `compute_table` of its view, and once synced every
  Ready node's programmed rules equal that table's view for the node.
- Agreement: all Ready nodes forward a Cluster-policy Service's ClusterIP to one backend
  set (the rules are shared, only Local policies differ per node).
- Frozen: a node that is not Ready keeps exactly the rules it had when it went not Ready.
- Determinism: the same events give equal states.

The events are built by hand (no apiserver): Services come with a ClusterIP, slices with
random endpoints, conditions, nodes, port names and numbers, so the rules' corner cases
(named ports across slices, duplicates, terminating fallback, Local policies, REJECT and
DROP) all come up.
"""

from __future__ import annotations

from typing import Final

import attrs
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from kcore.addons.kubeproxy import KubeProxy, ProxyState, Timer, node_rules
from kcore.api.core import Service, ServicePort, ServiceType, TrafficPolicy
from kcore.api.discovery import EndpointPort, EndpointSlice
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.api.pod import Protocol
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import Event, TimerFired, WatchDelivered
from kcore.network.rules import Frontend, NodeRules, compute_table, table_rules
from kcore.state import empty_state, get, key_of, put
from tests.synthetic import a_proxy_node, a_proxy_service, a_service_slice, an_endpoint

NODES: Final = ("node-1", "node-2", "node-3")
SERVICES: Final = ("a", "b", "c")
PORT_NAMES: Final = ("", "http")
T0: Final = Time(1_700_000_000.0)

optional_bool = st.sampled_from((None, True, False))
policies = st.sampled_from((None, TrafficPolicy.CLUSTER, TrafficPolicy.LOCAL))


@st.composite
def services(draw: st.DrawFn) -> Service:
    i = draw(st.integers(0, len(SERVICES) - 1))
    kind = draw(st.sampled_from((ServiceType.CLUSTER_IP, ServiceType.NODE_PORT)))
    names = draw(st.lists(st.sampled_from(PORT_NAMES), min_size=1, max_size=2, unique=True))
    ports = tuple(
        ServicePort(name=n, port=80 + j, node_port=30000 + 10 * i + j if kind is ServiceType.NODE_PORT else 0)
        for j, n in enumerate(names)
    )
    return a_proxy_service(
        SERVICES[i], "default", cluster_ip=f"10.96.0.{i + 1}", ports=ports, kind=kind,
        external_ips=tuple(draw(st.lists(st.sampled_from(("203.0.113.1", "203.0.113.2")), max_size=1))),
        internal_policy=draw(policies), external_policy=draw(policies),
        health_check_node_port=draw(st.sampled_from((0, 32000))),
    )


@st.composite
def endpoint_slices(draw: st.DrawFn) -> EndpointSlice:
    svc = draw(st.sampled_from(SERVICES))
    name = f"{svc}-{draw(st.integers(0, 2))}"
    endpoints = tuple(
        an_endpoint(
            f"10.244.0.{draw(st.integers(1, 6))}", node=draw(st.sampled_from((None, *NODES))),
            ready=draw(optional_bool), serving=draw(optional_bool), terminating=draw(optional_bool),
        )
        for _ in range(draw(st.integers(0, 4)))
    )
    ports = tuple(
        EndpointPort(name=n, protocol=Protocol.TCP, port=draw(st.sampled_from((8080, 9090))))
        for n in draw(st.lists(st.sampled_from(PORT_NAMES), max_size=2, unique=True))
    )
    return a_service_slice(draw(st.sampled_from((svc, svc, "a"))), "default", name=name, endpoints=endpoints, ports=ports)


class ProxyMachine(RuleBasedStateMachine):
    """User actions on Services, slices and Nodes, each delivered as a watch event;
    `sync` fires the programming timer."""

    slices = Bundle("slices")

    def __init__(self) -> None:
        super().__init__()
        self.proxy = KubeProxy()
        view = empty_state()
        for n in NODES:
            view = put(view, a_proxy_node(n))
        self.s, _ = self.proxy.init(view, T0)
        self.now = T0
        self.rv = 1
        self.frozen_at: dict[str, NodeRules | None] = {n: None for n in NODES}

    def _deliver(self, kind: WatchType, obj: ApiObject) -> None:
        self.rv += 1
        self.now = Time(self.now + 0.25)
        self.s, _ = self.proxy.step(self.s, WatchDelivered(event=WatchEvent(type=kind, obj=obj, resource_version=self.rv), now=self.now))

    def _exists(self, obj: ApiObject) -> bool:
        return get(self.s.view, key_of(obj)) is not None

    @rule(svc=services())
    def put_service(self, svc: Service) -> None:
        self._deliver(WatchType.MODIFIED if self._exists(svc) else WatchType.ADDED, svc)

    @rule(i=st.integers(0, len(SERVICES) - 1))
    def delete_service(self, i: int) -> None:
        svc = Service(metadata=ObjectMeta(name=SERVICES[i], namespace="default"))
        if self._exists(svc):
            self._deliver(WatchType.DELETED, svc)

    @rule(target=slices, sl=endpoint_slices())
    def put_slice(self, sl: EndpointSlice) -> EndpointSlice:
        self._deliver(WatchType.MODIFIED if self._exists(sl) else WatchType.ADDED, sl)
        return sl

    @rule(sl=slices)
    def delete_slice(self, sl: EndpointSlice) -> None:
        if self._exists(sl):
            self._deliver(WatchType.DELETED, sl)

    @rule(name=st.sampled_from(NODES), ready=st.booleans(), ip=st.sampled_from(("", "172.18.0.2", "172.18.0.3")))
    def put_node(self, name: str, ready: bool, ip: str) -> None:
        before = node_rules(self.s, name)
        was_frozen = before is not None and before.frozen
        self._deliver(WatchType.MODIFIED, a_proxy_node(name, ready=ready, ip=ip))
        if not ready and not was_frozen:
            self.frozen_at[name] = before
        if ready:
            self.frozen_at[name] = None

    @rule()
    def sync(self) -> None:
        self.now = Time(self.now + 1.0)
        self.s, _ = self.proxy.step(self.s, TimerFired(key=Timer.SYNC, now=self.now))

    @invariant()
    def desired_equals_a_recomputation_from_scratch(self) -> None:
        assert self.s.desired == compute_table(self.s.view)

    @invariant()
    def synced_ready_nodes_program_the_recomputed_table(self) -> None:
        if self.s.sync_due is not None:
            return
        scratch = compute_table(self.s.view)
        for n in NODES:
            got = node_rules(self.s, n)
            assert got is not None
            if not got.frozen:
                assert got == table_rules(scratch, n)

    @invariant()
    def ready_nodes_agree_on_every_cluster_policy_cluster_ip(self) -> None:
        if self.s.sync_due is not None:  # the policy in the view may not be programmed yet
            return
        seen: dict[tuple[str, str, int], tuple[object, ...]] = {}
        for n in NODES:
            got = node_rules(self.s, n)
            assert got is not None
            if got.frozen:
                continue
            for r in got.rules:
                svc = get(self.s.view, r.service)
                local = isinstance(svc, Service) and svc.spec.internal_traffic_policy is TrafficPolicy.LOCAL
                if r.frontend is Frontend.CLUSTER_IP and not local:
                    assert seen.setdefault((r.ip, r.port_name, r.port), r.backends) == r.backends

    @invariant()
    def a_not_ready_node_keeps_the_rules_it_had(self) -> None:
        for n in NODES:
            before = self.frozen_at[n]
            if before is not None:
                got = node_rules(self.s, n)
                assert got is not None and got.frozen
                assert attrs.evolve(got, frozen=False) == before


TestProxyMachine = ProxyMachine.TestCase


@given(st.lists(st.one_of(services(), endpoint_slices()), max_size=12))
def test_the_same_events_give_equal_states(objs: list[Service | EndpointSlice]) -> None:
    def run() -> ProxyState:
        proxy = KubeProxy()
        s, _ = proxy.init(empty_state(), T0)
        seen: set[tuple[str, str]] = set()
        for i, obj in enumerate(objs):
            k = (obj.KIND.value, obj.metadata.name)
            ev: Event = WatchDelivered(
                event=WatchEvent(type=WatchType.MODIFIED if k in seen else WatchType.ADDED, obj=obj, resource_version=i + 2),
                now=T0,
            )
            seen.add(k)
            s, _ = proxy.step(s, ev)
        return s

    a, b = run(), run()
    assert a.desired == b.desired and a.slices == b.slices

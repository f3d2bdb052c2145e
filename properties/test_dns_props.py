"""Cluster DNS agrees with the API state (kcore.network.dns, resolvconf).

Specifications, for any namespaces, ClusterIP and headless services and EndpointSlices:
- every ClusterIP service's name resolves to its ClusterIP from any pod of its namespace
  by the short name, and from any other namespace by `<svc>.<ns>`;
- a headless service's name resolves to exactly its ready endpoint IPs (NXDOMAIN when
  none is ready);
- the zone the component keeps by folding watch events equals the zone of a fresh LIST
  of the final state, whatever the writes (creates, updates, deletes) in between.

The same agreement over a running cluster (CoreDNS's own zone after every rule of the
whole-cluster machine: headless answers, SRV, PTR, StatefulSet hostnames, NXDOMAIN after
deletion) is `dns_answers_what_the_api_holds` in properties/test_network_props.py.

Names of namespaces (`ns-*`) and services (`svc-*`) come from disjoint sets, so a
searched name never lands on an endpoint query of another service by accident (which
a real cluster allows; it is not what these properties are about).
"""

from __future__ import annotations

from dataclasses import dataclass

import attrs
from hypothesis import given
from hypothesis import strategies as st

from kcore.api.core import Service, ServicePort, ServiceSpec
from kcore.api.discovery import (
    LABEL_SERVICE_NAME,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointSlice,
)
from kcore.api.discovery import EndpointPort as SlicePort
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus
from kcore.api.pod import Pod, PodCondition, PodStatus, Protocol
from kcore.api.watch import WatchEvent
from kcore.apiserver import handle
from kcore.component.requests import Create, Delete, Request, Subresource, Update
from kcore.network.dns import Rcode, RecordType, Zone, absorb, lookup, zone_from
from kcore.network.resolvconf import pod_resolv_conf
from kcore.state import ClusterState, empty_state, get
from tests.builders import T0, a_namespace, a_pod, meta

NAMESPACES = ("ns-a", "ns-b", "ns-c")
SERVICES = ("svc-x", "svc-y", "svc-z")
DNS_IP = "10.96.0.10"


@dataclass(frozen=True)
class Spec:
    namespace: str
    name: str
    headless: bool
    endpoints: tuple[tuple[str, bool], ...]  # (ip, ready)


endpoint_ips = st.builds(lambda a, b: f"10.244.{a}.{b}", st.integers(0, 3), st.integers(1, 20))
specs = st.builds(
    Spec,
    namespace=st.sampled_from(NAMESPACES),
    name=st.sampled_from(SERVICES),
    headless=st.booleans(),
    endpoints=st.lists(st.tuples(endpoint_ips, st.booleans()), max_size=4).map(tuple),
)
clusters = st.lists(specs, max_size=6, unique_by=lambda s: (s.namespace, s.name))


def service(s: Spec) -> Service:
    return Service(
        metadata=meta(s.name, s.namespace),
        spec=ServiceSpec(cluster_ip="None" if s.headless else "", ports=(ServicePort(name="http", port=80),)),
    )


def endpoint_slice(s: Spec) -> EndpointSlice:
    return EndpointSlice(
        metadata=meta(f"{s.name}-1", s.namespace, labels={LABEL_SERVICE_NAME: s.name}),
        address_type=AddressType.IPV4,
        endpoints=tuple(Endpoint(addresses=(ip,), conditions=EndpointConditions(ready=r)) for ip, r in s.endpoints),
        ports=(SlicePort(name="http", protocol=Protocol.TCP, port=8080),),
    )


class Api:
    """The apiserver with a log of every watch event it emitted."""

    def __init__(self) -> None:
        self.state: ClusterState = empty_state()
        self.events: list[WatchEvent] = []

    def do(self, req: Request) -> None:
        self.state, resp, events = handle(self.state, req, T0)
        assert resp.ok, resp.body
        self.events.extend(events)


def base(api: Api) -> None:
    """The namespaces, a client pod in each, and a serving CoreDNS behind kube-dns."""
    for ns in (*NAMESPACES, "kube-system"):
        api.do(Create(obj=a_namespace(ns)))
    for ns in NAMESPACES:
        api.do(Create(obj=a_pod("client", ns)))
    api.do(Create(obj=Service(metadata=meta("kube-dns", "kube-system"),
                              spec=ServiceSpec(cluster_ip=DNS_IP, ports=(ServicePort(name="dns", port=53),)))))
    api.do(Create(obj=a_pod("coredns-1", "kube-system", labels={"k8s-app": "kube-dns"})))
    pod = get(api.state, ObjectKey(kind=Kind.POD, namespace="kube-system", name="coredns-1"))
    assert isinstance(pod, Pod)
    ready = PodStatus(conditions=(PodCondition(type="Ready", status=ConditionStatus.TRUE),))
    api.do(Update(obj=attrs.evolve(pod, status=ready), subresource=Subresource.STATUS))


def build(cluster: list[Spec]) -> Api:
    api = Api()
    base(api)
    for s in cluster:
        api.do(Create(obj=service(s)))
        api.do(Create(obj=endpoint_slice(s)))
    return api


def client(api: Api, ns: str) -> Pod:
    pod = get(api.state, ObjectKey(kind=Kind.POD, namespace=ns, name="client"))
    assert isinstance(pod, Pod)
    return pod


def answers(zone: Zone, api: Api, ns: str, name: str) -> tuple[Rcode, list[str]]:
    conf = pod_resolv_conf(client(api, ns), cluster_dns=(DNS_IP,))
    found = lookup(zone, conf, name, RecordType.A)
    return found.reply.rcode, [a.data for a in found.reply.answers]


@given(clusters)
def test_every_service_name_resolves_as_the_api_says(cluster: list[Spec]) -> None:
    api = build(cluster)
    zone = zone_from(api.state)
    for s in cluster:
        stored = get(api.state, ObjectKey(kind=Kind.SERVICE, namespace=s.namespace, name=s.name))
        assert isinstance(stored, Service)
        if s.headless:
            ready = sorted({ip for ip, r in s.endpoints if r}, key=lambda ip: tuple(int(x) for x in ip.split(".")))
            want = (Rcode.NOERROR, ready) if ready else (Rcode.NXDOMAIN, [])
        else:
            want = (Rcode.NOERROR, [stored.spec.cluster_ip])
        assert answers(zone, api, s.namespace, s.name) == want
        for other in NAMESPACES:
            if other != s.namespace:
                assert answers(zone, api, other, f"{s.name}.{s.namespace}") == want


writes = st.lists(
    st.tuples(st.sampled_from(("create", "update", "delete")), specs),
    max_size=12,
)


def apply_write(api: Api, op: str, s: Spec) -> None:
    """One client write, skipped when it cannot apply (create of an existing name, ...)."""
    svc_key = ObjectKey(kind=Kind.SERVICE, namespace=s.namespace, name=s.name)
    slice_key = ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace=s.namespace, name=f"{s.name}-1")
    have = get(api.state, svc_key)
    if op == "create" and have is None:
        api.do(Create(obj=service(s)))
        api.do(Create(obj=endpoint_slice(s)))
    elif op == "update" and have is not None:
        old = get(api.state, slice_key)
        assert isinstance(old, EndpointSlice)
        api.do(Update(obj=attrs.evolve(endpoint_slice(s), metadata=old.metadata)))
    elif op == "delete" and have is not None:
        api.do(Delete(key=slice_key))
        api.do(Delete(key=svc_key))


@given(writes)
def test_the_zone_kept_by_watch_events_is_the_zone_of_a_list(ops: list[tuple[str, Spec]]) -> None:
    api = Api()
    base(api)
    for op, s in ops:
        apply_write(api, op, s)
    folded = Zone()
    for ev in api.events:
        folded = absorb(folded, ev)
    assert folded == zone_from(api.state)


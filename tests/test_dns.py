"""The cluster's DNS records and answers (kcore.network.dns): the kubernetes/dns
specification's examples as a table, then CoreDNS's behaviour around them."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from pyrsistent import pmap

from kcore.api.core import Service, ServicePort, ServiceSpec, ServiceType
from kcore.api.discovery import (
    LABEL_SERVICE_NAME,
    AddressType,
    Endpoint,
    EndpointConditions,
    EndpointPort,
    EndpointSlice,
)
from kcore.api.meta import ApiObject, ConditionStatus
from kcore.api.pod import Pod, PodCondition, PodStatus, Protocol
from kcore.api.watch import WatchEvent, WatchType
from kcore.network.dns import (
    Answer,
    Rcode,
    RecordType,
    Reply,
    Zone,
    absorb,
    lookup,
    malformed,
    resolve,
    reverse_name,
    reverse_to_ip,
    zone_from,
)
from kcore.network.resolvconf import HOST_RESOLV_CONF, ResolvConf
from tests.builders import a_pod, cluster_with, meta

A, AAAA, SRV, CNAME, PTR, TXT = (RecordType.A, RecordType.AAAA, RecordType.SRV, RecordType.CNAME, RecordType.PTR, RecordType.TXT)


def a_slice(service: str, *endpoints: tuple[str, str, bool], ports: Iterable[tuple[str, int]] = (("https", 443),),
            namespace: str = "default", name: str = "") -> EndpointSlice:
    """A slice of `service`: endpoints as (ip, hostname or "", ready)."""
    return EndpointSlice(
        metadata=meta(name or f"{service}-abcde", namespace, labels={LABEL_SERVICE_NAME: service}),
        address_type=AddressType.IPV4,
        endpoints=tuple(
            Endpoint(addresses=(ip,), hostname=host or None, conditions=EndpointConditions(ready=ready))
            for ip, host, ready in endpoints
        ),
        ports=tuple(EndpointPort(name=n, protocol=Protocol.TCP, port=p) for n, p in ports),
    )


def a_dns_pod(name: str = "coredns-abc", *, ready: bool = True) -> Pod:
    pod = a_pod(name, "kube-system", labels={"k8s-app": "kube-dns"})
    cond = PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE)
    return Pod(metadata=pod.metadata, spec=pod.spec, status=PodStatus(conditions=(cond,)))


def event(obj: ApiObject, kind: WatchType = WatchType.ADDED) -> WatchEvent:
    return WatchEvent(type=kind, obj=obj, resource_version=1)


def serving(zone: Zone) -> Zone:
    return absorb(zone, event(a_dns_pod()))


def spec_cluster() -> Zone:
    """The objects of the specification's examples (its addresses moved into kcore's ranges)."""
    state = cluster_with(
        Service(metadata=meta("kubernetes"), spec=ServiceSpec(cluster_ip="10.96.0.1", ports=(ServicePort(name="https", port=443),))),
        Service(
            metadata=meta("headless"),
            spec=ServiceSpec(cluster_ip="None", selector=pmap({"app": "pet"}), ports=(ServicePort(name="https", port=443),)),
        ),
        a_slice("headless", ("10.244.0.100", "my-pet", True), ("10.244.0.101", "my-pet-2", True), ("10.244.0.102", "", True),
                ("10.244.0.103", "sick", False)),
        Service(metadata=meta("foo"), spec=ServiceSpec(type=ServiceType.EXTERNAL_NAME, external_name="www.example.com")),
        namespaces=("default", "kube-system"),
    )
    return serving(zone_from(state))


def ok(*answers: tuple[str, RecordType, str]) -> Reply:
    return Reply(rcode=Rcode.NOERROR, answers=tuple(Answer(name=n, type=t, data=d) for n, t, d in answers))


NODATA = Reply(rcode=Rcode.NOERROR)
NXDOMAIN = Reply(rcode=Rcode.NXDOMAIN)

HL = "headless.default.svc.cluster.local."

SPEC_EXAMPLES = [
    # 2.2 schema version
    ("dns-version.cluster.local.", TXT, ok(("dns-version.cluster.local.", TXT, '"1.1.0"'))),
    # 2.3.1 A of a ClusterIP service
    ("kubernetes.default.svc.cluster.local.", A, ok(("kubernetes.default.svc.cluster.local.", A, "10.96.0.1"))),
    # 2.3.2 SRV of a named port: the service's own name as target
    ("_https._tcp.kubernetes.default.svc.cluster.local.", SRV,
     ok(("_https._tcp.kubernetes.default.svc.cluster.local.", SRV, "0 100 443 kubernetes.default.svc.cluster.local."))),
    # 2.3.3 PTR of the ClusterIP
    ("1.0.96.10.in-addr.arpa.", PTR, ok(("1.0.96.10.in-addr.arpa.", PTR, "kubernetes.default.svc.cluster.local."))),
    # 2.4.1 A of a headless service: every ready endpoint
    (HL, A, ok((HL, A, "10.244.0.100"), (HL, A, "10.244.0.101"), (HL, A, "10.244.0.102"))),
    # 2.4.1 A of an endpoint's hostname
    ("my-pet." + HL, A, ok(("my-pet." + HL, A, "10.244.0.100"))),
    # 2.4.2 SRV of a headless service: one per ready endpoint, hostname or dashed address
    ("_https._tcp." + HL, SRV, ok(
        ("_https._tcp." + HL, SRV, "0 33 443 my-pet." + HL),
        ("_https._tcp." + HL, SRV, "0 33 443 my-pet-2." + HL),
        ("_https._tcp." + HL, SRV, "0 33 443 10-244-0-102." + HL),
    )),
    # 2.4.3 PTR of a ready endpoint
    ("100.0.244.10.in-addr.arpa.", PTR, ok(("100.0.244.10.in-addr.arpa.", PTR, "my-pet." + HL))),
    # 2.5 ExternalName: a CNAME
    ("foo.default.svc.cluster.local.", A, ok(("foo.default.svc.cluster.local.", CNAME, "www.example.com."))),
    ("foo.default.svc.cluster.local.", CNAME, ok(("foo.default.svc.cluster.local.", CNAME, "www.example.com."))),
    # 2.6 pod records (`pods insecure`)
    ("10-244-1-7.default.pod.cluster.local.", A, ok(("10-244-1-7.default.pod.cluster.local.", A, "10.244.1.7"))),
]


@pytest.mark.parametrize(("name", "qtype", "reply"), SPEC_EXAMPLES, ids=[f"{q.value} {n}" for n, q, _ in SPEC_EXAMPLES])
def test_the_specification_examples_answer_as_specified(name: str, qtype: RecordType, reply: Reply) -> None:
    assert resolve(spec_cluster(), name, qtype) == reply


OTHER_ANSWERS = [
    # names that do not exist
    ("nothere.default.svc.cluster.local.", A, NXDOMAIN),
    ("kubernetes.nowhere.svc.cluster.local.", A, NXDOMAIN),
    ("sick." + HL, A, NXDOMAIN),  # a not-ready endpoint has no record
    ("_http._tcp.kubernetes.default.svc.cluster.local.", SRV, NXDOMAIN),  # no such port
    ("www.example.com.", A, NXDOMAIN),  # no upstream to forward to
    ("a.b.c.kubernetes.default.svc.cluster.local.", A, NXDOMAIN),  # too long
    ("kubernetes.default.cluster.local.", A, NXDOMAIN),  # neither svc nor pod
    ("300-1-2-3.default.pod.cluster.local.", A, NXDOMAIN),  # not an address
    ("10-244-1-7.nowhere.pod.cluster.local.", A, NXDOMAIN),  # pods need their namespace
    ("9.9.9.10.in-addr.arpa.", PTR, NXDOMAIN),
    ("103.0.244.10.in-addr.arpa.", PTR, NXDOMAIN),  # the not-ready endpoint
    # names that exist without records of the type: NODATA
    ("kubernetes.default.svc.cluster.local.", AAAA, NODATA),
    ("kubernetes.default.svc.cluster.local.", TXT, NODATA),
    ("default.svc.cluster.local.", A, NODATA),
    ("svc.cluster.local.", A, NODATA),
    ("cluster.local.", A, NODATA),
    ("10-244-1-7.default.pod.cluster.local.", AAAA, NODATA),
    ("1.0.96.10.in-addr.arpa.", A, NODATA),
    # the bare service name answers SRV for every port
    ("kubernetes.default.svc.cluster.local.", SRV,
     ok(("kubernetes.default.svc.cluster.local.", SRV, "0 100 443 kubernetes.default.svc.cluster.local."))),
    # port and protocol labels without underscores, as CoreDNS strips them
    ("https.tcp.kubernetes.default.svc.cluster.local.", A, ok(("https.tcp.kubernetes.default.svc.cluster.local.", A, "10.96.0.1"))),
    # names compare case-insensitively
    ("KUBERNETES.Default.SVC.cluster.local", A, ok(("kubernetes.default.svc.cluster.local.", A, "10.96.0.1"))),
    # the dashed address of an endpoint without a hostname
    ("10-244-0-102." + HL, A, ok(("10-244-0-102." + HL, A, "10.244.0.102"))),
]


@pytest.mark.parametrize(("name", "qtype", "reply"), OTHER_ANSWERS, ids=[f"{q.value} {n}" for n, q, _ in OTHER_ANSWERS])
def test_coredns_answers_around_the_specification(name: str, qtype: RecordType, reply: Reply) -> None:
    assert resolve(spec_cluster(), name, qtype) == reply


def test_a_headless_service_without_ready_endpoints_is_nxdomain() -> None:
    state = cluster_with(
        Service(metadata=meta("db"), spec=ServiceSpec(cluster_ip="None", ports=(ServicePort(name="pg", port=5432),))),
        a_slice("db", ("10.244.0.9", "", False), ports=(("pg", 5432),)),
        namespaces=("default", "kube-system"),
    )
    assert resolve(serving(zone_from(state)), "db.default.svc.cluster.local", A) == NXDOMAIN


def test_an_endpoint_hostname_resolves_behind_a_cluster_ip_service_too() -> None:
    state = cluster_with(
        Service(metadata=meta("web"), spec=ServiceSpec(cluster_ip="10.96.0.40", ports=(ServicePort(name="http", port=80),))),
        a_slice("web", ("10.244.0.5", "web-0", True), ports=(("http", 8080),)),
        namespaces=("default", "kube-system"),
    )
    zone = serving(zone_from(state))
    assert resolve(zone, "web-0.web.default.svc.cluster.local", A) == ok(("web-0.web.default.svc.cluster.local.", A, "10.244.0.5"))
    assert resolve(zone, "web.default.svc.cluster.local", A) == ok(("web.default.svc.cluster.local.", A, "10.96.0.40"))
    # the endpoint's address also answers PTR (CoreDNS indexes every service's endpoints)
    assert resolve(zone, reverse_name("10.244.0.5"), PTR) == ok(("5.0.244.10.in-addr.arpa.", PTR, "web-0.web.default.svc.cluster.local."))


def test_an_external_name_inside_the_cluster_zone_is_chased() -> None:
    state = cluster_with(
        Service(metadata=meta("db", "data"), spec=ServiceSpec(cluster_ip="10.96.0.50", ports=(ServicePort(port=5432),))),
        Service(metadata=meta("db"), spec=ServiceSpec(type=ServiceType.EXTERNAL_NAME, external_name="db.data.svc.cluster.local")),
        namespaces=("default", "data", "kube-system"),
    )
    assert resolve(serving(zone_from(state)), "db.default.svc.cluster.local", A) == ok(
        ("db.default.svc.cluster.local.", CNAME, "db.data.svc.cluster.local."),
        ("db.data.svc.cluster.local.", A, "10.96.0.50"),
    )


def test_every_question_is_servfail_while_no_server_pod_is_ready() -> None:
    zone = absorb(spec_cluster(), event(a_dns_pod(ready=False), WatchType.MODIFIED))
    reply = resolve(zone, "kubernetes.default.svc.cluster.local", A)
    assert reply == Reply(rcode=Rcode.SERVFAIL, reason="no CoreDNS pod (k8s-app=kube-dns in kube-system) is Ready")
    gone = absorb(zone, event(a_dns_pod(), WatchType.DELETED))
    assert resolve(gone, "kubernetes.default.svc.cluster.local", A).reason == (
        "no CoreDNS pod (k8s-app=kube-dns in kube-system) exists"
    )


def test_absorb_follows_a_service_and_its_slices_through_changes() -> None:
    zone = spec_cluster()
    svc = Service(metadata=meta("kubernetes"), spec=ServiceSpec(cluster_ip="10.96.0.1", ports=(ServicePort(name="https", port=443),)))
    zone = absorb(zone, event(svc, WatchType.DELETED))
    assert resolve(zone, "kubernetes.default.svc.cluster.local", A) == NXDOMAIN
    assert resolve(zone, "1.0.96.10.in-addr.arpa", PTR) == NXDOMAIN
    moved = a_slice("headless", ("10.244.0.200", "my-pet", True))
    zone = absorb(zone, event(moved, WatchType.MODIFIED))
    assert resolve(zone, HL, A) == ok((HL, A, "10.244.0.200"))
    assert resolve(zone, "100.0.244.10.in-addr.arpa", PTR) == NXDOMAIN
    zone = absorb(zone, event(moved, WatchType.DELETED))
    assert resolve(zone, HL, A) == NXDOMAIN
    assert zone.endpoint_ips == pmap()


def test_the_zone_of_a_list_equals_the_zone_of_its_events() -> None:
    objs: list[ApiObject] = [
        Service(metadata=meta("kubernetes"), spec=ServiceSpec(cluster_ip="10.96.0.1", ports=(ServicePort(name="https", port=443),))),
        a_slice("headless", ("10.244.0.100", "my-pet", True)),
    ]
    state = cluster_with(*objs, namespaces=("default", "kube-system"))
    folded = Zone()
    for ns in ("default", "kube-system"):
        folded = absorb(folded, event(_namespace(ns)))
    for o in objs:
        folded = absorb(folded, event(o))
    built = zone_from(state)
    assert (built.namespaces, built.cluster_ips, built.endpoint_ips) == (folded.namespaces, folded.cluster_ips, folded.endpoint_ips)


def _namespace(name: str) -> ApiObject:
    from tests.builders import a_namespace

    return a_namespace(name)


def test_reverse_names_round_trip() -> None:
    assert reverse_name("10.96.0.10") == "10.0.96.10.in-addr.arpa."
    assert reverse_to_ip("10.0.96.10.in-addr.arpa.") == "10.96.0.10"
    assert reverse_to_ip(reverse_name("fd00::5")) == "fd00::5"
    assert reverse_to_ip("0.96.10.in-addr.arpa.") is None


def test_malformed_names_say_why() -> None:
    assert malformed("web.default") == ""
    assert malformed("web..default") == "empty label"
    assert malformed("") == "empty name"
    assert malformed("a" * 64) == f"label {'a' * 20}... longer than 63 characters"


# --- a pod's resolver around the server ----------------------------------------------------


POD_CONF = ResolvConf(
    nameservers=("10.96.0.10",),
    searches=("team.svc.cluster.local", "svc.cluster.local", "cluster.local"),
    options=("ndots:5",),
)


def resolver_cluster() -> Zone:
    state = cluster_with(
        Service(metadata=meta("kube-dns", "kube-system"), spec=ServiceSpec(cluster_ip="10.96.0.10", ports=(ServicePort(name="dns", port=53),))),
        Service(metadata=meta("web", "team"), spec=ServiceSpec(cluster_ip="10.96.0.12", ports=(ServicePort(name="http", port=80),))),
        Service(metadata=meta("api", "other"), spec=ServiceSpec(cluster_ip="10.96.0.13", ports=(ServicePort(name="http", port=80),))),
        namespaces=("team", "other", "kube-system"),
    )
    return serving(zone_from(state))


def test_a_short_name_is_tried_with_the_search_path_first() -> None:
    found = lookup(resolver_cluster(), POD_CONF, "web", A)
    assert (found.fqdn, found.reply) == ("web.team.svc.cluster.local.", ok(("web.team.svc.cluster.local.", A, "10.96.0.12")))


def test_another_namespace_resolves_by_service_dot_namespace() -> None:
    found = lookup(resolver_cluster(), POD_CONF, "api.other", A)
    assert found.fqdn == "api.other.svc.cluster.local."
    assert found.tried == ("api.other.team.svc.cluster.local.", "api.other.svc.cluster.local.")


def test_an_absolute_name_is_asked_as_is() -> None:
    found = lookup(resolver_cluster(), POD_CONF, "web.", A)
    assert (found.fqdn, found.reply, found.tried) == ("web.", NXDOMAIN, ("web.",))


def test_nodata_beats_nxdomain_when_no_name_answers() -> None:
    found = lookup(resolver_cluster(), POD_CONF, "web", AAAA)
    assert (found.fqdn, found.reply) == ("web.team.svc.cluster.local.", NODATA)


def test_the_last_name_tried_reports_an_nxdomain() -> None:
    found = lookup(resolver_cluster(), POD_CONF, "nothere", A)
    assert (found.fqdn, found.reply) == ("nothere.", NXDOMAIN)


def test_the_node_resolver_knows_no_cluster_name() -> None:
    found = lookup(resolver_cluster(), HOST_RESOLV_CONF, "web.team.svc.cluster.local", A)
    assert found.reply == NXDOMAIN


def test_a_nameserver_that_is_not_the_dns_service_fails() -> None:
    found = lookup(resolver_cluster(), ResolvConf(nameservers=("10.96.0.99",)), "web.team.svc.cluster.local.", A)
    assert found.reply == Reply(rcode=Rcode.SERVFAIL, reason="no DNS server answers at 10.96.0.99")
    second = lookup(resolver_cluster(), ResolvConf(nameservers=("10.96.0.99", "10.96.0.10")), "web.team.svc.cluster.local.", A)
    assert second.reply == ok(("web.team.svc.cluster.local.", A, "10.96.0.12"))

"""The CoreDNS add-on (kcore.addons.coredns): driven by hand on the rig, then in a cluster."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.addons.coredns import IMAGE, CoreDNS, CoreDNSState, coredns_objects, corefile
from kcore.api.apps import Deployment
from kcore.api.core import (
    ConfigMap,
    Service,
    ServiceAccount,
    ServicePort,
    ServiceSpec,
)
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
from kcore.api.pod import DNSPolicy, Pod, PodCondition, PodStatus, Protocol
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import Resynced
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.driver import default_components
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.network.dns import Answer, Rcode, RecordType, Reply, resolve, zone_from
from kcore.state import ClusterConfig
from tests.builders import a_namespace, a_pod, a_service, meta
from tests.rig import Rig

A = RecordType.A
WEB = "web.default.svc.cluster.local"


def dns_pod(name: str = "coredns-1") -> Pod:
    return a_pod(name, "kube-system", labels={"k8s-app": "kube-dns"})


def ready(r: Rig[CoreDNSState], name: str = "coredns-1", *, is_ready: bool = True) -> None:
    pod = r.get(ObjectKey(kind=Kind.POD, namespace="kube-system", name=name), Pod)
    status = ConditionStatus.TRUE if is_ready else ConditionStatus.FALSE
    resp = r.request(Update(obj=attrs.evolve(pod, status=PodStatus(conditions=(PodCondition(type="Ready", status=status),))),
                            subresource=Subresource.STATUS))
    assert resp.ok, resp.body


def rig(*objs: object) -> Rig[CoreDNSState]:
    r: Rig[CoreDNSState] = Rig(CoreDNS(), a_namespace("kube-system"), dns_pod(), *objs)  # type: ignore[arg-type]
    ready(r)
    r.restart()
    return r


def headless_slice(*ips: str, ready_: bool = True) -> EndpointSlice:
    return EndpointSlice(
        metadata=meta("db-1", labels={LABEL_SERVICE_NAME: "db"}),
        address_type=AddressType.IPV4,
        endpoints=tuple(Endpoint(addresses=(ip,), conditions=EndpointConditions(ready=ready_)) for ip in ips),
        ports=(SlicePort(name="pg", protocol=Protocol.TCP, port=5432),),
    )


def a_records(name: str, *ips: str) -> Reply:
    fq = name.rstrip(".") + "."
    return Reply(rcode=Rcode.NOERROR, answers=tuple(Answer(name=fq, type=A, data=ip) for ip in ips))


def test_init_builds_the_zone_from_the_list_and_start_asks_for_nothing() -> None:
    r = rig(a_service("web"))
    assert r.start() == ()
    ip = r.get(ObjectKey(kind=Kind.SERVICE, namespace="default", name="web"), Service).spec.cluster_ip
    assert resolve(r.s.zone, WEB, A) == a_records(WEB, ip)
    assert r.s.zone == zone_from(r.state)


def test_a_service_created_later_resolves_once_its_event_arrives() -> None:
    r = rig()
    r.start()
    assert r.request(Create(obj=a_service("web"))).ok
    assert resolve(r.s.zone, WEB, A).rcode is Rcode.NXDOMAIN  # not yet seen
    assert r.deliver_watches() == ()
    ip = r.get(ObjectKey(kind=Kind.SERVICE, namespace="default", name="web"), Service).spec.cluster_ip
    assert resolve(r.s.zone, WEB, A) == a_records(WEB, ip)
    assert r.request(Delete(key=ObjectKey(kind=Kind.SERVICE, namespace="default", name="web"))).ok
    assert r.deliver_watches() == ()
    assert resolve(r.s.zone, WEB, A).rcode is Rcode.NXDOMAIN


def test_a_headless_service_follows_its_slices_ready_endpoints() -> None:
    db = Service(metadata=meta("db"), spec=ServiceSpec(cluster_ip="None", ports=(ServicePort(name="pg", port=5432),)))
    r = rig(db)
    r.start()
    name = "db.default.svc.cluster.local"
    assert r.request(Create(obj=headless_slice("10.244.0.7", "10.244.0.8"))).ok
    r.deliver_watches()
    assert resolve(r.s.zone, name, A) == a_records(name, "10.244.0.7", "10.244.0.8")
    stored = r.get(ObjectKey(kind=Kind.ENDPOINT_SLICE, namespace="default", name="db-1"), EndpointSlice)
    assert r.request(Update(obj=attrs.evolve(stored, endpoints=headless_slice("10.244.0.7", ready_=False).endpoints))).ok
    r.deliver_watches()
    assert resolve(r.s.zone, name, A).rcode is Rcode.NXDOMAIN


def test_lookups_fail_while_no_server_pod_is_ready_and_answer_once_one_is() -> None:
    r = rig(a_service("web"))
    r.start()
    ready(r, is_ready=False)
    r.deliver_watches()
    assert resolve(r.s.zone, WEB, A) == Reply(
        rcode=Rcode.SERVFAIL, reason="no CoreDNS pod (k8s-app=kube-dns in kube-system) is Ready"
    )
    ready(r)
    r.deliver_watches()
    assert resolve(r.s.zone, WEB, A).rcode is Rcode.NOERROR


def test_the_watch_filter_takes_only_the_servers_own_pods() -> None:
    comp = CoreDNS()
    other = a_pod("web")
    mine = dns_pod()
    relabelled = attrs.evolve(mine, metadata=attrs.evolve(mine.metadata, labels=pmap()))
    assert not comp.wants(WatchEvent(type=WatchType.ADDED, obj=other, resource_version=1))
    assert comp.wants(WatchEvent(type=WatchType.ADDED, obj=mine, resource_version=1))
    assert comp.wants(WatchEvent(type=WatchType.MODIFIED, obj=relabelled, resource_version=2), mine)
    assert comp.wants(WatchEvent(type=WatchType.ADDED, obj=a_service("web"), resource_version=1))


def test_a_relist_rebuilds_the_zone_and_a_restart_gives_the_same_one() -> None:
    r = rig(a_service("web"))
    r.start()
    assert r.request(Create(obj=a_service("api"))).ok
    r.inbox.clear()  # the watch stream breaks: the event is lost
    assert resolve(r.s.zone, "api.default.svc.cluster.local", A).rcode is Rcode.NXDOMAIN
    assert r.step(Resynced(view=r.state, now=r.now)) == ()
    assert resolve(r.s.zone, "api.default.svc.cluster.local", A).rcode is Rcode.NOERROR
    before = r.s.zone
    r.restart()
    assert r.s.zone == before


def test_the_objects_are_kubeadms() -> None:
    sa, cm, deploy, svc = coredns_objects(ClusterConfig(service_cidr="10.100.0.0/16"))
    assert isinstance(sa, ServiceAccount) and sa.metadata.name == "coredns" and sa.metadata.namespace == "kube-system"
    assert isinstance(cm, ConfigMap) and cm.data["Corefile"] == corefile()
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in corefile()
    assert isinstance(deploy, Deployment) and deploy.spec.replicas == 2
    pod = deploy.spec.template
    assert dict(pod.metadata.labels) == {"k8s-app": "kube-dns"}
    (c,) = pod.spec.containers
    assert c.image == IMAGE
    assert [(p.container_port, p.protocol.value, p.name) for p in c.ports] == [(53, "UDP", "dns"), (53, "TCP", "dns-tcp"), (9153, "TCP", "metrics")]
    assert c.readiness_probe is not None and c.readiness_probe.http_get is not None and c.readiness_probe.http_get.port == 8181
    assert pod.spec.dns_policy is DNSPolicy.DEFAULT
    assert isinstance(svc, Service) and svc.metadata.name == "kube-dns" and svc.spec.cluster_ip == "10.100.0.10"
    assert dict(svc.spec.selector) == {"k8s-app": "kube-dns"}
    assert [(p.name, p.port, p.protocol.value) for p in svc.spec.ports] == [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]


def test_in_a_cluster_the_deployment_becomes_ready_and_serves_the_services() -> None:
    base = create_cluster(ClusterConfig(seed=3), nodes=2)
    c = Cluster(base.snapshot(), default_components(base.state))
    c.run_until_stable()
    c.apply(coredns_objects(c.state.config))
    c.apply((a_service("web"),))
    c.settle()
    zone = c.component_state("coredns").zone
    assert resolve(zone, "kube-dns.kube-system.svc.cluster.local", A) == a_records("kube-dns.kube-system.svc.cluster.local", "10.96.0.10")
    web = c.state.tables[Kind.SERVICE][("default", "web")]
    assert isinstance(web, Service)
    ip = web.spec.cluster_ip
    assert resolve(zone, WEB, A) == a_records(WEB, ip)
    assert sorted(zone.server_pods.values()) == [True, True]

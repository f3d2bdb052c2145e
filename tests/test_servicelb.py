"""The simulated cloud load-balancer controller, driven by hand, then in a cluster."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.core import LoadBalancerIngress, LoadBalancerIPMode, Service, ServiceType
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status, StatusReason, Time
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.requests import Create, Delete, Response, Subresource, Update
from kcore.controllers.servicelb import (
    FINALIZER,
    Action,
    Fail,
    Op,
    ServiceLBController,
    choose,
    pool_addresses,
)
from kcore.state import ClusterConfig, get
from tests.builders import T0, a_namespace, a_node, a_service, cluster_with
from tests.rig import Rig

WEB = ObjectKey(kind=Kind.SERVICE, namespace="default", name="web")


def lb(name: str = "web", *, ip: str = "", cls: str | None = None) -> Service:
    svc = a_service(name)
    spec = attrs.evolve(svc.spec, type=ServiceType.LOAD_BALANCER, load_balancer_ip=ip, load_balancer_class=cls)
    return attrs.evolve(svc, spec=spec)


def rig(*objs: Service, pool: str = "198.51.100.0/30") -> Rig[object]:
    state = cluster_with(a_node(), config=ClusterConfig(lb_pool=pool))
    r: Rig[object] = Rig(ServiceLBController(), *objs, state=state)  # type: ignore[arg-type]
    return r


def ingress(r: Rig[object], name: str = "web") -> tuple[LoadBalancerIngress, ...]:
    return r.get(ObjectKey(kind=Kind.SERVICE, namespace="default", name=name), Service).status.load_balancer.ingress


def event(reason: str, message: str, key: ObjectKey = WEB, warning: bool = False) -> RecordEvent:
    return RecordEvent(involved=key, type=EventType.WARNING if warning else EventType.NORMAL, reason=reason, message=message)


def test_the_pool_skips_the_network_and_broadcast_addresses() -> None:
    assert pool_addresses("198.51.100.0/30") == ("198.51.100.1", "198.51.100.2")
    assert pool_addresses("203.0.113.7/32") == ("203.0.113.7",)


def test_a_load_balancer_service_gets_the_finalizer_then_the_lowest_free_address() -> None:
    r = rig(lb())
    (add,) = r.start()
    assert isinstance(add, CallApi) and add.tag == Op(service=WEB, action=Action.ADD_FINALIZER)
    assert r.answer(add) == ()
    ensuring, ensure = r.deliver_watches()
    assert ensuring == event("EnsuringLoadBalancer", "Ensuring load balancer")
    assert isinstance(ensure, CallApi) and ensure.tag == Op(service=WEB, action=Action.ENSURE, ip="198.51.100.1")
    assert isinstance(ensure.request, Update) and ensure.request.subresource is Subresource.STATUS
    assert r.answer(ensure) == (event("EnsuredLoadBalancer", "Ensured load balancer"),)
    assert ingress(r) == (LoadBalancerIngress(ip="198.51.100.1", ip_mode=LoadBalancerIPMode.VIP),)
    assert r.get(WEB).metadata.finalizers == (FINALIZER,)
    assert r.deliver_watches() == ()  # a fixed point


def test_two_services_never_share_an_address_even_before_the_view_catches_up() -> None:
    r = rig(lb("a"), lb("b"))
    r.settle(r.start())
    assert [i.ip for i in ingress(r, "a")] == ["198.51.100.1"]
    assert [i.ip for i in ingress(r, "b")] == ["198.51.100.2"]


def test_an_exhausted_pool_fails_and_retries_from_five_seconds() -> None:
    r = rig(lb("a"), lb("b"), lb("c"))
    effects = r.settle(r.start())
    assert event(
        "SyncLoadBalancerFailed",
        "Error syncing load balancer: failed to ensure load balancer: no available IPs in the pool 198.51.100.0/30",
        ObjectKey(kind=Kind.SERVICE, namespace="default", name="c"),
        warning=True,
    ) in effects
    assert WakeMeAt(at=Time(T0 + 5), key=ObjectKey(kind=Kind.SERVICE, namespace="default", name="c"), in_motion=True) in effects
    assert ingress(r, "c") == ()


def test_a_requested_address_is_honoured_when_it_is_in_the_pool_and_free() -> None:
    assert choose(lb(ip="198.51.100.2"), "198.51.100.0/30", ()) == "198.51.100.2"
    assert choose(lb(ip="10.0.0.1"), "198.51.100.0/30", ()) == Fail(
        message="requested loadBalancerIP 10.0.0.1 is not in the pool 198.51.100.0/30"
    )
    assert choose(lb(ip="198.51.100.2"), "198.51.100.0/30", ("198.51.100.2",)) == Fail(
        message="requested loadBalancerIP 198.51.100.2 is already allocated"
    )


def test_another_load_balancer_class_and_other_types_are_left_alone() -> None:
    r = rig(lb(cls="example.com/lb"), a_service("plain"))
    assert r.start() == ()


def test_changing_the_type_away_releases_the_address_and_the_finalizer() -> None:
    r = rig(lb())
    r.settle(r.start())
    svc = r.get(WEB, Service)
    spec = attrs.evolve(
        svc.spec,
        type=ServiceType.CLUSTER_IP,
        ports=tuple(attrs.evolve(p, node_port=0) for p in svc.spec.ports),
        external_traffic_policy=None,
        allocate_load_balancer_node_ports=None,
    )
    assert r.request(Update(obj=attrs.evolve(svc, spec=spec))).ok
    effects = r.settle(r.deliver_watches())
    assert [e for e in effects if isinstance(e, RecordEvent)] == [
        event("DeletingLoadBalancer", "Deleting load balancer"),
        event("DeletedLoadBalancer", "Deleted load balancer"),
    ]
    assert ingress(r) == ()
    assert r.get(WEB).metadata.finalizers == ()


def test_deleting_the_service_waits_for_the_cleanup_then_it_is_gone() -> None:
    r = rig(lb())
    r.settle(r.start())
    assert r.request(Delete(key=WEB)).ok
    assert r.get(WEB).metadata.deletion_timestamp is not None  # held by the finalizer
    r.settle(r.deliver_watches())
    assert get(r.state, WEB) is None


def test_a_refused_status_write_records_the_error_and_retries() -> None:
    r = rig(lb())
    (add,) = r.start()
    r.answer(add)
    _, ensure = r.deliver_watches()
    refused = Response(code=500, body=Status(code=500, reason=StatusReason.INTERNAL_ERROR, message="etcd is down"))
    assert r.answer(ensure, refused) == (
        event("SyncLoadBalancerFailed", "Error syncing load balancer: etcd is down", warning=True),
        WakeMeAt(at=Time(T0 + 5), key=WEB, in_motion=True),
    )
    _, again = r.fire(WEB, at=T0 + 5)
    assert isinstance(again, CallApi) and again.tag == Op(service=WEB, action=Action.ENSURE, ip="198.51.100.1")


def test_a_relist_after_a_restart_keeps_every_address() -> None:
    r = rig(lb("a"), lb("b"))
    r.settle(r.start())
    r.restart()
    assert r.start() == ()
    assert (ingress(r, "a")[0].ip, ingress(r, "b")[0].ip) == ("198.51.100.1", "198.51.100.2")


def test_in_a_cluster_a_load_balancer_service_shows_its_external_ip() -> None:
    from kcore.driver import default_components
    from kcore.driver.bootstrap import create_cluster
    from kcore.driver.cluster import Cluster

    base = create_cluster(ClusterConfig(seed=2, lb_pool="203.0.113.0/29"), nodes=1)
    c = Cluster(base.snapshot(), default_components(base.state))
    assert c.request(Create(obj=a_namespace("shop"))).ok
    svc = attrs.evolve(lb("front"), metadata=attrs.evolve(lb("front").metadata, namespace="shop", labels=pmap()))
    assert c.request(Create(obj=svc)).ok
    c.settle()
    stored = get(c.state, ObjectKey(kind=Kind.SERVICE, namespace="shop", name="front"))
    assert isinstance(stored, Service)
    assert [i.ip for i in stored.status.load_balancer.ingress] == ["203.0.113.1"]

"""Ingress: the documentation's matching tables, merging, the default class admission,
and the controller add-on writing the address."""

from __future__ import annotations

import attrs
import pytest

from kcore.addons.ingress import (
    CLASS_NAME,
    SERVICE_KEY,
    IngressController,
    Op,
    ingress_objects,
    wanted_status,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Time
from kcore.api.networking import (
    HTTPIngressPath,
    HTTPIngressRuleValue,
    Ingress,
    IngressBackend,
    IngressRule,
    IngressServiceBackend,
    IngressSpec,
    PathType,
    ServiceBackendPort,
)
from kcore.component.effects import CallApi, EventType, RecordEvent
from kcore.component.requests import Create, Subresource, Update
from kcore.network.ingress import host_matches, path_matches, route_http, served_ingresses
from kcore.state import get
from tests.builders import T0, an_ingress_class, cluster_with, meta
from tests.rig import Rig


def backend(svc: str, port: int = 80) -> IngressBackend:
    return IngressBackend(service=IngressServiceBackend(name=svc, port=ServiceBackendPort(number=port)))


def ingress(name: str, *paths: tuple[str, PathType, str], host: str = "", created: float = T0, cls: str | None = "kcore",
            default: str = "") -> Ingress:
    rule = IngressRule(
        host=host,
        http=HTTPIngressRuleValue(paths=tuple(HTTPIngressPath(path=p, path_type=t, backend=backend(s)) for p, t, s in paths)),
    )
    m = attrs.evolve(meta(name), creation_timestamp=Time(created))
    spec = IngressSpec(ingress_class_name=cls, rules=(rule,) if paths else (), default_backend=backend(default) if default else None)
    return Ingress(metadata=m, spec=spec)


P, E, IMPL = PathType.PREFIX, PathType.EXACT, PathType.IMPLEMENTATION_SPECIFIC

# content/en/docs/concepts/services-networking/ingress.md, "Examples" (path types)
DOC_TABLE = [
    ([("/", P)], "/anything", "/"),
    ([("/foo", E)], "/foo", "/foo"),
    ([("/foo", E)], "/bar", None),
    ([("/foo", E)], "/foo/", None),
    ([("/foo/", E)], "/foo", None),
    ([("/foo", P)], "/foo", "/foo"),
    ([("/foo", P)], "/foo/", "/foo"),
    ([("/foo/", P)], "/foo", "/foo/"),
    ([("/foo/", P)], "/foo/", "/foo/"),
    ([("/aaa/bb", P)], "/aaa/bbb", None),
    ([("/aaa/bbb", P)], "/aaa/bbb", "/aaa/bbb"),
    ([("/aaa/bbb/", P)], "/aaa/bbb", "/aaa/bbb/"),
    ([("/aaa/bbb", P)], "/aaa/bbb/", "/aaa/bbb"),
    ([("/aaa/bbb", P)], "/aaa/bbb/ccc", "/aaa/bbb"),
    ([("/aaa/bbb", P)], "/aaa/bbbxyz", None),
    ([("/", P), ("/aaa", P)], "/aaa/ccc", "/aaa"),
    ([("/", P), ("/aaa", P), ("/aaa/bbb", P)], "/aaa/bbb", "/aaa/bbb"),
    ([("/", P), ("/aaa", P), ("/aaa/bbb", P)], "/ccc", "/"),
    ([("/aaa", P)], "/ccc", None),
]


@pytest.mark.parametrize(("paths", "request_path", "winner"), DOC_TABLE)
def test_the_documentations_path_table(paths: list[tuple[str, PathType]], request_path: str, winner: str | None) -> None:
    ing = ingress("web", *((p, t, f"svc{i}") for i, (p, t) in enumerate(paths)))
    route = route_http((ing,), "example.com", request_path)
    if winner is None:
        assert (route.backend, route.http_status) == (None, 404)
    else:
        assert route.path == winner and route.http_status == 200


def test_for_the_same_path_exact_beats_prefix() -> None:
    ing = ingress("web", ("/foo", P, "prefix"), ("/foo", E, "exact"))
    route = route_http((ing,), "example.com", "/foo")
    assert route.backend == backend("exact") and route.path_type is E
    assert route_http((ing,), "example.com", "/foo/bar").backend == backend("prefix")


@pytest.mark.parametrize(
    ("rule", "header", "matches"),
    [("*.foo.com", "bar.foo.com", True), ("*.foo.com", "baz.bar.foo.com", False), ("*.foo.com", "foo.com", False),
     ("foo.bar.com", "foo.bar.com", True), ("foo.bar.com", "bar.foo.com", False), ("", "anything", True)],
)
def test_the_documentations_host_table(rule: str, header: str, matches: bool) -> None:
    assert host_matches(rule, header) is matches


def test_exact_hosts_win_over_wildcards_over_catch_alls_and_ports_are_ignored() -> None:
    exact = ingress("exact", ("/", P, "exact"), host="a.foo.com")
    wild = ingress("wild", ("/", P, "wild"), host="*.foo.com")
    anyhost = ingress("any", ("/", P, "any"))
    ings = (exact, wild, anyhost)
    assert route_http(ings, "a.foo.com:80", "/").backend == backend("exact")
    assert route_http(ings, "B.foo.com", "/").backend == backend("wild")
    assert route_http(ings, "other.org", "/").backend == backend("any")


def test_ingresses_for_one_host_merge_and_the_oldest_wins_a_conflicting_path() -> None:
    old = ingress("old", ("/api", P, "old-api"), host="shop.example", created=T0)
    new = ingress("new", ("/api", P, "new-api"), ("/img", P, "img"), host="shop.example", created=T0 + 10)
    ings = tuple(sorted((new, old), key=lambda i: i.metadata.creation_timestamp or 0))
    assert route_http(ings, "shop.example", "/api/v1").backend == backend("old-api")
    assert route_http(ings, "shop.example", "/img/a.png").backend == backend("img")


def test_default_backend_and_resource_backends() -> None:
    ing = ingress("web", ("/app", P, "app"), default="fallback")
    assert route_http((ing,), "x", "/other").backend == backend("fallback")
    resource = attrs.evolve(ing, spec=attrs.evolve(ing.spec, default_backend=IngressBackend(resource=None)))
    route = route_http((resource,), "x", "/other")
    assert (route.http_status, route.reason) == (503, "the backend is a resource, not a Service: not routable")


def test_implementation_specific_is_a_string_prefix() -> None:
    rule = HTTPIngressPath(path="/foo", path_type=IMPL, backend=backend("x"))
    assert path_matches(rule, "/foobar") and path_matches(rule, "/foo/bar") and not path_matches(rule, "/fo")


# --- the default class and the controller ------------------------------------------------


def test_a_class_less_ingress_gets_the_default_class_at_create_and_is_served() -> None:
    state = cluster_with(an_ingress_class("kcore", default=True), an_ingress_class("other"))
    from kcore.apiserver import handle

    state, resp, _ = handle(state, Create(obj=ingress("web", ("/", P, "web"), cls=None)), T0)
    assert resp.ok
    stored = get(state, ObjectKey(kind=Kind.INGRESS, namespace="default", name="web"))
    assert isinstance(stored, Ingress) and stored.spec.ingress_class_name == "kcore"
    state, resp, _ = handle(state, Create(obj=ingress("theirs", ("/", P, "x"), cls="other")), T0)
    assert resp.ok
    assert [i.metadata.name for i in served_ingresses(state, "kcore")] == ["web"]


def test_the_newest_of_several_default_classes_wins() -> None:
    a = attrs.evolve(an_ingress_class("a", default=True))
    b = attrs.evolve(an_ingress_class("b", default=True))
    from kcore.apiserver import handle

    state = cluster_with(a)
    state, _, _ = handle(state, Create(obj=b), Time(T0 + 5))
    state, resp, _ = handle(state, Create(obj=ingress("web", ("/", P, "web"), cls=None)), Time(T0 + 6))
    assert resp.ok
    stored = get(state, ObjectKey(kind=Kind.INGRESS, namespace="default", name="web"))
    assert isinstance(stored, Ingress) and stored.spec.ingress_class_name == "b"


def test_the_controller_writes_its_service_address_into_served_ingresses() -> None:
    rig: Rig[object] = Rig(IngressController(), *ingress_objects())  # type: ignore[arg-type]
    assert rig.start() == ()  # no address yet: nothing to say
    svc = rig.get(SERVICE_KEY)
    from kcore.api.core import LoadBalancerIngress, LoadBalancerStatus, Service, ServiceStatus

    assert isinstance(svc, Service)
    with_ip = attrs.evolve(svc, status=ServiceStatus(load_balancer=LoadBalancerStatus(ingress=(LoadBalancerIngress(ip="198.51.100.1"),))))
    assert rig.request(Update(obj=with_ip, subresource=Subresource.STATUS)).ok
    assert rig.deliver_watches() == ()
    assert rig.request(Create(obj=ingress("web", ("/", P, "web"), cls=None))).ok
    key = ObjectKey(kind=Kind.INGRESS, namespace="default", name="web")
    sync_event, write = rig.deliver_watches()
    assert sync_event == RecordEvent(involved=key, type=EventType.NORMAL, reason="Sync", message="Scheduled for sync")
    assert isinstance(write, CallApi) and write.tag == Op(ingress=key)
    rig.settle((write,))
    stored = rig.get(key, Ingress)
    assert stored.status == wanted_status("198.51.100.1")
    assert rig.deliver_watches() == ()


def test_in_a_cluster_the_ingress_address_comes_from_the_pool() -> None:
    from kcore.driver import new_cluster
    from kcore.state import ClusterConfig

    c = new_cluster(ClusterConfig(seed=1), nodes=1)  # the ingress add-on is installed
    assert c.request(Create(obj=ingress("web", ("/", P, "web"), cls=None))).ok
    c.settle()
    stored = get(c.state, ObjectKey(kind=Kind.INGRESS, namespace="default", name="web"))
    assert isinstance(stored, Ingress)
    assert stored.spec.ingress_class_name == CLASS_NAME
    assert stored.status == wanted_status("198.51.100.1")


def test_equally_new_default_classes_give_the_first_by_name() -> None:
    from kcore.apiserver import handle

    state = cluster_with()
    for name in ("zeta", "alpha"):  # created in the same instant
        state, resp, _ = handle(state, Create(obj=an_ingress_class(name, default=True)), Time(T0 + 5))
        assert resp.ok
    state, resp, _ = handle(state, Create(obj=ingress("web", ("/", P, "web"), cls=None)), Time(T0 + 6))
    stored = get(state, ObjectKey(kind=Kind.INGRESS, namespace="default", name="web"))
    assert isinstance(stored, Ingress) and stored.spec.ingress_class_name == "alpha"

"""A pod's resolv.conf (kcore.network.resolvconf) against what the kubelet writes: the cases
of upstream's pkg/kubelet/network/dns/dns_test.go (TestGetPodDNS, TestGetPodDNSCustom,
TestFormDNSSearchFitsLimits, TestParseResolvConf), then the search rule."""

from __future__ import annotations

import attrs
import pytest

from kcore.api.pod import DNSPolicy, Pod, PodDNSConfig, PodDNSConfigOption
from kcore.network.resolvconf import (
    HOST_RESOLV_CONF,
    ResolvConf,
    candidates,
    cluster_dns_ip,
    parse_resolv_conf,
    pod_resolv_conf,
)
from tests.builders import a_pod

# dns_test.go's TestGetPodDNSCustom values
NS = "testNS"
CLUSTER_NS = "10.0.0.10"
DOMAIN = "kubernetes.io"
HOST = parse_resolv_conf("nameserver 8.8.8.8\nsearch host.domain\n")
CLUSTER_SEARCH = (f"{NS}.svc.{DOMAIN}", f"svc.{DOMAIN}", DOMAIN)


def pod(policy: DNSPolicy, *, host_network: bool = False, dns_config: PodDNSConfig | None = None) -> Pod:
    p = a_pod("web", NS)
    return attrs.evolve(p, spec=attrs.evolve(p.spec, dns_policy=policy, host_network=host_network, dns_config=dns_config))


def conf_of(p: Pod, cluster_dns: tuple[str, ...] = (CLUSTER_NS,)) -> ResolvConf:
    return pod_resolv_conf(p, cluster_dns=cluster_dns, cluster_domain=DOMAIN, host=HOST)


CUSTOM = PodDNSConfig(
    nameservers=("10.0.0.11",),
    searches=("my.domain",),
    options=(PodDNSConfigOption(name="ndots", value="3"), PodDNSConfigOption(name="debug")),
)

GET_POD_DNS_CUSTOM = [
    ("DNSNone without DNSConfig should have empty DNS settings", pod(DNSPolicy.NONE), ResolvConf()),
    (
        "DNSNone with DNSConfig should have a merged DNS settings",
        pod(DNSPolicy.NONE, dns_config=PodDNSConfig(
            nameservers=("203.0.113.1",),
            searches=("my.domain", "second.domain"),
            options=(PodDNSConfigOption(name="ndots", value="3"), PodDNSConfigOption(name="debug")),
        )),
        ResolvConf(nameservers=("203.0.113.1",), searches=("my.domain", "second.domain"), options=("ndots:3", "debug")),
    ),
    (
        "DNSClusterFirst with DNSConfig should have a merged DNS settings",
        pod(DNSPolicy.CLUSTER_FIRST, dns_config=CUSTOM),
        ResolvConf(
            nameservers=(CLUSTER_NS, "10.0.0.11"),
            searches=(*CLUSTER_SEARCH, "host.domain", "my.domain"),
            options=("ndots:3", "debug"),
        ),
    ),
    (
        "DNSClusterFirstWithHostNet with DNSConfig should have a merged DNS settings",
        pod(DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET, host_network=True, dns_config=CUSTOM),
        ResolvConf(
            nameservers=(CLUSTER_NS, "10.0.0.11"),
            searches=(*CLUSTER_SEARCH, "host.domain", "my.domain"),
            options=("ndots:3", "debug"),
        ),
    ),
    (
        "DNSDefault with DNSConfig should have a merged DNS settings",
        pod(DNSPolicy.DEFAULT, dns_config=CUSTOM),
        ResolvConf(nameservers=("8.8.8.8", "10.0.0.11"), searches=("host.domain", "my.domain"), options=("ndots:3", "debug")),
    ),
]


@pytest.mark.parametrize(("desc", "p", "want"), GET_POD_DNS_CUSTOM, ids=[c[0] for c in GET_POD_DNS_CUSTOM])
def test_get_pod_dns_custom(desc: str, p: Pod, want: ResolvConf) -> None:
    assert conf_of(p) == want


CLUSTER = ResolvConf(nameservers=(CLUSTER_NS,), searches=(*CLUSTER_SEARCH, "host.domain"), options=("ndots:5",))

GET_POD_DNS = [
    ("ClusterFirst", pod(DNSPolicy.CLUSTER_FIRST), CLUSTER),
    ("ClusterFirst on the host network falls back to Default", pod(DNSPolicy.CLUSTER_FIRST, host_network=True), HOST),
    ("ClusterFirstWithHostNet on the host network", pod(DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET, host_network=True), CLUSTER),
    ("ClusterFirstWithHostNet off the host network", pod(DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET), CLUSTER),
    ("Default", pod(DNSPolicy.DEFAULT), HOST),
    ("Default on the host network", pod(DNSPolicy.DEFAULT, host_network=True), HOST),
]


@pytest.mark.parametrize(("desc", "p", "want"), GET_POD_DNS, ids=[c[0] for c in GET_POD_DNS])
def test_get_pod_dns(desc: str, p: Pod, want: ResolvConf) -> None:
    assert conf_of(p) == want


def test_cluster_first_without_a_cluster_dns_falls_back_to_default() -> None:
    assert conf_of(pod(DNSPolicy.CLUSTER_FIRST), cluster_dns=()) == HOST


def test_a_cluster_first_pod_writes_the_kubelets_file() -> None:
    p = a_pod("web", "team")
    assert pod_resolv_conf(p, cluster_dns=("10.96.0.10",)).text() == (
        "nameserver 10.96.0.10\n"
        "search team.svc.cluster.local svc.cluster.local cluster.local\n"
        "options ndots:5\n"
    )


def test_the_default_host_resolver_has_no_cluster_search_path() -> None:
    p = attrs.evolve(a_pod("web"), spec=attrs.evolve(a_pod().spec, dns_policy=DNSPolicy.DEFAULT))
    assert pod_resolv_conf(p, cluster_dns=("10.96.0.10",)) == HOST_RESOLV_CONF
    assert HOST_RESOLV_CONF.searches == ()


def test_duplicate_searches_and_nameservers_are_dropped() -> None:
    extra = PodDNSConfig(nameservers=(CLUSTER_NS,), searches=(f"svc.{DOMAIN}", "x.y"))
    got = conf_of(pod(DNSPolicy.CLUSTER_FIRST, dns_config=extra))
    assert (got.nameservers, got.searches) == ((CLUSTER_NS,), (*CLUSTER_SEARCH, "host.domain", "x.y"))


def test_at_most_three_nameservers_are_kept() -> None:
    extra = PodDNSConfig(nameservers=("1.1.1.1", "2.2.2.2", "3.3.3.3"))
    assert conf_of(pod(DNSPolicy.NONE, dns_config=extra)).nameservers == ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    more = PodDNSConfig(nameservers=("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"))
    assert conf_of(pod(DNSPolicy.NONE, dns_config=more)).nameservers == ("1.1.1.1", "2.2.2.2", "3.3.3.3")


FITS_LIMITS = [
    # TestFormDNSSearchFitsLimits, with the expanded limits (32 paths, 2048 characters)
    ("within the limits", tuple(f"d{i}.com" for i in range(5)), tuple(f"d{i}.com" for i in range(5))),
    ("more than 32 paths", tuple(f"d{i}.com" for i in range(40)), tuple(f"d{i}.com" for i in range(32))),
    ("a path longer than 253 characters", ("a" * 254, "ok.com"), ("ok.com",)),
    ("a line longer than 2048 characters", tuple(("x" * 200) + str(i) for i in range(11)), tuple(("x" * 200) + str(i) for i in range(10))),
]


@pytest.mark.parametrize(("desc", "searches", "want"), FITS_LIMITS, ids=[c[0] for c in FITS_LIMITS])
def test_form_dns_search_fits_limits(desc: str, searches: tuple[str, ...], want: tuple[str, ...]) -> None:
    got = conf_of(pod(DNSPolicy.NONE, dns_config=PodDNSConfig(nameservers=("1.1.1.1",), searches=searches)))
    assert got.searches == want


PARSE = [
    # TestParseResolvConf
    ("", ResolvConf()),
    (" ", ResolvConf()),
    ("\n", ResolvConf()),
    ("\t\n\t", ResolvConf()),
    ("#comment\n", ResolvConf()),
    (" #comment\n", ResolvConf()),
    ("#comment\n#comment", ResolvConf()),
    ("nameserver", ResolvConf()),
    ("nameserver 1.2.3.4", ResolvConf(nameservers=("1.2.3.4",))),
    (" nameserver 1.2.3.4", ResolvConf(nameservers=("1.2.3.4",))),
    ("\tnameserver 1.2.3.4", ResolvConf(nameservers=("1.2.3.4",))),
    ("nameserver\t1.2.3.4", ResolvConf(nameservers=("1.2.3.4",))),
    ("nameserver 1.2.3.4\nnameserver 5.6.7.8", ResolvConf(nameservers=("1.2.3.4", "5.6.7.8"))),
    ("search foo", ResolvConf(searches=("foo",))),
    ("search foo bar", ResolvConf(searches=("foo", "bar"))),
    ("search foo. bar", ResolvConf(searches=("foo", "bar"))),
    ("search foo bar\nsearch baz", ResolvConf(searches=("baz",))),
    ("nameserver 1.2.3.4\nsearch foo bar", ResolvConf(nameservers=("1.2.3.4",), searches=("foo", "bar"))),
    ("options ndots:5 attempts:2", ResolvConf(options=("ndots:5", "attempts:2"))),
    ("options ndots:1\noptions ndots:5 attempts:3", ResolvConf(options=("ndots:5", "attempts:3"))),
]


@pytest.mark.parametrize(("text", "want"), PARSE, ids=[repr(t) for t, _ in PARSE])
def test_parse_resolv_conf(text: str, want: ResolvConf) -> None:
    assert parse_resolv_conf(text) == want


def test_the_cluster_dns_is_the_tenth_address_of_the_service_cidr() -> None:
    assert cluster_dns_ip("10.96.0.0/12") == "10.96.0.10"
    assert cluster_dns_ip("10.100.0.0/16,fd00::/108") == "10.100.0.10"


CONF = ResolvConf(searches=("ns.svc.cluster.local", "svc.cluster.local", "cluster.local"), options=("ndots:5",))


@pytest.mark.parametrize(
    ("name", "conf", "want"),
    [
        ("web", CONF, ("web.ns.svc.cluster.local.", "web.svc.cluster.local.", "web.cluster.local.", "web.")),
        ("web.", CONF, ("web.",)),
        ("a.b.c.d.e.f", CONF, ("a.b.c.d.e.f.", "a.b.c.d.e.f.ns.svc.cluster.local.", "a.b.c.d.e.f.svc.cluster.local.", "a.b.c.d.e.f.cluster.local.")),
        ("a.b.c.d.e", CONF, ("a.b.c.d.e.ns.svc.cluster.local.", "a.b.c.d.e.svc.cluster.local.", "a.b.c.d.e.cluster.local.", "a.b.c.d.e.")),
        ("web.ns", ResolvConf(searches=("x",)), ("web.ns.", "web.ns.x.")),  # glibc's ndots 1
        ("web", ResolvConf(), ("web.",)),
    ],
)
def test_the_glibc_search_rule(name: str, conf: ResolvConf, want: tuple[str, ...]) -> None:
    assert candidates(name, conf) == want


def test_ndots_reads_the_last_option() -> None:
    assert ResolvConf(options=("ndots:2", "ndots:3")).ndots == 3
    assert ResolvConf().ndots == 1
    assert ResolvConf(options=("ndots:30",)).ndots == 15

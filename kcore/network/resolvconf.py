"""A pod's /etc/resolv.conf, as the kubelet writes it, and the resolver's search rule.

Owns `ResolvConf` (nameservers, search path, options; `text()` is the file), the node's
own resolver configuration `HOST_RESOLV_CONF`, `pod_resolv_conf` (the kubelet's
GetPodDNS), `parse_resolv_conf` (its parseResolvConf), `cluster_dns_ip` (kubeadm's
clusterDNS, the 10th address of the service CIDR) and `candidates`, the names a stub
resolver (glibc's res_search) sends for one lookup, in order.

Rules (as upstream's kubelet):
- dnsPolicy picks the base: `ClusterFirst` -> the cluster DNS server as the only
  nameserver, search `<ns>.svc.<domain> svc.<domain> <domain>` then the host's search
  path (duplicates dropped), options `ndots:5`; a `hostNetwork` pod with `ClusterFirst`
  falls back to `Default`; `ClusterFirstWithHostNet` is `ClusterFirst` whatever the
  network; `Default` is the node's own resolv.conf; `None` starts empty. No cluster DNS
  configured -> `ClusterFirst` falls back to `Default` (upstream also records a
  MissingClusterDNS Warning, which this pure function does not).
- `spec.dnsConfig` is appended: nameservers and searches after the base's (duplicates
  dropped), options merged by name (the pod's value wins).
- Limits: at most 3 nameservers, at most 32 search domains, none longer than 253
  characters, the search line at most 2048 characters (the ExpandedDNSConfig limits).
- Search rule: a name ending in "." is absolute and sent as is; a name with at least
  `ndots` dots is tried as is first, then with each search suffix; a shorter one with
  each suffix first, then as is. `ndots` is 1 when no option sets it (glibc's default).

The node's resolver is modelled, not read: `HOST_RESOLV_CONF` has one nameserver and no
search path (a cloud VPC resolver). Upstream's option merge goes through a Go map, so its
order varies; here the base's options keep their order and new ones follow.

Pure. Mirrors pkg/kubelet/network/dns/dns.go and glibc resolv/res_query.c (res_search).
"""

from __future__ import annotations

import ipaddress
from typing import Final

import attrs

from kcore.api.pod import DNSPolicy, Pod, PodDNSConfig

CLUSTER_DOMAIN: Final = "cluster.local"
"""The kubelet's --cluster-domain (kubeadm's default networking.dnsDomain)."""
CLUSTER_DNS_INDEX: Final = 10
"""kubeadm's clusterDNS: the 10th address of the service subnet (10.96.0.10)."""
HOST_NAMESERVER: Final = "169.254.169.253"
"""The node's own resolver (a cloud VPC's): it knows nothing of the cluster's names."""
DEFAULT_OPTIONS: Final = ("ndots:5",)
MAX_NAMESERVERS: Final = 3
MAX_SEARCH_PATHS: Final = 32
MAX_SEARCH_CHARS: Final = 2048
MAX_SEARCH_LENGTH: Final = 253
GLIBC_NDOTS: Final = 1


@attrs.frozen(kw_only=True)
class ResolvConf:
    """One resolv.conf: what a resolver reads."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def text(self) -> str:
        """The file as the kubelet writes it (nameserver lines, one search and one options line)."""
        lines = [f"nameserver {ns}" for ns in self.nameservers]
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)

    @property
    def ndots(self) -> int:
        """The `ndots:N` option (the last one wins), else glibc's default of 1, capped at 15."""
        found = GLIBC_NDOTS
        for opt in self.options:
            name, _, value = opt.partition(":")
            if name == "ndots" and value.isdigit():
                found = min(int(value), 15)
        return found


HOST_RESOLV_CONF: Final = ResolvConf(nameservers=(HOST_NAMESERVER,))


def cluster_dns_ip(service_cidr: str) -> str:
    """kubeadm's clusterDNS for `service_cidr`: its 10th address (10.96.0.0/12 -> 10.96.0.10)."""
    net = ipaddress.ip_network(service_cidr.split(",")[0].strip(), strict=False)
    return str(net.network_address + CLUSTER_DNS_INDEX)


def parse_resolv_conf(text: str) -> ResolvConf:
    """parseResolvConf: nameserver lines accumulate; the last search and options lines win."""
    nameservers: list[str] = []
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    for line in text.split("\n"):
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            nameservers.append(fields[1])
        elif fields[0] == "search":
            searches = tuple(s.removesuffix(".") for s in fields[1:])
        elif fields[0] == "options":
            options = tuple(fields[1:])
    return ResolvConf(nameservers=tuple(nameservers), searches=searches, options=options)


def pod_resolv_conf(
    pod: Pod,
    *,
    cluster_dns: tuple[str, ...],
    cluster_domain: str = CLUSTER_DOMAIN,
    host: ResolvConf = HOST_RESOLV_CONF,
) -> ResolvConf:
    """GetPodDNS: the resolv.conf the kubelet writes into `pod`'s sandbox."""
    spec = pod.spec
    policy = spec.dns_policy
    if policy is DNSPolicy.CLUSTER_FIRST and spec.host_network:
        policy = DNSPolicy.DEFAULT
    if policy in (DNSPolicy.CLUSTER_FIRST, DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET) and not cluster_dns:
        policy = DNSPolicy.DEFAULT
    match policy:
        case DNSPolicy.NONE:
            conf = ResolvConf()
        case DNSPolicy.CLUSTER_FIRST | DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET:
            conf = ResolvConf(
                nameservers=cluster_dns,
                searches=_cluster_searches(pod.metadata.namespace, cluster_domain, host.searches),
                options=DEFAULT_OPTIONS,
            )
        case DNSPolicy.DEFAULT:
            conf = host
    if spec.dns_config is not None:
        conf = _append_dns_config(conf, spec.dns_config)
    return _fit_limits(conf)


def candidates(name: str, conf: ResolvConf) -> tuple[str, ...]:
    """res_search: the absolute names (trailing dot) a lookup of `name` tries, in order."""
    if name.endswith("."):
        return (name,)
    searched = tuple(f"{name}.{suffix.strip('.')}." for suffix in conf.searches if suffix.strip("."))
    if name.count(".") >= conf.ndots:
        return _unique((f"{name}.", *searched))
    return _unique((*searched, f"{name}."))


def _cluster_searches(namespace: str, domain: str, host_searches: tuple[str, ...]) -> tuple[str, ...]:
    """generateSearchesForDNSClusterFirst: the cluster's three domains, then the host's."""
    if not domain:
        return host_searches
    return _unique((f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *host_searches))


def _append_dns_config(conf: ResolvConf, extra: PodDNSConfig) -> ResolvConf:
    """appendDNSConfig: nameservers and searches appended, options merged by name."""
    merged: dict[str, str | None] = {}
    for opt in conf.options:
        name, sep, value = opt.partition(":")
        merged[name] = value if sep else None
    for o in extra.options:
        merged[o.name] = o.value
    options = tuple(name if not value else f"{name}:{value}" for name, value in merged.items())
    return ResolvConf(
        nameservers=_unique((*conf.nameservers, *extra.nameservers)),
        searches=_unique((*conf.searches, *extra.searches)),
        options=options,
    )


def _fit_limits(conf: ResolvConf) -> ResolvConf:
    """formDNSConfigFitsLimits: 3 nameservers; 32 searches, each <= 253, the line <= 2048."""
    searches = tuple(s for s in conf.searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_SEARCH_LENGTH)
    while searches and len(" ".join(searches)) > MAX_SEARCH_CHARS:
        searches = searches[:-1]
    return attrs.evolve(conf, nameservers=conf.nameservers[:MAX_NAMESERVERS], searches=searches)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))

"""Cluster DNS as CoreDNS's kubernetes plugin serves it: the records, and one query's answer.

Owns `Zone` (what the DNS server knows: namespaces, services, the ready endpoints of their
EndpointSlices, the reverse indexes and whether a server pod is Ready), `absorb` (one watch
event folded in, at the cost of what it touches), `zone_from` (the zone of a whole
cluster state: a fresh LIST), `resolve` (the server's answer to one question) and `lookup`
(a pod's stub resolver: its resolv.conf's nameservers and search rule around `resolve`).

Rules (the kubernetes/dns specification, as CoreDNS's plugin/kubernetes answers it with
kubeadm's Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure;
fallthrough in-addr.arpa ip6.arpa; ttl 30 }`):
- Names compare case-insensitively; answers are fully qualified with the trailing dot.
- `<svc>.<ns>.svc.<zone>`: A of a ClusterIP service's clusterIPs; of a headless service
  (clusterIP None) one A per ready endpoint IP (NXDOMAIN when none is ready); an
  ExternalName service answers a CNAME (chased inside the cluster zone when it points
  there). `<hostname>.<svc>.<ns>.svc.<zone>`: the ready endpoints of that hostname (the
  endpoint's `hostname`, else its IP with dashes), for any service but ExternalName.
- SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>` (underscores optional, as CoreDNS strips
  them): one per matching port, target the service's name for a ClusterIP service, one
  per ready endpoint (`<hostname>.<svc>...`) for a headless one; the bare service name
  answers one SRV per port. Priority 0, weight floor(100 / records), as CoreDNS's
  backend_lookup computes them.
- PTR `d.c.b.a.in-addr.arpa`: a service clusterIP -> the service's name; else every ready
  endpoint with that IP -> `<hostname>.<svc>.<ns>.svc.<zone>` (CoreDNS reverse.go).
- `a-b-c-d.<ns>.pod.<zone>`: A a.b.c.d for any well-formed address in an existing
  namespace (`pods insecure`: no pod need have it).
- `dns-version.<zone>` TXT: the schema version CoreDNS serves.
- Existing names without records of the asked type (the apex, `svc.<zone>`,
  `<ns>.svc.<zone>`, AAAA of an IPv4 service, SRV of a portless one) are NODATA: NOERROR
  with no answers. Any other name is NXDOMAIN: kcore has no upstream, so `forward .
  /etc/resolv.conf` finds nothing outside the cluster zone either.
- The server answers only while one of its pods (label k8s-app=kube-dns in kube-system)
  is Ready; otherwise every question is SERVFAIL with a reason (a real client times out).
- Answers are in a fixed order (addresses ascending), not shuffled as `loadbalance` does.

Must not know: the component that keeps a zone, the apiserver, the command line.
Pure. Mirrors coredns/coredns plugin/kubernetes (kubernetes.go findServices/findPods,
parse.go, reverse.go, handler.go), plugin/backend_lookup.go (SRV weights) and the
kubernetes/dns docs/specification.md.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import Namespace, Service, ServiceType
from kcore.api.discovery import LABEL_SERVICE_NAME, AddressType, EndpointSlice, is_ready
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus
from kcore.api.pod import Pod
from kcore.api.watch import WatchEvent, WatchType
from kcore.network.resolvconf import CLUSTER_DOMAIN, HOST_NAMESERVER, ResolvConf, candidates
from kcore.state import ClusterState, list_objects

TTL: Final = 30
"""The Corefile's `ttl 30`."""
DNS_SCHEMA_VERSION: Final = "1.1.0"
"""What CoreDNS answers for dns-version.<zone> TXT."""
DNS_NAMESPACE: Final = "kube-system"
DNS_SERVICE: Final = "kube-dns"
DNS_APP_LABEL: Final = "k8s-app"
DNS_APP: Final = "kube-dns"
NO_PORT: Final = -1
"""CoreDNS's port of a service or slice without ports: A records, no SRV."""


class RecordType(enum.Enum):
    A = "A"
    AAAA = "AAAA"
    SRV = "SRV"
    CNAME = "CNAME"
    PTR = "PTR"
    TXT = "TXT"


class Rcode(enum.Enum):
    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    SERVFAIL = "SERVFAIL"


class Shape(enum.Enum):
    CLUSTER_IP = "ClusterIP"
    HEADLESS = "Headless"
    EXTERNAL_NAME = "ExternalName"


@attrs.frozen(kw_only=True)
class Answer:
    """One resource record of an answer section."""

    name: str
    type: RecordType
    data: str
    ttl: int = TTL


@attrs.frozen(kw_only=True)
class Reply:
    """A server's reply: NOERROR with no answers is NODATA."""

    rcode: Rcode
    answers: tuple[Answer, ...] = ()
    reason: str = ""  # why, for SERVFAIL


@attrs.frozen(kw_only=True, order=True)
class PortRecord:
    name: str
    protocol: str  # lower case: tcp, udp, sctp
    port: int


@attrs.frozen(kw_only=True)
class ServiceRecord:
    namespace: str
    name: str
    shape: Shape
    cluster_ips: tuple[str, ...] = ()
    external_name: str = ""
    ports: tuple[PortRecord, ...] = ()


@attrs.frozen(kw_only=True, order=True)
class EndpointRecord:
    """A ready endpoint address and its DNS hostname (its `hostname`, else the IP dashed)."""

    ip: str
    hostname: str


@attrs.frozen(kw_only=True)
class SliceRecord:
    endpoints: tuple[EndpointRecord, ...] = ()
    ports: tuple[PortRecord, ...] = ()


ServiceKey = tuple[str, str]  # (namespace, name)
PtrEntry = tuple[str, str, str]  # (namespace, service, hostname)


@attrs.frozen(kw_only=True)
class Zone:
    """What the DNS server knows, kept incrementally by `absorb`."""

    domain: str = CLUSTER_DOMAIN
    namespaces: PSet[str] = pset()
    services: PMap[ServiceKey, ServiceRecord] = pmap()
    slices: PMap[ServiceKey, PMap[str, SliceRecord]] = pmap()
    cluster_ips: PMap[str, ServiceKey] = pmap()
    endpoint_ips: PMap[str, PSet[PtrEntry]] = pmap()
    server_pods: PMap[str, bool] = pmap()  # the DNS server's pods -> Ready


# --- keeping the zone ------------------------------------------------------------------


def zone_from(state: ClusterState, domain: str = CLUSTER_DOMAIN) -> Zone:
    """The zone of everything in `state` (what a fresh LIST gives the server)."""
    zone = Zone(domain=domain)
    for kind, namespace in (
        (Kind.NAMESPACE, None),
        (Kind.SERVICE, None),
        (Kind.ENDPOINT_SLICE, None),
        (Kind.POD, DNS_NAMESPACE),
    ):
        for obj in list_objects(state, kind, namespace):
            zone = absorb(zone, WatchEvent(type=WatchType.ADDED, obj=obj, resource_version=0))
    return zone


def absorb(zone: Zone, ev: WatchEvent) -> Zone:
    """`zone` after one watch event of a Namespace, Service, EndpointSlice or server Pod."""
    gone = ev.type is WatchType.DELETED
    if ev.type is WatchType.ERROR:
        return zone
    obj = ev.obj
    if isinstance(obj, Namespace):
        name = obj.metadata.name
        return attrs.evolve(zone, namespaces=zone.namespaces.discard(name) if gone else zone.namespaces.add(name))
    if isinstance(obj, Service):
        return _set_service(zone, (obj.metadata.namespace, obj.metadata.name), None if gone else service_record(obj))
    if isinstance(obj, EndpointSlice):
        return _set_slice(zone, obj, gone)
    if isinstance(obj, Pod) and is_server_pod(obj):
        name = obj.metadata.name
        pods = zone.server_pods.discard(name) if gone else zone.server_pods.set(name, _pod_ready(obj))
        return attrs.evolve(zone, server_pods=pods)
    return zone


def is_server_pod(obj: ApiObject) -> bool:
    """A pod of the DNS server: label k8s-app=kube-dns in kube-system."""
    return (
        isinstance(obj, Pod)
        and obj.metadata.namespace == DNS_NAMESPACE
        and obj.metadata.labels.get(DNS_APP_LABEL) == DNS_APP
    )


def service_record(svc: Service) -> ServiceRecord:
    """What DNS keeps of a Service."""
    spec = svc.spec
    ips: tuple[str, ...] = ()
    if spec.type is ServiceType.EXTERNAL_NAME:
        shape = Shape.EXTERNAL_NAME
    elif spec.cluster_ip == "None":
        shape = Shape.HEADLESS
    else:
        shape = Shape.CLUSTER_IP
        ips = tuple(ip for ip in (spec.cluster_ips or (spec.cluster_ip,)) if ip and ip != "None")
    ports = tuple(PortRecord(name=p.name, protocol=p.protocol.value.lower(), port=p.port) for p in spec.ports)
    return ServiceRecord(
        namespace=svc.metadata.namespace,
        name=svc.metadata.name,
        shape=shape,
        cluster_ips=ips,
        external_name=spec.external_name.lower().rstrip("."),
        ports=ports,
    )


def slice_record(es: EndpointSlice) -> SliceRecord:
    """The ready addresses of a slice and its ports (FQDN slices carry no addresses DNS serves)."""
    if es.address_type is AddressType.FQDN:
        return SliceRecord()
    endpoints = tuple(
        EndpointRecord(ip=ip, hostname=(ep.hostname or _dashed(ip)).lower())
        for ep in es.endpoints
        if is_ready(ep)
        for ip in ep.addresses
    )
    ports = tuple(
        PortRecord(name=p.name or "", protocol=(p.protocol.value if p.protocol else "TCP").lower(), port=p.port)
        for p in es.ports
        if p.port is not None
    )
    return SliceRecord(endpoints=endpoints, ports=ports)


def _set_service(zone: Zone, key: ServiceKey, record: ServiceRecord | None) -> Zone:
    old = zone.services.get(key)
    cluster_ips = zone.cluster_ips
    for ip in old.cluster_ips if old is not None else ():
        if cluster_ips.get(ip) == key:
            cluster_ips = cluster_ips.discard(ip)
    for ip in record.cluster_ips if record is not None else ():
        cluster_ips = cluster_ips.set(ip, key)
    services = zone.services.discard(key) if record is None else zone.services.set(key, record)
    return attrs.evolve(zone, services=services, cluster_ips=cluster_ips)


def _set_slice(zone: Zone, es: EndpointSlice, gone: bool) -> Zone:
    service = es.metadata.labels.get(LABEL_SERVICE_NAME, "")
    if not service:
        return zone
    key = (es.metadata.namespace, service)
    of_service = zone.slices.get(key, pmap())
    old = of_service.get(es.metadata.name)
    new = None if gone else slice_record(es)
    index = zone.endpoint_ips
    for ep in old.endpoints if old is not None else ():
        index = _index_discard(index, ep.ip, (key[0], key[1], ep.hostname))
    for ep in new.endpoints if new is not None else ():
        index = _index_add(index, ep.ip, (key[0], key[1], ep.hostname))
    of_service = of_service.discard(es.metadata.name) if new is None else of_service.set(es.metadata.name, new)
    slices = zone.slices.set(key, of_service) if of_service else zone.slices.discard(key)
    return attrs.evolve(zone, slices=slices, endpoint_ips=index)


def _index_add(index: PMap[str, PSet[PtrEntry]], ip: str, entry: PtrEntry) -> PMap[str, PSet[PtrEntry]]:
    return index.set(ip, index.get(ip, pset()).add(entry))


def _index_discard(index: PMap[str, PSet[PtrEntry]], ip: str, entry: PtrEntry) -> PMap[str, PSet[PtrEntry]]:
    left = index.get(ip, pset()).discard(entry)
    return index.set(ip, left) if left else index.discard(ip)


def _pod_ready(pod: Pod) -> bool:
    return any(c.type == "Ready" and c.status is ConditionStatus.TRUE for c in pod.status.conditions)


def _dashed(ip: str) -> str:
    return ip.replace(".", "-") if "." in ip else ip.replace(":", "-")


# --- answering ---------------------------------------------------------------------------


def not_serving(zone: Zone) -> str:
    """Why the server does not answer ("" when one of its pods is Ready)."""
    if any(zone.server_pods.values()):
        return ""
    if not zone.server_pods:
        return f"no CoreDNS pod ({DNS_APP_LABEL}={DNS_APP} in {DNS_NAMESPACE}) exists"
    return f"no CoreDNS pod ({DNS_APP_LABEL}={DNS_APP} in {DNS_NAMESPACE}) is Ready"


def fqdn(name: str) -> str:
    """`name` lower-cased and absolute (one trailing dot)."""
    return name.lower().rstrip(".") + "."


def malformed(name: str) -> str:
    """Why `name` is not a well-formed domain name ("" when it is)."""
    bare = name[:-1] if name.endswith(".") else name
    if not bare:
        return "empty name"
    if len(bare) > 253:
        return "name longer than 253 characters"
    for label in bare.split("."):
        if not label:
            return "empty label"
        if len(label) > 63:
            return f"label {label[:20]}... longer than 63 characters"
        if any(c.isspace() or c in "\\\"()" for c in label):
            return f"label {label!r} has a character a name cannot hold"
    return ""


def resolve(zone: Zone, name: str, qtype: RecordType) -> Reply:
    """The DNS server's reply to one question (`name` taken as absolute)."""
    reason = not_serving(zone)
    if reason:
        return Reply(rcode=Rcode.SERVFAIL, reason=reason)
    return answer(zone, fqdn(name), qtype)


def answer(zone: Zone, qname: str, qtype: RecordType) -> Reply:
    """The records for `qname` (absolute, lower case), as a serving CoreDNS answers."""
    apex = zone.domain + "."
    if qname.endswith(".in-addr.arpa.") or qname.endswith(".ip6.arpa."):
        return _reverse(zone, qname, qtype)
    if qname == f"dns-version.{apex}":
        if qtype is RecordType.TXT:
            return Reply(rcode=Rcode.NOERROR, answers=(Answer(name=qname, type=qtype, data=f'"{DNS_SCHEMA_VERSION}"'),))
        return Reply(rcode=Rcode.NOERROR)
    if qname == apex:
        return Reply(rcode=Rcode.NOERROR)
    if not qname.endswith("." + apex):
        return Reply(rcode=Rcode.NXDOMAIN)
    segs = qname[: -len(apex) - 1].split(".")
    kind = segs[-1]
    if kind not in ("svc", "pod"):
        return Reply(rcode=Rcode.NXDOMAIN)
    if len(segs) == 1:
        return Reply(rcode=Rcode.NOERROR)
    if segs[-2] not in zone.namespaces:
        return Reply(rcode=Rcode.NXDOMAIN)
    if len(segs) == 2:
        return Reply(rcode=Rcode.NOERROR)
    if kind == "pod":
        return _pod(qname, segs, qtype)
    return _service(zone, qname, segs, qtype)


def _pod(qname: str, segs: list[str], qtype: RecordType) -> Reply:
    """findPods in `pods insecure` mode: the address the name spells."""
    label = segs[-3]
    if len(segs) != 3:
        return Reply(rcode=Rcode.NXDOMAIN)
    text = label.replace("-", ".") if label.count("-") == 3 and "--" not in label else label.replace("-", ":")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return Reply(rcode=Rcode.NXDOMAIN)
    want = RecordType.A if ip.version == 4 else RecordType.AAAA
    if qtype is not want:
        return Reply(rcode=Rcode.NOERROR)
    return Reply(rcode=Rcode.NOERROR, answers=(Answer(name=qname, type=qtype, data=str(ip)),))


@attrs.frozen
class _Item:
    """One of findServices' results: an address (or external name) with a port and the
    name an SRV record points at."""

    host: str
    port: int
    target: str


def _service(zone: Zone, qname: str, segs: list[str], qtype: RecordType) -> Reply:
    """findServices, then the records of the asked type."""
    namespace, service = segs[-2], segs[-3]
    endpoint, port, protocol = "", "", ""
    if len(segs) == 4:
        endpoint = segs[0]
    elif len(segs) == 5:
        port, protocol = segs[0].removeprefix("_"), segs[1].removeprefix("_")
    elif len(segs) > 5:
        return Reply(rcode=Rcode.NXDOMAIN)
    record = zone.services.get((namespace, service))
    if record is None:
        return Reply(rcode=Rcode.NXDOMAIN)
    items = _items(zone, record, endpoint, port, protocol)
    if items is None:
        return Reply(rcode=Rcode.NXDOMAIN)
    if record.shape is Shape.EXTERNAL_NAME:
        return _external(zone, qname, items[0], qtype, len(items))
    if qtype in (RecordType.A, RecordType.AAAA):
        version = 4 if qtype is RecordType.A else 6
        ips = sorted({a for a in (_address(i.host) for i in items) if a is not None and a.version == version})
        return Reply(rcode=Rcode.NOERROR, answers=tuple(Answer(name=qname, type=qtype, data=str(ip)) for ip in ips))
    if qtype is RecordType.SRV:
        return Reply(rcode=Rcode.NOERROR, answers=_srv(qname, items))
    return Reply(rcode=Rcode.NOERROR)


def _items(zone: Zone, record: ServiceRecord, endpoint: str, port: str, protocol: str) -> list[_Item] | None:
    """findServices' results for one service; None when it has none (NXDOMAIN), empty when
    the name exists with no address (a ClusterIP service whose address is not set yet)."""
    svc_name = f"{record.name}.{record.namespace}.svc.{zone.domain}."
    if record.shape is Shape.EXTERNAL_NAME:
        if endpoint or not record.external_name or _address(record.external_name) is not None:
            return None
        return [_Item(host=record.external_name, port=0, target=record.external_name + ".")]
    if record.shape is Shape.HEADLESS or endpoint:
        found: list[_Item] = []
        of_service = zone.slices.get((record.namespace, record.name), pmap())
        for slice_name in sorted(of_service):
            sr = of_service[slice_name]
            for ep in sorted(sr.endpoints):
                if endpoint and ep.hostname != endpoint:
                    continue
                for p in _ports(sr.ports):
                    if _matches(p, port, protocol):
                        found.append(_Item(host=ep.ip, port=p.port, target=f"{ep.hostname}.{svc_name}"))
        return found or None
    matching = [p for p in _ports(record.ports) if _matches(p, port, protocol)]
    if not matching:
        return None
    return [_Item(host=ip, port=p.port, target=svc_name) for p in matching for ip in record.cluster_ips]


def _ports(ports: tuple[PortRecord, ...]) -> tuple[PortRecord, ...]:
    return ports or (PortRecord(name="", protocol="", port=NO_PORT),)


def _matches(p: PortRecord, port: str, protocol: str) -> bool:
    """matchPortAndProtocol: an empty query part matches anything."""
    return (not port or port == p.name.lower()) and (not protocol or protocol == p.protocol)


def _srv(qname: str, items: Iterable[_Item]) -> tuple[Answer, ...]:
    listed = list(items)
    weight = 100 // len(listed) if listed else 0
    out: dict[tuple[str, int], Answer] = {}
    for i in listed:
        if i.port == NO_PORT or (i.target, i.port) in out:
            continue
        out[(i.target, i.port)] = Answer(name=qname, type=RecordType.SRV, data=f"0 {weight} {i.port} {i.target}")
    return tuple(out.values())


def _external(zone: Zone, qname: str, item: _Item, qtype: RecordType, count: int) -> Reply:
    """An ExternalName service: its CNAME, and the target's addresses when the cluster holds them."""
    if qtype is RecordType.SRV:
        return Reply(rcode=Rcode.NOERROR, answers=_srv(qname, (item,) * count))
    cname = Answer(name=qname, type=RecordType.CNAME, data=item.target)
    if qtype not in (RecordType.A, RecordType.AAAA, RecordType.CNAME):
        return Reply(rcode=Rcode.NOERROR)
    if qtype is RecordType.CNAME or not item.target.endswith("." + zone.domain + ".") or item.target == qname:
        return Reply(rcode=Rcode.NOERROR, answers=(cname,))
    chased = answer(zone, item.target, qtype)
    chain = tuple(a for a in chased.answers if a.type is not RecordType.CNAME or a.name != qname)
    return Reply(rcode=Rcode.NOERROR, answers=(cname, *chain[:8]))


def _reverse(zone: Zone, qname: str, qtype: RecordType) -> Reply:
    """reverse.go: a clusterIP's service, else the endpoints with that address; nothing
    found falls through to `forward`, which has no upstream: NXDOMAIN."""
    ip = reverse_to_ip(qname)
    if ip is None:
        return Reply(rcode=Rcode.NXDOMAIN)
    targets: list[str] = []
    owner = zone.cluster_ips.get(ip)
    if owner is not None:
        targets.append(f"{owner[1]}.{owner[0]}.svc.{zone.domain}.")
    else:
        for ns, svc, host in sorted(zone.endpoint_ips.get(ip, pset())):
            targets.append(f"{host}.{svc}.{ns}.svc.{zone.domain}.")
    if not targets:
        return Reply(rcode=Rcode.NXDOMAIN)
    if qtype is not RecordType.PTR:
        return Reply(rcode=Rcode.NOERROR)
    return Reply(rcode=Rcode.NOERROR, answers=tuple(Answer(name=qname, type=qtype, data=t) for t in targets))


def reverse_name(ip: str) -> str:
    """The in-addr.arpa (or ip6.arpa) name of an address."""
    return ipaddress.ip_address(ip).reverse_pointer + "."


def reverse_to_ip(qname: str) -> str | None:
    """The address a full in-addr.arpa / ip6.arpa name spells, else None."""
    bare = qname.rstrip(".")
    if bare.endswith(".in-addr.arpa"):
        parts = bare.removesuffix(".in-addr.arpa").split(".")
        if len(parts) != 4:
            return None
        text = ".".join(reversed(parts))
    elif bare.endswith(".ip6.arpa"):
        nibbles = bare.removesuffix(".ip6.arpa").split(".")
        if len(nibbles) != 32:
            return None
        joined = "".join(reversed(nibbles))
        text = ":".join(joined[i : i + 4] for i in range(0, 32, 4))
    else:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# --- a pod's resolver --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Lookup:
    """A stub resolver's result: the name that answered (or the last tried), its reply, and
    the names asked on the way, in order."""

    query: str
    fqdn: str
    reply: Reply
    tried: tuple[str, ...] = ()


def ask(zone: Zone, nameserver: str, name: str, qtype: RecordType) -> Reply:
    """One question to the server at `nameserver`: the cluster DNS Service's clusterIP reaches
    CoreDNS; the node's resolver knows no cluster name; any other address answers nothing."""
    key = zone.cluster_ips.get(nameserver)
    if key == (DNS_NAMESPACE, DNS_SERVICE):
        return resolve(zone, name, qtype)
    if nameserver == HOST_NAMESERVER:
        return Reply(rcode=Rcode.NXDOMAIN)
    return Reply(rcode=Rcode.SERVFAIL, reason=f"no DNS server answers at {nameserver}")


def lookup(zone: Zone, conf: ResolvConf, name: str, qtype: RecordType) -> Lookup:
    """res_search over `conf`: each candidate name in turn, each to the nameservers in order
    (the next one only when a server fails); the first name with answers wins, else NODATA
    if any name had it, else SERVFAIL if any server failed, else NXDOMAIN."""
    names = candidates(name.lower(), conf)
    nodata: tuple[str, Reply] | None = None
    failed: tuple[str, Reply] | None = None
    last: tuple[str, Reply] = (names[-1], Reply(rcode=Rcode.NXDOMAIN))
    for i, candidate in enumerate(names):
        reply = _ask_servers(zone, conf.nameservers, candidate, qtype)
        if reply.rcode is Rcode.NOERROR and reply.answers:
            return Lookup(query=name, fqdn=candidate, reply=reply, tried=names[: i + 1])
        if reply.rcode is Rcode.NOERROR and nodata is None:
            nodata = (candidate, reply)
        elif reply.rcode is Rcode.SERVFAIL and failed is None:
            failed = (candidate, reply)
        last = (candidate, reply)
    chosen = nodata or failed or last
    return Lookup(query=name, fqdn=chosen[0], reply=chosen[1], tried=names)


def _ask_servers(zone: Zone, nameservers: tuple[str, ...], name: str, qtype: RecordType) -> Reply:
    if not nameservers:
        return Reply(rcode=Rcode.SERVFAIL, reason="resolv.conf has no nameserver")
    reply = Reply(rcode=Rcode.SERVFAIL)
    for ns in nameservers:
        reply = ask(zone, ns, name, qtype)
        if reply.rcode is not Rcode.SERVFAIL:
            return reply
    return reply

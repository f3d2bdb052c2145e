"""`kcore net resolve`: look a name up as a pod's resolver would, and print what dig prints.

Owns `add_resolve_parser(net_subparsers)` (the `resolve` action of the `net` group) and
`cmd_net_resolve`: `kcore net resolve NAME [--from pod/POD] [-n NS] [--type A|AAAA|SRV|
CNAME|PTR|TXT] [-o json]`. A read: it loads the cluster and stores nothing.

Rules:
- `--from pod/POD` resolves with that pod's resolv.conf, the one its kubelet handed the
  runtime for its sandbox (`pod_resolv_conf_in`: its dnsPolicy and dnsConfig, the cluster
  DNS at the 10th address of the service CIDR), and the glibc search rule (`dns.lookup`);
  without it the name is asked as is, absolute, of the cluster DNS address
  (`dig @10.96.0.10 NAME`).
- `--type PTR` takes an address (asked as its in-addr.arpa name, as `dig -x`) or the
  in-addr.arpa name itself.
- The records are the running CoreDNS component's own (its state in the store); when
  the cluster runs no such component, they are computed from the stored objects with the
  same pure functions, and a note on stderr says so.
- `-o json` prints `{"query", "fqdn", "rcode", "answers": [{"name", "type", "data"}]}`
  (+ `"reason"` on SERVFAIL); otherwise dig-like sections. Exit 0 for any reply, even
  NXDOMAIN or SERVFAIL; 1 for a bad request (an unknown pod, a malformed name).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any

from kcore.addons.coredns import NAME as COREDNS
from kcore.addons.coredns import CoreDNSState
from kcore.api.kinds import Kind
from kcore.api.pod import Pod
from kcore.cli.session import CliError, store_from_env
from kcore.driver.snapshot import Snapshot
from kcore.network.dns import (
    Lookup,
    Rcode,
    RecordType,
    Reply,
    Zone,
    lookup,
    malformed,
    reverse_name,
    zone_from,
)
from kcore.network.resolvconf import ResolvConf, cluster_dns_ip, pod_resolv_conf
from kcore.network.route import dns_denied, dns_servers
from kcore.runtime.runtime import resolv_conf_of
from kcore.state import ClusterState
from kcore.state import lookup as lookup_object

TYPES = tuple(t.value for t in RecordType)
POD_PREFIXES = ("pod/", "pods/", "po/")


def add_resolve_parser(net_subparsers: Any) -> None:
    """Add `resolve` to the `net` group's subparsers (an argparse `_SubParsersAction`)."""
    p = net_subparsers.add_parser("resolve", help="resolve a name as a pod's resolver would (dig-like)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--from", dest="source", default="", metavar="pod/POD", help="resolve with this pod's resolv.conf")
    p.add_argument("-n", "--namespace", default="", help="the pod's namespace (default: default)")
    p.add_argument("--type", dest="qtype", choices=TYPES, default="A", type=str.upper, help="record type (default A)")
    p.add_argument("-o", "--output", choices=("json",), default="")
    p.set_defaults(func=cmd_net_resolve)


def cmd_net_resolve(args: argparse.Namespace) -> int:
    qtype = RecordType(args.qtype)
    name = _question(args.name, qtype)
    snap = store_from_env().load()
    conf, source, pod = _resolv_conf(snap, args.source, args.namespace or "default")
    zone, running = _zone(snap.state, snap.components.get(COREDNS))
    if not running:
        print(f"note: no {COREDNS} component runs in this cluster: records computed from the stored objects", file=sys.stderr)
    denied = dns_denied(snap.state, zone, dns_servers(snap.state), pod, conf) if pod is not None else ""
    if denied:
        result = Lookup(query=name, fqdn=name, reply=Reply(rcode=Rcode.SERVFAIL, reason=denied))
    else:
        result = lookup(zone, conf, name, qtype)
    result = Lookup(query=args.name, fqdn=result.fqdn, reply=result.reply, tried=result.tried)
    if args.output == "json":
        print(json.dumps(as_json(result), indent=2))
    else:
        print(dig_text(result, qtype, source, conf), end="")
    return 0


def as_json(result: Lookup) -> dict[str, object]:
    """The `-o json` document of one lookup."""
    doc: dict[str, object] = {
        "query": result.query,
        "fqdn": result.fqdn,
        "rcode": result.reply.rcode.value,
        "answers": [{"name": a.name, "type": a.type.value, "data": a.data} for a in result.reply.answers],
    }
    if result.reply.rcode is Rcode.SERVFAIL:
        doc["reason"] = result.reply.reason
    return doc


def dig_text(result: Lookup, qtype: RecordType, source: str, conf: ResolvConf) -> str:
    """What dig prints, in short: the header's status, the question, the answers."""
    reply = result.reply
    lines = [f"; <<>> kcore net resolve <<>> {result.query} (from {source})"]
    lines.append(";; resolv.conf: " + "; ".join(line for line in conf.text().splitlines()))
    if len(result.tried) > 1:
        lines.append(";; tried: " + " ".join(result.tried))
    lines.append(f";; ->>HEADER<<- opcode: QUERY, status: {reply.rcode.value}, answers: {len(reply.answers)}")
    if reply.reason:
        lines.append(f";; reason: {reply.reason}")
    lines += ["", ";; QUESTION SECTION:", f";{result.fqdn}\t\tIN\t{qtype.value}"]
    if reply.answers:
        lines += ["", ";; ANSWER SECTION:"]
        lines += [f"{a.name}\t{a.ttl}\tIN\t{a.type.value}\t{a.data}" for a in reply.answers]
    return "\n".join(lines) + "\n"


def _question(name: str, qtype: RecordType) -> str:
    """The name to look up: an address becomes its absolute reverse name for PTR."""
    if qtype is RecordType.PTR:
        try:
            return reverse_name(str(ipaddress.ip_address(name)))
        except ValueError:
            pass
    reason = malformed(name)
    if reason:
        raise CliError(f"malformed name {name!r}: {reason}")
    return name


def _zone(state: ClusterState, running: object) -> tuple[Zone, bool]:
    if isinstance(running, CoreDNSState):
        return running.zone, True
    return zone_from(state), False


def pod_resolv_conf_in(snap: Snapshot, pod: Pod) -> ResolvConf:
    """The resolv.conf `pod` reads: its sandbox's, as the kubelet handed it to the runtime;
    for a pod with no sandbox (not started, or its node's runtime is gone), the one the
    kubelet would write (kubeadm's clusterDNS)."""
    runtime = snap.runtimes.get(pod.spec.node_name)
    conf = resolv_conf_of(runtime, pod.metadata.uid) if runtime is not None else None
    if conf is not None:
        return conf
    return pod_resolv_conf(pod, cluster_dns=(cluster_dns_ip(snap.state.config.service_cidr),))


def _resolv_conf(snap: Snapshot, source: str, namespace: str) -> tuple[ResolvConf, str, Pod | None]:
    """The resolver configuration the lookup runs with, what it is (for the header), and
    the pod asking (None: a question straight to the cluster DNS)."""
    state = snap.state
    dns_ip = cluster_dns_ip(state.config.service_cidr)
    if not source:
        return ResolvConf(nameservers=(dns_ip,)), f"@{dns_ip}", None
    prefix = next((p for p in POD_PREFIXES if source.startswith(p)), None)
    if prefix is None:
        raise CliError(f"--from takes pod/NAME, not {source!r}")
    pod_name = source[len(prefix) :]
    pod = lookup_object(state, Kind.POD, namespace, pod_name)
    if not isinstance(pod, Pod):
        raise CliError(f'pods "{pod_name}" not found in namespace {namespace}')
    return pod_resolv_conf_in(snap, pod), f"pod/{pod_name} in {namespace}", pod

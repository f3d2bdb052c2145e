"""`kcore net route --from pod/POD|node/NODE|IP --to HOST:PORT|http://HOST[:PORT]/PATH
[-n NS] [--protocol TCP|UDP|SCTP] [--source-port N] [--host NAME] [-o json]`.

Owns `add_route_parser`, `cmd_net_route` and `network_from`: the routing model's inputs
read from the stored cluster (kube-proxy's programmed tables and CoreDNS's records when
those components run, else computed from the stored objects with the same pure
functions; the nodes the driver has down; the ingress controller's address).

Exit 0 whether or not the connection was delivered; 1 for a bad request (an unknown pod
or node, a malformed address or destination).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
from typing import Any

from kcore.addons.coredns import NAME as COREDNS
from kcore.addons.coredns import CoreDNSState
from kcore.addons.ingress import CLASS_NAME, controller_address
from kcore.addons.kubeproxy import NAME as KUBE_PROXY
from kcore.addons.kubeproxy import ProxyState, rules_of_service
from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod, Protocol
from kcore.cli.net_resolve import pod_resolv_conf_in
from kcore.cli.session import CliError, store_from_env
from kcore.driver.snapshot import Snapshot
from kcore.network.dns import zone_from
from kcore.network.route import (
    BadRequest,
    Network,
    Route,
    Source,
    network_of,
    parse_destination,
    route,
)
from kcore.network.rules import compute_table, service_rules_on
from kcore.state import get
from kcore.state import lookup as lookup_object

POD_PREFIXES = ("pod/", "pods/", "po/")
NODE_PREFIXES = ("node/", "nodes/", "no/")


def add_route_parser(net_subparsers: Any) -> None:
    """Add `route` to the `net` group's subparsers (an argparse `_SubParsersAction`)."""
    p = net_subparsers.add_parser("route", help="follow one connection through the network, hop by hop")
    p.add_argument("--from", dest="source", required=True, metavar="pod/POD|node/NODE|IP")
    p.add_argument("--to", dest="destination", required=True, metavar="HOST:PORT|http://HOST[:PORT]/PATH")
    p.add_argument("-n", "--namespace", default="default", help="the source pod's namespace (default: default)")
    p.add_argument("--protocol", default="TCP", type=str.upper, choices=tuple(p.value for p in Protocol))
    p.add_argument("--source-port", type=int, default=40000, help="the connection's source port (its identity)")
    p.add_argument("--host", default="", help="the HTTP Host header (default: the destination's host)")
    p.add_argument("-o", "--output", choices=("json",), default="")
    p.set_defaults(func=cmd_net_route)


def network_from(snap: Snapshot) -> Network:
    """The routing model's view of a stored cluster."""
    view = snap.state
    proxy = snap.components.get(KUBE_PROXY)
    if isinstance(proxy, ProxyState):
        running: ProxyState = proxy

        def rules_on(node: str, key: ObjectKey) -> Any:
            return rules_of_service(running, node, key)

    else:
        table = compute_table(view)

        def rules_on(node: str, key: ObjectKey) -> Any:
            return service_rules_on(table, node, key)

    dns = snap.components.get(COREDNS)
    zone = dns.zone if isinstance(dns, CoreDNSState) else zone_from(view)
    return network_of(
        view,
        rules_on,
        zone,
        lambda pod: pod_resolv_conf_in(snap, pod),
        down=frozenset(snap.down_nodes),
        seed=view.config.seed,
        ingress_address=controller_address(view),
        ingress_class=CLASS_NAME,
    )


def _source(snap: Snapshot, text: str, namespace: str) -> Source:
    for prefix in POD_PREFIXES:
        if text.startswith(prefix):
            name = text[len(prefix) :]
            pod = lookup_object(snap.state, Kind.POD, namespace, name)
            if not isinstance(pod, Pod):
                raise CliError(f'pods "{name}" not found in namespace {namespace}')
            return Source(pod=pod)
    for prefix in NODE_PREFIXES:
        if text.startswith(prefix):
            name = text[len(prefix) :]
            node = get(snap.state, ObjectKey(kind=Kind.NODE, namespace="", name=name))
            if not isinstance(node, Node):
                raise CliError(f'nodes "{name}" not found')
            return Source(node=node)
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        raise CliError(f"--from takes pod/POD, node/NODE or an IPv4 address, not {text!r}") from None
    return Source(ip=text)


def text_lines(result: Route) -> list[str]:
    """The route as lines: one per hop, then the outcome."""
    lines = [f"{h.step:<14} {h.node or '-':<10} {h.detail}" for h in result.hops]
    if result.delivered:
        b = result.backend
        where = f"pod {b.namespace}/{b.pod} on {b.node}" if b is not None and b.pod else f"{b.ip if b else ''} outside the cluster"
        lines.append(f"delivered to {where} ({b.ip if b else ''}:{b.port if b else ''}), source seen as {result.source_ip_seen}")
    else:
        lines.append(f"dropped: {result.reason}")
    if result.http_status is not None:
        lines.append(f"HTTP {result.http_status}")
    return lines


def cmd_net_route(args: argparse.Namespace) -> int:
    try:
        destination = parse_destination(args.destination)
    except BadRequest as e:
        raise CliError(str(e)) from e
    if not 1 <= args.source_port <= 65535:
        raise CliError(f"--source-port must be 1-65535, got {args.source_port}")
    snap = store_from_env().load()
    source = _source(snap, args.source, args.namespace)
    result = route(
        network_from(snap),
        source,
        destination,
        protocol=Protocol(args.protocol),
        source_port=args.source_port,
        host_header=args.host,
    )
    if args.output == "json":
        print(json.dumps(result.json(), indent=2))
    else:
        print("\n".join(text_lines(result)))
    return 0

"""`kcore net rules NODE [-o json]`: the Service rules kube-proxy programs on one node.

Owns `add_net_parser` (the `net` command group) and `cmd_net_rules`. A read: it loads the
stored cluster and stores nothing.

Where the rules come from: when the stored cluster runs the kube-proxy component (a
component state named `kube-proxy`), its programmed table for the node, frozen on a node
that is not Ready (`kcore.addons.kubeproxy.node_rules`); otherwise the rules the stored
API state asks for, computed with the same pure function (`kcore.network.rules`), as
every kube-proxy would program them once synced.

Output: one rule a line (`kcore.network.rules.render_rules`, in the spirit of
`iptables-save`), or the same table as JSON with `-o json`. An unknown node is
`error: nodes "x" not found`, exit code 1.
"""

from __future__ import annotations

import argparse
import json

from kcore.addons.kubeproxy import NAME as KUBE_PROXY
from kcore.addons.kubeproxy import ProxyState, node_rules
from kcore.api.core import Node
from kcore.api.kinds import Kind, ObjectKey
from kcore.cli.net_resolve import add_resolve_parser
from kcore.cli.net_route import add_route_parser
from kcore.cli.session import CliError, store_from_env
from kcore.network.rules import NodeRules, compute_table, render_rules, rules_json, table_rules
from kcore.state import get


def add_net_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `net rules NODE [-o json]` and `net resolve NAME ...` to the `kcore` parser's subcommands."""
    net = subparsers.add_parser("net", help="inspect the simulated network: kube-proxy's rules, DNS answers, routes")
    nsub = net.add_subparsers(dest="net_command", metavar="ACTION")
    rules = nsub.add_parser("rules", help="the Service rules kube-proxy programs on a node, one a line")
    rules.add_argument("node", metavar="NODE")
    rules.add_argument("-o", "--output", choices=("json",), default="")
    rules.set_defaults(func=cmd_net_rules)
    add_resolve_parser(nsub)
    add_route_parser(nsub)


def cmd_net_rules(args: argparse.Namespace) -> int:
    snap = store_from_env().load()
    if not isinstance(get(snap.state, ObjectKey(kind=Kind.NODE, namespace="", name=args.node)), Node):
        raise CliError(f'nodes "{args.node}" not found')
    proxy = snap.components.get(KUBE_PROXY)
    found: NodeRules | None
    if isinstance(proxy, ProxyState):
        found = node_rules(proxy, args.node)
    else:
        found = table_rules(compute_table(snap.state), args.node)
    if found is None:
        raise CliError(f'nodes "{args.node}" not found')
    if args.output == "json":
        print(json.dumps(rules_json(found), indent=2))
    else:
        for line in render_rules(found):
            print(line)
    return 0

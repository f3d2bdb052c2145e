"""The `kcore` command line: the parser and the dispatch to each command.

Owns `main(argv) -> exit code` (what `kcore`, `python -m kcore.cli` and the demo run) and
the parser of every subcommand: `cluster create|delete|info`, `apply`, `get`, `delete`,
`scale`, `rollout` and `wait` (their parsers are their modules'), `fault`, `cordon`,
`uncordon`, `drain` and `advance`. Each command is a function of its parsed arguments in
its family's module (`kcore.cli.cluster`, `.apply`, `.get`, `.delete`, `.scale`,
`.rollout`, `.wait`, `.fault`, `.drain`) that runs in a `kcore.cli.session`.

Rules: a usage error exits as argparse does (code 2, usage on stderr); `kcore` alone
prints the help on stderr with code 1, a group without its action (`kcore cluster`) on
stdout with code 2; a user-facing failure (`CliError`, `SessionError`, an unknown kind, a
damaged store) prints `error: <message>` on stderr with code 1.

Mirrors k8s.io/kubectl/pkg/cmd/cmd.go (NewKubectlCommand: the command groups).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from kcore.api.kinds import UnknownKindError
from kcore.cli.apply import cmd_apply
from kcore.cli.cluster import cmd_advance, cmd_cluster_create, cmd_cluster_delete, cmd_cluster_info
from kcore.cli.delete import cmd_delete
from kcore.cli.drain import cmd_cordon, cmd_drain, cmd_uncordon
from kcore.cli.fault import FAULT_HELP, cmd_fault
from kcore.cli.get import cmd_get
from kcore.cli.net import add_net_parser
from kcore.cli.rollout import add_rollout_parser
from kcore.cli.scale import cmd_scale
from kcore.cli.session import CliError, SessionError, add_settle_flags
from kcore.cli.wait import add_wait_parser
from kcore.store.file import StoreError


def _ns_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--namespace", default="", help="the namespace (default: default)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcore", description="A deterministic Kubernetes control plane, kubectl-style.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cluster = sub.add_parser("cluster", help="create, inspect or delete the local cluster")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION")
    create = csub.add_parser("create", help="create a cluster in $KCORE_HOME")
    create.add_argument("--nodes", type=int, default=1)
    create.add_argument("--node-cpu", default="4")
    create.add_argument("--node-memory", default="16Gi")
    create.add_argument("--pods", type=int, default=110)
    create.add_argument("--seed", type=int, default=0)
    create.add_argument(
        "--cluster-cidr",
        default="",
        help="pod network, a /24 per node (default 10.244.0.0/16, widened for more than 256 nodes)",
    )
    create.add_argument(
        "--no-addons",
        action="store_true",
        help="install no add-ons (CoreDNS, the ingress controller): a bare control plane, its clock at 0s",
    )
    create.add_argument(
        "--lb-pool",
        default="198.51.100.0/24",
        help="addresses for LoadBalancer Services and the ingress controller (default 198.51.100.0/24)",
    )
    create.add_argument(
        "--client-limits",
        choices=("none", "upstream"),
        default="none",
        help="components' apiserver client rate limits: none (every request at once, the default) or "
        "upstream (controllers 20 QPS burst 30, scheduler and kubelets 50/100: simulated time passes as upstream's)",
    )
    create.set_defaults(func=cmd_cluster_create)
    csub.add_parser("delete", help="delete the cluster in $KCORE_HOME").set_defaults(func=cmd_cluster_delete)
    csub.add_parser("info", help="show the cluster's clock, seed and size").set_defaults(func=cmd_cluster_info)

    apply = sub.add_parser("apply", help="create or update objects from manifests")
    apply.add_argument("-f", "--filename", action="append", required=True, help="file, directory or - (repeatable)")
    _ns_flags(apply)
    add_settle_flags(apply)
    apply.set_defaults(func=cmd_apply)

    get = sub.add_parser("get", help="list or show objects")
    get.add_argument("kind", metavar="KIND[/NAME]")
    get.add_argument("names", nargs="*", metavar="NAME")
    _ns_flags(get)
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-l", "--selector", default="")
    get.add_argument("--field-selector", default="")
    get.add_argument("-o", "--output", choices=("json", "yaml", "wide", "name"), default="")
    get.set_defaults(func=cmd_get)

    delete = sub.add_parser("delete", help="delete objects by name or manifest")
    delete.add_argument("kind", nargs="?", default="", metavar="KIND[/NAME]")
    delete.add_argument("names", nargs="*", metavar="NAME")
    delete.add_argument("-f", "--filename", action="append", default=[])
    _ns_flags(delete)
    add_settle_flags(delete)
    delete.set_defaults(func=cmd_delete)

    scale = sub.add_parser("scale", help="set the replicas of a scalable object")
    scale.add_argument("kind", metavar="KIND[/NAME]")
    scale.add_argument("names", nargs="*", metavar="NAME")
    scale.add_argument("--replicas", type=int, required=True)
    _ns_flags(scale)
    add_settle_flags(scale)
    scale.set_defaults(func=cmd_scale)

    add_rollout_parser(sub)
    add_wait_parser(sub)
    add_net_parser(sub)

    fault = sub.add_parser("fault", help="inject a fault: " + FAULT_HELP)
    fault.add_argument(
        "fault",
        choices=[
            "crash-node", "restart-node", "partition", "heal", "kill-container",
            "fail-image-pull", "pause", "resume", "crash",
        ],
    )
    fault.add_argument("target", help="a node, a pod (kill-container) or a component name")
    fault.add_argument("image", nargs="?", default="", help="fail-image-pull: the image")
    fault.add_argument("-c", "--container", default="")
    fault.add_argument("-n", "--namespace", default="default")
    fault.add_argument("--oom", action="store_true", help="kill-container: as the OOM killer")
    fault.add_argument("--count", type=int, default=1, help="fail-image-pull: how many pulls fail")
    add_settle_flags(fault)
    fault.set_defaults(func=cmd_fault)

    cordon = sub.add_parser("cordon", help="mark a node unschedulable")
    cordon.add_argument("node", metavar="NODE")
    add_settle_flags(cordon)
    cordon.set_defaults(func=cmd_cordon)
    uncordon = sub.add_parser("uncordon", help="mark a node schedulable again")
    uncordon.add_argument("node", metavar="NODE")
    add_settle_flags(uncordon)
    uncordon.set_defaults(func=cmd_uncordon)
    drain = sub.add_parser("drain", help="cordon a node and evict its pods (eviction API)")
    drain.add_argument("node", metavar="NODE")
    drain.add_argument("--ignore-daemonsets", action="store_true", help="ignore DaemonSet-managed pods")
    drain.add_argument("--delete-emptydir-data", action="store_true", help="evict pods using emptyDir too")
    drain.add_argument("--force", action="store_true", help="evict pods that declare no controller too")
    drain.add_argument("--grace-period", type=int, default=-1, help="seconds for each pod to stop (-1: its own)")
    drain.add_argument("--timeout", default="0s", help="give up after this simulated time (0s: a simulated day)")
    add_settle_flags(drain, timeout=False)
    drain.set_defaults(func=cmd_drain)

    advance = sub.add_parser("advance", help="move the simulated clock (90s, 10m, 1h30m) and reconcile")
    advance.add_argument("duration")
    advance.set_defaults(func=cmd_advance)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """parse_args, but names may follow flags, as kubectl takes them (`get svc -n NS NAME`):
    argparse ends a `nargs="*"` positional at the first flag, so later plain words join
    `names`; anything else left over is the usual usage error."""
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "names") and not any(word.startswith("-") for word in extra):
        args.names = [*args.names, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `kcore` command; returns the process exit code."""
    parser = _parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as e:  # argparse reports usage errors by exiting
        return e.code if isinstance(e.code, int) else 2
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr if args.command is None else sys.stdout)
        return 1 if args.command is None else 2
    try:
        return func(args)
    except BrokenPipeError:
        # the reader went away (`kcore get pods -o name | head -1`): stop quietly, as a
        # command killed by SIGPIPE does, and keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CliError, SessionError, UnknownKindError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

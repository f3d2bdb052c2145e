"""`kcore cluster create|delete|info` and `kcore advance`: the local cluster and its clock.

Owns `cmd_cluster_create` (a new cluster in `$KCORE_HOME`: nodes of one shape, a seed,
the pod network, optional client rate limits), `cmd_cluster_delete`, `cmd_cluster_info`
(the clock, seed, revision and node count; stores nothing), `cmd_advance` (moves the
simulated clock by exactly its duration, delivering whatever falls due) and
`default_cluster_cidr`.

Rules: `create` refuses a home that already holds a cluster and bad flags before it
builds anything; the new cluster is stored under the store's lock. `advance` does not
settle beyond its duration.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

from kcore.api.kinds import Kind
from kcore.cli.session import NO_SETTLING, CliError, load, max_steps, mutating, store_from_env
from kcore.component.requests import ListObjects, ObjectList
from kcore.driver import new_cluster
from kcore.driver.bootstrap import NodeShape
from kcore.driver.clock import DurationError, format_time, parse_duration
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig


def default_cluster_cidr(nodes: int) -> str:
    """10.244.0.0/16 (kind's pod network), or the smallest block around it that gives
    `nodes` nodes a /24 each (10.244.0.0/14 for 1,024, 10.240.0.0/12 for 4,096, ...)."""
    prefix = 16
    while (1 << (24 - prefix)) < nodes and prefix > 9:
        prefix -= 1
    return str(ipaddress.ip_network(f"10.244.0.0/{prefix}", strict=False))


def cmd_cluster_create(args: argparse.Namespace) -> int:
    store = store_from_env()
    if store.exists():
        raise CliError(f"a cluster already exists in {store.home}; run `kcore cluster delete` first")
    if args.nodes < 0:
        raise CliError(f"--nodes must be >= 0, got {args.nodes}")
    if args.pods < 1:
        raise CliError(f"--pods must be >= 1, got {args.pods}")
    for flag, text in (("--node-cpu", args.node_cpu), ("--node-memory", args.node_memory)):
        try:
            parse_quantity(text)
        except ValueError as e:
            raise CliError(f"{flag}: {e}") from e
    shape = NodeShape(cpu=args.node_cpu, memory=args.node_memory, pods=args.pods)
    try:
        ipaddress.IPv4Network(args.lb_pool, strict=False)
    except ValueError as e:
        raise CliError(f"--lb-pool: invalid value {args.lb_pool!r}: must be an IPv4 CIDR such as 198.51.100.0/24 ({e})") from e
    cidr = args.cluster_cidr or default_cluster_cidr(args.nodes)
    try:
        cluster = new_cluster(
            ClusterConfig(seed=args.seed, cluster_cidr=cidr, lb_pool=args.lb_pool),
            nodes=args.nodes,
            shape=shape,
            throttled=args.client_limits == "upstream",
            addons=not args.no_addons,
        )
    except ValueError as e:
        raise CliError(f"--cluster-cidr: {e}") from e
    with store.lock():
        store.save(cluster.snapshot())
    print(f"cluster created in {store.home} with {args.nodes} node{'s' if args.nodes != 1 else ''} (seed {args.seed})")
    return 0


def cmd_cluster_delete(args: argparse.Namespace) -> int:
    store = store_from_env()
    if not store.delete():
        raise CliError(f"no cluster in {store.home}")
    print(f"cluster deleted from {store.home}")
    return 0


def cmd_cluster_info(args: argparse.Namespace) -> int:
    store = store_from_env()
    cluster = load(store)
    nodes = cluster.request(ListObjects(kind=Kind.NODE))
    count = len(nodes.body.items) if isinstance(nodes.body, ObjectList) else 0
    snap = cluster.snapshot()
    print(f"kcore cluster in {store.home}")
    print(f"  time:     {format_time(snap.now)}")
    print(f"  seed:     {snap.seed}")
    print(f"  revision: {snap.state.revision}")
    print(f"  nodes:    {count}")
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    try:
        seconds = parse_duration(args.duration)
    except DurationError as e:
        raise CliError(str(e)) from e
    with mutating(NO_SETTLING) as cluster:
        if not cluster.advance(seconds, max_steps(cluster)):
            print(f"Warning: the cluster did not settle within {max_steps(cluster)} steps", file=sys.stderr)
        print(f"advanced {args.duration}: now {format_time(cluster.now)}")
    return 0

"""`kcore fault`: inject one of the driver's faults now, then settle.

Owns `cmd_fault` and `FAULT_HELP`: `crash-node`, `restart-node`, `partition`, `heal`
(a node), `kill-container` (a pod's container, `--oom`), `fail-image-pull` (a node and an
image, `--count`), `pause`, `resume`, `crash` (a component by name). The target must
exist: an unknown node, pod, container or component is an error and nothing is injected.
The faults themselves are `kcore.driver.faults`.
"""

from __future__ import annotations

import argparse
from typing import Final

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.pod import Pod
from kcore.cli.session import CliError, mutating, settling_from
from kcore.driver import canonical_name
from kcore.driver.cluster import Cluster
from kcore.driver.faults import (
    CrashComponent,
    CrashNode,
    FailImagePull,
    Fault,
    HealPartition,
    KillContainer,
    PartitionNode,
    PauseComponent,
    RestartNode,
    ResumeComponent,
)
from kcore.state import get, list_objects

FAULT_HELP: Final = """crash-node NODE | restart-node NODE | partition NODE | heal NODE |
kill-container POD -c CONTAINER [-n NS] [--oom] | fail-image-pull NODE IMAGE [--count N] |
pause COMPONENT | resume COMPONENT | crash COMPONENT"""


def _fault_from_args(args: argparse.Namespace, cluster: Cluster) -> Fault:
    what, target = args.fault, args.target
    nodes = {n.metadata.name for n in list_objects(cluster.state, Kind.NODE)}
    names = {c.name for c in cluster.components}
    node_faults: dict[str, type[CrashNode | RestartNode | PartitionNode | HealPartition]] = {
        "crash-node": CrashNode,
        "restart-node": RestartNode,
        "partition": PartitionNode,
        "heal": HealPartition,
    }
    if what in node_faults or what == "fail-image-pull":
        if target not in nodes:
            raise CliError(f'nodes "{target}" not found')
        if what == "fail-image-pull":
            if not args.image:
                raise CliError("fail-image-pull needs NODE IMAGE")
            return FailImagePull(node=target, image=args.image, count=args.count)
        return node_faults[what](node=target)
    if what in ("pause", "resume", "crash"):
        target = canonical_name(target)
        if target not in names:
            raise CliError(f'component "{target}" not found; components: {", ".join(sorted(names))}')
        if what == "pause":
            return PauseComponent(name=target)
        return ResumeComponent(name=target) if what == "resume" else CrashComponent(name=target)
    if what == "kill-container":
        pod = get(cluster.state, ObjectKey(kind=Kind.POD, namespace=args.namespace, name=target))
        if not isinstance(pod, Pod):
            raise CliError(f'pods "{target}" not found')
        if not pod.spec.node_name:
            raise CliError(f'pod "{target}" is not running on a node')
        container = args.container or (pod.spec.containers[0].name if pod.spec.containers else "")
        if container not in {c.name for c in (*pod.spec.init_containers, *pod.spec.containers)}:
            raise CliError(f'container "{container}" not found in pod "{target}"')
        key = ObjectKey(kind=Kind.POD, namespace=args.namespace, name=target)
        return KillContainer(node=pod.spec.node_name, pod=key, container=container, oom=args.oom)
    raise CliError(f"unknown fault {what!r}; one of: {FAULT_HELP}")


def cmd_fault(args: argparse.Namespace) -> int:
    """Inject one fault now (the driver's fault model), then settle."""
    with mutating(settling_from(args)) as cluster:
        fault = _fault_from_args(args, cluster)
        cluster.inject(fault)
        print(f"injected {type(fault).__name__}: {args.target}")
    return 0

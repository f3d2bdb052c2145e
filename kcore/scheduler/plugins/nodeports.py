"""NodePorts: a node fails when a requested hostPort is already taken there (filter).

Mirrors pkg/scheduler/framework/plugins/nodeports/node_ports.go and
framework/types.go HostPortInfo.CheckConflict.
"""

from __future__ import annotations

from typing import Final

from kcore.scheduler.nodeinfo import NodeInfo, ports_conflict
from kcore.scheduler.plugins.framework import Cycle, FilterFn, Status, unschedulable

NAME: Final = "NodePorts"
ERR_REASON: Final = "node(s) didn't have free ports for the requested pod ports"


def prefilter(cycle: Cycle) -> FilterFn | None:
    """Skip for a pod without host ports; else each node checks its used ports."""
    wanted = cycle.pod.host_ports
    if not wanted:
        return None
    failure = unschedulable(NAME, ERR_REASON)

    def check(ni: NodeInfo) -> Status | None:
        if not ni.used_ports:
            return None
        return failure if any(ports_conflict(ni.used_ports, hp) for hp in wanted) else None

    return check

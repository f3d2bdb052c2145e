"""The two one-line filters: NodeName and NodeUnschedulable.

Mirrors pkg/scheduler/framework/plugins/nodename/node_name.go and
nodeunschedulable/node_unschedulable.go.
"""

from __future__ import annotations

from typing import Final

from kcore.api.pod import TaintEffect
from kcore.helpers.scheduling import tolerates
from kcore.scheduler.nodeinfo import NodeInfo
from kcore.scheduler.plugins.framework import Cycle, FilterFn, Status, unresolvable

NODE_NAME: Final = "NodeName"
NODE_UNSCHEDULABLE: Final = "NodeUnschedulable"
ERR_NODE_NAME: Final = "node(s) didn't match the requested node name"
ERR_UNSCHEDULABLE: Final = "node(s) were unschedulable"
TAINT_NODE_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"


def prefilter_node_name(cycle: Cycle) -> FilterFn | None:
    """Only the node named in spec.nodeName passes."""
    wanted = cycle.pod.pod.spec.node_name
    if not wanted:
        return None
    failure = unresolvable(NODE_NAME, ERR_NODE_NAME)

    def check(ni: NodeInfo) -> Status | None:
        return None if ni.name == wanted else failure

    return check


def prefilter_unschedulable(cycle: Cycle) -> FilterFn | None:
    """A cordoned node passes only a pod tolerating its unschedulable NoSchedule taint."""
    tolerations = cycle.pod.pod.spec.tolerations
    if any(
        tolerates(t, TAINT_NODE_UNSCHEDULABLE, "", TaintEffect.NO_SCHEDULE) for t in tolerations
    ):
        return None
    failure = unresolvable(NODE_UNSCHEDULABLE, ERR_UNSCHEDULABLE)

    def check(ni: NodeInfo) -> Status | None:
        node = ni.node
        return failure if node is not None and node.spec.unschedulable else None

    return check

"""kube-scheduler's framework, pure: per-node accounting (`nodeinfo`), the default
plugins (`plugins`), one scheduling decision (`algorithm.schedule_one`) and preemption.

The queue and the component step that binds through pods/binding live beside these once
the driver lands; everything here is a function of (snapshot, pod, config, seed).
"""

from kcore.scheduler.algorithm import (
    Diagnosis,
    Nomination,
    ScheduleResult,
    Success,
    Unschedulable,
    num_feasible_nodes_to_find,
    schedule_one,
)
from kcore.scheduler.nodeinfo import (
    NodeInfo,
    PodInfo,
    Snapshot,
    add_pod,
    from_state,
    remove_node,
    remove_pod,
    snapshot_of,
    update_node,
)
from kcore.scheduler.plugins.framework import SchedulerConfig, Status

__all__ = [
    "Diagnosis",
    "NodeInfo",
    "Nomination",
    "PodInfo",
    "ScheduleResult",
    "SchedulerConfig",
    "Snapshot",
    "Status",
    "Success",
    "Unschedulable",
    "add_pod",
    "from_state",
    "num_feasible_nodes_to_find",
    "remove_node",
    "remove_pod",
    "schedule_one",
    "snapshot_of",
    "update_node",
]

"""kube-scheduler's framework, pure: per-node accounting (`nodeinfo`), the default
plugins (`plugins`), one scheduling decision (`algorithm.schedule_one`), preemption,
the scheduling queue (`queue`) and the `Scheduler` component that binds through
pods/binding (`component`). Everything is a function of its inputs and the seed.
"""

from kcore.scheduler.algorithm import (
    ScheduleResult,
    Success,
    Unschedulable,
    num_feasible_nodes_to_find,
    schedule_one,
)
from kcore.scheduler.component import Scheduler, SchedulerState
from kcore.scheduler.filtering import Diagnosis, Nomination
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
from kcore.scheduler.queue import QueuedPod, SchedulingQueue

__all__ = [
    "Diagnosis",
    "NodeInfo",
    "Nomination",
    "PodInfo",
    "QueuedPod",
    "ScheduleResult",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerState",
    "SchedulingQueue",
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

"""The scheduling.k8s.io/v1 group: PriorityClass (a name for a pod priority value).

Owns the `PriorityClass` value class, the two system classes every cluster has
(`SYSTEM_PRIORITY_CLASSES`: system-node-critical 2000001000, system-cluster-critical
2000000000) with their limits, and `default` (preemptionPolicy defaults to
PreemptLowerPriority, as upstream's SetDefaults_PriorityClass). A PriorityClass is
cluster-scoped and has no spec/status split: value, globalDefault, description and
preemptionPolicy sit at the top level of the object. `value` is always written (upstream
has no omitempty on it), so a class of value 0 still shows `value: 0`.

Must not know: pods, admission (kcore.apiserver.priority resolves a pod's priority from
these classes), the scheduler.

Mirrors k8s.io/api/scheduling/v1/types.go, pkg/apis/scheduling/types.go (the constants),
pkg/apis/scheduling/v1/defaults.go and pkg/apis/scheduling/v1/helpers.go
(SystemPriorityClasses).
"""

from __future__ import annotations

from typing import ClassVar, Final

import attrs

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, wire
from kcore.api.pod import PreemptionPolicy

__all__ = [
    "DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS",
    "HIGHEST_USER_DEFINABLE_PRIORITY",
    "SYSTEM_CLUSTER_CRITICAL",
    "SYSTEM_CRITICAL_PRIORITY",
    "SYSTEM_NODE_CRITICAL",
    "SYSTEM_PRIORITY_CLASSES",
    "SYSTEM_PRIORITY_CLASS_PREFIX",
    "PreemptionPolicy",
    "PriorityClass",
    "default",
    "system_priority_class",
]

HIGHEST_USER_DEFINABLE_PRIORITY: Final = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY: Final = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS: Final = 0
SYSTEM_PRIORITY_CLASS_PREFIX: Final = "system-"
SYSTEM_NODE_CRITICAL: Final = "system-node-critical"
SYSTEM_CLUSTER_CRITICAL: Final = "system-cluster-critical"


@attrs.frozen(kw_only=True)
class PriorityClass:
    """A mapping from a class name to the integer priority of the pods that name it."""

    KIND: ClassVar[Kind] = Kind.PRIORITY_CLASS
    metadata: ObjectMeta = ObjectMeta()
    value: int = attrs.field(default=0, metadata=wire(always=True))
    global_default: bool = False
    description: str = ""
    preemption_policy: PreemptionPolicy | None = None


SYSTEM_PRIORITY_CLASSES: Final[tuple[PriorityClass, ...]] = (
    PriorityClass(
        metadata=ObjectMeta(name=SYSTEM_NODE_CRITICAL),
        value=SYSTEM_CRITICAL_PRIORITY + 1000,
        description="Used for system critical pods that must not be moved from their current node.",
        preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY,
    ),
    PriorityClass(
        metadata=ObjectMeta(name=SYSTEM_CLUSTER_CRITICAL),
        value=SYSTEM_CRITICAL_PRIORITY,
        description=(
            "Used for system critical pods that must run in the cluster, "
            "but can be moved to another node if necessary."
        ),
        preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY,
    ),
)
"""What the apiserver creates at start (upstream's storage_scheduling.go PostStartHook)."""


def system_priority_class(name: str) -> PriorityClass | None:
    """The built-in system class of that name, or None."""
    for pc in SYSTEM_PRIORITY_CLASSES:
        if pc.metadata.name == name:
            return pc
    return None


def default(obj: ApiObject) -> ApiObject:
    """SetDefaults_PriorityClass: preemptionPolicy PreemptLowerPriority when unset."""
    if isinstance(obj, PriorityClass) and obj.preemption_policy is None:
        return attrs.evolve(obj, preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY)
    return obj

"""The Priority admission plugin: a pod's priority from its PriorityClass, and the
one-default rule for PriorityClasses.

Owns `pod_priority(state, pod)` (what a new pod's priorityClassName resolves to),
`spec_changes(resolved, spec)` (the PodSpec fields admission sets from it),
`check_priority_class(state, pc, old, deleting=...)` (a PriorityClass write admission may
refuse) and `default_priority_class(state)`. Rules, as upstream:

- a pod naming class X gets spec.priority = X.value and spec.preemptionPolicy =
  X.preemptionPolicy; no class X stored -> 403 `no PriorityClass with name X was found`;
- a pod naming no class gets the globalDefault class (its name, value and policy), else
  priority 0 and PreemptLowerPriority; several defaults (a race upstream tolerates): the
  one of lowest value, then name;
- a pod stating a priority or preemptionPolicy that differs from the computed one is
  refused (403), one that states the same value passes;
- a PriorityClass marked globalDefault while another class is the default is refused on
  create, and on update unless it is that default itself; the two system classes cannot
  be deleted (upstream's REST.Delete of pkg/registry/scheduling/priorityclass/storage).

Deviation: upstream resolves names only through the stored classes. kcore falls back to
the built-in system classes when the state holds no class of that name: upstream's
apiserver always holds them (created at start, never deletable), so the answer is the same
whenever `create_cluster` bootstrapped the state, and a bare state still knows them.

Pure: reads `ClusterState`, never writes it. Must not know: the admission chain's order
(kcore.apiserver.admission calls these), the scheduler, storage.

Mirrors plugin/pkg/admission/priority/admission.go (admitPod, validatePriorityClass,
getDefaultPriorityClass).
"""

from __future__ import annotations

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status
from kcore.api.pod import Pod, PodSpec, PreemptionPolicy
from kcore.api.scheduling import (
    DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
    PriorityClass,
    system_priority_class,
)
from kcore.apiserver import errors
from kcore.state import ClusterState, get


@attrs.frozen(kw_only=True)
class PodPriority:
    """What a new pod's priority resolves to: the class name admission writes back (the
    default class's when the pod named none), its value and its preemption policy."""

    class_name: str
    value: int
    preemption_policy: PreemptionPolicy | None


def find_priority_class(state: ClusterState, name: str) -> PriorityClass | None:
    """The stored class `name`, else the built-in system class of that name, else None."""
    stored = get(state, ObjectKey(kind=Kind.PRIORITY_CLASS, namespace="", name=name))
    if isinstance(stored, PriorityClass):
        return stored
    return system_priority_class(name)


def default_priority_class(state: ClusterState) -> PriorityClass | None:
    """The globalDefault class; of several, the lowest value (then name), as upstream."""
    table = state.tables.get(Kind.PRIORITY_CLASS)
    if table is None:
        return None
    defaults = [pc for pc in table.values() if isinstance(pc, PriorityClass) and pc.global_default]
    if not defaults:
        return None
    return min(defaults, key=lambda pc: (pc.value, pc.metadata.name))


def pod_priority(state: ClusterState, pod: Pod) -> PodPriority | Status:
    """admitPod on CREATE: the pod's priority from its class, or the 403 that refuses it."""
    spec = pod.spec
    if not spec.priority_class_name:
        found = default_priority_class(state)
        resolved = (
            PodPriority(
                class_name="",
                value=DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
                preemption_policy=PreemptionPolicy.PREEMPT_LOWER_PRIORITY,
            )
            if found is None
            else _of(found)
        )
    else:
        named = find_priority_class(state, spec.priority_class_name)
        if named is None:
            return _forbidden(pod, f"no PriorityClass with name {spec.priority_class_name} was found")
        resolved = _of(named)
    if spec.priority is not None and spec.priority != resolved.value:
        return _forbidden(
            pod,
            f"the integer value of priority ({spec.priority}) must not be provided in pod spec; "
            f"priority admission controller computed {resolved.value} from the given PriorityClass name",
        )
    policy = resolved.preemption_policy
    if policy is not None and spec.preemption_policy is not None and spec.preemption_policy is not policy:
        return _forbidden(
            pod,
            f"the string value of PreemptionPolicy ({spec.preemption_policy.value}) must not be "
            f"provided in pod spec; priority admission controller computed {policy.value} "
            "from the given PriorityClass name",
        )
    return resolved


def _of(pc: PriorityClass) -> PodPriority:
    return PodPriority(
        class_name=pc.metadata.name, value=pc.value, preemption_policy=pc.preemption_policy
    )


def _forbidden(pod: Pod, why: str) -> Status:
    return errors.forbidden(Kind.POD, pod.metadata.name, why)


def spec_changes(resolved: PodPriority, spec: PodSpec) -> dict[str, object]:
    """The PodSpec fields (by attribute name) that admission sets from `resolved`, only
    those that differ, so an already-resolved pod costs no copy."""
    changes: dict[str, object] = {}
    if resolved.class_name and spec.priority_class_name != resolved.class_name:
        changes["priority_class_name"] = resolved.class_name
    if spec.priority != resolved.value:
        changes["priority"] = resolved.value
    policy = resolved.preemption_policy
    if policy is not None and spec.preemption_policy is not policy:
        changes["preemption_policy"] = policy
    return changes


def check_priority_class(
    state: ClusterState, pc: PriorityClass, old: PriorityClass | None, *, deleting: bool = False
) -> Status | None:
    """validatePriorityClass (create, update) and REST.Delete's system-class guard: the
    403 that refuses the write, or None. `old` is the stored class on update, else None."""
    name = pc.metadata.name
    if deleting:
        if system_priority_class(name) is not None:
            return errors.forbidden(
                Kind.PRIORITY_CLASS, name, "this is a system priority class and cannot be deleted"
            )
        return None
    if not pc.global_default:
        return None
    current = default_priority_class(state)
    if current is None:
        return None
    if old is None or current.metadata.name != name:
        return errors.forbidden(
            Kind.PRIORITY_CLASS,
            name,
            f"PriorityClass {current.metadata.name} is already marked as default. "
            "Only one default can exist",
        )
    return None

"""The policy/v1 group: PodDisruptionBudget.

Owns the `PodDisruptionBudget` value class (spec, status, the meta/v1 `Condition` its
status carries), `default`, and the helpers the eviction subresource and the disruption
controller share: `selects` (which pods a budget covers), `set_condition` (meta/v1
SetStatusCondition) and `with_disruption_allowed_condition`. A budget says how many of the pods its selector picks may
be down at once, as `minAvailable` or `maxUnavailable` (an int or a percentage; at most
one is set, which validation enforces). The status is written by the disruption
controller (counts, `DisruptionAllowed` condition) and by the eviction subresource (one
fewer allowed disruption, the evicted pod's name in `disruptedPods`).

Rules (see kcore/api/meta.py for the conventions the codec reads):
- `minAvailable`, `maxUnavailable`, `selector` and `unhealthyPodEvictionPolicy` are Go
  pointers upstream and stay `X | None`: upstream defaults none of them (a nil selector
  selects no pod, an empty one every pod of the namespace; a nil policy means
  IfHealthyBudget), so `default` returns every object unchanged;
- the four status counts are written even at zero (no `omitempty` upstream).

Knows nothing of controllers, validation or the apiserver.

Mirrors k8s.io/api/policy/v1/types.go, k8s.io/apimachinery/pkg/apis/meta/v1/types.go
(Condition), k8s.io/apimachinery/pkg/api/meta/conditions.go (SetStatusCondition) and
k8s.io/component-helpers/apps/poddisruptionbudget/helpers.go.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import ClassVar, Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Time, wire
from kcore.api.pod import LabelSelector
from kcore.labels import SelectorParseError, selector_from_label_selector

DISRUPTION_ALLOWED: Final = "DisruptionAllowed"
"""The status condition type the controller and the eviction subresource maintain."""

SUFFICIENT_PODS: Final = "SufficientPods"
INSUFFICIENT_PODS: Final = "InsufficientPods"
SYNC_FAILED: Final = "SyncFailed"
DISRUPTION_BUDGET_CAUSE: Final = "DisruptionBudget"
"""The StatusCause type of an eviction a budget refused (policyv1.DisruptionBudgetCause)."""


class UnhealthyPodEvictionPolicy(enum.Enum):
    """When a running but not Ready pod may be evicted (nil means IfHealthyBudget)."""

    IF_HEALTHY_BUDGET = "IfHealthyBudget"
    ALWAYS_ALLOW = "AlwaysAllow"


@attrs.frozen(kw_only=True)
class Condition:
    """meta/v1 Condition: every field but observedGeneration is written even when empty."""

    type: str
    status: ConditionStatus
    observed_generation: int = 0
    last_transition_time: Time = attrs.field(metadata=wire(always=True))
    reason: str = attrs.field(default="", metadata=wire(always=True))
    message: str = attrs.field(default="", metadata=wire(always=True))


@attrs.frozen(kw_only=True)
class PodDisruptionBudgetSpec:
    min_available: int | str | None = None
    selector: LabelSelector | None = None
    max_unavailable: int | str | None = None
    unhealthy_pod_eviction_policy: UnhealthyPodEvictionPolicy | None = None


@attrs.frozen(kw_only=True)
class PodDisruptionBudgetStatus:
    observed_generation: int = 0
    disrupted_pods: PMap[str, Time] = pmap()
    disruptions_allowed: int = attrs.field(default=0, metadata=wire(always=True))
    current_healthy: int = attrs.field(default=0, metadata=wire(always=True))
    desired_healthy: int = attrs.field(default=0, metadata=wire(always=True))
    expected_pods: int = attrs.field(default=0, metadata=wire(always=True))
    conditions: tuple[Condition, ...] = ()


@attrs.frozen(kw_only=True)
class PodDisruptionBudget:
    KIND: ClassVar[Kind] = Kind.POD_DISRUPTION_BUDGET
    metadata: ObjectMeta = ObjectMeta()
    spec: PodDisruptionBudgetSpec = PodDisruptionBudgetSpec()
    status: PodDisruptionBudgetStatus = PodDisruptionBudgetStatus()


def default(obj: ApiObject) -> ApiObject:
    """policy/v1 has no defaulting: every object is returned unchanged."""
    return obj


def selects(pdb: PodDisruptionBudget, labels: Mapping[str, str]) -> bool:
    """Whether the budget covers a pod with `labels` (same namespace assumed).

    A nil selector selects nothing and an empty one everything (policy/v1); a selector
    that does not parse selects nothing, as upstream's eviction handler skips it."""
    selector = pdb.spec.selector
    if selector is None:
        return False
    exprs = tuple((e.key, e.operator.value, e.values) for e in selector.match_expressions)
    try:
        return selector_from_label_selector(selector.match_labels, exprs).matches(labels)
    except SelectorParseError:
        return False


def set_condition(conditions: tuple[Condition, ...], new: Condition, now: Time) -> tuple[Condition, ...]:
    """meta.SetStatusCondition: add or replace the condition of `new.type`; the transition
    time moves (to `now`, in whole seconds) only when the status changes."""
    stamp = Time(float(int(now)))
    for i, old in enumerate(conditions):
        if old.type != new.type:
            continue
        moved = old.status != new.status
        updated = attrs.evolve(new, last_transition_time=stamp if moved else old.last_transition_time)
        return (*conditions[:i], updated, *conditions[i + 1 :])
    return (*conditions, attrs.evolve(new, last_transition_time=stamp))


def with_disruption_allowed_condition(status: PodDisruptionBudgetStatus, now: Time) -> PodDisruptionBudgetStatus:
    """UpdateDisruptionAllowedCondition: True/SufficientPods while disruptions are
    allowed, else False/InsufficientPods."""
    allowed = status.disruptions_allowed > 0
    cond = Condition(
        type=DISRUPTION_ALLOWED,
        status=ConditionStatus.TRUE if allowed else ConditionStatus.FALSE,
        reason=SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS,
        observed_generation=status.observed_generation,
        last_transition_time=Time(float(int(now))),
    )
    return attrs.evolve(status, conditions=set_condition(status.conditions, cond, now))

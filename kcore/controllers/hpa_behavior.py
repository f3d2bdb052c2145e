"""The HPA's normalisation: from a metric recommendation to the count it may scale to now.

Owns `History` (per autoscaler: timestamped recommendations, recent scale-up and
scale-down events, the memory upstream keeps in the controller and loses on restart),
`Normalized` (the count plus the AbleToScale and ScalingLimited reasons it implies),
`normalize`, `record_initial_recommendation`, `store_scale_event` and the rate limits
`scale_up_limit` / `scale_down_limit`.

Rules (as upstream):
- without `spec.behavior`: the recommendation is the highest of those within the
  downscale stabilisation window (300 s), then clamped to [minReplicas, min(maxReplicas,
  max(2 * current, 4))];
- with `spec.behavior`: a scale-up takes the lowest recommendation within the scaleUp
  window, a scale-down the highest within the scaleDown window (300 s when unset); the
  result is then limited by the policies over the scale events of each policy's period
  (selectPolicy Max takes the largest change, Min the smallest, Disabled none) and
  clamped to [minReplicas, maxReplicas];
- a recommendation older than the longest window is overwritten by the next one, and a
  scale event older than the longest policy period by the next event, so the lists stay short.

Must not know: metrics, pods, the driver. Pure; time arrives as `now`.
Mirrors pkg/controller/podautoscaler/horizontal.go (normalizeDesiredReplicas,
normalizeDesiredReplicasWithBehaviors, stabilizeRecommendation(WithBehaviors),
convertDesiredReplicasWithRules, convertDesiredReplicasWithBehaviorRate,
calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors,
storeScaleEvent, markScaleEventsOutdated).
"""

from __future__ import annotations

import math
from typing import Final

import attrs

from kcore.api.autoscaling import (
    DEFAULT_DOWNSCALE_STABILIZATION_SECONDS,
    DEFAULT_SCALE_DOWN_RULES,
    DEFAULT_SCALE_UP_RULES,
    HorizontalPodAutoscalerBehavior,
    HPAScalingPolicyType,
    HPAScalingRules,
    ScalingPolicySelect,
)
from kcore.api.meta import Time

SCALE_UP_LIMIT_FACTOR: Final = 2
SCALE_UP_LIMIT_MINIMUM: Final = 4
MAX_INT32: Final = 2**31 - 1

READY_FOR_NEW_SCALE: Final = ("ReadyForNewScale", "recommended size matches current size")
SCALE_DOWN_STABILIZED: Final = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
)
SCALE_UP_STABILIZED: Final = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
SCALE_UP_LIMIT: Final = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
SCALE_DOWN_LIMIT: Final = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
TOO_MANY_REPLICAS: Final = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW_REPLICAS: Final = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
DESIRED_WITHIN_RANGE: Final = ("DesiredWithinRange", "the desired count is within the acceptable range")


@attrs.frozen(kw_only=True)
class Recommendation:
    replicas: int
    at: Time


@attrs.frozen(kw_only=True)
class ScaleEvent:
    change: int
    at: Time
    outdated: bool = False


@attrs.frozen(kw_only=True)
class History:
    """What one autoscaler remembers between syncs (in upstream's controller, not the API)."""

    recommendations: tuple[Recommendation, ...] = ()
    scale_up: tuple[ScaleEvent, ...] = ()
    scale_down: tuple[ScaleEvent, ...] = ()


@attrs.frozen(kw_only=True)
class Normalized:
    desired: int
    history: History
    able: tuple[str, str]  # AbleToScale=True (reason, message)
    limited: bool  # ScalingLimited status
    limit: tuple[str, str]  # ScalingLimited (reason, message)


def record_initial_recommendation(history: History, current: int, now: Time) -> History:
    """recordInitialRecommendation: the first sync remembers the current count."""
    if history.recommendations:
        return history
    return attrs.evolve(history, recommendations=(Recommendation(replicas=current, at=now),))


def _remember(recs: tuple[Recommendation, ...], old: int | None, new: Recommendation) -> tuple[Recommendation, ...]:
    if old is None:
        return (*recs, new)
    return (*recs[:old], new, *recs[old + 1 :])


def _stabilize_legacy(history: History, desired: int, now: Time) -> tuple[int, History]:
    """stabilizeRecommendation: the highest recommendation of the downscale window."""
    cutoff = now - DEFAULT_DOWNSCALE_STABILIZATION_SECONDS
    best, old = desired, None
    for i, rec in enumerate(history.recommendations):
        if rec.at < cutoff:
            old = i
        elif rec.replicas > best:
            best = rec.replicas
    recs = _remember(history.recommendations, old, Recommendation(replicas=desired, at=now))
    return best, attrs.evolve(history, recommendations=recs)


def _convert_with_rules(current: int, desired: int, min_replicas: int, max_replicas: int) -> tuple[int, tuple[str, str]]:
    """convertDesiredReplicasWithRules: clamp to min and to max(2*current, 4) or max."""
    limit = max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM)
    if max_replicas > limit:
        maximum, why = limit, SCALE_UP_LIMIT
    else:
        maximum, why = max_replicas, TOO_MANY_REPLICAS
    if desired < min_replicas:
        return min_replicas, TOO_FEW_REPLICAS
    if desired > maximum:
        return maximum, why
    return desired, DESIRED_WITHIN_RANGE


def _rules(behavior: HorizontalPodAutoscalerBehavior) -> tuple[HPAScalingRules, HPAScalingRules]:
    """The behavior's rule sets with anything unset taken from the defaults (the API
    server fills them; objects built around it still get upstream's meaning)."""
    up = behavior.scale_up or DEFAULT_SCALE_UP_RULES
    down = behavior.scale_down or DEFAULT_SCALE_DOWN_RULES
    if up.stabilization_window_seconds is None or up.select_policy is None or not up.policies:
        up = HPAScalingRules(
            stabilization_window_seconds=up.stabilization_window_seconds or 0,
            select_policy=up.select_policy or ScalingPolicySelect.MAX,
            policies=up.policies or DEFAULT_SCALE_UP_RULES.policies,
        )
    down = HPAScalingRules(
        stabilization_window_seconds=(
            DEFAULT_DOWNSCALE_STABILIZATION_SECONDS
            if down.stabilization_window_seconds is None
            else down.stabilization_window_seconds
        ),
        select_policy=down.select_policy or ScalingPolicySelect.MAX,
        policies=down.policies or DEFAULT_SCALE_DOWN_RULES.policies,
    )
    return up, down


def _window(rules: HPAScalingRules) -> int:
    return rules.stabilization_window_seconds or 0


def _stabilize_with_behaviors(
    up: HPAScalingRules, down: HPAScalingRules, history: History, current: int, desired: int, now: Time
) -> tuple[int, tuple[str, str], History]:
    """stabilizeRecommendationWithBehaviors."""
    scaling_up = desired >= current
    window = _window(up) if scaling_up else _window(down)
    why = SCALE_UP_STABILIZED if scaling_up else SCALE_DOWN_STABILIZED
    obsolete = now - max(_window(up), _window(down))
    cutoff = now - window
    best, old = desired, None
    for i, rec in enumerate(history.recommendations):
        if rec.at > cutoff:
            best = min(best, rec.replicas) if scaling_up else max(best, rec.replicas)
        if rec.at < obsolete:
            old = i
    recs = _remember(history.recommendations, old, Recommendation(replicas=desired, at=now))
    return best, why, attrs.evolve(history, recommendations=recs)


def _change_in_period(period: int, events: tuple[ScaleEvent, ...], now: Time) -> int:
    """getReplicasChangePerPeriod."""
    cutoff = now - period
    return sum(e.change for e in events if e.at > cutoff)


def scale_up_limit(current: int, events: tuple[ScaleEvent, ...], rules: HPAScalingRules, now: Time) -> int:
    """calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now."""
    if rules.select_policy is ScalingPolicySelect.DISABLED:
        return current
    pick = min if rules.select_policy is ScalingPolicySelect.MIN else max
    result: int | None = None
    for policy in rules.policies:
        start = current - _change_in_period(policy.period_seconds, events, now)
        if policy.type is HPAScalingPolicyType.PODS:
            proposed = start + policy.value
        else:
            proposed = math.ceil(start * (1 + policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return 0 if result is None else result


def scale_down_limit(current: int, events: tuple[ScaleEvent, ...], rules: HPAScalingRules, now: Time) -> int:
    """calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now."""
    if rules.select_policy is ScalingPolicySelect.DISABLED:
        return current
    pick = max if rules.select_policy is ScalingPolicySelect.MIN else min
    result: int | None = None
    for policy in rules.policies:
        start = current + _change_in_period(policy.period_seconds, events, now)
        if policy.type is HPAScalingPolicyType.PODS:
            proposed = start - policy.value
        else:
            proposed = math.trunc(start * (1 - policy.value / 100))
        result = proposed if result is None else pick(result, proposed)
    return MAX_INT32 if result is None else result


def _convert_with_behavior_rate(
    up: HPAScalingRules,
    down: HPAScalingRules,
    history: History,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    now: Time,
) -> tuple[int, tuple[str, str]]:
    """convertDesiredReplicasWithBehaviorRate."""
    if desired > current:
        limit = max(scale_up_limit(current, history.scale_up, up, now), current)
        if max_replicas > limit:
            maximum, why = limit, SCALE_UP_LIMIT
        else:
            maximum, why = max_replicas, TOO_MANY_REPLICAS
        if desired > maximum:
            return maximum, why
    elif desired < current:
        limit = min(scale_down_limit(current, history.scale_down, down, now), current)
        if min_replicas < limit:
            minimum, why = limit, SCALE_DOWN_LIMIT
        else:
            minimum, why = min_replicas, TOO_FEW_REPLICAS
        if desired < minimum:
            return minimum, why
    return desired, DESIRED_WITHIN_RANGE


def normalize(
    behavior: HorizontalPodAutoscalerBehavior | None,
    history: History,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    now: Time,
) -> Normalized:
    """normalizeDesiredReplicas(WithBehaviors): stabilise, then rate-limit and clamp."""
    if behavior is None:
        stabilized, history = _stabilize_legacy(history, desired, now)
        able = SCALE_DOWN_STABILIZED if stabilized != desired else READY_FOR_NEW_SCALE
        final, limit = _convert_with_rules(current, stabilized, min_replicas, max_replicas)
    else:
        up, down = _rules(behavior)
        stabilized, why, history = _stabilize_with_behaviors(up, down, history, current, desired, now)
        able = why if stabilized != desired else READY_FOR_NEW_SCALE
        final, limit = _convert_with_behavior_rate(
            up, down, history, current, stabilized, min_replicas, max_replicas, now
        )
    return Normalized(desired=final, history=history, able=able, limited=final != stabilized, limit=limit)


def _longest_period(rules: HPAScalingRules) -> int:
    return max((p.period_seconds for p in rules.policies), default=0)


def _store(events: tuple[ScaleEvent, ...], period: int, change: int, now: Time) -> tuple[ScaleEvent, ...]:
    cutoff = now - period
    marked = tuple(attrs.evolve(e, outdated=True) if e.at < cutoff else e for e in events)
    old = max((i for i, e in enumerate(marked) if e.outdated), default=None)
    new = ScaleEvent(change=change, at=now)
    if old is None:
        return (*marked, new)
    return (*marked[:old], new, *marked[old + 1 :])


def store_scale_event(
    behavior: HorizontalPodAutoscalerBehavior | None, history: History, previous: int, new: int, now: Time
) -> History:
    """storeScaleEvent: remember a rescale for the policies' periods (only with a behavior)."""
    if behavior is None:
        return history
    up, down = _rules(behavior)
    if new > previous:
        return attrs.evolve(history, scale_up=_store(history.scale_up, _longest_period(up), new - previous, now))
    return attrs.evolve(history, scale_down=_store(history.scale_down, _longest_period(down), previous - new, now))

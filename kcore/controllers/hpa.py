"""The horizontal pod autoscaler controller (autoscaling/v2) over resource metrics.

Owns `HorizontalPodAutoscalerController` ("horizontal-pod-autoscaler-controller", its
Events from "horizontal-pod-autoscaler"), its state `HpaState`, and the pure decision `reconcile(hpa, scale, view, history, now)` with its
helpers `compute_replicas_for_metrics` and `set_condition`.

Theory of operation (as upstream's reconcileAutoscaler, one HPA at a time):
1. Every SYNC_PERIOD (15 s, a `WakeMeAt` per HPA), when the HPA is added or its spec
   changes, and on `Started`/`Resynced`: resolve `spec.scaleTargetRef` to a kind with a
   scale subresource and ask for its scale (`CallApi(GetScale)`). An unknown kind or a
   failed GET sets AbleToScale=False FailedGetScale and records FailedGetScale.
2. With the scale: the pods the scale's selector picks in the view and their PodMetrics
   (kcore/api/metrics.py, written by kcore/addons/metricsserver.py or by anyone)
   give each metric's proposal (kcore/controllers/hpa_replicas.py); the largest wins.
   Outside [minReplicas, maxReplicas] the count is first brought inside; a zero scale
   with minReplicas > 0 disables scaling. The proposal is stabilised and rate-limited
   (kcore/controllers/hpa_behavior.py) with the HPA's `History`, which lives here.
3. A changed count is written with `CallApi(UpdateScale)` at the scale's resourceVersion;
   its answer settles AbleToScale (SucceededRescale / FailedUpdateScale), the events
   (SuccessfulRescale "New size: N; reason: ..." / FailedRescale), the scale-event history
   and lastScaleTime. Then the status (currentReplicas, desiredReplicas, currentMetrics,
   lastScaleTime, conditions AbleToScale / ScalingActive / ScalingLimited) is written
   with an Update of the status subresource when it differs from the view's.
An HPA with a call in flight is not synced again until the answer (its timer re-arms);
any failed write is retried by the next period. A call is tagged `Call(hpa, asked)`
(the scale, the rescale, the status), the rescale it performs kept in `rescales`; the
period timer is keyed by the HPA's key. A restart forgets the history, as
upstream's does.

Differences from upstream: Pods/Object/External metrics are not served (no custom or
external metrics API): such a metric is invalid with FailedGet<Type>Metric; a metric
that failed has no entry in currentMetrics (upstream leaves an empty one); the HPA's
own MODIFIED events trigger a sync only when the generation changes; PodMetrics are
matched to the selected pods by name.

Watch filter (`wants`): HPAs and PodMetrics (a sample's timestamp and usage are read);
the scale owners' own events (Deployment, ReplicaSet, StatefulSet,
ReplicationController) are skipped: the scale is always read fresh with GetScale and
nothing here reads those objects from the view (upstream's HPA has no informer for them
either). Every ADDED and DELETED pod passes: the scale's selector can pick any pod
(Pending ones count as unready) when a sync reads them. A pod update passes only when it
changes what a sync reads of a pod (`pod_reads_changed`: labels, deletionTimestamp,
the containers' requests, and unless it is being deleted (then groupPods ignores it)
phase, startTime, the Ready condition's status and lastTransitionTime), so a sync at a GetScale answer reads those fields as current as the last
accepted event; a kubelet's containerStatuses / IPs / other conditions write and a
binding do not pass (upstream's replica calculator reads no other pod field either).
An update whose old object is unknown passes.

Must not know: how metrics are produced, the apiserver's internals, other controllers.
Mirrors pkg/controller/podautoscaler/horizontal.go.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.autoscaling import (
    ContainerResourceMetricStatus,
    HorizontalPodAutoscaler,
    HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerConditionType,
    HorizontalPodAutoscalerStatus,
    MetricSourceType,
    MetricSpec,
    MetricStatus,
    MetricValueStatus,
    ResourceMetricStatus,
)
from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_gvk
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time, evolver
from kcore.api.metrics import PodMetrics
from kcore.api.pod import Pod
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.component.requests import GetScale, Response, Scale, Subresource, Update, UpdateScale
from kcore.controllers.hpa_behavior import (
    History,
    normalize,
    record_initial_recommendation,
    store_scale_event,
)
from kcore.controllers.hpa_replicas import (
    Proposal,
    pod_reads_changed,
    raw_resource_replicas,
    resource_replicas,
    resource_samples,
)
from kcore.labels import SelectorParseError, parse_selector
from kcore.quantity import Quantity
from kcore.state import ClusterState, get, key_of, list_objects, put

# Reasons for the autoscaler's events, some also its conditions' (horizontal.go writes them inline)
SELECTOR_REQUIRED: Final = "SelectorRequired"
INVALID_SELECTOR: Final = "InvalidSelector"
FAILED_GET_SCALE: Final = "FailedGetScale"
FAILED_COMPUTE_METRICS_REPLICAS: Final = "FailedComputeMetricsReplicas"
SUCCESSFUL_RESCALE: Final = "SuccessfulRescale"
FAILED_RESCALE: Final = "FailedRescale"

NAME: Final = "horizontal-pod-autoscaler-controller"
SYNC_PERIOD: Final = 15.0
_SCALE_OWNERS: Final = frozenset({Kind.DEPLOYMENT, Kind.REPLICA_SET, Kind.STATEFUL_SET, Kind.REPLICATION_CONTROLLER})

ABLE: Final = HorizontalPodAutoscalerConditionType.ABLE_TO_SCALE
ACTIVE: Final = HorizontalPodAutoscalerConditionType.SCALING_ACTIVE
LIMITED: Final = HorizontalPodAutoscalerConditionType.SCALING_LIMITED
T, F = ConditionStatus.TRUE, ConditionStatus.FALSE

Out = tuple["HpaState", tuple[Effect, ...]]
Conditions = tuple[HorizontalPodAutoscalerCondition, ...]


# --- values ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Plan:
    """A reconcile that decided to rescale, waiting for the UpdateScale answer."""

    current: int
    desired: int
    reason: str
    status: HorizontalPodAutoscalerStatus  # the new status but for the rescale's outcome
    history: History


class Asked(enum.Enum):
    """What an HPA's request asks for."""

    SCALE = "get-scale"
    RESCALE = "update-scale"
    STATUS = "status"


@attrs.frozen(kw_only=True)
class Call:
    """The tag of a request: the HPA it is for and what it asks."""

    hpa: ObjectKey
    asked: Asked


@attrs.frozen(kw_only=True)
class HpaState:
    view: ClusterState
    histories: PMap[ObjectKey, History] = pmap()
    next_sync: PMap[ObjectKey, Time] = pmap()
    in_flight: PSet[ObjectKey] = pset()  # HPAs with a request out (one at a time)
    rescales: PMap[ObjectKey, Plan] = pmap()  # the rescale an UpdateScale in flight performs
    dirty: PSet[ObjectKey] = pset()


_evolve = evolver(HpaState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen(kw_only=True)
class Decision:
    """What `reconcile` concluded: the status to write (when not rescaling, final), the
    events to record, the history, and the rescale to perform (None: none)."""

    status: HorizontalPodAutoscalerStatus
    events: tuple[RecordEvent, ...]
    history: History
    rescale: Plan | None


@attrs.frozen(kw_only=True)
class MetricsResult:
    replicas: int
    metric: str
    statuses: tuple[MetricStatus, ...]
    conditions: Conditions
    events: tuple[RecordEvent, ...]
    error: str = ""


# --- conditions ------------------------------------------------------------------------------


def set_condition(
    conditions: Conditions,
    type_: HorizontalPodAutoscalerConditionType,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: Time,
) -> Conditions:
    """setConditionInList: replace (or append) the condition of `type_`; the transition
    time moves only when the status changes."""
    for i, c in enumerate(conditions):
        if c.type is type_:
            at = c.last_transition_time if c.status is status else now
            new = HorizontalPodAutoscalerCondition(
                type=type_, status=status, last_transition_time=at, reason=reason, message=message
            )
            return (*conditions[:i], new, *conditions[i + 1 :])
    new = HorizontalPodAutoscalerCondition(
        type=type_, status=status, last_transition_time=now, reason=reason, message=message
    )
    return (*conditions, new)


def _event(hpa: HorizontalPodAutoscaler, type_: EventType, reason: str, message: str) -> RecordEvent:
    return RecordEvent(involved=key_of(hpa), type=type_, reason=reason, message=message)


# --- metrics ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Computed:
    proposal: Proposal
    metric: str
    status: MetricStatus


def _milli_quantity(milli: int) -> Quantity:
    return Quantity.from_milli(milli)


def _resource_metric(
    spec: MetricSpec,
    current: int,
    pods: tuple[Pod, ...],
    metrics: Mapping[str, PodMetrics],
    now: Time,
) -> _Computed | tuple[str, str, str]:
    """computeStatusFor(Container)ResourceMetric: the proposal, or (condition reason,
    inner error, wrapped error)."""
    container = spec.container_resource.container if spec.container_resource is not None else ""
    source = spec.container_resource or spec.resource
    is_container = spec.container_resource is not None
    reason = "FailedGetContainerResourceMetric" if is_container else "FailedGetResourceMetric"
    if source is None:
        err = f"invalid {'container ' if is_container else ''}resource metric source: no source was set"
        return reason, err, err
    name, target = source.name, source.target
    wrap = f"failed to get {name} container metric value" if is_container else f"failed to get {name} utilization"
    samples = resource_samples(metrics, name, container)
    prefix = f"{name} container resource" if is_container else f"{name} resource"
    if target.average_value is not None:
        raw = raw_resource_replicas(current, target.average_value.milli_value(), name, pods, samples, now)
        if isinstance(raw, str):
            return reason, raw, f"{wrap}: {raw}"
        value = MetricValueStatus(average_value=_milli_quantity(raw.raw_average))
        return _Computed(proposal=raw, metric=prefix, status=_metric_status(spec, name, container, value))
    if target.average_utilization is None:
        err = f"invalid {'container ' if is_container else ''}resource metric source: neither an utilization target nor a value target was set"
        return reason, err, err
    got = resource_replicas(current, target.average_utilization, name, pods, samples, now, container)
    if isinstance(got, str):
        return reason, got, f"{wrap}: {got}"
    value = MetricValueStatus(average_utilization=got.utilization, average_value=_milli_quantity(got.raw_average))
    metric = f"{prefix} utilization (percentage of request)"
    return _Computed(proposal=got, metric=metric, status=_metric_status(spec, name, container, value))


def _metric_status(spec: MetricSpec, name: str, container: str, value: MetricValueStatus) -> MetricStatus:
    if spec.type is MetricSourceType.CONTAINER_RESOURCE:
        return MetricStatus(
            type=spec.type,
            container_resource=ContainerResourceMetricStatus(name=name, current=value, container=container),
        )
    return MetricStatus(type=spec.type, resource=ResourceMetricStatus(name=name, current=value))


_UNSERVED: Final[Mapping[MetricSourceType, str]] = {
    MetricSourceType.PODS: "FailedGetPodsMetric",
    MetricSourceType.OBJECT: "FailedGetObjectMetric",
    MetricSourceType.EXTERNAL: "FailedGetExternalMetric",
}


def _one_metric(
    spec: MetricSpec, current: int, pods: tuple[Pod, ...], metrics: Mapping[str, PodMetrics], now: Time
) -> _Computed | tuple[str, str, str]:
    match spec.type:
        case MetricSourceType.RESOURCE | MetricSourceType.CONTAINER_RESOURCE:
            return _resource_metric(spec, current, pods, metrics, now)
        case MetricSourceType.PODS | MetricSourceType.OBJECT | MetricSourceType.EXTERNAL:
            err = f"unable to get {spec.type.value.lower()} metric: kcore serves no custom or external metrics API"
            return _UNSERVED[spec.type], err, err
        case _:
            assert_never(spec.type)


def _selected(view: ClusterState, namespace: str, selector_text: str) -> tuple[Pod, ...] | str:
    try:
        selector = parse_selector(selector_text)
    except SelectorParseError as e:
        return f"couldn't convert selector into a corresponding internal selector object: {e}"
    pods = list_objects(view, Kind.POD, namespace)
    return tuple(p for p in pods if isinstance(p, Pod) and selector.matches(p.metadata.labels))


def compute_replicas_for_metrics(
    hpa: HorizontalPodAutoscaler, scale: Scale, view: ClusterState, conditions: Conditions, now: Time
) -> MetricsResult:
    """computeReplicasForMetrics: the largest proposal of the valid metrics, their
    statuses, the ScalingActive condition and the events; `error` set when none counts."""
    if not scale.selector:
        conds = set_condition(conditions, ACTIVE, F, INVALID_SELECTOR, "the HPA target's scale is missing a selector", now)
        ev = _event(hpa, EventType.WARNING, SELECTOR_REQUIRED, "selector is required")
        return MetricsResult(replicas=0, metric="", statuses=(), conditions=conds, events=(ev,), error="selector is required")
    pods = _selected(view, hpa.metadata.namespace, scale.selector)
    if isinstance(pods, str):
        conds = set_condition(conditions, ACTIVE, F, INVALID_SELECTOR, pods, now)
        ev = _event(hpa, EventType.WARNING, INVALID_SELECTOR, pods)
        return MetricsResult(replicas=0, metric="", statuses=(), conditions=conds, events=(ev,), error=pods)
    metrics: dict[str, PodMetrics] = {}
    for pod in pods:
        pm = get(view, ObjectKey(kind=Kind.POD_METRICS, namespace=pod.metadata.namespace, name=pod.metadata.name))
        if isinstance(pm, PodMetrics):
            metrics[pod.metadata.name] = pm
    replicas, metric = 0, ""
    statuses: list[MetricStatus] = []
    events: list[RecordEvent] = []
    invalid: list[tuple[str, str, str]] = []
    for spec in hpa.spec.metrics:
        got = _one_metric(spec, scale.replicas, pods, metrics, now)
        if isinstance(got, tuple):
            invalid.append(got)
            events.append(_event(hpa, EventType.WARNING, got[0], got[1]))
            continue
        statuses.append(got.status)
        if replicas == 0 or got.proposal.replicas > replicas:
            replicas, metric = got.proposal.replicas, got.metric
    specs = len(hpa.spec.metrics)
    if invalid and (len(invalid) >= specs or replicas < scale.replicas):
        reason, inner, wrapped = invalid[0]
        message = f"the HPA was unable to compute the replica count: {inner}"
        conds = set_condition(conditions, ACTIVE, F, reason, message, now)
        error = f"invalid metrics ({len(invalid)} invalid out of {specs}), first error is: {wrapped}"
        return MetricsResult(replicas=0, metric="", statuses=tuple(statuses), conditions=conds, events=tuple(events), error=error)
    message = f"the HPA was able to successfully calculate a replica count from {metric}"
    conds = set_condition(conditions, ACTIVE, T, "ValidMetricFound", message, now)
    return MetricsResult(replicas=replicas, metric=metric, statuses=tuple(statuses), conditions=conds, events=tuple(events))


# --- reconcile -------------------------------------------------------------------------------


def reconcile(
    hpa: HorizontalPodAutoscaler, scale: Scale, view: ClusterState, history: History, now: Time
) -> Decision:
    """reconcileAutoscaler after the scale was read: the new status, events, history and
    the rescale to perform, if any."""
    original = hpa.status
    current = scale.replicas
    history = record_initial_recommendation(history, current, now)
    conds = set_condition(
        original.conditions, ABLE, T, "SucceededGetScale", "the HPA controller was able to get the target's current scale", now
    )
    spec = hpa.spec
    minimum = spec.min_replicas
    statuses: tuple[MetricStatus, ...] = ()
    events: tuple[RecordEvent, ...] = ()
    reason = ""
    if current == 0 and minimum != 0:
        desired, rescale = 0, False
        conds = set_condition(conds, ACTIVE, F, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", now)
    elif current > spec.max_replicas:
        desired, rescale, reason = spec.max_replicas, True, "Current number of replicas above Spec.MaxReplicas"
    elif current < minimum:
        desired, rescale, reason = minimum, True, "Current number of replicas below Spec.MinReplicas"
    else:
        result = compute_replicas_for_metrics(hpa, scale, view, conds, now)
        if result.error:
            status = attrs.evolve(original, current_replicas=current, conditions=result.conditions)
            failed = _event(hpa, EventType.WARNING, FAILED_COMPUTE_METRICS_REPLICAS, result.error)
            return Decision(status=status, events=(*result.events, failed), history=history, rescale=None)
        conds, statuses, events = result.conditions, result.statuses, result.events
        desired = max(result.replicas, 0)
        if desired > current:
            reason = f"{result.metric} above target"
        elif desired < current:
            reason = "All metrics below target"
        norm = normalize(spec.behavior, history, current, desired, minimum, spec.max_replicas, now)
        history, desired = norm.history, norm.desired
        conds = set_condition(conds, ABLE, T, norm.able[0], norm.able[1], now)
        conds = set_condition(conds, LIMITED, T if norm.limited else F, norm.limit[0], norm.limit[1], now)
        rescale = desired != current
    status = HorizontalPodAutoscalerStatus(
        current_replicas=current,
        desired_replicas=desired if rescale else current,
        last_scale_time=original.last_scale_time,
        current_metrics=statuses,
        conditions=conds,
    )
    plan = Plan(current=current, desired=desired, reason=reason, status=status, history=history) if rescale else None
    return Decision(status=status, events=events, history=history, rescale=plan)


def rescaled(hpa: HorizontalPodAutoscaler, plan: Plan, response: Response, now: Time) -> tuple[HorizontalPodAutoscalerStatus, History, RecordEvent]:
    """The status, history and event after the UpdateScale of `plan` was answered."""
    if response.ok:
        conds = set_condition(
            plan.status.conditions, ABLE, T, "SucceededRescale", f"the HPA controller was able to update the target scale to {plan.desired}", now
        )
        status = attrs.evolve(plan.status, conditions=conds, last_scale_time=now)
        history = store_scale_event(hpa.spec.behavior, plan.history, plan.current, plan.desired, now)
        message = f"New size: {plan.desired}; reason: {plan.reason}"
        return status, history, _event(hpa, EventType.NORMAL, SUCCESSFUL_RESCALE, message)
    error = response.body.message if isinstance(response.body, Status) else f"status code {response.code}"
    conds = set_condition(
        plan.status.conditions, ABLE, F, "FailedUpdateScale", f"the HPA controller was unable to update the target scale: {error}", now
    )
    status = attrs.evolve(
        hpa.status, current_replicas=plan.current, conditions=conds
    )
    message = f"New size: {plan.desired}; reason: {plan.reason}; error: {error}"
    return status, plan.history, _event(hpa, EventType.WARNING, FAILED_RESCALE, message)


def failed_get_scale(hpa: HorizontalPodAutoscaler, error: str, now: Time) -> tuple[HorizontalPodAutoscalerStatus, RecordEvent]:
    """The status and event when the target's scale cannot be read."""
    conds = set_condition(
        hpa.status.conditions, ABLE, F, FAILED_GET_SCALE, f"the HPA controller was unable to get the target's current scale: {error}", now
    )
    return attrs.evolve(hpa.status, conditions=conds), _event(hpa, EventType.WARNING, FAILED_GET_SCALE, error)


def target_key(hpa: HorizontalPodAutoscaler) -> ObjectKey | str:
    """The scale target's key, or why it has none."""
    ref = hpa.spec.scale_target_ref
    try:
        kind = kind_for_gvk(ref.api_version, ref.kind)
    except UnknownKindError as e:
        return str(e)
    if not kind.info.has_scale:
        return f'the server could not find the requested resource ({kind.info.plural} "{ref.name}" has no scale subresource)'
    return ObjectKey(kind=kind, namespace=hpa.metadata.namespace, name=ref.name)


# --- the component ---------------------------------------------------------------------------


def _call(s: HpaState, call: Call, request: GetScale | UpdateScale | Update) -> Out:
    s = attrs.evolve(s, in_flight=s.in_flight.add(call.hpa))
    return s, (CallApi(request=request, tag=call),)


def _write_status(s: HpaState, hpa: HorizontalPodAutoscaler, status: HorizontalPodAutoscalerStatus) -> Out:
    if status == hpa.status:
        return s, ()
    request = Update(obj=attrs.evolve(hpa, status=status), subresource=Subresource.STATUS)
    return _call(s, Call(hpa=key_of(hpa), asked=Asked.STATUS), request)


def sync(s: HpaState, key: ObjectKey, now: Time) -> Out:
    """Start one reconcile of `key`: re-arm its period timer and ask for the target's scale."""
    s = attrs.evolve(s, dirty=s.dirty.discard(key))
    hpa = get(s.view, key)
    if not isinstance(hpa, HorizontalPodAutoscaler):
        return attrs.evolve(s, next_sync=s.next_sync.discard(key), histories=s.histories.discard(key)), ()
    at = Time(now + SYNC_PERIOD)
    s = attrs.evolve(s, next_sync=s.next_sync.set(key, at))
    timer: tuple[Effect, ...] = (WakeMeAt(at=at, key=key),)  # periodic: merely scheduled
    if key in s.in_flight:
        return s, timer
    target = target_key(hpa)
    if isinstance(target, str):
        status, ev = failed_get_scale(hpa, target, now)
        s, write = _write_status(s, hpa, status)
        return s, (*timer, ev, *write)
    s, ask = _call(s, Call(hpa=key, asked=Asked.SCALE), GetScale(key=target))
    return s, (*timer, *ask)


def _scale_answered(s: HpaState, hpa: HorizontalPodAutoscaler, response: Response, now: Time) -> Out:
    key = key_of(hpa)
    body = response.body
    if not response.ok or not isinstance(body, Scale):
        error = body.message if isinstance(body, Status) else f"status code {response.code}"
        status, ev = failed_get_scale(hpa, error, now)
        s, write = _write_status(s, hpa, status)
        return s, (ev, *write)
    decision = reconcile(hpa, body, s.view, s.histories.get(key, History()), now)
    s = attrs.evolve(s, histories=s.histories.set(key, decision.history))
    if decision.rescale is None:
        s, write = _write_status(s, hpa, decision.status)
        return s, (*decision.events, *write)
    request = UpdateScale(key=body.key, replicas=decision.rescale.desired, resource_version=body.resource_version)
    s = attrs.evolve(s, rescales=s.rescales.set(key, decision.rescale))
    s, ask = _call(s, Call(hpa=key, asked=Asked.RESCALE), request)
    return s, (*decision.events, *ask)


def _answered(s: HpaState, call: Call, response: Response, now: Time) -> Out:
    plan = s.rescales.get(call.hpa) if call.asked is Asked.RESCALE else None
    s = attrs.evolve(s, in_flight=s.in_flight.discard(call.hpa))
    if plan is not None:
        s = attrs.evolve(s, rescales=s.rescales.discard(call.hpa))
    hpa = get(s.view, call.hpa)
    if not isinstance(hpa, HorizontalPodAutoscaler):
        return s, ()
    match call.asked:
        case Asked.STATUS:
            body = response.body
            if response.ok and isinstance(body, HorizontalPodAutoscaler) and body.metadata.resource_version > hpa.metadata.resource_version:
                s = attrs.evolve(s, view=put(s.view, body))
            return s, ()
        case Asked.SCALE:
            return _scale_answered(s, hpa, response, now)
        case Asked.RESCALE:
            assert plan is not None  # set with the UpdateScale, one request per HPA at a time
            status, history, ev = rescaled(hpa, plan, response, now)
            s = attrs.evolve(s, histories=s.histories.set(call.hpa, history))
            s, write = _write_status(s, hpa, status)
            return s, (ev, *write)
        case _:
            assert_never(call.asked)


def _watched(s: HpaState, ev_key: ObjectKey, obj: object) -> HpaState:
    """Fold a watch event in; an HPA that is new or whose spec changed becomes dirty."""
    if ev_key.kind is not Kind.HORIZONTAL_POD_AUTOSCALER:
        return s
    before = get(s.view, ev_key)
    if isinstance(obj, HorizontalPodAutoscaler) and (
        before is None or before.metadata.generation != obj.metadata.generation
    ):
        return attrs.evolve(s, dirty=s.dirty.add(ev_key))
    return s


def _all(view: ClusterState) -> PSet[ObjectKey]:
    return pset(key_of(h) for h in list_objects(view, Kind.HORIZONTAL_POD_AUTOSCALER))


def run(s: HpaState, now: Time) -> Out:
    """Sync every dirty HPA in sorted order."""
    effects: list[Effect] = []
    for key in sorted(s.dirty):
        s, out = sync(s, key, now)
        effects.extend(out)
    return s, tuple(effects)


@attrs.frozen(kw_only=True)
class HorizontalPodAutoscalerController:
    """kube-controller-manager's horizontal-pod-autoscaler controller."""

    name: str = NAME
    event_source: EventSource = EventSource(component="horizontal-pod-autoscaler")  # horizontal.go
    watches: frozenset[Kind] = frozenset(
        {
            Kind.HORIZONTAL_POD_AUTOSCALER,
            Kind.POD_METRICS,
            Kind.POD,
            *_SCALE_OWNERS,
        }
    )

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): no scale owner's event, no pod update
        that leaves what a sync reads as it was."""
        obj = event.obj
        if isinstance(obj, Pod):
            return not isinstance(old, Pod) or event.type is not WatchType.MODIFIED or pod_reads_changed(old, obj)
        return obj.KIND not in _SCALE_OWNERS

    def init(self, view: ClusterState, now: Time) -> Out:
        """Start from a fresh LIST with no history; every HPA syncs on `Started`."""
        return HpaState(view=view), ()

    def step(self, state: HpaState, event: Event) -> Out:
        """Absorb `event`, then start the reconciles it makes due.

        Emits `CallApi` (GetScale, UpdateScale, HPA status Updates), `WakeMeAt` (the sync
        period) and `RecordEvent` (SuccessfulRescale, FailedRescale, FailedGetScale,
        FailedGetResourceMetric, FailedComputeMetricsReplicas, ...)."""
        s, now = state, event.now
        effects: tuple[Effect, ...] = ()
        match event:
            case Started():
                s = attrs.evolve(s, dirty=_all(s.view))
            case WatchDelivered(event=ev):
                s = _watched(s, ev.key, ev.obj)
                s = _evolve(s, view=follow(s.view, event))
                if ev.key.kind is Kind.HORIZONTAL_POD_AUTOSCALER and get(s.view, ev.key) is None:
                    s = attrs.evolve(s, histories=s.histories.discard(ev.key), next_sync=s.next_sync.discard(ev.key))
            case ApiAnswered(tag=Call() as call, response=resp):
                s, effects = _answered(s, call, resp, now)
            case TimerFired(key=ObjectKey() as hpa):
                due = s.next_sync.get(hpa)
                if due is not None and due <= now:
                    s = attrs.evolve(s, dirty=s.dirty.add(hpa))
            case ApiAnswered() | TimerFired():
                pass
            case Resynced(view=view):
                s = attrs.evolve(s, view=view, dirty=_all(view))
            case RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)
        s, more = run(s, now)
        return s, (*effects, *more)

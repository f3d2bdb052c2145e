"""The horizontal pod autoscaler: the replica calculator as a table, then the controller
driven by the real driver and apiserver.

Calculator cases follow pkg/controller/podautoscaler/replica_calculator_test.go; the
controller cases run the autoscaler alone over a ReplicaSet whose pods the test keeps
Running and Ready and whose PodMetrics it writes (tests/hpa_fixtures.py).
"""

from __future__ import annotations

import attrs
import pytest
from pyrsistent import pmap, pset

from kcore.api.apps import ReplicaSet
from kcore.api.autoscaling import (
    HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerConditionType,
    HPAScalingPolicy,
    HPAScalingPolicyType,
    HPAScalingRules,
    MetricSourceType,
    MetricStatus,
    MetricValueStatus,
    ResourceMetricStatus,
    ScalingPolicySelect,
)
from kcore.api.meta import ConditionStatus, ObjectMeta, Time
from kcore.api.pod import Pod, PodCondition, PodPhase, PodStatus
from kcore.component.effects import CallApi, WakeMeAt
from kcore.component.requests import GetScale
from kcore.controllers.hpa import SYNC_PERIOD, Asked, Call, HorizontalPodAutoscalerController
from kcore.controllers.hpa_behavior import (
    History,
    ScaleEvent,
    normalize,
    scale_down_limit,
    scale_up_limit,
)
from kcore.controllers.hpa_replicas import PodSample, raw_resource_replicas, resource_replicas
from kcore.driver.cluster import Cluster
from kcore.quantity import Quantity
from tests.builders import a_container, a_pod, an_hpa
from tests.hpa_fixtures import (
    HPA,
    RS,
    a_cluster,
    created,
    events_about,
    follow,
    hpa,
    replica_set,
    run_pod,
    start_replica_set,
    write_metrics,
)
from tests.rig import Rig

NOW = Time(1_700_000_000.0)
ABLE = HorizontalPodAutoscalerConditionType.ABLE_TO_SCALE
ACTIVE = HorizontalPodAutoscalerConditionType.SCALING_ACTIVE
LIMITED = HorizontalPodAutoscalerConditionType.SCALING_LIMITED


# --- the replica calculator ----------------------------------------------------------------


def a_running_pod(name: str, *, request: str = "1000m", phase: PodPhase = PodPhase.RUNNING, ready: bool = True, started: float = 600, ready_since: float | None = None) -> Pod:
    pod = a_pod(name, containers=(a_container(cpu=request),))
    since = Time(NOW - (started if ready_since is None else ready_since))
    cond = PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE, last_transition_time=since)
    return attrs.evolve(pod, status=PodStatus(phase=phase, conditions=(cond,), start_time=Time(NOW - started)))


def samples(**milli: int) -> dict[str, PodSample]:
    return {name.replace("_", "-"): PodSample(value=v, timestamp=Time(NOW - 5), window=15.0) for name, v in milli.items()}


THREE = (a_running_pod("p-0"), a_running_pod("p-1"), a_running_pod("p-2"))


@pytest.mark.parametrize(
    ("current", "usage", "expected", "utilization"),
    [
        (3, dict(p_0=900, p_1=900, p_2=900), 6, 90),  # 90% vs 50%: ceil(1.8 * 3)
        (3, dict(p_0=540, p_1=520, p_2=560), 3, 54),  # ratio 1.08: within tolerance
        (3, dict(p_0=450, p_1=450, p_2=450), 3, 45),  # ratio 0.9: the tolerance's edge
        (3, dict(p_0=100, p_1=100, p_2=100), 1, 10),  # ceil(0.2 * 3)
        (3, dict(p_0=900, p_1=900), 4, 90),  # scale-up: the missing pod counts 0 -> 60%
        (3, dict(p_0=100, p_1=100), 3, 10),  # scale-down: the missing pod counts 100%: 40%, ceil(0.8 * 3)
    ],
)
def test_resource_replicas_follow_upstream_arithmetic(current: int, usage: dict[str, int], expected: int, utilization: int) -> None:
    got = resource_replicas(current, 50, "cpu", THREE, samples(**usage), NOW)
    assert not isinstance(got, str)
    assert (got.replicas, got.utilization) == (expected, utilization)


def test_a_missing_pod_on_scale_down_counts_its_whole_request() -> None:
    pods = (*THREE, a_running_pod("p-3"))
    got = resource_replicas(4, 50, "cpu", pods, samples(p_0=0, p_1=0, p_2=0), NOW)
    assert not isinstance(got, str)
    # 0% on three pods; with the fourth at 100%: 25% -> ratio 0.5 -> ceil(0.5 * 4) = 2
    assert (got.replicas, got.utilization) == (2, 0)


def test_pending_pods_count_zero_on_scale_up() -> None:
    pods = (*THREE, a_running_pod("p-3", phase=PodPhase.PENDING))
    got = resource_replicas(4, 50, "cpu", pods, samples(p_0=1000, p_1=1000, p_2=1000), NOW)
    assert not isinstance(got, str)
    # 100% on three ready pods (ratio 2); the pending pod at 0: 75% -> ceil(1.5 * 4) = 6
    assert got.replicas == 6


def test_a_cpu_sample_from_before_readiness_settled_is_ignored() -> None:
    young = a_running_pod("p-3", started=60, ready_since=10)  # Ready 10 s ago; sampled 5 s ago
    settled = a_running_pod("p-3", started=60, ready_since=30)  # a whole window since Ready
    got = resource_replicas(4, 50, "cpu", (*THREE, settled), samples(p_0=1000, p_1=1000, p_2=1000, p_3=1000), NOW)
    assert not isinstance(got, str)
    assert got.replicas == 8
    pods = (*THREE, young)
    got = resource_replicas(4, 50, "cpu", pods, samples(p_0=1000, p_1=1000, p_2=1000, p_3=1000), NOW)
    assert not isinstance(got, str)
    assert got.replicas == 6  # as if p-3 were unready: counted 0 on the way up


def test_errors_are_upstream_texts() -> None:
    assert resource_replicas(3, 50, "cpu", THREE, {}, NOW) == (
        "unable to get metrics for resource cpu: no metrics returned from resource metrics API"
    )
    assert resource_replicas(3, 50, "cpu", (), samples(p_0=1), NOW) == "no pods returned by selector while calculating replica count"
    no_request = (attrs.evolve(THREE[0], spec=attrs.evolve(THREE[0].spec, containers=(a_container(),))),)
    assert resource_replicas(1, 50, "cpu", no_request, samples(p_0=1), NOW) == "missing request for cpu in container app of Pod p-0"
    unready = tuple(a_running_pod(f"p-{i}", ready=False) for i in range(3))
    assert resource_replicas(3, 50, "cpu", unready, samples(p_0=1, p_1=1, p_2=1), NOW) == (
        "did not receive metrics for targeted pods (pods might be unready)"
    )


def test_raw_resource_replicas_use_the_average_per_pod() -> None:
    got = raw_resource_replicas(3, 200, "cpu", THREE, samples(p_0=500, p_1=500, p_2=500), NOW)
    assert not isinstance(got, str)
    assert (got.replicas, got.raw_average) == (8, 500)  # ceil(2.5 * 3)


# --- behaviors -----------------------------------------------------------------------------

DEFAULT_BEHAVIOR = HorizontalPodAutoscalerBehavior()


def test_default_scale_up_allows_the_larger_of_four_pods_and_double() -> None:
    up = HPAScalingRules(
        stabilization_window_seconds=0,
        select_policy=ScalingPolicySelect.MAX,
        policies=(
            HPAScalingPolicy(type=HPAScalingPolicyType.PODS, value=4, period_seconds=15),
            HPAScalingPolicy(type=HPAScalingPolicyType.PERCENT, value=100, period_seconds=15),
        ),
    )
    assert scale_up_limit(2, (), up, NOW) == 6
    assert scale_up_limit(10, (), up, NOW) == 20
    recent = (ScaleEvent(change=5, at=Time(NOW - 10)),)
    assert scale_up_limit(10, recent, up, NOW) == 10  # the period started at 5: max(9, 10)
    assert scale_up_limit(10, recent, attrs.evolve(up, select_policy=ScalingPolicySelect.MIN), NOW) == 9
    assert scale_up_limit(10, recent, attrs.evolve(up, select_policy=ScalingPolicySelect.DISABLED), NOW) == 10


def test_scale_down_percent_policy_rounds_toward_zero() -> None:
    down = HPAScalingRules(
        stabilization_window_seconds=0,
        select_policy=ScalingPolicySelect.MAX,
        policies=(HPAScalingPolicy(type=HPAScalingPolicyType.PERCENT, value=50, period_seconds=60),),
    )
    assert scale_down_limit(5, (), down, NOW) == 2
    assert scale_down_limit(5, (ScaleEvent(change=5, at=Time(NOW - 30)),), down, NOW) == 5


def test_a_disabled_scale_down_keeps_the_count_and_says_so() -> None:
    behavior = HorizontalPodAutoscalerBehavior(scale_down=HPAScalingRules(select_policy=ScalingPolicySelect.DISABLED, stabilization_window_seconds=0))
    got = normalize(behavior, History(), 5, 2, 1, 10, NOW)
    assert (got.desired, got.limited, got.limit[0]) == (5, True, "ScaleDownLimit")


# --- the controller --------------------------------------------------------------------------


def setup(
    replicas: int,
    cpu_milli: int,
    *,
    min_replicas: int = 1,
    max_replicas: int = 10,
    behavior: HorizontalPodAutoscalerBehavior | None = None,
    average_value: str = "",
) -> Cluster:
    c = a_cluster()
    start_replica_set(c, replicas)
    follow(c, cpu_milli)
    hpa_obj = an_hpa(min_replicas=min_replicas, max_replicas=max_replicas, behavior=behavior, average_value=average_value)
    created(c, hpa_obj)
    c.run_until_stable()
    return c


def cond(type_: HorizontalPodAutoscalerConditionType, status: ConditionStatus, reason: str, message: str, at: float) -> HorizontalPodAutoscalerCondition:
    return HorizontalPodAutoscalerCondition(type=type_, status=status, last_transition_time=Time(at), reason=reason, message=message)


def test_utilization_above_target_scales_up_and_reports_it() -> None:
    c = setup(3, 90)
    assert replica_set(c).spec.replicas == 6
    t = c.now
    assert hpa(c).status == attrs.evolve(
        hpa(c).status,
        current_replicas=3,
        desired_replicas=6,
        last_scale_time=t,
        current_metrics=(
            MetricStatus(
                type=MetricSourceType.RESOURCE,
                resource=ResourceMetricStatus(name="cpu", current=MetricValueStatus(average_utilization=90, average_value=Quantity.from_milli(90))),
            ),
        ),
        conditions=(
            cond(ABLE, ConditionStatus.TRUE, "SucceededRescale", "the HPA controller was able to update the target scale to 6", t),
            cond(ACTIVE, ConditionStatus.TRUE, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", t),
            cond(LIMITED, ConditionStatus.FALSE, "DesiredWithinRange", "the desired count is within the acceptable range", t),
        ),
    )
    assert events_about(c) == [("SuccessfulRescale", "New size: 6; reason: cpu resource utilization (percentage of request) above target")]


def test_utilization_within_tolerance_changes_nothing() -> None:
    c = setup(3, 54)
    assert replica_set(c).spec.replicas == 3
    st = hpa(c).status
    assert (st.current_replicas, st.desired_replicas, st.last_scale_time) == (3, 3, None)
    assert [(x.type, x.reason) for x in st.conditions] == [(ABLE, "ReadyForNewScale"), (ACTIVE, "ValidMetricFound"), (LIMITED, "DesiredWithinRange")]
    assert events_about(c) == []


def test_scale_down_waits_for_the_stabilization_window() -> None:
    c = setup(6, 10)
    start = c.now
    assert replica_set(c).spec.replicas == 6
    assert hpa(c).status.conditions[0].reason == "ScaleDownStabilized"
    while c.now < start + 300:
        c.advance(15)
        follow(c, 10)
        if c.now < start + 300:
            assert replica_set(c).spec.replicas == 6, c.now - start
    c.advance(15)
    assert replica_set(c).spec.replicas == 2  # ceil(0.2 * 6)
    assert events_about(c) == [("SuccessfulRescale", "New size: 2; reason: All metrics below target")]


def test_the_scale_up_policy_limits_each_period() -> None:
    c = setup(2, 500, max_replicas=30, behavior=DEFAULT_BEHAVIOR)
    seen = [replica_set(c).spec.replicas]
    assert [(x.reason) for x in hpa(c).status.conditions if x.type is LIMITED] == ["ScaleUpLimit"]
    for _ in range(3):
        follow(c, 500)
        c.advance(15)
        seen.append(replica_set(c).spec.replicas)
    assert seen == [6, 12, 24, 30]
    limited = [x for x in hpa(c).status.conditions if x.type is LIMITED]
    assert [(x.status, x.reason) for x in limited] == [(ConditionStatus.TRUE, "TooManyReplicas")]


def test_the_minimum_bounds_a_scale_down_and_says_so() -> None:
    no_window = HorizontalPodAutoscalerBehavior(scale_down=HPAScalingRules(stabilization_window_seconds=0))
    c = setup(3, 1, min_replicas=2, behavior=no_window)
    assert replica_set(c).spec.replicas == 2
    limited = [x for x in hpa(c).status.conditions if x.type is LIMITED]
    assert [(x.status, x.reason, x.message) for x in limited] == [
        (ConditionStatus.TRUE, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
    ]


def test_the_maximum_bounds_a_scale_up_and_says_so() -> None:
    c = setup(3, 200, max_replicas=4)
    assert replica_set(c).spec.replicas == 4
    limited = [x for x in hpa(c).status.conditions if x.type is LIMITED]
    assert [(x.status, x.reason) for x in limited] == [(ConditionStatus.TRUE, "TooManyReplicas")]


def test_a_target_above_the_maximum_is_brought_down_without_metrics() -> None:
    c = a_cluster()
    start_replica_set(c, 8)
    created(c, an_hpa(max_replicas=5))
    c.run_until_stable()
    assert replica_set(c).spec.replicas == 5
    assert events_about(c) == [("SuccessfulRescale", "New size: 5; reason: Current number of replicas above Spec.MaxReplicas")]


def test_pods_without_metrics_make_the_metric_fail() -> None:
    c = a_cluster()
    start_replica_set(c, 2)
    run_pod(c, "web-000")
    run_pod(c, "web-001")
    created(c, an_hpa())
    c.run_until_stable()
    assert replica_set(c).spec.replicas == 2
    inner = "unable to get metrics for resource cpu: no metrics returned from resource metrics API"
    active = [x for x in hpa(c).status.conditions if x.type is ACTIVE]
    assert [(x.status, x.reason, x.message) for x in active] == [
        (ConditionStatus.FALSE, "FailedGetResourceMetric", f"the HPA was unable to compute the replica count: {inner}")
    ]
    assert events_about(c) == [
        ("FailedGetResourceMetric", inner),
        ("FailedComputeMetricsReplicas", f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu utilization: {inner}"),
    ]
    write_metrics(c, "web-000", 90)  # one pod reports; the other is missing: counts 0 going up
    write_metrics(c, "web-001", None)
    c.advance(15)
    assert replica_set(c).spec.replicas == 2  # 90% on one pod, 45% with the missing one: ratio 0.9
    write_metrics(c, "web-001", 90)
    c.advance(15)
    assert replica_set(c).spec.replicas == 4


def test_an_average_value_target_scales_on_raw_usage() -> None:
    c = setup(2, 300, average_value="100")
    # ceil(3 * 2) = 6, held to max(2 * current, 4) without a behavior
    assert replica_set(c).spec.replicas == 4
    assert [x.reason for x in hpa(c).status.conditions if x.type is LIMITED] == ["ScaleUpLimit"]
    assert hpa(c).status.current_metrics[0].resource == ResourceMetricStatus(
        name="cpu", current=MetricValueStatus(average_value=Quantity.from_milli(300))
    )


def test_an_unknown_target_kind_cannot_scale() -> None:
    c = a_cluster()
    bad = an_hpa()
    ref = attrs.evolve(bad.spec.scale_target_ref, kind="Widget")
    created(c, attrs.evolve(bad, spec=attrs.evolve(bad.spec, scale_target_ref=ref)))
    c.run_until_stable()
    able = hpa(c).status.conditions
    assert [(x.type, x.status, x.reason) for x in able] == [(ABLE, ConditionStatus.FALSE, "FailedGetScale")]
    assert [r for r, _ in events_about(c)] == ["FailedGetScale"]


def test_a_missing_target_reports_the_apiservers_not_found() -> None:
    c = a_cluster()
    created(c, an_hpa())
    c.run_until_stable()
    (event,) = events_about(c)
    assert event == ("FailedGetScale", 'replicasets.apps "web" not found')


def test_each_call_of_a_reconcile_is_tagged_with_its_hpa_and_what_it_asks() -> None:
    c = a_cluster()
    start_replica_set(c, 3)
    follow(c, 90)
    created(c, an_hpa())
    rig = Rig(HorizontalPodAutoscalerController(), state=c.state, now=c.now)
    effects = rig.start()
    assert effects == (
        WakeMeAt(at=Time(c.now + SYNC_PERIOD), key=HPA),
        CallApi(request=GetScale(key=RS), tag=Call(hpa=HPA, asked=Asked.SCALE)),
    )
    asked = []
    for _ in range(3):  # the scale, the rescale, the status
        (call,) = [e for e in effects if isinstance(e, CallApi)]
        asked.append((type(call.request).__name__, call.tag))
        effects = rig.answer(call)
    assert asked == [
        ("GetScale", Call(hpa=HPA, asked=Asked.SCALE)),
        ("UpdateScale", Call(hpa=HPA, asked=Asked.RESCALE)),
        ("Update", Call(hpa=HPA, asked=Asked.STATUS)),
    ]
    assert (effects, rig.s.in_flight, rig.s.rescales) == ((), pset(), pmap())
    assert rig.get(RS, ReplicaSet).spec.replicas == 6


def test_a_restarted_controller_resumes_from_the_api() -> None:
    c = setup(3, 90)
    assert replica_set(c).spec.replicas == 6
    follow(c, 45)  # 6 pods at 45%: within tolerance
    from kcore.driver.faults import CrashComponent

    c.inject(CrashComponent(name="horizontal-pod-autoscaler-controller"))
    c.run_until_stable()
    c.advance(15)
    assert replica_set(c).spec.replicas == 6
    assert hpa(c).status.desired_replicas == 6


def test_a_pod_metrics_object_is_validated() -> None:
    from kcore.api.metrics import ContainerMetrics, PodMetrics
    from kcore.component.requests import Create

    c = a_cluster()
    bad = PodMetrics(
        metadata=ObjectMeta(name="p", namespace="default"),
        window="soon",
        containers=(
            ContainerMetrics(name="a", usage=pmap({"cpu": Quantity.from_milli(-1)})),
            ContainerMetrics(name="a"),
        ),
    )
    response = c.request(Create(obj=bad))
    assert response.code == 422
    text = str(response.body)
    for path in ("window", "containers[0].usage[cpu]", "containers[1].name"):
        assert path in text

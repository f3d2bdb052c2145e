"""PodDisruptionBudget end to end through `handle`: kind, codec, validation, eviction.

Eviction cases follow pkg/registry/core/pod/storage/eviction.go: which pods may go
without a budget's consent, the exact refusals (429 / 500 / 403) and what a granted
eviction writes (the budget's status, the pod's DisruptionTarget condition, its deletion).
"""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.codec import from_dict, to_dict
from kcore.api.kinds import Kind, kind_for_gvk, kind_for_name
from kcore.api.meta import (
    ApiObject,
    ConditionStatus,
    ObjectMeta,
    Status,
    StatusCause,
    StatusDetails,
    StatusReason,
    Time,
)
from kcore.api.pod import (
    LabelSelector,
    LabelSelectorOperator,
    LabelSelectorRequirement,
    Pod,
    PodCondition,
    PodPhase,
)
from kcore.api.policy import (
    Condition,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
    UnhealthyPodEvictionPolicy,
    selects,
)
from kcore.api.watch import WatchType
from kcore.apiserver import handle
from kcore.component.requests import Create, Evict, Get, Response, Subresource, Update
from kcore.state import ClusterState, get, put
from tests.builders import T0, a_pdb, a_pod, cluster_with, key

NOW = Time(T0 + 20)
POD = key(Kind.POD, "web")
PDB = key(Kind.POD_DISRUPTION_BUDGET, "web-pdb")
SUCCESS = Response(code=201, body=Status(status="Success", code=201))


def _stored(state: ClusterState, k: object) -> ApiObject:
    obj = get(state, k)  # type: ignore[arg-type]
    assert obj is not None
    return obj


def _ok(state: ClusterState, request: Create | Update) -> ClusterState:
    state, response, _ = handle(state, request, T0)
    assert response.ok, response.body
    return state


def with_pod_status(state: ClusterState, name: str, phase: PodPhase, ready: bool) -> ClusterState:
    """The pod's status set as a kubelet would report it."""
    pod = _stored(state, key(Kind.POD, name))
    assert isinstance(pod, Pod)
    conditions = (
        PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE),
    )
    status = attrs.evolve(pod.status, phase=phase, conditions=conditions)
    return _ok(state, Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS))


def with_budget_status(
    state: ClusterState,
    name: str = "web-pdb",
    *,
    observed_generation: int | None = None,
    disruptions_allowed: int = 0,
    current_healthy: int = 0,
    desired_healthy: int = 0,
    expected_pods: int = 0,
) -> ClusterState:
    """The budget's status as the disruption controller would write it (observedGeneration
    current unless given)."""
    pdb = _stored(state, key(Kind.POD_DISRUPTION_BUDGET, name))
    assert isinstance(pdb, PodDisruptionBudget)
    status = attrs.evolve(
        pdb.status,
        observed_generation=pdb.metadata.generation if observed_generation is None else observed_generation,
        disruptions_allowed=disruptions_allowed,
        current_healthy=current_healthy,
        desired_healthy=desired_healthy,
        expected_pods=expected_pods,
    )
    return _ok(state, Update(obj=attrs.evolve(pdb, status=status), subresource=Subresource.STATUS))


def running_pod_under_budget(*, ready: bool = True, allowed: int = 1, current: int = 3, desired: int = 2) -> ClusterState:
    s = cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), a_pdb(min_available=2))
    s = with_pod_status(s, "web", PodPhase.RUNNING, ready)
    return with_budget_status(
        s, disruptions_allowed=allowed, current_healthy=current, desired_healthy=desired, expected_pods=3
    )


# --- kind and codec ---------------------------------------------------------------------------


def test_the_kind_answers_to_its_names_and_is_namespaced_with_status() -> None:
    info = Kind.POD_DISRUPTION_BUDGET.info
    assert kind_for_name("pdb") is kind_for_name("poddisruptionbudgets") is Kind.POD_DISRUPTION_BUDGET
    assert kind_for_name("poddisruptionbudget.policy") is Kind.POD_DISRUPTION_BUDGET
    assert kind_for_gvk("policy/v1", "PodDisruptionBudget") is Kind.POD_DISRUPTION_BUDGET
    assert (info.api_version, info.plural, info.namespaced, info.has_status, info.has_scale) == (
        "policy/v1",
        "poddisruptionbudgets",
        True,
        True,
        False,
    )


UPSTREAM_SHAPE = {
    "apiVersion": "policy/v1",
    "kind": "PodDisruptionBudget",
    "metadata": {"name": "zk-pdb", "namespace": "default", "generation": 2},
    "spec": {
        "maxUnavailable": "25%",
        "selector": {"matchLabels": {"app": "zookeeper"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    },
    "status": {
        "observedGeneration": 2,
        "disruptedPods": {"zk-0": "2023-11-14T22:13:20Z"},
        "disruptionsAllowed": 0,
        "currentHealthy": 3,
        "desiredHealthy": 3,
        "expectedPods": 3,
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "False",
                "observedGeneration": 2,
                "lastTransitionTime": "2023-11-14T22:13:20Z",
                "reason": "InsufficientPods",
                "message": "",
            }
        ],
    },
}


def test_the_upstream_json_shape_decodes_and_encodes_back_unchanged() -> None:
    decoded = from_dict(UPSTREAM_SHAPE)
    assert decoded.warnings == ()
    pdb = decoded.obj
    assert isinstance(pdb, PodDisruptionBudget)
    assert pdb.spec.max_unavailable == "25%"
    assert pdb.spec.unhealthy_pod_eviction_policy is UnhealthyPodEvictionPolicy.ALWAYS_ALLOW
    assert pdb.status.disrupted_pods == pmap({"zk-0": T0})
    assert pdb.status.conditions == (
        Condition(
            type="DisruptionAllowed",
            status=ConditionStatus.FALSE,
            observed_generation=2,
            last_transition_time=T0,
            reason="InsufficientPods",
        ),
    )
    assert to_dict(pdb) == UPSTREAM_SHAPE


def test_an_integer_min_available_stays_an_integer_and_zero_counts_are_written() -> None:
    wire = to_dict(a_pdb(min_available=2))
    assert wire["spec"] == {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}
    assert wire["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}


def test_create_defaults_nothing_and_blanks_a_submitted_status() -> None:
    submitted = attrs.evolve(a_pdb(min_available=1), status=PodDisruptionBudgetStatus(disruptions_allowed=5))
    s = cluster_with(submitted)
    pdb = _stored(s, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    assert pdb.spec == a_pdb(min_available=1).spec
    assert pdb.status == PodDisruptionBudgetStatus()
    assert pdb.metadata.generation == 1


def test_a_spec_change_bumps_the_generation_and_keeps_the_status() -> None:
    s = with_budget_status(cluster_with(a_pdb(min_available=1)), disruptions_allowed=1)
    pdb = _stored(s, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    changed = attrs.evolve(pdb, spec=attrs.evolve(pdb.spec, min_available=2))
    s2, response, _ = handle(s, Update(obj=changed), NOW)
    stored = _stored(s2, PDB)
    assert isinstance(stored, PodDisruptionBudget) and response.code == 200
    assert (stored.spec.min_available, stored.metadata.generation) == (2, 2)
    assert stored.status == pdb.status


# --- selection ----------------------------------------------------------------------------------


def test_a_nil_selector_covers_no_pod_and_an_empty_one_covers_every_pod() -> None:
    nil = attrs.evolve(a_pdb(), spec=PodDisruptionBudgetSpec(min_available=1))
    empty = a_pdb(selector=LabelSelector())
    assert not selects(nil, {"app": "web"})
    assert selects(empty, {}) and selects(empty, {"app": "db"})
    assert selects(a_pdb(), {"app": "web", "x": "y"}) and not selects(a_pdb(), {"app": "db"})


# --- validation ---------------------------------------------------------------------------------


def _invalid(pdb: PodDisruptionBudget) -> Response:
    s0 = cluster_with()
    s1, response, events = handle(s0, Create(obj=pdb), NOW)
    assert (s1, events) == (s0, ())
    return response


def test_min_available_and_max_unavailable_together_are_invalid() -> None:
    response = _invalid(a_pdb(min_available=1, max_unavailable=1))
    assert response.code == 422
    assert isinstance(response.body, Status)
    assert response.body.message == (
        'PodDisruptionBudget.policy "web-pdb" is invalid: spec: Invalid value: '
        "{minAvailable: 1, maxUnavailable: 1}: minAvailable and maxUnavailable cannot be both set"
    )


def test_negative_counts_and_percentages_over_100_are_invalid() -> None:
    body = _invalid(a_pdb(min_available=-1)).body
    assert isinstance(body, Status)
    assert body.message == (
        'PodDisruptionBudget.policy "web-pdb" is invalid: '
        "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"
    )
    body = _invalid(a_pdb(max_unavailable="101%")).body
    assert isinstance(body, Status)
    assert body.message == (
        'PodDisruptionBudget.policy "web-pdb" is invalid: '
        'spec.maxUnavailable: Invalid value: "101%": must not be greater than 100%'
    )
    assert body.details is not None
    assert body.details.causes == (
        StatusCause(reason="FieldValueInvalid", message='Invalid value: "101%": must not be greater than 100%', field="spec.maxUnavailable"),
    )


def test_a_string_that_is_not_a_percentage_is_invalid() -> None:
    body = _invalid(a_pdb(min_available="half")).body
    assert isinstance(body, Status) and body.code == 422
    assert body.details is not None
    assert [c.field for c in body.details.causes] == ["spec.minAvailable"]


def test_a_malformed_selector_names_its_field() -> None:
    selector = LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="app", operator=LabelSelectorOperator.IN),)
    )
    body = _invalid(a_pdb(selector=selector, min_available=1)).body
    assert isinstance(body, Status)
    assert body.message == (
        'PodDisruptionBudget.policy "web-pdb" is invalid: spec.selector.matchExpressions[0].values: '
        "Required value: must be specified when `operator` is 'In' or 'NotIn'"
    )


def test_100_percent_and_zero_are_valid() -> None:
    full = _stored(_ok(cluster_with(), Create(obj=a_pdb(max_unavailable="100%"))), PDB)
    zero = _stored(_ok(cluster_with(), Create(obj=a_pdb(min_available=0))), PDB)
    assert isinstance(full, PodDisruptionBudget) and isinstance(zero, PodDisruptionBudget)
    assert (full.spec.max_unavailable, full.spec.min_available) == ("100%", None)
    assert (zero.spec.max_unavailable, zero.spec.min_available) == (None, 0)


def test_a_status_write_with_a_negative_count_or_a_bad_condition_is_invalid() -> None:
    s0 = cluster_with(a_pdb(min_available=1))
    pdb = _stored(s0, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    bad = PodDisruptionBudgetStatus(
        current_healthy=-1,
        conditions=(Condition(type="DisruptionAllowed", status=ConditionStatus.TRUE, last_transition_time=T0),),
    )
    s1, response, events = handle(s0, Update(obj=attrs.evolve(pdb, status=bad), subresource=Subresource.STATUS), NOW)
    assert (s1, events, response.code) == (s0, (), 422)
    assert isinstance(response.body, Status) and response.body.details is not None
    assert [c.field for c in response.body.details.causes] == [
        "status.conditions[0].reason",
        "status.currentHealthy",
    ]


# --- eviction: pods the budget does not guard ------------------------------------------------------


def test_a_pending_pod_is_evicted_even_when_its_budget_allows_nothing() -> None:
    s0 = with_budget_status(cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), a_pdb(min_available=1)))
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS
    assert [(e.type, e.key) for e in events] == [(WatchType.MODIFIED, POD), (WatchType.MODIFIED, POD)]
    assert _stored(s1, PDB) == _stored(s0, PDB)


def test_a_succeeded_pod_is_deleted_at_once_whatever_its_budget() -> None:
    s0 = with_budget_status(cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), a_pdb(min_available=1)))
    s0 = with_pod_status(s0, "web", PodPhase.SUCCEEDED, ready=False)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS
    assert [e.type for e in events] == [WatchType.MODIFIED, WatchType.DELETED]
    assert get(s1, POD) is None


def test_a_pod_already_being_deleted_is_evicted_without_spending_the_budget() -> None:
    s0 = running_pod_under_budget(allowed=1)
    s1, first, _ = handle(s0, Evict(key=POD), NOW)
    s2, second, events = handle(s1, Evict(key=POD), NOW)
    assert first == second == SUCCESS
    assert events == ()  # condition and grace period already in place: nothing to write
    assert _stored(s2, PDB) == _stored(s1, PDB)


def test_a_pod_no_budget_selects_is_evicted() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), a_pdb(min_available=1, labels={"app": "db"}))
    s0 = with_pod_status(with_budget_status(s0), "web", PodPhase.RUNNING, ready=True)
    _, response, events = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS and [e.key for e in events] == [POD, POD]


def test_a_budget_in_another_namespace_does_not_guard_the_pod() -> None:
    other = attrs.evolve(a_pdb(min_available=1), metadata=ObjectMeta(name="web-pdb", namespace="other"))
    s0 = cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), other, namespaces=("default", "other"))
    s0 = with_pod_status(s0, "web", PodPhase.RUNNING, ready=True)
    _, response, _ = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS


def test_an_unready_pod_under_always_allow_goes_without_spending_the_budget() -> None:
    s0 = cluster_with(
        a_pod(node_name="node-1", labels={"app": "web"}),
        a_pdb(min_available=2, policy=UnhealthyPodEvictionPolicy.ALWAYS_ALLOW),
    )
    s0 = with_budget_status(with_pod_status(s0, "web", PodPhase.RUNNING, ready=False), current_healthy=1, desired_healthy=2)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS
    assert _stored(s1, PDB) == _stored(s0, PDB)
    assert [e.key for e in events] == [POD, POD]


def test_an_unready_pod_goes_freely_while_the_budget_has_its_healthy_pods() -> None:
    s0 = running_pod_under_budget(ready=False, allowed=0, current=2, desired=2)
    s1, response, _ = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS
    assert _stored(s1, PDB) == _stored(s0, PDB)


def test_an_unready_pod_is_guarded_when_the_budget_lacks_healthy_pods() -> None:
    s0 = running_pod_under_budget(ready=False, allowed=0, current=1, desired=2)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert (s1, events, response.code) == (s0, (), 429)


# --- eviction: the budget decides --------------------------------------------------------------


def test_an_allowed_eviction_spends_one_disruption_then_deletes_the_pod_gracefully() -> None:
    s0 = running_pod_under_budget(allowed=1)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert response == SUCCESS
    pdb = _stored(s1, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    assert pdb.status == PodDisruptionBudgetStatus(
        observed_generation=1,
        disrupted_pods=pmap({"web": NOW}),
        disruptions_allowed=0,
        current_healthy=3,
        desired_healthy=2,
        expected_pods=3,
        conditions=(
            Condition(
                type="DisruptionAllowed",
                status=ConditionStatus.FALSE,
                observed_generation=1,
                last_transition_time=NOW,
                reason="InsufficientPods",
            ),
        ),
    )
    pod = _stored(s1, POD)
    assert pod.metadata.deletion_timestamp == Time(NOW + 30)
    rev = s0.revision
    assert [(e.type, e.key, e.resource_version) for e in events] == [
        (WatchType.MODIFIED, PDB, rev + 1),
        (WatchType.MODIFIED, POD, rev + 2),
        (WatchType.MODIFIED, POD, rev + 3),
    ]
    assert pdb.metadata.resource_version == rev + 1
    assert events[0].obj == pdb and events[2].obj == pod


def test_a_budget_with_disruptions_left_keeps_its_condition() -> None:
    s0 = running_pod_under_budget(allowed=2)
    s1, _, _ = handle(s0, Evict(key=POD), NOW)
    pdb = _stored(s1, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    assert (pdb.status.disruptions_allowed, pdb.status.conditions) == (1, ())


def test_a_budget_that_allows_no_disruption_refuses_with_429() -> None:
    s0 = running_pod_under_budget(allowed=0, current=2, desired=2)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert (s1, events) == (s0, ())
    assert response == Response(
        code=429,
        body=Status(
            message="Cannot evict pod as it would violate the pod's disruption budget.",
            reason=StatusReason.TOO_MANY_REQUESTS,
            details=StatusDetails(
                retry_after_seconds=0,
                causes=(
                    StatusCause(
                        reason="DisruptionBudget",
                        message="The disruption budget web-pdb needs 2 healthy pods and has 2 currently",
                    ),
                ),
            ),
            code=429,
        ),
    )


def test_a_budget_whose_status_lags_its_generation_refuses_with_429() -> None:
    s0 = cluster_with(a_pod(node_name="node-1", labels={"app": "web"}), a_pdb(min_available=1))
    s0 = with_pod_status(s0, "web", PodPhase.RUNNING, ready=True)
    s0 = with_budget_status(s0, observed_generation=0, disruptions_allowed=5)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert (s1, events) == (s0, ())
    assert response == Response(
        code=429,
        body=Status(
            message="Cannot evict pod as it would violate the pod's disruption budget.",
            reason=StatusReason.TOO_MANY_REQUESTS,
            details=StatusDetails(
                retry_after_seconds=10,
                causes=(
                    StatusCause(
                        reason="DisruptionBudget",
                        message="The disruption budget web-pdb is still being processed by the server.",
                    ),
                ),
            ),
            code=429,
        ),
    )


def test_two_budgets_over_one_pod_is_an_internal_error() -> None:
    s0 = cluster_with(
        a_pod(node_name="node-1", labels={"app": "web"}),
        a_pdb(min_available=1),
        a_pdb("second", max_unavailable=1),
    )
    s0 = with_pod_status(s0, "web", PodPhase.RUNNING, ready=True)
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert (s1, events) == (s0, ())
    assert response == Response(
        code=500,
        body=Status(
            message="This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            code=500,
        ),
    )


def test_a_negative_allowance_stored_by_an_older_writer_is_forbidden() -> None:
    s0 = running_pod_under_budget(allowed=1)
    pdb = _stored(s0, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    # policy/v1 validation forbids this status; a budget written before it existed may hold it.
    s0 = put(s0, attrs.evolve(pdb, status=attrs.evolve(pdb.status, disruptions_allowed=-1)))
    s1, response, events = handle(s0, Evict(key=POD), NOW)
    assert (s1, events) == (s0, ())
    assert response == Response(
        code=403,
        body=Status(
            message='poddisruptionbudget.policy "web-pdb" is forbidden: pdb disruptions allowed is negative',
            reason=StatusReason.FORBIDDEN,
            details=StatusDetails(name="web-pdb", group="policy", kind="poddisruptionbudget"),
            code=403,
        ),
    )


def test_the_second_eviction_of_a_one_disruption_budget_is_refused() -> None:
    s0 = cluster_with(
        a_pod("web-0", node_name="node-1", labels={"app": "web"}),
        a_pod("web-1", node_name="node-1", labels={"app": "web"}),
        a_pdb(max_unavailable=1),
    )
    for name in ("web-0", "web-1"):
        s0 = with_pod_status(s0, name, PodPhase.RUNNING, ready=True)
    s0 = with_budget_status(s0, disruptions_allowed=1, current_healthy=2, desired_healthy=1, expected_pods=2)
    s1, first, _ = handle(s0, Evict(key=key(Kind.POD, "web-0")), NOW)
    s2, second, events = handle(s1, Evict(key=key(Kind.POD, "web-1")), NOW)
    assert (first.code, second.code, events, s2) == (201, 429, (), s1)
    got = handle(s2, Get(key=PDB), NOW)[1].body
    assert isinstance(got, PodDisruptionBudget)
    assert got.status.disrupted_pods == pmap({"web-0": NOW})

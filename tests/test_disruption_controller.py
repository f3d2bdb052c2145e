"""The disruption controller driven by the real driver and apiserver.

Each test builds a cluster (`create_cluster`) running only the disruption controller;
pods are made Running and Ready by status writes through `Cluster.request`, as a kubelet
would report them. Expected values follow pkg/controller/disruption/disruption.go.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from pyrsistent import pmap, pset

from kcore.api.apps import Deployment, DeploymentSpec, ReplicaSet
from kcore.api.core import Event as EventObject
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Status, Time
from kcore.api.pod import LabelSelector, Pod, PodCondition, PodPhase
from kcore.api.policy import (
    Condition,
    PodDisruptionBudget,
    PodDisruptionBudgetStatus,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, WakeMeAt
from kcore.component.events import Started, WatchDelivered
from kcore.component.requests import (
    Create,
    Delete,
    Evict,
    ObjectList,
    Response,
    Scale,
    Subresource,
    Update,
)
from kcore.controllers.disruption import NAME, DisruptionController, DisruptionState
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_pdb, a_pod, a_replica_set, a_template, meta, owner_ref
from tests.rig import Rig

PDB = ObjectKey(kind=Kind.POD_DISRUPTION_BUDGET, namespace="default", name="web-pdb")
LABELS = {"app": "web"}


def a_cluster() -> Cluster:
    return create_cluster(ClusterConfig(seed=7), nodes=1, components=(DisruptionController(),))


def created(c: Cluster, obj: ApiObject) -> ApiObject:
    response = c.request(Create(obj=obj))
    assert response.ok, response.body
    assert not isinstance(response.body, Status | ObjectList | Scale)
    return response.body


def run_pod(c: Cluster, name: str, *, ready: bool = True, owners: Iterable[OwnerReference] = ()) -> Pod:
    """Create a pod on node-1 and report it Running (Ready or not) as a kubelet would."""
    pod = created(c, a_pod(name, node_name="node-1", labels=LABELS, owners=owners))
    assert isinstance(pod, Pod)
    cond = PodCondition(type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE)
    status = attrs.evolve(pod.status, phase=PodPhase.RUNNING, conditions=(cond,))
    response = c.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS))
    assert response.ok, response.body
    assert isinstance(response.body, Pod)
    return response.body


def budget(c: Cluster) -> PodDisruptionBudget:
    pdb = get(c.state, PDB)
    assert isinstance(pdb, PodDisruptionBudget)
    return pdb


def allowed_condition(status: ConditionStatus, reason: str, at: Time, generation: int = 1, message: str = "") -> Condition:
    return Condition(
        type="DisruptionAllowed",
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=at,
    )


def events_about(c: Cluster, name: str) -> list[tuple[str, str]]:
    objs = list_objects(c.state, Kind.EVENT, "default")
    return [(e.reason, e.message) for e in objs if isinstance(e, EventObject) and e.involved_object.name == name]


# --- counts --------------------------------------------------------------------------------------


def test_an_integer_min_available_counts_the_selected_pods() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1", "web-2"):
        run_pod(c, name)
    created(c, a_pdb(min_available=2))
    c.run_until_stable()
    assert budget(c).status == PodDisruptionBudgetStatus(
        observed_generation=1,
        disruptions_allowed=1,
        current_healthy=3,
        desired_healthy=2,
        expected_pods=3,
        conditions=(allowed_condition(ConditionStatus.TRUE, "SufficientPods", c.now),),
    )


def test_unready_pods_are_expected_but_not_healthy() -> None:
    c = a_cluster()
    run_pod(c, "web-0")
    run_pod(c, "web-1", ready=False)
    created(c, a_pdb(min_available=1))
    c.run_until_stable()
    st = budget(c).status
    assert (st.expected_pods, st.current_healthy, st.desired_healthy, st.disruptions_allowed) == (2, 1, 1, 0)
    assert st.conditions == (allowed_condition(ConditionStatus.FALSE, "InsufficientPods", c.now),)


def test_a_budget_selecting_no_pod_allows_nothing_and_says_so() -> None:
    c = a_cluster()
    created(c, a_pdb(max_unavailable=1))
    c.run_until_stable()
    st = budget(c).status
    assert (st.expected_pods, st.disruptions_allowed, st.observed_generation) == (0, 0, 1)
    assert events_about(c, "web-pdb") == [("NoPods", "No matching pods found")]


def test_max_unavailable_percent_scales_against_the_replica_sets_replicas() -> None:
    c = a_cluster()
    rs = created(c, a_replica_set("web", replicas=4, labels=LABELS))
    for name in ("web-0", "web-1", "web-2"):
        run_pod(c, name, owners=(owner_ref(rs),))
    created(c, a_pdb(max_unavailable="30%"))
    c.run_until_stable()
    st = budget(c).status
    # 30% of 4 rounds up to 2 unavailable: 2 must stay healthy; 3 are.
    assert (st.expected_pods, st.desired_healthy, st.current_healthy, st.disruptions_allowed) == (4, 2, 3, 1)


def test_a_replica_set_of_a_deployment_counts_as_the_deployment() -> None:
    c = a_cluster()
    d = created(
        c,
        Deployment(
            metadata=meta("web", labels=LABELS),
            spec=DeploymentSpec(replicas=5, selector=LabelSelector(match_labels=pmap(LABELS)), template=a_template(LABELS)),
        ),
    )
    rs = created(c, a_replica_set("web-abc", replicas=2, labels=LABELS, owners=(owner_ref(d),)))
    for name in ("web-0", "web-1"):
        run_pod(c, name, owners=(owner_ref(rs),))
    created(c, a_pdb(min_available="50%"))
    c.run_until_stable()
    st = budget(c).status
    # 50% of the deployment's 5 rounds up to 3 healthy wanted; 2 are.
    assert (st.expected_pods, st.desired_healthy, st.current_healthy, st.disruptions_allowed) == (5, 3, 2, 0)


def test_scaling_the_owner_recomputes_the_budget() -> None:
    c = a_cluster()
    rs = created(c, a_replica_set("web", replicas=2, labels=LABELS))
    for name in ("web-0", "web-1"):
        run_pod(c, name, owners=(owner_ref(rs),))
    created(c, a_pdb(min_available="100%"))
    c.run_until_stable()
    assert budget(c).status.desired_healthy == 2
    current = get(c.state, ObjectKey(kind=Kind.REPLICA_SET, namespace="default", name="web"))
    assert isinstance(current, ReplicaSet)
    c.request(Update(obj=attrs.evolve(current, spec=attrs.evolve(current.spec, replicas=3))))
    c.run_until_stable()
    assert (budget(c).status.expected_pods, budget(c).status.desired_healthy) == (3, 3)


def test_unmanaged_pods_under_a_percentage_are_reported_and_not_expected() -> None:
    c = a_cluster()
    run_pod(c, "web-0")
    created(c, a_pdb(max_unavailable="50%"))
    c.run_until_stable()
    st = budget(c).status
    assert (st.expected_pods, st.current_healthy, st.disruptions_allowed) == (0, 1, 0)
    assert [r for r, _ in events_about(c, "web-pdb")] == ["UnmanagedPods"]


def test_a_pod_whose_controller_has_no_scale_makes_the_budget_fail_safe() -> None:
    c = a_cluster()
    ghost = OwnerReference(api_version="apps/v1", kind="DaemonSet", name="agent", uid="u-1", controller=True)
    run_pod(c, "web-0", owners=(ghost,))
    created(c, a_pdb(max_unavailable=1))
    c.run_until_stable()
    st = budget(c).status
    assert st.disruptions_allowed == 0
    assert st.conditions == (
        allowed_condition(
            ConditionStatus.FALSE, "SyncFailed", c.now, generation=0, message='found no controllers for pod "web-0"'
        ),
    )
    assert [r for r, _ in events_about(c, "web-pdb")] == ["CalculateExpectedPodCountFailed"]


def test_a_spec_change_is_observed_with_its_generation() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1"):
        run_pod(c, name)
    created(c, a_pdb(min_available=1))
    c.run_until_stable()
    pdb = budget(c)
    c.request(Update(obj=attrs.evolve(pdb, spec=attrs.evolve(pdb.spec, min_available=2))))
    c.run_until_stable()
    st = budget(c).status
    assert (st.observed_generation, st.desired_healthy, st.disruptions_allowed) == (2, 2, 0)
    assert st.conditions[0].observed_generation == 2


# --- evictions and disrupted pods ----------------------------------------------------------------


def test_an_evicted_pod_leaves_disrupted_pods_once_it_is_deleting() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1", "web-2"):
        run_pod(c, name)
    created(c, a_pdb(min_available=2))
    c.run_until_stable()
    response = c.request(Evict(key=ObjectKey(kind=Kind.POD, namespace="default", name="web-0")))
    assert response.code == 201
    assert budget(c).status.disrupted_pods == pmap({"web-0": c.now})
    c.run_until_stable()
    st = budget(c).status
    assert (st.disrupted_pods, st.current_healthy, st.disruptions_allowed) == (pmap(), 2, 0)
    second = c.request(Evict(key=ObjectKey(kind=Kind.POD, namespace="default", name="web-1")))
    assert second.code == 429


def test_a_disrupted_pod_that_is_never_deleted_counts_again_after_two_minutes() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1", "web-2"):
        run_pod(c, name)
    created(c, a_pdb(min_available=2))
    c.run_until_stable()
    pdb = budget(c)
    # An approved eviction whose pod delete never happened (upstream: a crash in between).
    stuck = attrs.evolve(pdb.status, disruptions_allowed=0, disrupted_pods=pmap({"web-0": c.now}))
    assert c.request(Update(obj=attrs.evolve(pdb, status=stuck), subresource=Subresource.STATUS)).ok
    start = c.now
    c.run_until_stable()
    st = budget(c).status
    assert (st.disrupted_pods, st.current_healthy, st.disruptions_allowed) == (pmap({"web-0": start}), 2, 0)
    c.advance(119)
    assert budget(c).status.disrupted_pods == pmap({"web-0": start})
    c.advance(1)
    st = budget(c).status
    assert (st.disrupted_pods, st.current_healthy, st.disruptions_allowed) == (pmap(), 3, 1)


def test_a_deleted_pod_lowers_the_count() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1"):
        run_pod(c, name)
    created(c, a_pdb(min_available=1))
    c.run_until_stable()
    c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web-1"), grace_period_seconds=0))
    c.run_until_stable()
    st = budget(c).status
    assert (st.expected_pods, st.current_healthy, st.disruptions_allowed) == (1, 1, 0)


# --- the component's laws ----------------------------------------------------------------------


def test_at_a_fixed_point_a_restart_emits_nothing() -> None:
    c = a_cluster()
    for name in ("web-0", "web-1", "web-2"):
        run_pod(c, name)
    created(c, a_pdb(min_available=2))
    c.run_until_stable()
    rig = Rig(DisruptionController(), state=c.state, now=c.now)
    relisted = rig.s
    assert rig.start() == ()
    assert (rig.s.dirty, rig.s.in_flight) == (relisted.dirty, relisted.in_flight)


def test_a_conflicting_write_is_retried_after_a_second() -> None:
    c = a_cluster()
    run_pod(c, "web-0")
    created(c, a_pdb(min_available=1))
    rig = Rig(DisruptionController(), state=c.state, now=c.now)
    (write,) = [e for e in rig.start() if isinstance(e, CallApi)]
    assert write.tag == PDB and rig.s.in_flight == pset({PDB})  # the budget's status write
    conflict = Response(code=409, body=Status(code=409))
    assert rig.answer(write, conflict) == (WakeMeAt(at=Time(c.now + 1), key=PDB, in_motion=True),)
    assert rig.s.in_flight == pset()


def test_a_budget_with_a_write_in_flight_is_not_written_twice() -> None:
    c = a_cluster()
    run_pod(c, "web-0")
    created(c, a_pdb(min_available=1))
    controller = DisruptionController()
    s, _ = controller.init(c.state, c.now)
    s, first = controller.step(s, Started(now=c.now))
    assert len([e for e in first if isinstance(e, CallApi)]) == 1
    pod = get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name="web-0"))
    assert pod is not None
    ev = WatchEvent(type=WatchType.MODIFIED, obj=pod, resource_version=c.state.revision)
    s, second = controller.step(s, WatchDelivered(event=ev, now=c.now))
    assert second == ()
    assert PDB in s.dirty
    assert isinstance(s, DisruptionState) and controller.name == NAME == "disruption-controller"

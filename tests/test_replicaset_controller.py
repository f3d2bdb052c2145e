"""The ReplicaSet / ReplicationController controller: exact effects of scripted scenarios.

Most tests drive the component by hand (`tests.rig.Rig`): events go to `step`, requests it
emits are performed against the real apiserver, and the test decides when (if ever) the
watch events reach the controller, so staleness is explicit. A few run it in a `Cluster`.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pytest
from pyrsistent import pmap

from kcore.api.apps import (
    ReplicaSet,
    ReplicaSetCondition,
    ReplicaSetConditionType,
    ReplicaSetStatus,
)
from kcore.api.core import (
    ReplicationController,
    ResourceQuota,
    ResourceQuotaSpec,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import (
    ContainerStatus,
    LabelSelector,
    LabelSelectorOperator,
    LabelSelectorRequirement,
    Pod,
    PodCondition,
    PodPhase,
    PodStatus,
)
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.events import Resynced
from kcore.component.requests import (
    Bind,
    Create,
    Delete,
    Patch,
    PatchType,
    Response,
    Subresource,
    Update,
    UpdateScale,
)
from kcore.component.workqueue import DEFAULT_RATE_LIMITER, num_requeues
from kcore.controllers import expectations as exps
from kcore.controllers.podcontrol import controller_ref, pod_from_template
from kcore.controllers.replicaset import (
    Action,
    Failure,
    Op,
    ReplicaSetController,
    ReplicaSetState,
    ReplicationControllerController,
    with_status,
)
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.driver.snapshot import Performed
from kcore.quantity import parse_quantity
from kcore.state import get, list_objects
from tests.builders import (
    T0,
    a_node,
    a_pod,
    a_replica_set,
    a_replication_controller,
    a_resource_quota,
    a_template,
    cluster_with,
    key,
    owner_ref,
)
from tests.rig import Rig

RS_KEY = key(Kind.REPLICA_SET, "web")
CREATE = Op(owner=RS_KEY, action=Action.CREATE)
STATUS = Op(owner=RS_KEY, action=Action.STATUS)


def created(name: str) -> RecordEvent:
    return RecordEvent(involved=RS_KEY, type=EventType.NORMAL, reason="SuccessfulCreate", message=f"Created pod: {name}")


def deleted(name: str, owner: ObjectKey = RS_KEY) -> RecordEvent:
    return RecordEvent(involved=owner, type=EventType.NORMAL, reason="SuccessfulDelete", message=f"Deleted pod: {name}")


def status_update(obj: ApiObject, **fields: object) -> CallApi:
    status = ReplicaSetStatus(**fields)  # type: ignore[arg-type]  # fields are ReplicaSetStatus's
    return CallApi(request=Update(obj=with_status(obj, status), subresource=Subresource.STATUS), tag=STATUS)


def adopt(pod: str) -> Op:
    return Op(owner=RS_KEY, action=Action.ADOPT, pod=key(Kind.POD, pod))


def release(pod: str) -> Op:
    return Op(owner=RS_KEY, action=Action.RELEASE, pod=key(Kind.POD, pod))


def run_pod(rig: Rig[ReplicaSetState], name: str, *, since: Time | None = None, restarts: int = 0, phase: PodPhase = PodPhase.RUNNING) -> None:
    """Bind pod `name` to node-1 and give it a status (Ready since `since` when given)."""
    pk = key(Kind.POD, name)
    assert rig.request(Bind(key=pk, node_name="node-1")).ok
    pod = rig.get(pk, Pod)
    conds = () if since is None else (PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=since),)
    status = PodStatus(
        phase=phase,
        conditions=conds,
        container_statuses=(ContainerStatus(name="app", ready=since is not None, restart_count=restarts),),
    )
    assert rig.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS)).ok


def scale(rig: Rig[ReplicaSetState], replicas: int) -> None:
    assert rig.request(UpdateScale(key=RS_KEY, replicas=replicas)).ok


# --- the controller, driven by hand -----------------------------------------------------------


def test_creating_three_pods_goes_in_batches_of_one_then_two() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=3))
    rs = rig.get(RS_KEY, ReplicaSet)
    pod = pod_from_template(rs.spec.template, rs)
    first = rig.start()
    assert first == (
        CallApi(request=Create(obj=pod), tag=CREATE),
        status_update(rs, observed_generation=1),
    )
    second = rig.answer(first[0])
    [p0] = [p.metadata.name for p in rig.pods()]
    assert second == (
        created(p0),
        CallApi(request=Create(obj=pod), tag=CREATE),
        CallApi(request=Create(obj=pod), tag=CREATE),
    )
    before = {p.metadata.name for p in rig.pods()}
    third = rig.answer(second[1])
    [p1] = [p.metadata.name for p in rig.pods() if p.metadata.name not in before]
    assert third == (created(p1),)
    before = {p.metadata.name for p in rig.pods()}
    last = rig.answer(second[2])
    [p2] = [p.metadata.name for p in rig.pods() if p.metadata.name not in before]
    # the burst is over but its pods are not yet seen: resync when expectations would expire
    assert last == (created(p2), WakeMeAt(at=Time(T0 + 301), key=RS_KEY))
    assert len(rig.pods()) == 3
    assert all(p.metadata.owner_references == (controller_ref(rs),) for p in rig.pods())


def test_a_stale_view_never_creates_twice() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=3))
    first = rig.start()
    second = rig.answer(first[0])
    for eff in second[1:]:
        rig.answer(eff)
    assert len(rig.pods()) == 3
    # the view still shows no pods (no watch event delivered): a resync must not create
    assert rig.fire(RS_KEY) == ()
    assert rig.step(Resynced(view=rig.s.view, now=rig.now)) == ()
    rig.settle(rig.deliver_watches())
    assert len(rig.pods()) == 3


def test_unobserved_creations_stop_blocking_after_five_minutes() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=1))
    rig.answer(rig.start()[0])
    assert len(rig.pods()) == 1
    assert rig.fire(RS_KEY, T0 + 299) == ()
    later = rig.fire(RS_KEY, T0 + 301)
    assert [type(e.request).__name__ for e in later if isinstance(e, CallApi)] == ["Create"]


def test_scale_down_deletes_the_ranked_victims_and_waits_for_their_deletion() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=5))
    rig.settle(rig.start())
    names = sorted(p.metadata.name for p in rig.pods())
    # two ready for long, one running not ready, one flapping, one left unscheduled
    run_pod(rig, names[0], since=T0)
    run_pod(rig, names[1], since=T0)
    run_pod(rig, names[2])
    run_pod(rig, names[3], since=T0, restarts=9)
    rig.settle(rig.deliver_watches())
    scale(rig, 2)
    effects = rig.deliver_watches()
    deletes = [e for e in effects if isinstance(e, CallApi) and isinstance(e.request, Delete)]
    assert [d.request.key.name for d in deletes if isinstance(d.request, Delete)] == [names[4], names[2], names[3]]
    # a resync before the deletions are observed deletes nothing more
    for d in deletes:
        assert rig.answer(d) == (deleted(d.request.key.name if isinstance(d.request, Delete) else ""),)
    assert rig.fire(RS_KEY) == ()
    rig.settle(rig.deliver_watches())
    # bound pods terminate gracefully (no kubelet here to finish them); none is replaced
    assert sorted(p.metadata.name for p in rig.pods() if p.metadata.deletion_timestamp is None) == names[:2]
    assert sorted(p.metadata.name for p in rig.pods()) == sorted([*names[:4]])


def test_matching_orphans_are_adopted_with_a_strategic_merge_patch() -> None:
    rig = Rig(ReplicaSetController(), a_pod("stray", labels={"app": "web"}), a_replica_set("web", replicas=1))
    rs = rig.get(RS_KEY)
    stray = rig.get(key(Kind.POD, "stray"))
    effects = rig.start()
    patch = (
        '{"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, '
        f'"controller": true, "kind": "ReplicaSet", "name": "web", "uid": "{rs.metadata.uid}"}}], '
        f'"uid": "{stray.metadata.uid}"}}}}'
    )
    assert effects == (
        CallApi(request=Patch(key=key(Kind.POD, "stray"), patch_type=PatchType.STRATEGIC, patch=patch), tag=adopt("stray")),
        status_update(rs, replicas=1, fully_labeled_replicas=1, observed_generation=1),
    )
    rig.settle(effects)
    [pod] = rig.pods()
    assert pod.metadata.owner_references == (controller_ref(rs),)


def test_owned_pods_whose_labels_stop_matching_are_released_and_replaced() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=1))
    rig.settle(rig.start())
    [pod] = rig.pods()
    rs = rig.get(RS_KEY)
    relabeled = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, labels=pmap({"app": "debug"})))
    assert rig.request(Update(obj=relabeled)).ok
    effects = rig.deliver_watches()
    release_patch = (
        '{"metadata": {"ownerReferences": [{"$patch": "delete", '
        f'"uid": "{rs.metadata.uid}"}}], "uid": "{pod.metadata.uid}"}}}}'
    )
    assert effects[0] == CallApi(
        request=Patch(key=key(Kind.POD, pod.metadata.name), patch_type=PatchType.STRATEGIC, patch=release_patch),
        tag=release(pod.metadata.name),
    )
    assert isinstance(effects[1], CallApi) and isinstance(effects[1].request, Create)
    rig.settle(effects)
    by_name = {p.metadata.name: p for p in rig.pods()}
    assert by_name[pod.metadata.name].metadata.owner_references == ()
    assert len(by_name) == 2


def test_pods_of_another_controller_and_terminating_orphans_are_left_alone() -> None:
    other = a_replica_set("other", labels={"app": "web"}, replicas=1)  # selects web's pods too
    rig = Rig(ReplicaSetController(), other)
    other_stored = rig.get(key(Kind.REPLICA_SET, "other"))
    taken = a_pod("taken", labels={"app": "web"}, owners=[owner_ref(other_stored)])
    assert rig.request(Create(obj=taken)).ok
    assert rig.request(Create(obj=a_pod("leaving", labels={"app": "web"}, finalizers=["x/y"]))).ok
    assert rig.request(Delete(key=key(Kind.POD, "leaving"))).ok
    assert rig.request(Create(obj=a_replica_set("web", replicas=0))).ok
    rig.restart()  # a fresh LIST: "leaving" is first seen terminating
    rig.settle(rig.start())
    assert {p.metadata.name: p.metadata.owner_references for p in rig.pods()} == {
        "leaving": (),
        "taken": (owner_ref(other_stored),),
    }


def test_a_failed_create_records_the_error_sets_replica_failure_and_backs_off() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=2))
    first = rig.start()
    denied = Response(code=403, body=Status(message="exceeded quota: q", reason=StatusReason.FORBIDDEN, code=403))
    assert isinstance(first[0], CallApi) and first[0].tag == CREATE
    effects = rig.answer(first[0], denied)
    assert effects == (
        RecordEvent(involved=RS_KEY, type=EventType.WARNING, reason="FailedCreate", message="Error creating: exceeded quota: q"),
        WakeMeAt(at=Time(T0 + 0.005), key=RS_KEY, in_motion=True),
    )
    assert exps.satisfied(rig.s.expectations, RS_KEY, rig.now)
    rig.answer(first[1])  # the first status write lands
    on_watch = rig.deliver_watches()
    rs = rig.get(RS_KEY)
    cond = ReplicaSetCondition(
        type=ReplicaSetConditionType.REPLICA_FAILURE,
        status=ConditionStatus.TRUE,
        last_transition_time=T0,
        reason="FailedCreate",
        message="exceeded quota: q",
    )
    assert on_watch == (status_update(rs, observed_generation=1, conditions=(cond,)),)
    # the retry at the backoff time succeeds and the condition goes
    rig.answer(on_watch[0])
    rig.deliver_watches()
    retry = rig.fire(RS_KEY, T0 + 0.005)
    assert [type(e.request).__name__ for e in retry if isinstance(e, CallApi)] == ["Create"]
    rig.settle(retry)
    final = rig.get(RS_KEY, ReplicaSet)
    assert final.status == ReplicaSetStatus(replicas=2, fully_labeled_replicas=2, observed_generation=1)


def test_a_failed_delete_sets_failed_delete_and_a_vanished_pod_is_no_error() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=2))
    rig.settle(rig.start())
    scale(rig, 0)
    effects = rig.deliver_watches()
    deletes = [e for e in effects if isinstance(e, CallApi) and isinstance(e.request, Delete)]
    assert len(deletes) == 2
    gone = Response(code=404, body=Status(message="not found", reason=StatusReason.NOT_FOUND, code=404))
    boom = Response(code=500, body=Status(message="etcd down", reason=StatusReason.INTERNAL_ERROR, code=500))
    assert rig.answer(deletes[0], gone) == ()
    out = rig.answer(deletes[1], boom)
    assert out == (
        RecordEvent(involved=RS_KEY, type=EventType.WARNING, reason="FailedDelete", message="Error deleting: etcd down"),
        WakeMeAt(at=Time(T0 + 0.005), key=RS_KEY, in_motion=True),
    )
    assert rig.s.failures[RS_KEY] == Failure(reason="FailedDelete", message="etcd down")
    assert num_requeues(rig.s.queue, RS_KEY, DEFAULT_RATE_LIMITER) == 1
    assert exps.satisfied(rig.s.expectations, RS_KEY, rig.now)


def test_status_counts_ready_and_available_after_min_ready_seconds() -> None:
    rig = Rig(ReplicaSetController(), a_replica_set("web", replicas=3, min_ready_seconds=10))
    rig.settle(rig.start())
    names = sorted(p.metadata.name for p in rig.pods())
    for n in names:
        run_pod(rig, n, since=T0)
    effects = rig.deliver_watches()
    assert WakeMeAt(at=Time(T0 + 11), key=RS_KEY, in_motion=True) in effects
    rig.settle(effects)
    stored = rig.get(RS_KEY, ReplicaSet)
    assert stored.status == ReplicaSetStatus(replicas=3, fully_labeled_replicas=3, ready_replicas=3, observed_generation=1)
    rig.settle(rig.fire(RS_KEY, T0 + 11))
    stored = rig.get(RS_KEY, ReplicaSet)
    assert stored.status.available_replicas == 3


def test_fully_labeled_counts_pods_carrying_every_template_label() -> None:
    rs = a_replica_set("web", replicas=2)
    rs = attrs.evolve(
        rs, spec=attrs.evolve(rs.spec, template=a_template({"app": "web", "tier": "front"}))
    )
    rig = Rig(ReplicaSetController(), a_pod("half", labels={"app": "web"}), rs)
    rig.settle(rig.start())
    stored = rig.get(RS_KEY, ReplicaSet)
    assert (stored.status.replicas, stored.status.fully_labeled_replicas) == (2, 1)


def test_set_based_selectors_select_by_expression() -> None:
    rs = a_replica_set("web", replicas=1)
    sel = LabelSelector(
        match_expressions=(LabelSelectorRequirement(key="app", operator=LabelSelectorOperator.IN, values=("web", "www")),)
    )
    rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, selector=sel))
    rig = Rig(ReplicaSetController(), a_pod("www", labels={"app": "www"}), rs)
    rig.settle(rig.start())
    assert [p.metadata.name for p in rig.pods()] == ["www"]


def test_replication_controllers_use_their_equality_selector_and_v1_owner_refs() -> None:
    rc = a_replication_controller("db", replicas=2)
    rig = Rig(ReplicationControllerController(), a_pod("orphan", labels={"app": "db"}), rc)
    rig.settle(rig.start())
    stored = rig.get(key(Kind.REPLICATION_CONTROLLER, "db"), ReplicationController)
    refs = {p.metadata.name: p.metadata.owner_references for p in rig.pods()}
    assert len(refs) == 2 and "orphan" in refs
    for r in refs.values():
        assert [(o.api_version, o.kind, o.name, o.controller) for o in r] == [("v1", "ReplicationController", "db", True)]
    assert (stored.status.replicas, stored.status.fully_labeled_replicas, stored.status.observed_generation) == (2, 2, 1)


def test_a_fixed_point_emits_nothing() -> None:
    rig = Rig(ReplicaSetController(), a_pod("stray", labels={"app": "web"}), a_replica_set("web", replicas=3))
    rig.settle(rig.start())
    assert rig.step(Resynced(view=rig.state, now=rig.now)) == ()
    assert rig.fire(RS_KEY) == ()


# --- in a Cluster ------------------------------------------------------------------------------


def _cluster(*objs: ApiObject) -> Cluster:
    return Cluster.empty(cluster_with(a_node(), *objs), [ReplicaSetController(), ReplicationControllerController()])


def _rs_effects(c: Cluster) -> list[Effect]:
    return [e.effect for e in c.trace if isinstance(e, Performed) and e.component == "replicaset-controller"]


def _creates(c: Cluster) -> int:
    return sum(1 for e in _rs_effects(c) if isinstance(e, CallApi) and isinstance(e.request, Create))


def test_in_a_cluster_a_paused_controller_catches_up_without_double_work() -> None:
    c = _cluster()
    assert c.request(Create(obj=a_replica_set("web", replicas=3))).ok
    c.run_until_stable()
    assert _creates(c) == 3
    c.inject(PauseComponent(name="replicaset-controller"))
    pods = [p for p in list_objects(c.state, Kind.POD)]
    for p in pods[:2]:
        assert c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name=p.metadata.name))).ok
    assert c.request(UpdateScale(key=RS_KEY, replicas=4)).ok
    c.run_until_stable()
    c.inject(ResumeComponent(name="replicaset-controller"))
    c.run_until_stable()
    assert len(list_objects(c.state, Kind.POD)) == 4
    assert _creates(c) == 6


def test_in_a_cluster_quota_failures_back_off_and_converge_when_quota_grows() -> None:
    c = _cluster(a_resource_quota("q", pods="2"))
    assert c.request(Create(obj=a_replica_set("web", replicas=3))).ok
    c.advance(1.0)
    rs = get(c.state, RS_KEY)
    assert isinstance(rs, ReplicaSet)
    assert len(list_objects(c.state, Kind.POD)) == 2
    assert [(x.reason, x.status) for x in rs.status.conditions] == [("FailedCreate", ConditionStatus.TRUE)]
    failed = [e for e in _rs_effects(c) if isinstance(e, RecordEvent) and e.reason == "FailedCreate"]
    assert 1 <= len(failed) <= 10  # backoff: 5 ms doubling, never a hot loop
    stored_q = get(c.state, key(Kind.RESOURCE_QUOTA, "q"))
    assert stored_q is not None
    assert isinstance(stored_q, ResourceQuota)
    bigger = attrs.evolve(stored_q, spec=ResourceQuotaSpec(hard=pmap({"pods": parse_quantity("5")})))
    assert c.request(Update(obj=bigger)).ok
    c.advance(60.0)
    rs = get(c.state, RS_KEY)
    assert isinstance(rs, ReplicaSet)
    assert len(list_objects(c.state, Kind.POD)) == 3
    assert rs.status.conditions == ()


@pytest.mark.parametrize("labels", [{"app": "web"}, {"app": "web", "extra": "1"}])
def test_in_a_cluster_deleting_the_owner_stops_management(labels: Mapping[str, str]) -> None:
    c = _cluster()
    assert c.request(Create(obj=a_replica_set("web", replicas=2, labels=labels))).ok
    c.run_until_stable()
    assert c.request(Delete(key=RS_KEY)).ok
    c.run_until_stable()
    state = c.component_state("replicaset-controller")
    assert isinstance(state, ReplicaSetState)
    assert RS_KEY not in state.expectations.by_owner

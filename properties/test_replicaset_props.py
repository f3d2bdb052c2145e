"""ReplicaSet / ReplicationController controllers under random operations and delivery pauses.

A `RuleBasedStateMachine` runs both controllers in a `Cluster` while a user scales owners,
deletes and relabels pods, creates orphans, pauses and resumes the controllers and lets
only some events through. Invariants: no pod ever has two controllers, and no owner ever
controls more active pods than the larger of its replicas now and before (expectations
keep a stale view from creating twice); and every claim the ReplicaSet controllers keep pod
by pod equals one counted afresh (`tallies_equal_a_recount`). After the faults stop and the
cluster settles:
every owner controls exactly spec.replicas active pods, every one of them matching its
selector, no active orphan matches an owner, and another sync emits no effects.
"""

from __future__ import annotations

import json
from typing import Final

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from kcore.api.apps import ReplicaSet
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Time
from kcore.api.pod import (
    Container,
    ContainerRestartPolicy,
    ContainerStatus,
    Pod,
    PodCondition,
    PodPhase,
    PodStatus,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.events import Resynced, TimerFired
from kcore.component.requests import Create, Delete, Patch, PatchType, UpdateScale
from kcore.controllers.podcontrol import (
    DELETION_COST_ANNOTATION,
    controller_of,
    is_pod_active,
    is_pod_ready,
    pod_ready_time,
    rank_facts,
)
from kcore.controllers.replicaset import (
    ReplicaController,
    ReplicaSetController,
    ReplicaSetState,
    ReplicationControllerController,
    as_owner,
    owner_basis,
)
from kcore.controllers.replicaset_tally import agrees_with_a_recount
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.state import get, list_objects
from tests.builders import a_pod, a_replica_set, a_replication_controller, cluster_with

APPS: Final = ("web", "api", "db", "none")
OWNERS: Final = (
    ObjectKey(kind=Kind.REPLICA_SET, namespace="default", name="web"),
    ObjectKey(kind=Kind.REPLICA_SET, namespace="default", name="api"),
    ObjectKey(kind=Kind.REPLICATION_CONTROLLER, namespace="default", name="db"),
)
CONTROLLERS: Final[tuple[ReplicaController, ...]] = (ReplicaSetController(), ReplicationControllerController())


def _pods(c: Cluster) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod)]


def _owner(c: Cluster, k: ObjectKey) -> ApiObject:
    obj = get(c.state, k)
    assert obj is not None
    return obj


def stale_tallies(state: ReplicaSetState) -> list[ObjectKey]:
    """The owners whose tally, still valid for their next sync, differs from a recount in
    anything a sync reads (a tally the next sync rebuilds anyway is not checked)."""
    wrong = []
    for key, kept in sorted(state.tallies.items()):
        obj = get(state.view, key)
        owner = as_owner(obj) if obj is not None else None
        if owner is None or kept.claiming is not state.claiming or owner_basis(owner) != kept.basis:
            continue
        if not agrees_with_a_recount(state.view, state.orphans, state.claiming, key, owner.obj, kept):
            wrong.append(key)
    return wrong


def _controlled(c: Cluster, owner: ApiObject) -> list[Pod]:
    uid = owner.metadata.uid
    return [p for p in _pods(c) if is_pod_active(p) and (r := controller_of(p.metadata)) is not None and r.uid == uid]


class ReplicaControllers(RuleBasedStateMachine):
    """Scale, delete, relabel and orphan pods while the controllers' mail is delayed."""

    orphan_pods = Bundle("orphan_pods")

    def __init__(self) -> None:
        super().__init__()
        self.c = Cluster.empty(cluster_with(), CONTROLLERS)
        self.paused: set[str] = set()
        self.ceiling: dict[ObjectKey, int] = {}
        self.orphans = 0
        self.relabels = 0

    @initialize(web=st.integers(0, 4), api=st.integers(0, 3), db=st.integers(0, 3))
    def create_owners(self, web: int, api: int, db: int) -> None:
        for obj in (a_replica_set("web", replicas=web), a_replica_set("api", replicas=api), a_replication_controller("db", replicas=db)):
            assert self.c.request(Create(obj=obj)).ok
        self.ceiling = {OWNERS[0]: web, OWNERS[1]: api, OWNERS[2]: db}

    # -- user actions

    @rule(owner=st.sampled_from(OWNERS), replicas=st.integers(0, 5))
    def scale(self, owner: ObjectKey, replicas: int) -> None:
        assert self.c.request(UpdateScale(key=owner, replicas=replicas)).ok
        self.ceiling[owner] = max(self.ceiling[owner], replicas)

    # the controllers make the pods, so a rule picks one of those that exist now; the
    # orphans are the machine's own, so they go to a Bundle
    @precondition(lambda self: bool(_pods(self.c)))
    @rule(data=st.data())
    def delete_pod(self, data: st.DataObject) -> None:
        pod = data.draw(st.sampled_from(_pods(self.c)), label="pod")
        self.c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name)))

    @precondition(lambda self: bool(_pods(self.c)))
    @rule(data=st.data(), app=st.sampled_from(APPS))
    def relabel_pod(self, data: st.DataObject, app: str) -> None:
        pod = data.draw(st.sampled_from(_pods(self.c)), label="pod")
        body = json.dumps({"metadata": {"labels": {"app": app}}})
        k = ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name)
        if self.c.request(Patch(key=k, patch_type=PatchType.MERGE, patch=body)).ok:
            self.relabels += 1

    @rule(target=orphan_pods, app=st.sampled_from(APPS))
    def create_orphan(self, app: str) -> ObjectKey:
        self.orphans += 1
        pod = a_pod(f"orphan-{self.orphans}", labels={"app": app})
        assert self.c.request(Create(obj=pod)).ok
        return ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name)

    @rule(orphan=consumes(orphan_pods))
    def delete_orphan(self, orphan: ObjectKey) -> None:
        # gone already if an owner adopted and deleted it: then a 404, which is fine
        self.c.request(Delete(key=orphan))

    @rule(which=st.sampled_from(CONTROLLERS))
    def pause(self, which: ReplicaController) -> None:
        self.c.inject(PauseComponent(name=which.name))
        self.paused.add(which.name)

    def _resume(self, name: str) -> None:
        # the driver delivers the held mail first, then what queued up behind it, so a
        # paused component's watch events keep their order (`test_resume_keeps_the_order_of_held_and_still_queued_mail`)
        self.c.inject(ResumeComponent(name=name))
        self.paused.discard(name)

    @rule(which=st.sampled_from(CONTROLLERS))
    def resume(self, which: ReplicaController) -> None:
        self._resume(which.name)

    @rule(steps=st.integers(1, 8))
    def deliver_some(self, steps: int) -> None:
        for _ in range(steps):
            if not self.c.step():
                return

    @rule()
    def settle(self) -> None:
        self.c.run_until_stable(max_steps=20_000)

    # -- invariants

    @invariant()
    def no_pod_has_two_controllers(self) -> None:
        for p in _pods(self.c):
            assert sum(1 for r in p.metadata.owner_references if r.controller) <= 1, p.metadata

    @invariant()
    def never_more_pods_than_ever_asked_for(self) -> None:
        # each owner controls at most the most replicas it was ever asked for, plus the
        # pods it may have adopted (orphans, pods relabeled away from another owner)
        for k in OWNERS:
            owner = get(self.c.state, k)
            if owner is not None:
                assert len(_controlled(self.c, owner)) <= self.ceiling[k] + self.orphans + self.relabels

    @invariant()
    def tallies_equal_a_recount(self) -> None:
        for comp in CONTROLLERS:
            state = self.c.component_state(comp.name)
            assert isinstance(state, ReplicaSetState)
            assert stale_tallies(state) == [], comp.name

    def teardown(self) -> None:
        for name in sorted(self.paused):
            self._resume(name)
        assert self.c.advance(2000.0, max_steps=200_000)
        for k in OWNERS:
            owner = _owner(self.c, k)
            view = as_owner(owner)
            assert view is not None
            controlled = _controlled(self.c, owner)
            assert len(controlled) == view.replicas, (k, [p.metadata.name for p in controlled])
            assert all(view.selector.matches(p.metadata.labels) for p in controlled)
            expected_status = (view.status.replicas, view.status.observed_generation)
            assert expected_status == (view.replicas, owner.metadata.generation)
        for p in _pods(self.c):
            if is_pod_active(p) and controller_of(p.metadata) is None:
                for k in OWNERS:
                    view = as_owner(_owner(self.c, k))
                    assert view is not None and not view.selector.matches(p.metadata.labels), p.metadata
        for comp in CONTROLLERS:
            state = self.c.component_state(comp.name)
            _, effects = comp.step(state, Resynced(view=self.c.state, now=self.c.now))
            assert effects == ()
            for k in OWNERS:
                if k.kind is comp.kind:
                    _, effects = comp.step(state, TimerFired(key=k, now=self.c.now))
                    assert effects == ()


ReplicaControllers.TestCase.settings = settings(
    max_examples=max(10, settings().max_examples // 3), stateful_step_count=15
)
TestReplicaControllers = ReplicaControllers.TestCase


def test_one_seed_one_trace() -> None:
    """Determinism: the same operations on two clusters give the same trace and state."""

    def run() -> tuple[object, ...]:
        c = Cluster.empty(cluster_with(), CONTROLLERS)
        assert c.request(Create(obj=a_replica_set("web", replicas=4))).ok
        assert c.request(Create(obj=a_replication_controller("db", replicas=2))).ok
        c.run_until_stable()
        assert c.request(UpdateScale(key=OWNERS[0], replicas=1)).ok
        c.run_until_stable()
        rs = get(c.state, OWNERS[0])
        assert isinstance(rs, ReplicaSet)
        return (tuple(c.trace), tuple(sorted(p.metadata.name for p in _pods(c))), rs.status)

    assert run() == run()


# --- the watch filter: an update it drops changes nothing a sync reads ------------------------

_REFS: Final = (
    (),
    (OwnerReference(api_version="apps/v1", kind="ReplicaSet", name="web", uid="u-web", controller=True),),
    (OwnerReference(api_version="apps/v1", kind="StatefulSet", name="db", uid="u-db", controller=True),),
)


@st.composite
def _pods_for_filter(draw: st.DrawFn) -> Pod:
    ready = draw(st.sampled_from((None, ConditionStatus.TRUE, ConditionStatus.FALSE)))
    conditions = []
    if draw(st.booleans()):
        conditions.append(PodCondition(type="ContainersReady", status=ConditionStatus.TRUE, last_transition_time=Time(draw(st.sampled_from((1.0, 2.0))))))
    if ready is not None:
        conditions.append(PodCondition(type="Ready", status=ready, last_transition_time=Time(draw(st.sampled_from((1.0, 2.0))))))
    side = Container(name="side", image="s", restart_policy=ContainerRestartPolicy.ALWAYS)
    init = Container(name="init", image="i")
    base = a_pod(
        "p",
        labels={"app": draw(st.sampled_from(("web", "db")))},
        annotations=draw(st.sampled_from(({}, {DELETION_COST_ANNOTATION: "3"}, {"note": "x"}))),
        node_name=draw(st.sampled_from(("", "n1", "n2"))),
        owners=draw(st.sampled_from(_REFS)),
    )
    restarts = st.integers(min_value=0, max_value=2)
    status = PodStatus(
        phase=draw(st.sampled_from((None, PodPhase.PENDING, PodPhase.RUNNING, PodPhase.SUCCEEDED, PodPhase.FAILED, PodPhase.UNKNOWN))),
        conditions=tuple(conditions),
        pod_ip=draw(st.sampled_from(("", "10.0.0.1"))),
        start_time=draw(st.sampled_from((None, Time(1.0)))),
        container_statuses=tuple(ContainerStatus(name=f"c{i}", restart_count=draw(restarts)) for i in range(draw(st.integers(0, 2)))),
        init_container_statuses=tuple(ContainerStatus(name=n, restart_count=draw(restarts)) for n in draw(st.sampled_from(((), ("side",), ("side", "init"))))),
    )
    metadata = attrs.evolve(
        base.metadata,
        uid=draw(st.sampled_from(("u1", "u2"))),
        creation_timestamp=draw(st.sampled_from((None, Time(0.5)))),
        deletion_timestamp=draw(st.sampled_from((None, Time(3.0)))),
        resource_version=draw(st.integers(1, 3)),
    )
    return attrs.evolve(base, metadata=metadata, spec=attrs.evolve(base.spec, init_containers=(side, init)), status=status)


@st.composite
def _updates(draw: st.DrawFn) -> tuple[Pod, Pod]:
    """A pod and an update of it: each field from the pod itself or from another draw."""
    old, other = draw(_pods_for_filter()), draw(_pods_for_filter())
    m, s = old.metadata, old.status
    meta_fields = ("uid", "labels", "annotations", "owner_references", "creation_timestamp", "deletion_timestamp", "resource_version")
    status_fields = ("phase", "conditions", "pod_ip", "start_time", "container_statuses", "init_container_statuses")
    for f in meta_fields:
        if draw(st.booleans()):
            m = attrs.evolve(m, **{f: getattr(other.metadata, f)})
    for f in status_fields:
        if draw(st.booleans()):
            s = attrs.evolve(s, **{f: getattr(other.status, f)})
    spec = other.spec if draw(st.booleans()) else old.spec
    return old, attrs.evolve(old, metadata=m, spec=spec, status=s)


@given(_updates())
def test_a_dropped_update_changes_nothing_a_claim_a_tally_or_a_ranking_reads(update: tuple[Pod, Pod]) -> None:
    old, new = update
    now = Time(100.0)
    event = WatchEvent(type=WatchType.MODIFIED, obj=new, resource_version=new.metadata.resource_version)
    for comp in CONTROLLERS:
        kind = comp.kind.value
        if comp.wants(event, old) or not (
            comp._candidate(old.metadata.owner_references, kind) or comp._candidate(new.metadata.owner_references, kind)
        ):
            continue  # taken, or a pod of another kind's controller before and after
        # what the expectations, the orphan index and every claim read
        assert old.metadata.uid == new.metadata.uid
        assert old.metadata.labels == new.metadata.labels
        assert old.metadata.owner_references == new.metadata.owner_references
        assert old.metadata.deletion_timestamp == new.metadata.deletion_timestamp
        assert is_pod_active(old) == is_pod_active(new)
        if is_pod_active(new):
            # the tallies (ready, available with minReadySeconds) and the victim ranking
            assert is_pod_ready(old) == is_pod_ready(new)
            assert pod_ready_time(old) == pod_ready_time(new) or not is_pod_ready(new)
            assert rank_facts(old, 0, now) == rank_facts(new, 0, now)

"""The DaemonSet controller: exact effects of scripted scenarios.

Most tests run the controller with the default scheduler in a `Cluster` (pods are made
Ready by status updates through `Cluster.request`); the decisions are checked as plain
values, and a few tests drive `step` by hand through `tests.rig.Rig` so the staleness of
the view is explicit.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from pyrsistent import pmap

from kcore.api.apps import (
    DaemonSet,
    DaemonSetStatus,
    DaemonSetUpdateStrategy,
    DaemonSetUpdateStrategyType,
    RollingUpdateDaemonSet,
)
from kcore.api.core import Node, Taint
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodCondition,
    PodPhase,
    PodStatus,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.component.effects import CallApi, EventType, RecordEvent, WakeMeAt
from kcore.component.requests import Create, Delete, Response, Subresource, Update
from kcore.controllers import daemonset_plan as dp
from kcore.controllers import daemonset_util as du
from kcore.controllers.daemonset import Action, DaemonSetController, DaemonSetState, Op
from kcore.controllers.hashing import fnv32a
from kcore.controllers.podcontrol import is_pod_ready
from kcore.driver.cluster import Cluster
from kcore.driver.snapshot import Performed
from kcore.scheduler import Scheduler
from kcore.state import get, list_objects
from tests.builders import T0, a_daemon_set, a_node, cluster_with, key, meta, owner_ref
from tests.rig import Rig

DS_KEY = key(Kind.DAEMON_SET, "agent")


def rolling(max_unavailable: int | str, max_surge: int | str) -> DaemonSetUpdateStrategy:
    return DaemonSetUpdateStrategy(
        type=DaemonSetUpdateStrategyType.ROLLING_UPDATE,
        rolling_update=RollingUpdateDaemonSet(max_unavailable=max_unavailable, max_surge=max_surge),
    )


def cluster(*nodes: Node, ds: DaemonSet | None = None) -> Cluster:
    c = Cluster.empty(cluster_with(*nodes), [DaemonSetController(), Scheduler()])
    if ds is not None:
        assert c.request(Create(obj=ds)).ok
    assert c.run_until_stable()
    return c


def daemon_set(c: Cluster) -> DaemonSet:
    ds = get(c.state, DS_KEY)
    assert isinstance(ds, DaemonSet)
    return ds


def live_pods(c: Cluster) -> tuple[Pod, ...]:
    """The daemon pods not being deleted, by name."""
    pods = (p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod))
    return tuple(p for p in pods if p.metadata.deletion_timestamp is None)


def placement(c: Cluster) -> dict[str, list[tuple[str, bool]]]:
    """node -> [(revision hash, ready)] of its live pods, sorted."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for p in sorted(live_pods(c), key=lambda p: (p.metadata.labels[du.CONTROLLER_REVISION_HASH_LABEL], is_pod_ready(p))):
        out.setdefault(du.target_node_name(p), []).append((p.metadata.labels[du.CONTROLLER_REVISION_HASH_LABEL], is_pod_ready(p)))
    return out


def make_ready(c: Cluster, pod: Pod) -> None:
    ready = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=c.now)
    fresh = get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name))
    assert isinstance(fresh, Pod)
    status = PodStatus(phase=PodPhase.RUNNING, conditions=(ready,))
    assert c.request(Update(obj=attrs.evolve(fresh, status=status), subresource=Subresource.STATUS)).ok


def make_all_ready(c: Cluster) -> None:
    for p in live_pods(c):
        if not is_pod_ready(p):
            make_ready(c, p)
    assert c.run_until_stable()


def set_phase(c: Cluster, pod: Pod, phase: PodPhase) -> None:
    fresh = get(c.state, ObjectKey(kind=Kind.POD, namespace="default", name=pod.metadata.name))
    assert isinstance(fresh, Pod)
    assert c.request(Update(obj=attrs.evolve(fresh, status=PodStatus(phase=phase)), subresource=Subresource.STATUS)).ok


def update_node(
    c: Cluster, name: str, *, labels: Mapping[str, str] | None = None, taints: tuple[Taint, ...] | None = None
) -> None:
    node = get(c.state, key(Kind.NODE, name))
    assert isinstance(node, Node)
    if labels is not None:
        node = attrs.evolve(node, metadata=attrs.evolve(node.metadata, labels=pmap(labels)))
    if taints is not None:
        node = attrs.evolve(node, spec=attrs.evolve(node.spec, taints=taints))
    assert c.request(Update(obj=node)).ok


def update_template(c: Cluster, image: str) -> str:
    """Change the DaemonSet's image; returns the new revision hash."""
    ds = daemon_set(c)
    container = attrs.evolve(ds.spec.template.spec.containers[0], image=image)
    template = attrs.evolve(ds.spec.template, spec=attrs.evolve(ds.spec.template.spec, containers=(container,)))
    assert c.request(Update(obj=attrs.evolve(ds, spec=attrs.evolve(ds.spec, template=template)))).ok
    assert c.run_until_stable()
    return du.template_hash(template)


def ds_events(c: Cluster) -> list[tuple[str, str]]:
    return [
        (e.effect.reason, e.effect.message)
        for e in c.trace
        if isinstance(e, Performed) and isinstance(e.effect, RecordEvent) and e.effect.involved == DS_KEY
    ]


# --- pure rules ------------------------------------------------------------------------------


def test_the_template_hash_is_stable_and_changes_with_the_template_and_collision_count() -> None:
    t = a_daemon_set().spec.template
    assert du.template_hash(t) == du.template_hash(attrs.evolve(t))
    assert du.template_hash(t) != du.template_hash(a_daemon_set(image="agent:2").spec.template)
    assert du.template_hash(t) != du.template_hash(t, 1)
    assert set(du.template_hash(t)) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert fnv32a(b"") == 0x811C9DC5 and fnv32a(b"a") == 0xE40C292C


def test_default_tolerations_are_added_once_and_network_unavailable_only_for_host_network() -> None:
    ds = a_daemon_set(tolerations=(Toleration(key=du.TAINT_NOT_READY, operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE, toleration_seconds=30),))
    spec = du.add_daemon_tolerations(ds.spec.template.spec)
    assert spec.tolerations == du.daemon_tolerations(host_network=False)
    assert all(t.toleration_seconds is None for t in spec.tolerations)
    assert [t.key for t in spec.tolerations] == [
        du.TAINT_NOT_READY, du.TAINT_UNREACHABLE, du.TAINT_DISK_PRESSURE,
        du.TAINT_MEMORY_PRESSURE, du.TAINT_PID_PRESSURE, du.TAINT_UNSCHEDULABLE,
    ]
    host = du.add_daemon_tolerations(attrs.evolve(spec, host_network=True))
    assert host.tolerations[-1] == Toleration(key=du.TAINT_NETWORK_UNAVAILABLE, operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_SCHEDULE)


def test_node_eligibility_follows_selector_affinity_and_taints() -> None:
    plain = a_node("n1")
    tainted = attrs.evolve(plain, spec=attrs.evolve(plain.spec, taints=(Taint(key="gpu", effect=TaintEffect.NO_SCHEDULE),)))
    evicting = attrs.evolve(plain, spec=attrs.evolve(plain.spec, taints=(Taint(key="gpu", effect=TaintEffect.NO_EXECUTE),)))
    not_ready = attrs.evolve(plain, spec=attrs.evolve(plain.spec, taints=(Taint(key=du.TAINT_NOT_READY, effect=TaintEffect.NO_EXECUTE),)))
    assert du.node_should_run(plain, a_daemon_set()) == (True, True)
    assert du.node_should_run(plain, a_daemon_set(node_selector={"role": "edge"})) == (False, False)
    assert du.node_should_run(tainted, a_daemon_set()) == (False, True)
    assert du.node_should_run(evicting, a_daemon_set()) == (False, False)
    assert du.node_should_run(not_ready, a_daemon_set()) == (True, True)
    gpu = Toleration(key="gpu", operator=TolerationOperator.EXISTS)
    assert du.node_should_run(tainted, a_daemon_set(tolerations=(gpu,))) == (True, True)
    ds = a_daemon_set()
    term = NodeSelectorTerm(match_expressions=(NodeSelectorRequirement(key="zone", operator=NodeSelectorOperator.IN, values=("a",)),))
    aff = Affinity(node_affinity=NodeAffinity(required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=(term,))))
    ds = attrs.evolve(ds, spec=attrs.evolve(ds.spec, template=attrs.evolve(ds.spec.template, spec=attrs.evolve(ds.spec.template.spec, affinity=aff))))
    assert du.node_should_run(plain, ds) == (False, False)
    assert du.node_should_run(a_node("n1", labels={"zone": "a"}), ds) == (True, True)


def test_budgets_scale_percentages_of_desired_rounding_up() -> None:
    ds = a_daemon_set(strategy=rolling("25%", "10%"))
    assert (du.unavailable_count(ds, 10), du.surge_count(ds, 10)) == (3, 1)
    assert du.allows_surge(ds)
    on_delete = a_daemon_set(strategy=DaemonSetUpdateStrategy(type=DaemonSetUpdateStrategyType.ON_DELETE))
    assert (du.unavailable_count(on_delete, 10), du.surge_count(on_delete, 10), du.allows_surge(on_delete)) == (0, 0, False)


# --- placement ------------------------------------------------------------------------------


def test_three_nodes_get_three_pods_each_pinned_to_its_node() -> None:
    c = cluster(a_node("node-1"), a_node("node-2"), a_node("node-3"), ds=a_daemon_set())
    ds = daemon_set(c)
    hash_ = du.template_hash(ds.spec.template)
    pods = sorted(live_pods(c), key=du.target_node_name)
    assert [du.target_node_name(p) for p in pods] == ["node-1", "node-2", "node-3"]
    for pod in pods:
        node = du.target_node_name(pod)
        assert pod.spec.node_name == node  # bound by the default scheduler
        assert pod.metadata.generate_name == "agent-"
        assert pod.metadata.owner_references == (owner_ref(ds),)
        assert dict(pod.metadata.labels) == {"app": "agent", "controller-revision-hash": hash_, "pod-template-generation": "1"}
        assert pod.spec.affinity == du.replace_node_name_affinity(None, node)
        assert pod.spec.tolerations == du.daemon_tolerations(host_network=False)
    assert sorted(ds_events(c)) == sorted(("SuccessfulCreate", f"Created pod: {p.metadata.name}") for p in pods)
    assert ds.status == DaemonSetStatus(
        current_number_scheduled=3, desired_number_scheduled=3, number_unavailable=3,
        updated_number_scheduled=3, observed_generation=1,
    )
    make_all_ready(c)
    assert daemon_set(c).status == DaemonSetStatus(
        current_number_scheduled=3, desired_number_scheduled=3, number_ready=3, number_available=3,
        updated_number_scheduled=3, observed_generation=1,
    )


def test_a_node_that_joins_gets_a_pod() -> None:
    c = cluster(a_node("node-1"), ds=a_daemon_set())
    assert c.request(Create(obj=a_node("node-2"))).ok
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1", "node-2"]
    assert daemon_set(c).status.desired_number_scheduled == 2


def test_a_tainted_node_without_toleration_gets_no_pod_and_one_with_it_does() -> None:
    tainted = a_node("node-2")
    tainted = attrs.evolve(tainted, spec=attrs.evolve(tainted.spec, taints=(Taint(key="gpu", effect=TaintEffect.NO_SCHEDULE),)))
    c = cluster(a_node("node-1"), tainted, ds=a_daemon_set())
    assert sorted(placement(c)) == ["node-1"]
    assert daemon_set(c).status.desired_number_scheduled == 1
    c2 = cluster(a_node("node-1"), tainted, ds=a_daemon_set(tolerations=(Toleration(key="gpu", operator=TolerationOperator.EXISTS),)))
    assert sorted(placement(c2)) == ["node-1", "node-2"]


def test_a_cordoned_node_still_gets_its_daemon_pod() -> None:
    c = cluster(a_node("node-1", unschedulable=True), ds=a_daemon_set())
    assert [p.spec.node_name for p in live_pods(c)] == ["node-1"]


def test_a_label_change_making_a_node_ineligible_deletes_its_pod() -> None:
    c = cluster(a_node("node-1", labels={"role": "edge"}), a_node("node-2", labels={"role": "edge"}), ds=a_daemon_set(node_selector={"role": "edge"}))
    assert sorted(placement(c)) == ["node-1", "node-2"]
    doomed = next(p for p in live_pods(c) if p.spec.node_name == "node-2")
    update_node(c, "node-2", labels={"kubernetes.io/hostname": "node-2"})
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1"]
    assert ds_events(c)[-1] == ("SuccessfulDelete", f"Deleted pod: {doomed.metadata.name}")
    assert daemon_set(c).status.desired_number_scheduled == 1
    assert daemon_set(c).status.number_misscheduled == 0


def test_a_no_execute_taint_deletes_the_pod_and_a_no_schedule_taint_keeps_it() -> None:
    c = cluster(a_node("node-1"), a_node("node-2"), ds=a_daemon_set())
    update_node(c, "node-1", taints=(Taint(key="gpu", effect=TaintEffect.NO_SCHEDULE),))
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1", "node-2"]
    assert daemon_set(c).status.number_misscheduled == 1
    update_node(c, "node-2", taints=(Taint(key="gpu", effect=TaintEffect.NO_EXECUTE),))
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1"]


def test_a_node_that_leaves_takes_its_pending_pod_with_it() -> None:
    c = Cluster.empty(cluster_with(a_node("node-1"), a_node("node-2")), [DaemonSetController()])
    assert c.request(Create(obj=a_daemon_set())).ok
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1", "node-2"]
    assert c.request(Delete(key=key(Kind.NODE, "node-2"))).ok
    assert c.run_until_stable()
    assert sorted(placement(c)) == ["node-1"]


def test_excess_pods_on_one_node_are_deleted_keeping_the_oldest() -> None:
    c = cluster(a_node("node-1"), ds=a_daemon_set())
    (first,) = live_pods(c)
    c.advance(5)
    extra = attrs.evolve(first, metadata=meta("extra", labels=dict(first.metadata.labels), owners=first.metadata.owner_references), status=PodStatus())
    extra = attrs.evolve(extra, spec=attrs.evolve(extra.spec, node_name=""))
    assert c.request(Create(obj=extra)).ok
    assert c.run_until_stable()
    assert [p.metadata.name for p in live_pods(c)] == [first.metadata.name]
    assert ds_events(c)[-1] == ("SuccessfulDelete", "Deleted pod: extra")


def test_a_failed_pod_is_replaced_and_repeated_failures_back_off() -> None:
    c = cluster(a_node("node-1"), ds=a_daemon_set())
    (pod,) = live_pods(c)
    set_phase(c, pod, PodPhase.FAILED)
    assert c.run_until_stable()
    (second,) = live_pods(c)
    assert second.metadata.name != pod.metadata.name
    assert ("FailedDaemonPod", f"Found failed daemon pod default/{pod.metadata.name} on node node-1, will try to kill it") in ds_events(c)
    set_phase(c, second, PodPhase.FAILED)
    assert c.run_until_stable()
    assert [p.metadata.name for p in live_pods(c)] == [second.metadata.name]  # within the 1 s backoff
    c.advance(1.0)
    (third,) = live_pods(c)
    assert third.metadata.name not in (pod.metadata.name, second.metadata.name)
    set_phase(c, third, PodPhase.FAILED)
    c.advance(1.0)
    assert [p.metadata.name for p in live_pods(c)] == [third.metadata.name]  # now 2 s
    c.advance(1.0)
    assert [p.metadata.name for p in live_pods(c)] != [third.metadata.name]


# --- updates --------------------------------------------------------------------------------


def test_rolling_update_with_max_unavailable_one_replaces_one_pod_at_a_time() -> None:
    c = cluster(a_node("node-1"), a_node("node-2"), a_node("node-3"), ds=a_daemon_set(strategy=rolling(1, 0)))
    make_all_ready(c)
    old = du.template_hash(daemon_set(c).spec.template)
    new = update_template(c, "agent:2")
    assert placement(c) == {"node-1": [(new, False)], "node-2": [(old, True)], "node-3": [(old, True)]}
    assert daemon_set(c).status.updated_number_scheduled == 1
    make_all_ready(c)
    assert placement(c) == {"node-1": [(new, True)], "node-2": [(new, False)], "node-3": [(old, True)]}
    make_all_ready(c)
    assert placement(c) == {"node-1": [(new, True)], "node-2": [(new, True)], "node-3": [(new, False)]}
    make_all_ready(c)
    assert placement(c) == {n: [(new, True)] for n in ("node-1", "node-2", "node-3")}
    st = daemon_set(c).status
    assert (st.updated_number_scheduled, st.number_available, st.observed_generation) == (3, 3, 2)


def test_rolling_update_with_max_surge_one_starts_the_new_pod_beside_the_old() -> None:
    c = cluster(a_node("node-1"), a_node("node-2"), ds=a_daemon_set(strategy=rolling(0, 1)))
    make_all_ready(c)
    old = du.template_hash(daemon_set(c).spec.template)
    new = update_template(c, "agent:2")
    assert placement(c) == {"node-1": sorted([(old, True), (new, False)]), "node-2": [(old, True)]}
    make_all_ready(c)
    assert placement(c) == {"node-1": [(new, True)], "node-2": sorted([(old, True), (new, False)])}
    make_all_ready(c)
    assert placement(c) == {"node-1": [(new, True)], "node-2": [(new, True)]}


def test_on_delete_replaces_a_pod_only_when_it_is_deleted() -> None:
    on_delete = DaemonSetUpdateStrategy(type=DaemonSetUpdateStrategyType.ON_DELETE)
    c = cluster(a_node("node-1"), a_node("node-2"), ds=a_daemon_set(strategy=on_delete))
    make_all_ready(c)
    old = du.template_hash(daemon_set(c).spec.template)
    new = update_template(c, "agent:2")
    c.advance(60)
    assert placement(c) == {"node-1": [(old, True)], "node-2": [(old, True)]}
    victim = next(p for p in live_pods(c) if p.spec.node_name == "node-2")
    assert c.request(Delete(key=key(Kind.POD, victim.metadata.name))).ok
    assert c.run_until_stable()
    assert placement(c) == {"node-1": [(old, True)], "node-2": [(new, False)]}
    assert daemon_set(c).status.updated_number_scheduled == 1


def test_min_ready_seconds_delays_availability_and_wakes_the_controller() -> None:
    c = cluster(a_node("node-1"), ds=a_daemon_set(min_ready_seconds=10))
    make_all_ready(c)
    st = daemon_set(c).status
    assert (st.number_ready, st.number_available, st.number_unavailable) == (1, 0, 1)
    c.advance(11)
    st = daemon_set(c).status
    assert (st.number_ready, st.number_available, st.number_unavailable) == (1, 1, 0)


# --- decisions as values -------------------------------------------------------------------


def stored(*objects: Node | DaemonSet) -> tuple[DaemonSet, Node]:
    """The DaemonSet and node-1 as the apiserver stores them (with uids)."""
    state = cluster_with(a_node(), *objects)
    ds, node = get(state, DS_KEY), get(state, key(Kind.NODE, "node-1"))
    assert isinstance(ds, DaemonSet) and isinstance(node, Node)
    return ds, node


def observed(ds: DaemonSet, node: Node, *pods: Pod) -> dp.Observed:
    return dp.Observed(
        ds=ds, hash=du.template_hash(ds.spec.template), nodes=(node,), pods=pods, by_node=dp.nodes_to_daemon_pods(pods)
    )


def test_a_failed_pod_is_deleted_once_and_then_waits_out_its_nodes_backoff_as_a_value() -> None:
    ds, node = stored(a_daemon_set())
    failed = attrs.evolve(
        a_pod_of(ds, "agent-a", node="node-1"), status=PodStatus(phase=PodPhase.FAILED)
    )
    seen = observed(ds, node, failed)
    first = dp.pods_should_be_on_node(seen, node, pmap(), T0)
    backoff = pmap({dp.backoff_key(ds, "node-1"): dp.Backoff(delay=1.0, last_update=T0)})
    message = "Found failed daemon pod default/agent-a on node node-1, will try to kill it"
    assert first == dp.OnNode(
        delete=(failed,),
        notes=(RecordEvent(involved=DS_KEY, type=EventType.WARNING, reason="FailedDaemonPod", message=message),),
        failed_backoff=backoff,
    )
    # half a second later the pod failed again: it stays, and the sync asks to look again
    # when the backoff ends (the decision only says so; emitting is the controller's)
    again = dp.pods_should_be_on_node(seen, node, backoff, Time(T0 + 0.5))
    assert again == dp.OnNode(notes=(dp.BackoffWait(at=Time(T0 + 1.0)),), failed_backoff=backoff)
    plan = dp.decide(seen, act=True, failed_backoff=backoff, now=Time(T0 + 0.5))
    assert (plan.notes, plan.create, plan.delete, plan.failed_backoff) == (again.notes, (), (), backoff)


def test_while_it_may_not_act_a_sync_plans_only_its_status() -> None:
    ds, node = stored(a_daemon_set())
    plan = dp.decide(observed(ds, node), act=False, failed_backoff=pmap(), now=T0)
    status = DaemonSetStatus(desired_number_scheduled=1, number_unavailable=1, observed_generation=ds.status.observed_generation)
    assert plan == dp.Plan(failed_backoff=pmap(), status=status)
    acting = dp.decide(observed(ds, node), act=True, failed_backoff=pmap(), now=T0)
    assert acting == dp.Plan(create=("node-1",), failed_backoff=pmap(), status=attrs.evolve(status, observed_generation=1))


# --- by hand: expectations and retries ------------------------------------------------------

BOOM = Response(code=500, body=Status(message="etcd down", reason=StatusReason.INTERNAL_ERROR, code=500))


def a_pod_of(ds: DaemonSet, name: str, *, node: str = "") -> Pod:
    """A pod `ds` controls, as its template makes it."""
    pod = du.pod_for_node(ds, du.stamped_template(ds, du.template_hash(ds.spec.template)), node or "node-1")
    return attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, name=name, generate_name=""),
        spec=attrs.evolve(pod.spec, node_name=node),
    )


def first_sync(rig: Rig[DaemonSetState]) -> tuple[CallApi, CallApi]:
    """The effects of the first sync over one node: the create of its pod, the status."""
    ds = rig.get(DS_KEY, DaemonSet)
    pod = du.pod_for_node(ds, du.stamped_template(ds, du.template_hash(ds.spec.template)), "node-1")
    status = DaemonSetStatus(desired_number_scheduled=1, number_unavailable=1, observed_generation=1)
    create = CallApi(request=Create(obj=pod), tag=Op(owner=DS_KEY, action=Action.CREATE))
    write = CallApi(
        request=Update(obj=attrs.evolve(ds, status=status), subresource=Subresource.STATUS),
        tag=Op(owner=DS_KEY, action=Action.STATUS),
    )
    assert rig.start() == (create, write)
    return create, write


def test_a_stale_view_never_creates_a_second_pod_for_a_node() -> None:
    rig: Rig[DaemonSetState] = Rig(DaemonSetController(), a_daemon_set())
    create, _ = first_sync(rig)
    effects = rig.answer(create)
    (pod,) = rig.pods()
    assert effects == (
        RecordEvent(involved=DS_KEY, type=EventType.NORMAL, reason="SuccessfulCreate", message=f"Created pod: {pod.metadata.name}"),
    )
    # the pod's ADDED event has not arrived, and the status write is still out: a resync
    # neither creates again nor writes
    assert rig.fire(DS_KEY) == ()


def test_a_refused_status_write_retries_a_second_later_in_motion_only_the_first_time() -> None:
    rig: Rig[DaemonSetState] = Rig(DaemonSetController(), a_daemon_set())
    _, write = first_sync(rig)
    assert rig.answer(write, BOOM) == (WakeMeAt(at=Time(T0 + 1.0), key=DS_KEY, in_motion=True),)
    # the burst is still out: the retry writes the counts, observedGeneration untouched
    assert isinstance(write.request, Update) and isinstance(write.request.obj, DaemonSet)
    written = write.request.obj
    unobserved = attrs.evolve(written, status=attrs.evolve(written.status, observed_generation=0))
    retry = attrs.evolve(write, request=Update(obj=unobserved, subresource=Subresource.STATUS))
    assert rig.fire(DS_KEY, T0 + 1.0) == (retry,)
    assert rig.answer(retry, BOOM) == (WakeMeAt(at=Time(T0 + 2.0), key=DS_KEY, in_motion=False),)


def test_at_a_fixed_point_another_sync_emits_nothing() -> None:
    c = cluster(a_node("node-1"), a_node("node-2"), ds=a_daemon_set())
    make_all_ready(c)
    rig: Rig[DaemonSetState] = Rig(DaemonSetController(), state=c.state, now=c.now)
    rig.s = c.component_state(rig.comp.name)
    assert rig.fire(DS_KEY) == ()

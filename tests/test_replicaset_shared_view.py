"""The ReplicaSet/RC controller on the driver's shared informer view, with its `wants`
filter: which pod events it drops, and that dropping them changes no effect (a controller
fed the dropped events too acts the same), under the real driver as well."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet
from kcore.api.core import ReplicationController
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ConditionStatus, OwnerReference, Time
from kcore.api.pod import (
    ContainerRestartPolicy,
    ContainerStatus,
    Pod,
    PodCondition,
    PodIP,
    PodPhase,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import handle
from kcore.component.effects import CallApi, Effect
from kcore.component.events import Started, TimerFired, WatchDelivered
from kcore.component.informer import observe
from kcore.component.requests import Bind, Create, Delete, Request, Subresource, Update
from kcore.controllers.podcontrol import DELETION_COST_ANNOTATION
from kcore.controllers.replicaset import (
    ReplicaController,
    ReplicaSetController,
    ReplicaSetState,
    ReplicationControllerController,
)
from kcore.controllers.replicaset_tally import pod_update_matters
from kcore.driver.cluster import Cluster
from kcore.driver.snapshot import Delivered, Performed
from kcore.state import ClusterState, get, list_objects
from tests.builders import (
    T0,
    a_container,
    a_node,
    a_pod,
    a_replica_set,
    a_replication_controller,
    a_stateful_set,
    cluster_with,
    key,
    owner_ref,
)

RS = ReplicaSetController()
RC = ReplicationControllerController()


def foreign_ref(name: str = "db", *, controller: bool = True) -> OwnerReference:
    return OwnerReference(api_version="apps/v1", kind="StatefulSet", name=name, uid=f"uid-{name}", controller=controller)


def with_refs(pod: Pod, *refs: OwnerReference) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, owner_references=refs))


def ev(obj: ApiObject, type: WatchType = WatchType.MODIFIED) -> WatchEvent:
    return WatchEvent(type=type, obj=obj, resource_version=7)


def rs_ref(name: str = "web") -> OwnerReference:
    return OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=name, uid=f"uid-{name}", controller=True)


# --- the filter -------------------------------------------------------------------------------


def test_the_replicaset_controller_drops_added_and_modified_pods_of_another_kind() -> None:
    pod = with_refs(a_pod("db-0"), foreign_ref())
    assert not RS.wants(ev(pod, WatchType.ADDED))
    assert not RS.wants(ev(pod, WatchType.MODIFIED))


def test_the_rc_controller_drops_the_pods_of_replica_sets() -> None:
    pod = with_refs(a_pod("web-x"), rs_ref())
    assert not RC.wants(ev(pod, WatchType.ADDED))
    assert not RC.wants(ev(pod, WatchType.MODIFIED))
    assert RS.wants(ev(pod, WatchType.MODIFIED))


def test_orphans_own_pods_deletions_and_owners_are_always_taken() -> None:
    orphan = a_pod("stray", labels={"app": "web"})
    foreign = with_refs(a_pod("db-0"), foreign_ref())
    for t in (WatchType.ADDED, WatchType.MODIFIED, WatchType.DELETED):
        assert RS.wants(ev(orphan, t)) and RC.wants(ev(orphan, t))
        assert RS.wants(ev(with_refs(a_pod("web-x"), rs_ref()), t))
        assert RS.wants(ev(a_replica_set("web"), t)) and RC.wants(ev(a_replica_set("web"), t))
    assert RS.wants(ev(foreign, WatchType.DELETED)) and RC.wants(ev(foreign, WatchType.DELETED))


def test_a_pod_still_naming_an_owner_of_its_kind_is_taken_whoever_controls_it() -> None:
    pod = with_refs(a_pod("web-x"), attrs.evolve(rs_ref(), controller=False), foreign_ref())
    assert RS.wants(ev(pod))
    assert not RC.wants(ev(pod))
    not_controlling = with_refs(a_pod("web-y"), foreign_ref(controller=False))
    assert RS.wants(ev(not_controlling)) and RC.wants(ev(not_controlling))  # still an orphan


# --- dropping changes nothing -----------------------------------------------------------------


class Twin:
    """Two copies of one controller over one apiserver state: `full` is handed every watch
    event, `filtered` only those `wants` accepts; both get the shared view."""

    def __init__(self, comp: ReplicaController, *objects: ApiObject, with_old: bool = True) -> None:
        self.comp = comp
        self.state: ClusterState = cluster_with(a_node(), *objects)
        self.full: ReplicaSetState = comp.init(self.state, T0)[0]
        self.filtered: ReplicaSetState = self.full
        self.dropped = 0
        self.with_old = with_old  # hand `wants` the object as the previous write left it
        self.now = T0

    def step_both(
        self, event: Started | WatchDelivered | TimerFired, old: ApiObject | None = None
    ) -> tuple[tuple[Effect, ...], tuple[Effect, ...]]:
        self.full, a = self.comp.step(self.full, event)
        if isinstance(event, WatchDelivered) and not self.comp.wants(event.event, old):
            self.dropped += 1
            return a, ()
        self.filtered, b = self.comp.step(self.filtered, event)
        return a, b

    def request(self, req: Request) -> list[tuple[tuple[Effect, ...], tuple[Effect, ...]]]:
        """Perform `req`; deliver its watch events (with the view after each) to both."""
        before = self.state
        self.state, resp, events = handle(before, req, self.now)
        assert resp.ok, resp
        out = []
        view = before
        for e in events:
            prev = view
            # as the driver: one event carries the new state, several are folded one by one
            view = self.state if len(events) == 1 else observe(view, e)
            old = get(prev, e.key) if self.with_old and e.type is not WatchType.ADDED else None
            if e.obj.KIND in self.comp.watches:
                out.append(self.step_both(WatchDelivered(event=e, now=self.now, view=view), old))
        return out


def calls(effects: tuple[Effect, ...]) -> list[object]:
    return [e.request for e in effects if isinstance(e, CallApi)]


def annotated(twin: Twin, value: str) -> ReplicaSet:
    stored = get(twin.state, key(Kind.REPLICA_SET, "web"))
    assert isinstance(stored, ReplicaSet)
    return attrs.evolve(stored, metadata=attrs.evolve(stored.metadata, annotations=pmap({"a": value})))


def test_an_orphan_adopted_by_another_kind_unseen_is_replaced_at_the_owners_next_sync() -> None:
    rs = a_replica_set("web", replicas=1, labels={"app": "web"})
    # with the old object unknown the filter judges by the new version alone: it drops
    # the adoption, and the tally's check that its orphans are the view's catches it
    twin = Twin(RS, rs, a_pod("stray", labels={"app": "web"}), with_old=False)
    a, b = twin.step_both(Started(now=T0))
    assert calls(a) == calls(b) and len(calls(a)) == 2  # the adopt patch and a status write
    # a sync while the adopt patch is out: the tally is counted again, with the pod to adopt
    for a, b in twin.request(Update(obj=annotated(twin, "first"))):
        assert calls(a) == calls(b) == []
    stray = get(twin.state, key(Kind.POD, "stray"))
    assert isinstance(stray, Pod)
    # another kind's controller takes the orphan first: the filtered controller never sees
    # it (as upstream's updatePod, which queues no owner for it), the full one syncs at once
    ((early, none),) = twin.request(Update(obj=with_refs(stray, foreign_ref())))
    assert twin.dropped == 1 and none == ()
    ((late, b),) = twin.request(Update(obj=annotated(twin, "second")))
    creates = [r for r in calls(b) if isinstance(r, Create)]
    assert len(creates) == 1  # the pod it no longer gets is replaced, from a recount
    assert creates == [r for r in calls((*early, *late)) if isinstance(r, Create)]
    assert twin.full.tallies == twin.filtered.tallies


def test_an_rc_beside_a_replica_set_acts_the_same_without_the_replica_sets_pods() -> None:
    rs = a_replica_set("web", replicas=2, labels={"app": "web"})
    twin = Twin(RC, rs, a_replication_controller("db", replicas=1))
    a, b = twin.step_both(Started(now=T0))
    assert calls(a) == calls(b)
    stored_rs = get(twin.state, key(Kind.REPLICA_SET, "web"))
    assert stored_rs is not None
    for i in range(3):
        pod = with_refs(a_pod(f"web-{i}", labels={"app": "web"}), owner_ref(stored_rs))
        for a, b in twin.request(Create(obj=pod)):
            assert calls(a) == calls(b) == []
    assert twin.dropped == 3
    assert twin.full.tallies == twin.filtered.tallies


# --- the real driver --------------------------------------------------------------------------


def test_with_the_real_driver_each_controller_keeps_its_replicas_and_the_rc_one_skips_rs_pods() -> None:
    rs = a_replica_set("web", replicas=3, labels={"app": "web"})
    rc = a_replication_controller("db", replicas=2)
    other = a_stateful_set("cache", replicas=1, claims=())  # an owner only: no StatefulSet controller runs
    c = Cluster.empty(cluster_with(a_node(), rs, rc, other), [RS, RC])
    stored = get(c.state, key(Kind.STATEFUL_SET, "cache"))
    assert stored is not None
    assert c.request(Create(obj=with_refs(a_pod("cache-0", labels={"app": "cache"}), owner_ref(stored)))).ok
    assert c.run_until_stable()
    pods = [p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod)]
    by_owner: dict[str, int] = {}
    for p in pods:
        ref = next((r for r in p.metadata.owner_references if r.controller), None)
        name = "" if ref is None else f"{ref.kind}/{ref.name}"
        by_owner[name] = by_owner.get(name, 0) + 1
    assert by_owner == {"ReplicaSet/web": 3, "ReplicationController/db": 2, "StatefulSet/cache": 1}
    got_rs, got_rc = get(c.state, key(Kind.REPLICA_SET, "web")), get(c.state, key(Kind.REPLICATION_CONTROLLER, "db"))
    assert isinstance(got_rs, ReplicaSet) and got_rs.status.replicas == 3
    assert isinstance(got_rc, ReplicationController) and got_rc.status.replicas == 2
    delivered = [e for e in c.trace if isinstance(e, Delivered) and isinstance(e.event, WatchDelivered)]
    pod_kinds = {
        (e.component, r.kind)
        for e in delivered
        if isinstance(e.event, WatchDelivered) and e.event.event.obj.KIND is Kind.POD
        for r in e.event.event.obj.metadata.owner_references
    }
    assert ("replicationcontroller-controller", "ReplicaSet") not in pod_kinds
    assert ("replicaset-controller", "StatefulSet") not in pod_kinds
    assert ("replicaset-controller", "ReplicaSet") in pod_kinds


# --- updates judged with the old object (wants(event, old)) ------------------------------------

READY = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=Time(10.0))


def _st(pod: Pod, **changes: object) -> Pod:
    return attrs.evolve(pod, status=attrs.evolve(pod.status, **changes))  # type: ignore[arg-type]


def _md(pod: Pod, **changes: object) -> Pod:
    return attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, **changes))  # type: ignore[arg-type]


OWNED = _st(
    with_refs(a_pod("web-a", labels={"app": "web"}, node_name="n1"), rs_ref()),
    phase=PodPhase.RUNNING,
    conditions=(READY,),
    container_statuses=(ContainerStatus(name="app", ready=True, restart_count=1),),
)


def test_status_writes_changing_nothing_a_sync_reads_do_not_matter() -> None:
    other = PodCondition(type="ContainersReady", status=ConditionStatus.TRUE, last_transition_time=Time(11.0))
    assert not pod_update_matters(OWNED, _st(OWNED, conditions=(other, READY)))
    assert not pod_update_matters(OWNED, _st(OWNED, pod_ip="10.0.0.9", pod_ips=(PodIP(ip="10.0.0.9"),), host_ip="1.2.3.4"))
    assert not pod_update_matters(OWNED, _st(OWNED, start_time=Time(9.0), message="hi", qos_class=None))
    same_restarts = (ContainerStatus(name="app", ready=False, restart_count=1, image_id="x"),)
    assert not pod_update_matters(OWNED, _st(OWNED, container_statuses=same_restarts))
    assert not pod_update_matters(OWNED, _md(OWNED, resource_version=99, annotations=pmap({"note": "x"})))
    pending = _st(OWNED, phase=PodPhase.PENDING, conditions=(), container_statuses=())
    assert not pod_update_matters(pending, _st(pending, container_statuses=(ContainerStatus(name="app"),)))  # 0 restarts either way
    not_ready = PodCondition(type="Ready", status=ConditionStatus.FALSE, last_transition_time=Time(12.0))
    assert not pod_update_matters(_st(OWNED, conditions=(not_ready,)), _st(OWNED, conditions=(attrs.evolve(not_ready, last_transition_time=Time(13.0)),)))
    # inactive before and after: terminal, or being deleted, and nothing else moved
    going = _md(OWNED, deletion_timestamp=Time(20.0))
    assert not pod_update_matters(going, _st(going, phase=PodPhase.SUCCEEDED, conditions=(not_ready,)))
    done = _st(OWNED, phase=PodPhase.FAILED)
    assert not pod_update_matters(done, _st(done, conditions=()))


def test_every_field_a_claim_a_tally_or_a_victim_ranking_reads_matters() -> None:
    later_ready = attrs.evolve(READY, last_transition_time=Time(30.0))
    changed = [
        _md(OWNED, labels=pmap({"app": "other"})),
        _md(OWNED, owner_references=()),
        _md(OWNED, deletion_timestamp=Time(20.0)),
        _md(OWNED, creation_timestamp=Time(1.0)),
        _md(OWNED, uid="new"),
        _md(OWNED, annotations=pmap({DELETION_COST_ANNOTATION: "5"})),
        attrs.evolve(OWNED, spec=attrs.evolve(OWNED.spec, node_name="n2")),
        _st(OWNED, phase=PodPhase.UNKNOWN),
        _st(OWNED, phase=PodPhase.SUCCEEDED),
        _st(OWNED, conditions=()),  # not ready any more
        _st(OWNED, conditions=(later_ready,)),  # ready since another time (availability, rank)
        _st(OWNED, container_statuses=(ContainerStatus(name="app", ready=True, restart_count=2),)),
    ]
    for new in changed:
        assert pod_update_matters(OWNED, new), new
    # a sidecar's restarts are ranked; a plain init container's are not
    sidecar = a_container("side")
    spec = attrs.evolve(OWNED.spec, init_containers=(attrs.evolve(sidecar, restart_policy=ContainerRestartPolicy.ALWAYS), a_container("init")))
    with_init = attrs.evolve(OWNED, spec=spec)
    statuses = (ContainerStatus(name="side", restart_count=0), ContainerStatus(name="init", restart_count=0))
    before = _st(with_init, init_container_statuses=statuses)
    assert pod_update_matters(before, _st(with_init, init_container_statuses=(attrs.evolve(statuses[0], restart_count=1), statuses[1])))
    assert not pod_update_matters(before, _st(with_init, init_container_statuses=(statuses[0], attrs.evolve(statuses[1], restart_count=3))))
    # a terminal pod marked for deletion: the deletion expectations observe it
    done = _st(OWNED, phase=PodPhase.SUCCEEDED)
    assert pod_update_matters(done, _md(done, deletion_timestamp=Time(20.0)))


def _upd(new: Pod) -> WatchEvent:
    return WatchEvent(type=WatchType.MODIFIED, obj=new, resource_version=9)


def test_wants_with_old_skips_status_only_writes_but_takes_additions_deletions_and_departures() -> None:
    status_only = _st(OWNED, pod_ip="10.1.1.1")
    assert not RS.wants(_upd(status_only), OWNED)
    assert RS.wants(_upd(status_only), None)  # old unknown: judged by the new version
    assert RS.wants(_upd(_st(OWNED, conditions=())), OWNED)
    for t in (WatchType.ADDED, WatchType.DELETED):
        assert RS.wants(WatchEvent(type=t, obj=status_only, resource_version=9), OWNED if t is WatchType.DELETED else None)
    orphan = _md(OWNED, owner_references=())
    assert not RS.wants(_upd(_st(orphan, pod_ip="10.1.1.1")), orphan)
    assert RS.wants(_upd(_md(orphan, labels=pmap({"app": "db"}))), orphan)  # may stop matching
    # leaving for another kind's controller: the tally must let it go
    taken = with_refs(OWNED, foreign_ref())
    assert RS.wants(_upd(taken), OWNED) and RS.wants(_upd(taken), orphan)
    assert not RS.wants(_upd(taken), None)  # judged by the new version alone
    assert not RS.wants(_upd(_st(taken, pod_ip="1.1.1.1")), taken)  # foreign before and after
    # the RC controller: a ReplicaSet's pod is never its concern
    assert not RC.wants(_upd(_st(OWNED, conditions=())), OWNED)


def test_an_orphan_adopted_by_another_kind_is_seen_at_once_with_the_old_object() -> None:
    rs = a_replica_set("web", replicas=1, labels={"app": "web"})
    twin = Twin(RS, rs, a_pod("stray", labels={"app": "web"}))
    a, b = twin.step_both(Started(now=T0))
    assert calls(a) == calls(b)
    stray = get(twin.state, key(Kind.POD, "stray"))
    assert isinstance(stray, Pod)
    ((early, now),) = twin.request(Update(obj=with_refs(stray, foreign_ref())))
    assert twin.dropped == 0 and calls(early) == calls(now)
    assert any(isinstance(r, Create) for r in calls(now))  # replaced at once


@attrs.frozen(kw_only=True)
class _Unfiltered(ReplicaSetController):
    """The ReplicaSet controller taking every watch event."""

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        return True


def _kubelet_write(c: Cluster, name: str, **changes: object) -> None:
    pod = get(c.state, key(Kind.POD, name))
    assert isinstance(pod, Pod)
    assert c.request(Update(obj=_st(pod, **changes), subresource=Subresource.STATUS)).ok


def _churn_then_scale_down(comp: ReplicaSetController) -> tuple[Cluster, int]:
    """Three replicas (minReadySeconds 5), bound and ready with status churn the filter
    drops, one restarting; then scaled to one: the victims are ranked on restarts."""
    rs = a_replica_set("web", replicas=3, labels={"app": "web"}, min_ready_seconds=5)
    c = Cluster.empty(cluster_with(a_node(), rs), [comp])
    assert c.run_until_stable()
    names = sorted(p.metadata.name for p in list_objects(c.state, Kind.POD))
    assert len(names) == 3
    for n in names:
        assert c.request(Bind(key=key(Kind.POD, n), node_name="node-1")).ok
    c.advance(1)
    for i, n in enumerate(names):
        ready = PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=c.now)
        statuses = (ContainerStatus(name="app", ready=True, restart_count=0),)
        _kubelet_write(c, n, phase=PodPhase.RUNNING, conditions=(ready,), container_statuses=statuses)
        for j in range(3):  # churn: IPs and other conditions only
            _kubelet_write(c, n, pod_ip=f"10.0.{i}.{j}")
    c.advance(2)
    restarted = (ContainerStatus(name="app", ready=True, restart_count=4),)
    _kubelet_write(c, names[1], container_statuses=restarted)
    c.advance(10)  # available after minReadySeconds
    stored = get(c.state, key(Kind.REPLICA_SET, "web"))
    assert isinstance(stored, ReplicaSet) and stored.status.available_replicas == 3
    assert c.request(Update(obj=attrs.evolve(stored, spec=attrs.evolve(stored.spec, replicas=1)))).ok
    c.advance(1)
    delivered = sum(1 for e in c.trace if isinstance(e, Delivered) and isinstance(e.event, WatchDelivered))
    return c, delivered


def test_dropped_status_writes_change_no_effect_and_victims_still_rank_on_restarts() -> None:
    filtered, few = _churn_then_scale_down(ReplicaSetController())
    full, many = _churn_then_scale_down(_Unfiltered())

    def effects(c: Cluster) -> list[tuple[float, object]]:
        return [(e.at, e.effect) for e in c.trace if isinstance(e, Performed) and e.component == RS.name]

    assert effects(filtered) == effects(full)
    assert many - few == 3 * 3  # the IP churn, and nothing else
    deleted = sorted(r.key.name for _, eff in effects(filtered) if isinstance(eff, CallApi) for r in (eff.request,) if isinstance(r, Delete))
    names = sorted(p.metadata.name for p in list_objects(full.state, Kind.POD)) + deleted
    assert len(deleted) == 2 and sorted(set(names))[1] in deleted  # the restarting pod goes first

"""The StatefulSet controller: exact effects of scripted scenarios.

Most tests drive the component by hand (`Rig`): events go to `step`, the requests it emits
are performed against the real apiserver `handle`, and the test decides when the watch
events reach the controller, so staleness is explicit. A few run it in a `Cluster` with the
scheduler, kubelets and garbage collector.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from pyrsistent import pmap

from kcore.api.apps import (
    PersistentVolumeClaimRetentionPolicyType,
    PodManagementPolicy,
    RollingUpdateStatefulSetStrategy,
    StatefulSet,
    StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec,
    StatefulSetStatus,
    StatefulSetUpdateStrategy,
    StatefulSetUpdateStrategyType,
)
from kcore.api.core import (
    PersistentVolumeAccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    VolumeResourceRequirements,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, ObjectMeta, Time
from kcore.api.pod import (
    ContainerStatus,
    LabelSelector,
    Pod,
    PodCondition,
    PodPhase,
    PodStatus,
)
from kcore.api.watch import WatchEvent
from kcore.apiserver import handle
from kcore.component.effects import CallApi, Effect, RecordEvent
from kcore.component.events import ApiAnswered, Event, Started, TimerFired, WatchDelivered
from kcore.component.requests import Bind, Delete, Response, Subresource, Update, UpdateScale
from kcore.controllers.statefulset import StatefulSetController, StatefulSetState
from kcore.controllers.timers import Wake
from kcore.quantity import parse_quantity
from kcore.state import ClusterState, get, list_objects
from tests.builders import T0, a_node, a_template, cluster_with, key

SET_KEY = key(Kind.STATEFUL_SET, "web")
STATUS = "update StatefulSet/status web"


def a_claim_template(name: str = "www") -> PersistentVolumeClaim:
    return PersistentVolumeClaim(
        metadata=ObjectMeta(name=name),
        spec=PersistentVolumeClaimSpec(
            access_modes=(PersistentVolumeAccessMode.READ_WRITE_ONCE,),
            resources=VolumeResourceRequirements(requests=pmap({"storage": parse_quantity("1Gi")})),
        ),
    )


def a_stateful_set(
    name: str = "web",
    *,
    replicas: int = 3,
    claims: Iterable[str] = ("www",),
    policy: PodManagementPolicy = PodManagementPolicy.ORDERED_READY,
    partition: int | None = None,
    on_delete: bool = False,
    when_deleted: str = "Retain",
    when_scaled: str = "Retain",
    min_ready_seconds: int = 0,
    start: int | None = None,
) -> StatefulSet:
    labels = {"app": name}
    if on_delete:
        strategy = StatefulSetUpdateStrategy(type=StatefulSetUpdateStrategyType.ON_DELETE)
    else:
        strategy = StatefulSetUpdateStrategy(
            rolling_update=RollingUpdateStatefulSetStrategy(partition=partition or 0)
        )
    return StatefulSet(
        metadata=ObjectMeta(name=name, namespace="default"),
        spec=StatefulSetSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=pmap(labels)),
            template=a_template(labels),
            volume_claim_templates=tuple(a_claim_template(c) for c in claims),
            service_name="nginx",
            pod_management_policy=policy,
            update_strategy=strategy,
            min_ready_seconds=min_ready_seconds,
            persistent_volume_claim_retention_policy=StatefulSetPersistentVolumeClaimRetentionPolicy(
                when_deleted=PersistentVolumeClaimRetentionPolicyType(when_deleted),
                when_scaled=PersistentVolumeClaimRetentionPolicyType(when_scaled),
            ),
            ordinals=None if start is None else StatefulSetOrdinals(start=start),
        ),
    )


class Rig:
    """The controller driven by hand against the real apiserver; watch events wait in
    `inbox` until `deliver_watches` hands them over."""

    def __init__(self, *objects: ApiObject) -> None:
        self.comp = StatefulSetController()
        self.state: ClusterState = cluster_with(a_node(), *objects)
        self.now = T0
        self.s: StatefulSetState
        self.s, effects = self.comp.init(self.state, self.now)
        assert effects == ()
        self.inbox: list[WatchEvent] = []

    def restart(self) -> None:
        self.s, effects = self.comp.init(self.state, self.now)
        assert effects == ()
        self.inbox.clear()

    def step(self, event: Event) -> tuple[Effect, ...]:
        self.s, effects = self.comp.step(self.s, event)
        return effects

    def start(self) -> tuple[Effect, ...]:
        return self.step(Started(now=self.now))

    def request(self, req: object) -> Response:
        self.state, resp, events = handle(self.state, req, self.now)  # type: ignore[arg-type]  # tests pass Requests
        self.inbox.extend(e for e in events if e.obj.KIND in self.comp.watches)
        return resp

    def answer(self, effect: Effect) -> tuple[Effect, ...]:
        assert isinstance(effect, CallApi), effect
        resp = self.request(effect.request)
        return self.step(ApiAnswered(tag=effect.tag, response=resp, now=self.now))

    def deliver_watches(self) -> tuple[Effect, ...]:
        out: list[Effect] = []
        while self.inbox:
            out.extend(self.step(WatchDelivered(event=self.inbox.pop(0), now=self.now)))
        return tuple(out)

    def settle(self, effects: Iterable[Effect], limit: int = 500) -> list[Effect]:
        """Perform every effect and deliver every answer and watch event until quiet;
        returns every effect seen, in order."""
        todo = list(effects)
        seen = list(todo)
        for _ in range(limit):
            if todo:
                eff = todo.pop(0)
                if isinstance(eff, CallApi):
                    more = self.answer(eff)
                    todo.extend(more)
                    seen.extend(more)
                continue
            if not self.inbox:
                return seen
            more = self.deliver_watches()
            todo.extend(more)
            seen.extend(more)
        raise AssertionError("did not settle")

    def get(self, k: ObjectKey) -> ApiObject:
        obj = get(self.state, k)
        assert obj is not None, k
        return obj

    def pod_names(self) -> list[str]:
        return sorted(p.metadata.name for p in list_objects(self.state, Kind.POD))

    def claim_names(self) -> list[str]:
        return sorted(p.metadata.name for p in list_objects(self.state, Kind.PERSISTENT_VOLUME_CLAIM))

    def set_(self) -> StatefulSet:
        obj = self.get(SET_KEY)
        assert isinstance(obj, StatefulSet)
        return obj


def make_ready(rig: Rig, name: str, *, ready: bool = True, phase: PodPhase = PodPhase.RUNNING) -> list[Effect]:
    """Bind pod `name` (if unbound) and give it a Running status, Ready when `ready`;
    deliver the watch events and settle what the controller does about them."""
    pk = key(Kind.POD, name)
    pod = rig.get(pk)
    assert isinstance(pod, Pod)
    if not pod.spec.node_name:
        assert rig.request(Bind(key=pk, node_name="node-1")).ok
        pod = rig.get(pk)
        assert isinstance(pod, Pod)
    cond = PodCondition(
        type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE, last_transition_time=rig.now
    )
    status = PodStatus(
        phase=phase, conditions=(cond,), container_statuses=(ContainerStatus(name="app", ready=ready),)
    )
    assert rig.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS)).ok
    return rig.settle(rig.deliver_watches())


def finish_delete(rig: Rig, name: str) -> list[Effect]:
    """The kubelet's last word: remove a terminating pod for good, then settle."""
    assert rig.request(Delete(key=key(Kind.POD, name), grace_period_seconds=0)).ok
    return rig.settle(rig.deliver_watches())


def calls(effects: Iterable[Effect]) -> list[str]:
    """A readable summary of the API calls among `effects`: verb, kind and name."""
    out: list[str] = []
    for e in effects:
        if not isinstance(e, CallApi):
            continue
        req = e.request
        if isinstance(req, Delete):
            out.append(f"delete {req.key.kind.value} {req.key.name}")
        elif isinstance(req, Update):
            sub = "/status" if req.subresource is Subresource.STATUS else ""
            out.append(f"update {req.obj.KIND.value}{sub} {req.obj.metadata.name}")
        else:
            obj = getattr(req, "obj", None)
            name = obj.metadata.name if obj is not None else ""
            out.append(f"{type(req).__name__.lower()} {obj.KIND.value if obj is not None else ''} {name}")
    return out


def ready_set(rig: Rig, n: int) -> None:
    """Start the controller and walk ordinals 0..n-1 to Running and Ready."""
    rig.settle(rig.start())
    for i in range(n):
        make_ready(rig, f"web-{i}")
    assert rig.pod_names() == [f"web-{i}" for i in range(n)]


def scale(rig: Rig, replicas: int) -> list[Effect]:
    assert rig.request(UpdateScale(key=SET_KEY, replicas=replicas)).ok
    return rig.settle(rig.deliver_watches())


def new_template(rig: Rig, image: str = "nginx:1.26") -> list[Effect]:
    sts = rig.set_()
    c = sts.spec.template.spec.containers[0]
    spec = attrs.evolve(sts.spec.template.spec, containers=(attrs.evolve(c, image=image),))
    template = attrs.evolve(sts.spec.template, spec=spec)
    assert rig.request(Update(obj=attrs.evolve(sts, spec=attrs.evolve(sts.spec, template=template)))).ok
    return rig.settle(rig.deliver_watches())


def the_pod(rig: Rig, name: str) -> Pod:
    pod = rig.get(key(Kind.POD, name))
    assert isinstance(pod, Pod)
    return pod


def the_claim(rig: Rig, name: str) -> PersistentVolumeClaim:
    pvc = rig.get(key(Kind.PERSISTENT_VOLUME_CLAIM, name))
    assert isinstance(pvc, PersistentVolumeClaim)
    return pvc


# --- ordered creation -----------------------------------------------------------------------


def test_ordered_ready_creates_the_claim_then_web_0_and_waits_for_it_to_be_ready() -> None:
    rig = Rig(a_stateful_set())
    first = rig.start()
    assert calls(first) == ["create PersistentVolumeClaim www-web-0", "update StatefulSet/status web"]
    seen = rig.settle(first)
    assert calls(seen) == [
        "create PersistentVolumeClaim www-web-0",
        "update StatefulSet/status web",
        "create Pod web-0",
        "update StatefulSet/status web",
    ]
    assert rig.pod_names() == ["web-0"]
    assert rig.claim_names() == ["www-web-0"]
    # Pending, then Running but not Ready: still no web-1
    assert calls(make_ready(rig, "web-0", ready=False)) == []
    assert rig.pod_names() == ["web-0"]
    assert calls(make_ready(rig, "web-0")) == [
        "create PersistentVolumeClaim www-web-1",
        "update StatefulSet/status web",
        "create Pod web-1",
        "update StatefulSet/status web",
    ]
    assert rig.pod_names() == ["web-0", "web-1"]


def test_each_pod_has_its_stable_identity_labels_owner_and_claim_volume() -> None:
    rig = Rig(a_stateful_set())
    rig.settle(rig.start())
    sts = rig.set_()
    pod = the_pod(rig, "web-0")
    revision = sts.status.update_revision
    assert revision.startswith("web-") and revision == sts.status.current_revision
    assert (pod.metadata.generate_name, pod.spec.hostname, pod.spec.subdomain) == ("web-", "web-0", "nginx")
    assert dict(pod.metadata.labels) == {
        "app": "web",
        "statefulset.kubernetes.io/pod-name": "web-0",
        "apps.kubernetes.io/pod-index": "0",
        "controller-revision-hash": revision,
    }
    (ref,) = pod.metadata.owner_references
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
        "StatefulSet", "web", sts.metadata.uid, True, True,
    )
    (vol,) = pod.spec.volumes
    assert vol.name == "www" and vol.persistent_volume_claim is not None
    assert vol.persistent_volume_claim.claim_name == "www-web-0"
    claim = the_claim(rig, "www-web-0")
    assert dict(claim.metadata.labels) == {"app": "web"} and claim.metadata.owner_references == ()


def test_creations_are_recorded_as_upstream_words_them() -> None:
    rig = Rig(a_stateful_set(replicas=1))
    seen = rig.settle(rig.start())
    events = [(e.reason, e.message) for e in seen if isinstance(e, RecordEvent)]
    assert events == [
        ("SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success"),
        ("SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
    ]


def test_ordinals_start_at_spec_ordinals_start() -> None:
    rig = Rig(a_stateful_set(replicas=2, claims=(), start=5))
    ready_set_from = rig.settle(rig.start())
    assert calls(ready_set_from) == ["create Pod web-5", "update StatefulSet/status web", "update StatefulSet/status web"]
    make_ready(rig, "web-5")
    assert rig.pod_names() == ["web-5", "web-6"]


def test_available_for_min_ready_seconds_before_the_next_ordinal() -> None:
    rig = Rig(a_stateful_set(replicas=2, claims=(), min_ready_seconds=10))
    rig.settle(rig.start())
    make_ready(rig, "web-0")
    assert rig.pod_names() == ["web-0"]
    wake = list(rig.s.wakeups.items())
    assert wake == [(SET_KEY, Wake(at=Time(T0 + 11.0), in_motion=True))]
    rig.now = Time(T0 + 11.0)
    rig.settle(rig.step(TimerFired(key="sync default/web", now=rig.now)))
    assert rig.pod_names() == ["web-0", "web-1"]


def test_parallel_creates_every_pod_at_once() -> None:
    rig = Rig(a_stateful_set(policy=PodManagementPolicy.PARALLEL))
    first = rig.start()
    assert calls(first) == [
        "create PersistentVolumeClaim www-web-0",
        "create PersistentVolumeClaim www-web-1",
        "create PersistentVolumeClaim www-web-2",
        "update StatefulSet/status web",
    ]
    rig.settle(first)
    assert rig.pod_names() == ["web-0", "web-1", "web-2"]
    assert rig.claim_names() == ["www-web-0", "www-web-1", "www-web-2"]


# --- scale down -----------------------------------------------------------------------------


def test_scale_3_to_1_deletes_web_2_then_web_1_each_after_termination_and_keeps_claims() -> None:
    rig = Rig(a_stateful_set())
    ready_set(rig, 3)
    # status twice: the new spec, then web-2 terminating
    assert calls(scale(rig, 1)) == ["delete Pod web-2", STATUS, STATUS]
    assert the_pod(rig, "web-2").metadata.deletion_timestamp is not None
    assert calls(finish_delete(rig, "web-2")) == ["delete Pod web-1", STATUS, STATUS]
    assert calls(finish_delete(rig, "web-1")) == ["update StatefulSet/status web"]
    assert rig.pod_names() == ["web-0"]
    assert rig.claim_names() == ["www-web-0", "www-web-1", "www-web-2"]
    assert rig.set_().status.replicas == 1


def test_scale_down_waits_while_a_remaining_pod_is_unhealthy() -> None:
    rig = Rig(a_stateful_set())
    ready_set(rig, 3)
    make_ready(rig, "web-0", ready=False)
    assert calls(scale(rig, 2)) == ["update StatefulSet/status web"]
    assert calls(make_ready(rig, "web-0")) == ["delete Pod web-2", STATUS, STATUS]


def test_retention_when_scaled_delete_gives_the_claim_to_the_pod_before_deleting_it() -> None:
    rig = Rig(a_stateful_set(when_scaled="Delete"))
    ready_set(rig, 3)
    assert calls(scale(rig, 2)) == [
        "update PersistentVolumeClaim www-web-2",
        STATUS,
        "delete Pod web-2",
        STATUS,
    ]
    pod = the_pod(rig, "web-2")
    (ref,) = the_claim(rig, "www-web-2").metadata.owner_references
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("Pod", "web-2", pod.metadata.uid, True)
    for name in ("www-web-0", "www-web-1"):
        assert the_claim(rig, name).metadata.owner_references == ()


def test_retention_when_deleted_delete_gives_each_claim_to_the_set() -> None:
    rig = Rig(a_stateful_set(replicas=1, when_deleted="Delete"))
    rig.settle(rig.start())
    (ref,) = the_claim(rig, "www-web-0").metadata.owner_references
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("StatefulSet", "web", rig.set_().metadata.uid, True)


# --- failures and staleness -----------------------------------------------------------------


def test_a_failed_pod_is_deleted_and_recreated() -> None:
    rig = Rig(a_stateful_set(replicas=1, claims=()))
    ready_set(rig, 1)
    old_uid = the_pod(rig, "web-0").metadata.uid
    # a terminal pod is deleted at once (no grace period), so it comes back in the same settle
    assert calls(make_ready(rig, "web-0", ready=False, phase=PodPhase.FAILED)) == [
        "delete Pod web-0",
        STATUS,
        "create Pod web-0",
        STATUS,
        STATUS,
    ]
    assert the_pod(rig, "web-0").metadata.uid != old_uid


def test_a_slow_watch_never_creates_an_ordinal_twice() -> None:
    rig = Rig(a_stateful_set(replicas=2, claims=(), policy=PodManagementPolicy.PARALLEL))
    first = rig.start()
    creates = [e for e in first if isinstance(e, CallApi) and calls([e])[0].startswith("create")]
    assert calls(creates) == ["create Pod web-0", "create Pod web-1"]
    for e in creates:
        assert calls(rig.answer(e)) == []
    # the ADDED events are still in the inbox: a resync must not create again
    assert calls(rig.start()) == []
    rig.deliver_watches()
    assert rig.pod_names() == ["web-0", "web-1"]


def test_a_restart_recovers_the_current_revision_template_from_a_surviving_pod() -> None:
    rig = Rig(a_stateful_set(partition=2))
    ready_set(rig, 3)
    old = rig.set_().status.current_revision
    new_template(rig)
    assert calls(finish_delete(rig, "web-2")) == ["create Pod web-2", STATUS, STATUS]
    assert rig.request(Delete(key=key(Kind.POD, "web-0"), grace_period_seconds=0)).ok
    rig.restart()
    rig.settle(rig.start())
    pod = the_pod(rig, "web-0")
    assert pod.metadata.labels["controller-revision-hash"] == old
    assert pod.spec.containers[0].image == "nginx:1.25"


# --- updates --------------------------------------------------------------------------------


def test_rolling_update_with_partition_1_updates_web_2_then_web_1_but_not_web_0() -> None:
    rig = Rig(a_stateful_set(partition=1))
    ready_set(rig, 3)
    old = rig.set_().status.current_revision
    assert calls(new_template(rig)) == ["delete Pod web-2", "update StatefulSet/status web"]
    new = rig.set_().status.update_revision
    assert new != old
    assert rig.set_().status == StatefulSetStatus(
        observed_generation=2, replicas=3, ready_replicas=3, current_replicas=2, updated_replicas=0,
        current_revision=old, update_revision=new, collision_count=0, available_replicas=3,
    )
    assert calls(finish_delete(rig, "web-2")) == ["create Pod web-2", STATUS, STATUS]
    assert the_pod(rig, "web-2").metadata.labels["controller-revision-hash"] == new
    assert calls(make_ready(rig, "web-2")) == ["delete Pod web-1", "update StatefulSet/status web"]
    assert calls(finish_delete(rig, "web-1")) == ["create Pod web-1", STATUS, STATUS]
    assert calls(make_ready(rig, "web-1")) == ["update StatefulSet/status web"]
    revisions = [the_pod(rig, f"web-{i}").metadata.labels["controller-revision-hash"] for i in range(3)]
    assert revisions == [old, new, new]
    st = rig.set_().status
    assert (st.current_revision, st.update_revision, st.current_replicas, st.updated_replicas) == (old, new, 1, 2)


def test_a_finished_rolling_update_makes_the_update_revision_current() -> None:
    rig = Rig(a_stateful_set(replicas=1, claims=()))
    ready_set(rig, 1)
    new_template(rig)
    finish_delete(rig, "web-0")
    make_ready(rig, "web-0")
    st = rig.set_().status
    assert (st.current_revision, st.current_replicas, st.updated_replicas) == (st.update_revision, 1, 1)


def test_on_delete_replaces_only_deleted_pods() -> None:
    rig = Rig(a_stateful_set(on_delete=True))
    ready_set(rig, 3)
    old = rig.set_().status.current_revision
    assert calls(new_template(rig)) == ["update StatefulSet/status web"]
    new = rig.set_().status.update_revision
    assert rig.request(Delete(key=key(Kind.POD, "web-1"))).ok
    assert calls(finish_delete(rig, "web-1")) == [STATUS, "create Pod web-1", STATUS, STATUS]
    make_ready(rig, "web-1")
    revisions = [the_pod(rig, f"web-{i}").metadata.labels["controller-revision-hash"] for i in range(3)]
    assert revisions == [old, new, old]
    assert rig.set_().status.current_revision == old


def test_at_a_fixed_point_another_sync_emits_nothing() -> None:
    rig = Rig(a_stateful_set())
    ready_set(rig, 3)
    assert rig.start() == ()


# --- with the scheduler, a kubelet and the garbage collector ------------------------------


def test_in_a_cluster_pods_run_in_order_and_deleting_the_set_removes_claims_given_to_it() -> None:
    from kcore.component.requests import Create
    from kcore.controllers.garbagecollector import GarbageCollector
    from kcore.driver.bootstrap import create_cluster
    from kcore.kubelet.component import Kubelet
    from kcore.kubelet.config import KubeletConfig
    from kcore.scheduler.component import Scheduler
    from kcore.state import ClusterConfig

    components = (
        StatefulSetController(),
        Scheduler(),
        Kubelet(config=KubeletConfig(node_name="node-1")),
        GarbageCollector(),
    )
    c = create_cluster(ClusterConfig(), nodes=1, components=components)
    assert c.request(Create(obj=a_stateful_set(replicas=2, when_deleted="Delete"))).ok
    assert c.advance(30.0)
    pods = sorted((p.metadata.name, p.spec.node_name) for p in list_objects(c.state, Kind.POD, "default") if isinstance(p, Pod))
    assert pods == [("web-0", "node-1"), ("web-1", "node-1")]
    web0, web1 = (get(c.state, key(Kind.POD, n)) for n in ("web-0", "web-1"))
    assert isinstance(web0, Pod) and isinstance(web1, Pod)
    ready0 = next(cond.last_transition_time for cond in web0.status.conditions if cond.type == "Ready")
    assert web1.metadata.creation_timestamp is not None and ready0 is not None
    assert web1.metadata.creation_timestamp >= ready0
    sts = get(c.state, SET_KEY)
    assert isinstance(sts, StatefulSet) and sts.status.ready_replicas == 2
    assert sorted(p.metadata.name for p in list_objects(c.state, Kind.PERSISTENT_VOLUME_CLAIM)) == ["www-web-0", "www-web-1"]
    assert c.request(Delete(key=SET_KEY)).ok
    assert c.advance(60.0)
    assert list_objects(c.state, Kind.PERSISTENT_VOLUME_CLAIM) == ()
    assert list_objects(c.state, Kind.POD, "default") == ()

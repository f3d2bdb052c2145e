"""The StatefulSet controller: exact effects of scripted scenarios.

Most tests drive the component by hand (`tests.rig.Rig`): events go to `step`, the
requests it emits are performed against the real apiserver `handle`, and the test decides
when the watch events reach the controller, so staleness is explicit. A few run it in a
`Cluster` with the scheduler, kubelets and garbage collector.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
from pyrsistent import pmap

from kcore.api.apps import PodManagementPolicy, StatefulSet, StatefulSetStatus
from kcore.api.core import PersistentVolumeClaim
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, Status, StatusReason, Time
from kcore.api.pod import ContainerStatus, Pod, PodCondition, PodPhase, PodStatus
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
from kcore.component.requests import (
    Bind,
    Create,
    Delete,
    Request,
    Response,
    Subresource,
    Update,
    UpdateScale,
)
from kcore.component.workqueue import Wake
from kcore.controllers.statefulset import Action, Op, StatefulSetController, StatefulSetState
from kcore.controllers.statefulset_util import claims_for, new_stateful_pod, revision_name
from kcore.state import get, list_objects
from tests.builders import T0, a_stateful_set, key
from tests.rig import Rig

SET_KEY = key(Kind.STATEFUL_SET, "web")
STATUS = "update StatefulSet/status web"
CONTROLLER = StatefulSetController()
FORBIDDEN = Response(code=403, body=Status(message="exceeded quota: q", reason=StatusReason.FORBIDDEN, code=403))

Sts = Rig[StatefulSetState]


def pod_names(rig: Sts) -> list[str]:
    return sorted(p.metadata.name for p in list_objects(rig.state, Kind.POD))


def claim_names(rig: Sts) -> list[str]:
    return sorted(p.metadata.name for p in list_objects(rig.state, Kind.PERSISTENT_VOLUME_CLAIM))


def the_set(rig: Sts) -> StatefulSet:
    return rig.get(SET_KEY, StatefulSet)


def refusing_pod_creates(req: Request) -> Response | None:
    """A quota that refuses every pod create."""
    return FORBIDDEN if isinstance(req, Create) and isinstance(req.obj, Pod) else None


def make_ready(rig: Sts, name: str, *, ready: bool = True, phase: PodPhase = PodPhase.RUNNING) -> list[Effect]:
    """Bind pod `name` (if unbound) and give it a Running status, Ready when `ready`;
    deliver the watch events and settle what the controller does about them."""
    pk = key(Kind.POD, name)
    pod = rig.get(pk, Pod)
    if not pod.spec.node_name:
        assert rig.request(Bind(key=pk, node_name="node-1")).ok
        pod = rig.get(pk, Pod)
    cond = PodCondition(
        type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE, last_transition_time=rig.now
    )
    status = PodStatus(
        phase=phase, conditions=(cond,), container_statuses=(ContainerStatus(name="app", ready=ready),)
    )
    assert rig.request(Update(obj=attrs.evolve(pod, status=status), subresource=Subresource.STATUS)).ok
    return rig.settle(rig.deliver_watches())


def finish_delete(rig: Sts, name: str) -> list[Effect]:
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


def ready_set(rig: Sts, n: int) -> None:
    """Start the controller and walk ordinals 0..n-1 to Running and Ready."""
    rig.settle(rig.start())
    for i in range(n):
        make_ready(rig, f"web-{i}")
    assert pod_names(rig) == [f"web-{i}" for i in range(n)]


def scale(rig: Sts, replicas: int) -> list[Effect]:
    assert rig.request(UpdateScale(key=SET_KEY, replicas=replicas)).ok
    return rig.settle(rig.deliver_watches())


def new_template(rig: Sts, image: str = "nginx:1.26") -> list[Effect]:
    sts = the_set(rig)
    c = sts.spec.template.spec.containers[0]
    spec = attrs.evolve(sts.spec.template.spec, containers=(attrs.evolve(c, image=image),))
    template = attrs.evolve(sts.spec.template, spec=spec)
    assert rig.request(Update(obj=attrs.evolve(sts, spec=attrs.evolve(sts.spec, template=template)))).ok
    return rig.settle(rig.deliver_watches())


def the_pod(rig: Sts, name: str) -> Pod:
    return rig.get(key(Kind.POD, name), Pod)


def the_claim(rig: Sts, name: str) -> PersistentVolumeClaim:
    return rig.get(key(Kind.PERSISTENT_VOLUME_CLAIM, name), PersistentVolumeClaim)


# --- ordered creation -----------------------------------------------------------------------


def test_ordered_ready_creates_the_claim_then_web_0_and_waits_for_it_to_be_ready() -> None:
    rig = Rig(CONTROLLER, a_stateful_set())
    first = rig.start()
    assert calls(first) == ["create PersistentVolumeClaim www-web-0", "update StatefulSet/status web"]
    seen = rig.settle(first)
    assert calls(seen) == [
        "create PersistentVolumeClaim www-web-0",
        "update StatefulSet/status web",
        "create Pod web-0",
        "update StatefulSet/status web",
    ]
    assert pod_names(rig) == ["web-0"]
    assert claim_names(rig) == ["www-web-0"]
    # Pending, then Running but not Ready: still no web-1
    assert calls(make_ready(rig, "web-0", ready=False)) == []
    assert pod_names(rig) == ["web-0"]
    assert calls(make_ready(rig, "web-0")) == [
        "create PersistentVolumeClaim www-web-1",
        "update StatefulSet/status web",
        "create Pod web-1",
        "update StatefulSet/status web",
    ]
    assert pod_names(rig) == ["web-0", "web-1"]


def test_each_request_is_tagged_with_what_it_is_for() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1, claims=()))
    sts = the_set(rig)
    revision = revision_name(sts, sts.spec.template, 0)
    status = StatefulSetStatus(
        observed_generation=1, current_revision=revision, update_revision=revision, collision_count=0
    )
    assert rig.start() == (
        CallApi(
            request=Create(obj=new_stateful_pod(sts, sts.spec.template, revision, 0)),
            tag=Op(owner=SET_KEY, action=Action.CREATE_POD, target=key(Kind.POD, "web-0")),
        ),
        CallApi(
            request=Update(obj=attrs.evolve(sts, status=status), subresource=Subresource.STATUS),
            tag=Op(owner=SET_KEY, action=Action.STATUS),
        ),
    )


def test_a_claim_create_is_tagged_with_the_claim_and_its_pod() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1))
    sts = the_set(rig)
    (claim,) = claims_for(sts, 0)
    create, _status = rig.start()
    assert create == CallApi(
        request=Create(obj=claim),
        tag=Op(owner=SET_KEY, action=Action.CREATE_CLAIM, target=key(Kind.PERSISTENT_VOLUME_CLAIM, "www-web-0"), pod="web-0"),
    )


def test_each_pod_has_its_stable_identity_labels_owner_and_claim_volume() -> None:
    rig = Rig(CONTROLLER, a_stateful_set())
    rig.settle(rig.start())
    sts = the_set(rig)
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
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1))
    seen = rig.settle(rig.start())
    events = [(e.reason, e.message) for e in seen if isinstance(e, RecordEvent)]
    assert events == [
        ("SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success"),
        ("SuccessfulCreate", "create Pod web-0 in StatefulSet web successful"),
    ]


def test_ordinals_start_at_spec_ordinals_start() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=2, claims=(), start=5))
    ready_set_from = rig.settle(rig.start())
    assert calls(ready_set_from) == ["create Pod web-5", "update StatefulSet/status web", "update StatefulSet/status web"]
    make_ready(rig, "web-5")
    assert pod_names(rig) == ["web-5", "web-6"]


def test_available_for_min_ready_seconds_before_the_next_ordinal() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=2, claims=(), min_ready_seconds=10))
    rig.settle(rig.start())
    make_ready(rig, "web-0")
    assert pod_names(rig) == ["web-0"]
    assert rig.s.queue.waiting == pmap({SET_KEY: Wake(at=Time(T0 + 11.0), in_motion=True)})
    rig.settle(rig.fire(SET_KEY, T0 + 11.0))
    assert pod_names(rig) == ["web-0", "web-1"]


def test_parallel_creates_every_pod_at_once() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(policy=PodManagementPolicy.PARALLEL))
    first = rig.start()
    assert calls(first) == [
        "create PersistentVolumeClaim www-web-0",
        "create PersistentVolumeClaim www-web-1",
        "create PersistentVolumeClaim www-web-2",
        "update StatefulSet/status web",
    ]
    rig.settle(first)
    assert pod_names(rig) == ["web-0", "web-1", "web-2"]
    assert claim_names(rig) == ["www-web-0", "www-web-1", "www-web-2"]


# --- scale down -----------------------------------------------------------------------------


def test_scale_3_to_1_deletes_web_2_then_web_1_each_after_termination_and_keeps_claims() -> None:
    rig = Rig(CONTROLLER, a_stateful_set())
    ready_set(rig, 3)
    # status twice: the new spec, then web-2 terminating
    assert calls(scale(rig, 1)) == ["delete Pod web-2", STATUS, STATUS]
    assert the_pod(rig, "web-2").metadata.deletion_timestamp is not None
    assert calls(finish_delete(rig, "web-2")) == ["delete Pod web-1", STATUS, STATUS]
    assert calls(finish_delete(rig, "web-1")) == ["update StatefulSet/status web"]
    assert pod_names(rig) == ["web-0"]
    assert claim_names(rig) == ["www-web-0", "www-web-1", "www-web-2"]
    assert the_set(rig).status.replicas == 1


def test_scale_down_waits_while_a_remaining_pod_is_unhealthy() -> None:
    rig = Rig(CONTROLLER, a_stateful_set())
    ready_set(rig, 3)
    make_ready(rig, "web-0", ready=False)
    assert calls(scale(rig, 2)) == ["update StatefulSet/status web"]
    assert calls(make_ready(rig, "web-0")) == ["delete Pod web-2", STATUS, STATUS]


def test_retention_when_scaled_delete_gives_the_claim_to_the_pod_before_deleting_it() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(when_scaled="Delete"))
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
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1, when_deleted="Delete"))
    rig.settle(rig.start())
    (ref,) = the_claim(rig, "www-web-0").metadata.owner_references
    assert (ref.kind, ref.name, ref.uid, ref.controller) == ("StatefulSet", "web", the_set(rig).metadata.uid, True)


# --- failures and staleness -----------------------------------------------------------------


def test_a_failed_pod_is_deleted_and_recreated() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1, claims=()))
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


def test_a_refused_create_backs_off_5_ms_in_motion_on_a_timer_keyed_by_the_set() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1, claims=()))
    seen = rig.settle(rig.start(), refusing_pod_creates)
    assert calls(seen) == ["create Pod web-0", STATUS]
    assert [e for e in seen if not isinstance(e, CallApi)] == [
        RecordEvent(
            involved=SET_KEY,
            type=EventType.WARNING,
            reason="FailedCreate",
            message="create Pod web-0 in StatefulSet web failed error: exceeded quota: q",
        ),
        WakeMeAt(at=Time(T0 + 0.005), key=SET_KEY, in_motion=True),
    ]
    # backing off: another sync before the timer manages nothing
    assert rig.start() == ()
    assert calls(rig.settle(rig.fire(SET_KEY, T0 + 0.005))) == ["create Pod web-0", STATUS]
    assert pod_names(rig) == ["web-0"]
    assert rig.s.queue.requeues == pmap()  # the create went through: the backoff starts afresh


def test_a_slow_watch_never_creates_an_ordinal_twice() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=2, claims=(), policy=PodManagementPolicy.PARALLEL))
    first = rig.start()
    creates = [e for e in first if isinstance(e, CallApi) and calls([e])[0].startswith("create")]
    assert calls(creates) == ["create Pod web-0", "create Pod web-1"]
    for e in creates:
        assert calls(rig.answer(e)) == []
    # the ADDED events are still in the inbox: a resync must not create again
    assert calls(rig.start()) == []
    rig.deliver_watches()
    assert pod_names(rig) == ["web-0", "web-1"]


def test_a_restart_recovers_the_current_revision_template_from_a_surviving_pod() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(partition=2))
    ready_set(rig, 3)
    old = the_set(rig).status.current_revision
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
    rig = Rig(CONTROLLER, a_stateful_set(partition=1))
    ready_set(rig, 3)
    old = the_set(rig).status.current_revision
    assert calls(new_template(rig)) == ["delete Pod web-2", "update StatefulSet/status web"]
    new = the_set(rig).status.update_revision
    assert new != old
    assert the_set(rig).status == StatefulSetStatus(
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
    st = the_set(rig).status
    assert (st.current_revision, st.update_revision, st.current_replicas, st.updated_replicas) == (old, new, 1, 2)


def test_a_finished_rolling_update_makes_the_update_revision_current() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(replicas=1, claims=()))
    ready_set(rig, 1)
    new_template(rig)
    finish_delete(rig, "web-0")
    make_ready(rig, "web-0")
    st = the_set(rig).status
    assert (st.current_revision, st.current_replicas, st.updated_replicas) == (st.update_revision, 1, 1)


def test_on_delete_replaces_only_deleted_pods() -> None:
    rig = Rig(CONTROLLER, a_stateful_set(on_delete=True))
    ready_set(rig, 3)
    old = the_set(rig).status.current_revision
    assert calls(new_template(rig)) == ["update StatefulSet/status web"]
    new = the_set(rig).status.update_revision
    assert rig.request(Delete(key=key(Kind.POD, "web-1"))).ok
    assert calls(finish_delete(rig, "web-1")) == [STATUS, "create Pod web-1", STATUS, STATUS]
    make_ready(rig, "web-1")
    revisions = [the_pod(rig, f"web-{i}").metadata.labels["controller-revision-hash"] for i in range(3)]
    assert revisions == [old, new, old]
    assert the_set(rig).status.current_revision == old


def test_at_a_fixed_point_another_sync_emits_nothing() -> None:
    rig = Rig(CONTROLLER, a_stateful_set())
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

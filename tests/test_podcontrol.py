"""Pod control shared by the controllers that own pods: stamping, slow start, victim
ranking, claims, and the events of pod creates and deletes (`kcore.controllers.podcontrol`)."""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.api.apps import ReplicaSet
from kcore.api.kinds import Kind
from kcore.api.meta import ConditionStatus, ObjectMeta, Status, StatusReason, Time
from kcore.api.pod import ContainerStatus, Pod, PodCondition, PodPhase, PodStatus
from kcore.component.effects import EventType, RecordEvent
from kcore.component.requests import Response
from kcore.controllers.podcontrol import (
    Claim,
    SlowStart,
    batch_answered,
    claim,
    controller_ref,
    create_answered,
    delete_answered,
    pod_from_template,
    pods_to_delete,
    skipped,
    slow_start,
)
from tests.builders import T0, a_pod, a_replica_set, key

RS_KEY = key(Kind.REPLICA_SET, "web")
QUOTA = Response(code=403, body=Status(message="exceeded quota: q", reason=StatusReason.FORBIDDEN, code=403))


def test_a_pod_from_the_template_carries_its_labels_annotations_spec_and_a_controller_ref() -> None:
    rs = with_uid(a_replica_set("web", replicas=1), "u-1")
    template = attrs.evolve(
        rs.spec.template,
        metadata=ObjectMeta(labels=pmap({"app": "web"}), annotations=pmap({"note": "x"}), finalizers=("f/x",)),
    )
    pod = pod_from_template(template, rs)
    assert pod == Pod(
        metadata=ObjectMeta(
            generate_name="web-",
            namespace="default",
            labels=pmap({"app": "web"}),
            annotations=pmap({"note": "x"}),
            finalizers=("f/x",),
            owner_references=(controller_ref(rs),),
        ),
        spec=template.spec,
    )
    ref = controller_ref(rs)
    assert (ref.api_version, ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
        "apps/v1", "ReplicaSet", "web", "u-1", True, True,
    )


def with_uid(rs: ReplicaSet, uid: str) -> ReplicaSet:
    return attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, uid=uid))


def test_slow_start_sends_batches_of_1_2_4_then_the_rest() -> None:
    ss = slow_start(10)
    seen = [ss.in_flight]
    while True:
        nxt = 0
        for _ in range(ss.in_flight):
            ss, nxt = batch_answered(ss, "")
        if not nxt:
            break
        seen.append(nxt)
    assert seen == [1, 2, 4, 3]
    assert ss == SlowStart(remaining=0, batch=3, in_flight=0, succeeded=10)
    assert ss.done


def test_a_failed_create_ends_the_burst_after_its_batch() -> None:
    ss = slow_start(7)
    ss, nxt = batch_answered(ss, "")
    assert (nxt, ss) == (2, SlowStart(remaining=4, batch=2, in_flight=2, succeeded=1))
    ss, nxt = batch_answered(ss, "quota exceeded")
    assert (nxt, ss.done) == (0, False)
    ss, nxt = batch_answered(ss, "")
    assert (nxt, ss) == (0, SlowStart(remaining=4, batch=2, in_flight=0, succeeded=2, error="quota exceeded"))
    assert ss.done and skipped(ss) == 4


def pod_at(
    name: str,
    *,
    node: str = "node-1",
    phase: PodPhase | None = PodPhase.RUNNING,
    ready_since: Time | None = None,
    restarts: int = 0,
    created: float = 0.0,
    cost: str | None = None,
) -> Pod:
    conds = () if ready_since is None else (PodCondition(type="Ready", status=ConditionStatus.TRUE, last_transition_time=ready_since),)
    pod = a_pod(name, node_name=node, annotations={} if cost is None else {"controller.kubernetes.io/pod-deletion-cost": cost})
    return attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, uid=f"uid-{name}", creation_timestamp=Time(T0 + created)),
        status=PodStatus(
            phase=phase,
            conditions=conds,
            container_statuses=(ContainerStatus(name="app", restart_count=restarts),),
        ),
    )


NOW = Time(T0 + 100_000)


def victims(pods: list[Pod], count: int, ranks: tuple[int, ...] | None = None) -> list[str]:
    chosen = pods_to_delete(pods, count, ranks if ranks is not None else (0,) * len(pods), NOW)
    return [p.metadata.name for p in chosen]


def test_victims_unassigned_before_assigned_then_pending_unknown_running() -> None:
    pods = [
        pod_at("running"),
        pod_at("unknown", phase=PodPhase.UNKNOWN),
        pod_at("pending", phase=PodPhase.PENDING),
        pod_at("unassigned", node="", phase=PodPhase.PENDING),
    ]
    assert victims(pods, 3) == ["unassigned", "pending", "unknown"]


def test_victims_not_ready_before_ready_and_lower_deletion_cost_first() -> None:
    pods = [pod_at("ready", ready_since=T0), pod_at("not-ready")]
    assert victims(pods, 1) == ["not-ready"]
    costly = [pod_at("cheap-but-later", cost="-5", created=10), pod_at("dear", cost="100")]
    assert victims(list(reversed(costly)), 1) == ["cheap-but-later"]


def test_victims_doubled_up_on_a_node_first() -> None:
    pods = [pod_at("alone", node="node-2"), pod_at("crowded", node="node-1")]
    assert victims(pods, 1, ranks=(1, 3)) == ["crowded"]


def test_victims_ready_for_less_time_first_in_log2_buckets() -> None:
    # ready 10 s vs 10_000 s before NOW: different log2 buckets, the younger goes
    pods = [pod_at("old-ready", ready_since=Time(NOW - 10_000)), pod_at("new-ready", ready_since=Time(NOW - 10))]
    assert victims(pods, 1) == ["new-ready"]


def test_victims_more_restarts_first_then_newer_creation() -> None:
    pods = [pod_at("calm"), pod_at("flappy", restarts=7)]
    assert victims(pods, 1) == ["flappy"]
    pods = [pod_at("older", created=0), pod_at("newer", created=99_000)]
    assert victims(pods, 1) == ["newer"]


def test_victims_all_of_them_when_count_covers_every_pod() -> None:
    pods = [pod_at("b"), pod_at("a", node="")]
    assert victims(pods, 5) == ["b", "a"]


def test_claim_keeps_owned_adopts_matching_orphans_releases_mismatches_ignores_others() -> None:
    rs = with_uid(a_replica_set("web"), "u-rs")
    other = with_uid(a_replica_set("other"), "u-other")
    mine = a_pod("mine", labels={"app": "web"}, owners=[controller_ref(rs)])
    strayed = a_pod("strayed", labels={"app": "db"}, owners=[controller_ref(rs)])
    orphan = a_pod("orphan", labels={"app": "web"})
    foreign = a_pod("foreign", labels={"app": "web"}, owners=[controller_ref(other)])
    stranger = a_pod("stranger", labels={"app": "db"})
    dying = attrs.evolve(orphan, metadata=attrs.evolve(orphan.metadata, name="dying", deletion_timestamp=T0))
    got = claim(rs, [mine, strayed, orphan, foreign, stranger, dying], lambda p: p.metadata.labels.get("app") == "web")
    assert got == Claim(owned=(mine,), adopt=(orphan,), release=(strayed,))


def test_an_owner_being_deleted_neither_adopts_nor_releases() -> None:
    rs = with_uid(a_replica_set("web"), "u-rs")
    rs = attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, deletion_timestamp=T0))
    strayed = a_pod("strayed", labels={"app": "db"}, owners=[controller_ref(rs)])
    orphan = a_pod("orphan", labels={"app": "web"})
    assert claim(rs, [strayed, orphan], lambda p: p.metadata.labels.get("app") == "web") == Claim()


# --- RealPodControl's events ------------------------------------------------------------------


def test_a_create_answer_records_successful_create_with_the_name_the_apiserver_gave() -> None:
    stored = a_pod("web-x7k2p")
    assert create_answered(RS_KEY, Response(code=201, body=stored)) == RecordEvent(
        involved=RS_KEY, type=EventType.NORMAL, reason="SuccessfulCreate", message="Created pod: web-x7k2p"
    )


def test_a_refused_create_records_failed_create_with_the_error() -> None:
    assert create_answered(RS_KEY, QUOTA) == RecordEvent(
        involved=RS_KEY, type=EventType.WARNING, reason="FailedCreate", message="Error creating: exceeded quota: q"
    )


def test_a_delete_answer_records_successful_delete_and_a_refusal_failed_delete() -> None:
    pod = key(Kind.POD, "web-1")
    assert delete_answered(RS_KEY, pod, Response(code=200, body=a_pod("web-1"))) == RecordEvent(
        involved=RS_KEY, type=EventType.NORMAL, reason="SuccessfulDelete", message="Deleted pod: web-1"
    )
    boom = Response(code=500, body=Status(message="etcd down", reason=StatusReason.INTERNAL_ERROR, code=500))
    assert delete_answered(RS_KEY, pod, boom) == RecordEvent(
        involved=RS_KEY, type=EventType.WARNING, reason="FailedDelete", message="Error deleting: etcd down"
    )


def test_deleting_a_pod_already_gone_records_nothing() -> None:
    gone = Response(code=404, body=Status(message="not found", reason=StatusReason.NOT_FOUND, code=404))
    assert delete_answered(RS_KEY, key(Kind.POD, "web-1"), gone) is None

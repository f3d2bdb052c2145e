"""How the Deployment controller decides one sync round: writes as data, per strategy.

Owns `Write` and `Plan` (what one sync round sends, and what it records once each write
succeeds), `RolloutContext`, and the decision functions that mirror upstream's sync
passes: `new_and_old` (getAllReplicaSetsAndSyncRevision, creating the new ReplicaSet),
`rolling` (rolloutRolling: reconcileNewReplicaSet, reconcileOldReplicaSets with
cleanupUnhealthyReplicas and scaleDownOldReplicaSetsForRollingUpdate), `recreate`
(rolloutRecreate), `sync_scaling` (sync: proportional `scale` and `cleanup`),
`rollback` (the deprecated rollback-to annotation), `rollout_status`
(syncRolloutStatus with requeueStuckDeployment) and `deployment_status`
(syncDeploymentStatus).

Theory of operation: upstream runs a pass of synchronous API calls, each seeing the last
one's result. Here a pass is cut into rounds. A round ends where upstream would go on
using an object it just wrote (the new ReplicaSet's annotations, the Deployment's revision
annotation, a condition written before the rollout status, a created ReplicaSet); the
controller sends the round's writes, folds the answers into its view, and syncs again.
Several writes to one ReplicaSet inside a round (cleanupUnhealthyReplicas then
scaleDownOldReplicaSetsForRollingUpdate) are merged into one update carrying both
ScalingReplicaSet events, so a round never conflicts with itself.

Rules: pure; `now` comes from the caller. Every write carries the resourceVersion of the
view it was computed from (a stale view answers 409 and the round is retried).

Must not know: the driver, the component state, how answers come back.
Mirrors pkg/controller/deployment/{sync.go,rolling.go,recreate.go,rollback.go,progress.go}.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs
from pyrsistent import pmap

from kcore.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentConditionType,
    DeploymentStatus,
    ReplicaSet,
    ReplicaSetConditionType,
    ReplicaSetSpec,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, ObjectMeta, Time
from kcore.api.pod import LabelSelector, Pod, PodPhase
from kcore.component.effects import EventType, RecordEvent
from kcore.component.requests import Create, Delete, Request, Subresource, Update
from kcore.controllers import deployment_util as du
from kcore.controllers.podcontrol import controller_of, controller_ref
from kcore.state import ClusterState, dependents, get


class Purpose(enum.Enum):
    """What a write is for: decides how its answer is handled."""

    CLAIM = "claim"
    UPDATE_RS = "update-rs"
    CREATE_RS = "create-rs"
    DELETE_RS = "delete-rs"
    STATUS = "status"
    UPDATE_DEPLOYMENT = "update-deployment"


@attrs.frozen(kw_only=True)
class Write:
    """One API write of a round; `events` are recorded once it succeeds."""

    request: Request
    purpose: Purpose
    events: tuple[RecordEvent, ...] = ()
    rs_name: str = ""  # the ReplicaSet it writes ("" for the Deployment): one write each per round


@attrs.frozen(kw_only=True)
class Plan:
    """One round: writes to send, events to record now, and when to look again."""

    writes: tuple[Write, ...] = ()
    events: tuple[RecordEvent, ...] = ()
    wake_at: Time | None = None

    def then(self, other: Plan) -> Plan:
        """This round's writes followed by `other`'s (the later wake wins)."""
        return Plan(
            writes=self.writes + other.writes,
            events=self.events + other.events,
            wake_at=other.wake_at if other.wake_at is not None else self.wake_at,
        )


@attrs.frozen(kw_only=True)
class Found:
    """getAllReplicaSetsAndSyncRevision's answer when the round goes on."""

    new: ReplicaSet | None
    olds: tuple[ReplicaSet, ...]


@attrs.frozen(kw_only=True)
class RolloutContext:
    """What a round reads: the view (for pods and name collisions), the deployment, its
    claimed ReplicaSets (sorted by name) and the time."""

    view: ClusterState
    d: Deployment
    rss: tuple[ReplicaSet, ...]
    now: Time

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(kind=Kind.DEPLOYMENT, namespace=self.d.metadata.namespace, name=self.d.metadata.name)


def event(ctx: RolloutContext, reason: str, message: str, warning: bool = False) -> RecordEvent:
    return RecordEvent(
        involved=ctx.key, type=EventType.WARNING if warning else EventType.NORMAL, reason=reason, message=message
    )


def status_write(d: Deployment, st: DeploymentStatus) -> Write:
    """UpdateStatus of `d` with `st` (conditional on the view's resourceVersion)."""
    return Write(request=Update(obj=attrs.evolve(d, status=st), subresource=Subresource.STATUS), purpose=Purpose.STATUS)


# --- scaling one ReplicaSet -----------------------------------------------------------------


def scale_rs(
    ctx: RolloutContext, rs: ReplicaSet, new_scale: int, operation: str
) -> tuple[ReplicaSet, Write | None]:
    """scaleReplicaSet: set replicas and the replica annotations; the event when the size moved."""
    d = ctx.d
    updated = du.with_replicas_annotations(attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=new_scale)), d)
    if updated == rs:
        return rs, None
    events: tuple[RecordEvent, ...] = ()
    if rs.spec.replicas != new_scale:
        message = f"Scaled {operation} replica set {rs.metadata.name} from {rs.spec.replicas} to {new_scale}"
        events = (event(ctx, du.REASON_SCALING_RS, message),)
    return updated, Write(request=Update(obj=updated), purpose=Purpose.UPDATE_RS, events=events, rs_name=rs.metadata.name)


def scale_and_record(ctx: RolloutContext, rs: ReplicaSet, new_scale: int) -> tuple[ReplicaSet, Write | None]:
    """scaleReplicaSetAndRecordEvent: nothing when the size is already right."""
    if rs.spec.replicas == new_scale:
        return rs, None
    return scale_rs(ctx, rs, new_scale, "up" if rs.spec.replicas < new_scale else "down")


def merge_writes(writes: Iterable[Write | None]) -> tuple[Write, ...]:
    """Drop Nones; several updates of one ReplicaSet become its last, with every event."""
    out: list[Write] = []
    where: dict[str, int] = {}
    for w in writes:
        if w is None:
            continue
        if w.purpose is Purpose.UPDATE_RS and w.rs_name in where:
            i = where[w.rs_name]
            out[i] = attrs.evolve(w, events=out[i].events + w.events)
            continue
        if w.purpose is Purpose.UPDATE_RS:
            where[w.rs_name] = len(out)
        out.append(w)
    return tuple(out)


# --- the new and the old ReplicaSets --------------------------------------------------------


def new_and_old(ctx: RolloutContext, create: bool) -> Plan | Found:
    """getAllReplicaSetsAndSyncRevision: sync the new ReplicaSet's annotations, the
    deployment's revision and FoundNewReplicaSet; create the new ReplicaSet if asked."""
    d = ctx.d
    new = du.find_new(d, ctx.rss)
    olds = du.find_old(d, ctx.rss, new)
    new_revision = str(du.max_revision(olds) + 1)
    if new is None:
        return _create_new(ctx, olds, new_revision) if create else Found(new=None, olds=olds)
    updated = du.set_new_rs_annotations(d, new, new_revision, exists=True)
    if updated.spec.min_ready_seconds != d.spec.min_ready_seconds:
        updated = attrs.evolve(updated, spec=attrs.evolve(updated.spec, min_ready_seconds=d.spec.min_ready_seconds))
    if updated != new:
        return Plan(writes=(Write(request=Update(obj=updated), purpose=Purpose.UPDATE_RS, rs_name=new.metadata.name),))
    rev = new.metadata.annotations.get(du.REVISION_ANNOTATION, "")
    if d.metadata.annotations.get(du.REVISION_ANNOTATION) != rev:
        # kcore's status subresource keeps metadata, so the revision goes by a main update.
        annotated = attrs.evolve(
            d, metadata=attrs.evolve(d.metadata, annotations=d.metadata.annotations.set(du.REVISION_ANNOTATION, rev))
        )
        return Plan(writes=(Write(request=Update(obj=annotated), purpose=Purpose.UPDATE_DEPLOYMENT),))
    if du.has_progress_deadline(d) and du.get_condition(d.status, DeploymentConditionType.PROGRESSING) is None:
        cond = du.new_condition(
            DeploymentConditionType.PROGRESSING,
            ConditionStatus.TRUE,
            du.REASON_FOUND_NEW_RS,
            f'Found new replica set "{new.metadata.name}"',
            ctx.now,
        )
        return Plan(writes=(status_write(d, du.set_condition(d.status, cond)),))
    return Found(new=new, olds=olds)


def _create_new(ctx: RolloutContext, olds: tuple[ReplicaSet, ...], new_revision: str) -> Plan:
    d = ctx.d
    template = d.spec.template
    h = du.compute_hash(template, d.status.collision_count)
    name = f"{d.metadata.name}-{h}"
    existing = get(ctx.view, ObjectKey(kind=Kind.REPLICA_SET, namespace=d.metadata.namespace, name=name))
    if isinstance(existing, ReplicaSet):
        ref = controller_of(existing.metadata)
        if ref is not None and ref.uid == d.metadata.uid and du.equal_ignore_hash(template, existing.spec.template):
            return Plan()  # ours: the claim of a later round finds it
        # A hash collision: bump collisionCount and try again with the next name.
        bumped = attrs.evolve(d.status, collision_count=(d.status.collision_count or 0) + 1)
        return Plan(writes=(status_write(d, bumped),))
    labels = template.metadata.labels.set(du.POD_TEMPLATE_HASH_LABEL, h)
    new_template = attrs.evolve(template, metadata=attrs.evolve(template.metadata, labels=labels))
    selector = LabelSelector(
        match_labels=d.spec.selector.match_labels.set(du.POD_TEMPLATE_HASH_LABEL, h),
        match_expressions=d.spec.selector.match_expressions,
    )
    rs = ReplicaSet(
        metadata=ObjectMeta(
            name=name, namespace=d.metadata.namespace, owner_references=(controller_ref(d),), labels=labels
        ),
        spec=ReplicaSetSpec(
            replicas=0, min_ready_seconds=d.spec.min_ready_seconds, selector=selector, template=new_template
        ),
    )
    n = du.new_rs_new_replicas(d, (*olds, rs), rs)
    rs = attrs.evolve(rs, spec=attrs.evolve(rs.spec, replicas=n))
    rs = du.set_new_rs_annotations(d, rs, new_revision, exists=False)
    events = (event(ctx, du.REASON_SCALING_RS, f"Scaled up replica set {name} from 0 to {n}"),) if n > 0 else ()
    return Plan(writes=(Write(request=Create(obj=rs), purpose=Purpose.CREATE_RS, events=events, rs_name=name),))


# --- status ---------------------------------------------------------------------------------


def _replica_failures(all_rss: Sequence[ReplicaSet | None], new: ReplicaSet | None) -> tuple[DeploymentCondition, ...]:
    """getReplicaFailures: the new ReplicaSet's ReplicaFailure conditions, else the others'."""

    def of(rss: Iterable[ReplicaSet | None]) -> tuple[DeploymentCondition, ...]:
        return tuple(
            DeploymentCondition(
                type=DeploymentConditionType.REPLICA_FAILURE,
                status=c.status,
                last_update_time=c.last_transition_time,
                last_transition_time=c.last_transition_time,
                reason=c.reason,
                message=c.message,
            )
            for rs in rss
            if rs is not None
            for c in rs.status.conditions
            if c.type is ReplicaSetConditionType.REPLICA_FAILURE
        )

    return of((new,)) or of(all_rss)


def deployment_status(ctx: RolloutContext, all_rss: Sequence[ReplicaSet | None], new: ReplicaSet | None) -> Plan:
    """syncDeploymentStatus: write the calculated status when it differs."""
    st = du.calculate_status(all_rss, new, ctx.d, ctx.now)
    return Plan() if st == ctx.d.status else Plan(writes=(status_write(ctx.d, st),))


def rollout_status(ctx: RolloutContext, all_rss: Sequence[ReplicaSet | None], new: ReplicaSet | None) -> Plan:
    """syncRolloutStatus: counts, Available, Progressing (complete, progressing, timed out),
    ReplicaFailure; unchanged -> maybe a wake-up for the progress deadline."""
    d, now = ctx.d, ctx.now
    st = du.calculate_status(all_rss, new, d, now)
    deadline = du.has_progress_deadline(d)
    if not deadline:
        st = du.remove_condition(st, DeploymentConditionType.PROGRESSING)
    current = du.get_condition(d.status, DeploymentConditionType.PROGRESSING)
    complete = st.replicas == st.updated_replicas and current is not None and current.reason == du.REASON_NEW_RS_AVAILABLE
    subject = f'ReplicaSet "{new.metadata.name}"' if new is not None else f'Deployment "{d.metadata.name}"'
    if deadline and not complete:
        if du.deployment_complete(d, st):
            cond = du.new_condition(
                DeploymentConditionType.PROGRESSING,
                ConditionStatus.TRUE,
                du.REASON_NEW_RS_AVAILABLE,
                f"{subject} has successfully progressed.",
                now,
            )
            st = du.set_condition(st, cond)
        elif du.deployment_progressing(d, st):
            cond = du.new_condition(
                DeploymentConditionType.PROGRESSING, ConditionStatus.TRUE, du.REASON_RS_UPDATED, f"{subject} is progressing.", now
            )
            if current is not None:
                if current.status is ConditionStatus.TRUE:
                    cond = attrs.evolve(cond, last_transition_time=current.last_transition_time)
                st = du.remove_condition(st, DeploymentConditionType.PROGRESSING)
            st = du.set_condition(st, cond)
        elif du.deployment_timed_out(d, st, now):
            cond = du.new_condition(
                DeploymentConditionType.PROGRESSING,
                ConditionStatus.FALSE,
                du.REASON_TIMED_OUT,
                f"{subject} has timed out progressing.",
                now,
            )
            st = du.set_condition(st, cond)
    failures = _replica_failures(all_rss, new)
    if failures:
        st = du.set_condition(st, failures[0])
    else:
        st = du.remove_condition(st, DeploymentConditionType.REPLICA_FAILURE)
    if st == d.status:
        return Plan(wake_at=_stuck_wake(d, st, now))
    return Plan(writes=(status_write(d, st),))


def _stuck_wake(d: Deployment, st: DeploymentStatus, now: Time) -> Time | None:
    """requeueStuckDeployment: when to look again for a progress-deadline check."""
    current = du.get_condition(d.status, DeploymentConditionType.PROGRESSING)
    if not du.has_progress_deadline(d) or current is None:
        return None
    if du.deployment_complete(d, st) or current.reason == du.REASON_TIMED_OUT:
        return None
    due = (current.last_update_time or 0.0) + d.spec.progress_deadline_seconds + 1.0
    return Time(due if due > now else now + 1.0)


# --- cleanup and proportional scaling (sync.go) ---------------------------------------------


def cleanup(ctx: RolloutContext, olds: Sequence[ReplicaSet]) -> tuple[Write, ...]:
    """cleanupDeployment: delete the oldest idle ReplicaSets beyond revisionHistoryLimit."""
    d = ctx.d
    if not du.has_revision_history_limit(d):
        return ()
    alive = [rs for rs in olds if rs.metadata.deletion_timestamp is None]
    diff = len(alive) - d.spec.revision_history_limit
    if diff <= 0:
        return ()
    out: list[Write] = []
    for rs in du.sorted_by_revision(alive)[:diff]:
        if rs.status.replicas != 0 or rs.spec.replicas != 0 or rs.metadata.generation > rs.status.observed_generation:
            continue
        key = ObjectKey(kind=Kind.REPLICA_SET, namespace=rs.metadata.namespace, name=rs.metadata.name)
        req = Delete(key=key, precondition_uid=rs.metadata.uid)
        out.append(Write(request=req, purpose=Purpose.DELETE_RS, rs_name=rs.metadata.name))
    return tuple(out)


def scale(ctx: RolloutContext, new: ReplicaSet | None, olds: Sequence[ReplicaSet]) -> tuple[Write, ...]:
    """scale: the one active ReplicaSet takes all replicas; a saturated new one retires the
    old; otherwise (RollingUpdate) the change is spread in proportion to each one's size."""
    d = ctx.d
    target = du.find_active_or_latest(new, olds)
    if target is not None:
        return merge_writes((scale_and_record(ctx, target, d.spec.replicas)[1],))
    if du.is_saturated(d, new):
        return merge_writes(scale_and_record(ctx, rs, 0)[1] for rs in du.active(du.sorted_by_creation(olds, reverse=True)))
    if not du.is_rolling_update(d):
        return ()
    live = du.active((*olds, new))
    allowed = d.spec.replicas + du.max_surge(d) if d.spec.replicas > 0 else 0
    to_add = allowed - du.spec_replicas(live)
    operation = ""
    if to_add > 0:
        live, operation = du.sorted_by_size(live, newer_first=True), "up"
    elif to_add < 0:
        live, operation = du.sorted_by_size(live, newer_first=False), "down"
    sizes: list[int] = []
    added = 0
    for rs in live:
        proportion = du.get_proportion(rs, d, to_add, added) if to_add != 0 else 0
        sizes.append(rs.spec.replicas + proportion)
        added += proportion
    if live and to_add != 0:
        sizes[0] = max(0, sizes[0] + to_add - added)  # leftovers go to the largest
    return merge_writes(scale_rs(ctx, rs, size, operation)[1] for rs, size in zip(live, sizes, strict=True))


def sync_scaling(ctx: RolloutContext, paused_cleanup: bool) -> Plan:
    """sync: scale (proportionally), clean up when paused, then the plain status."""
    found = new_and_old(ctx, create=False)
    if isinstance(found, Plan):
        return found
    writes = scale(ctx, found.new, found.olds)
    if paused_cleanup:
        writes += cleanup(ctx, found.olds)
    return Plan(writes=writes).then(deployment_status(ctx, (*found.olds, found.new), found.new))


def is_scaling_event(ctx: RolloutContext, found: Found) -> bool:
    """isScalingEvent: an active ReplicaSet was sized for another replica count."""
    for rs in du.active((*found.olds, found.new)):
        desired = du.desired_replicas_annotation(rs)
        if desired is not None and desired != ctx.d.spec.replicas:
            return True
    return False


# --- RollingUpdate (rolling.go) -------------------------------------------------------------


def rolling(ctx: RolloutContext) -> Plan:
    """rolloutRolling: scale the new ReplicaSet up within maxSurge, else the old ones down
    within maxUnavailable, else clean up a complete rollout; then the rollout status."""
    found = new_and_old(ctx, create=True)
    if isinstance(found, Plan):
        return found
    new = found.new
    if new is None:
        return Plan()
    all_rss = (*found.olds, new)
    writes = reconcile_new(ctx, all_rss, new)
    if not writes:
        writes = reconcile_old(ctx, all_rss, du.active(found.olds), new)
    if not writes and du.deployment_complete(ctx.d, ctx.d.status):
        writes = cleanup(ctx, found.olds)
    return Plan(writes=writes).then(rollout_status(ctx, all_rss, new))


def reconcile_new(ctx: RolloutContext, all_rss: Sequence[ReplicaSet], new: ReplicaSet) -> tuple[Write, ...]:
    """reconcileNewReplicaSet: down to replicas if above, else up as far as maxSurge allows."""
    d = ctx.d
    if new.spec.replicas == d.spec.replicas:
        return ()
    if new.spec.replicas > d.spec.replicas:
        return merge_writes((scale_and_record(ctx, new, d.spec.replicas)[1],))
    return merge_writes((scale_and_record(ctx, new, du.new_rs_new_replicas(d, all_rss, new))[1],))


def reconcile_old(
    ctx: RolloutContext, all_rss: Sequence[ReplicaSet], olds: Sequence[ReplicaSet], new: ReplicaSet
) -> tuple[Write, ...]:
    """reconcileOldReplicaSets: within maxUnavailable, first the unhealthy old replicas,
    then available ones down to replicas - maxUnavailable."""
    d = ctx.d
    if du.spec_replicas(olds) == 0:
        return ()
    min_available = d.spec.replicas - du.max_unavailable(d)
    new_unavailable = new.spec.replicas - new.status.available_replicas
    max_scaled_down = du.spec_replicas(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return ()
    olds, first = _cleanup_unhealthy(ctx, olds, max_scaled_down)
    second = _scale_down_old(ctx, (*olds, new), olds)
    return merge_writes((*first, *second))


def _cleanup_unhealthy(
    ctx: RolloutContext, olds: Sequence[ReplicaSet], max_cleanup: int
) -> tuple[tuple[ReplicaSet, ...], tuple[Write | None, ...]]:
    """cleanupUnhealthyReplicas: scale old ReplicaSets down by their unavailable replicas."""
    updated = list(du.sorted_by_creation(olds))
    writes: list[Write | None] = []
    total = 0
    for i, rs in enumerate(updated):
        if total >= max_cleanup:
            break
        unhealthy = rs.spec.replicas - rs.status.available_replicas
        if rs.spec.replicas == 0 or unhealthy <= 0:
            continue
        count = min(max_cleanup - total, unhealthy)
        updated[i], w = scale_and_record(ctx, rs, rs.spec.replicas - count)
        writes.append(w)
        total += count
    return tuple(updated), tuple(writes)


def _scale_down_old(
    ctx: RolloutContext, all_rss: Sequence[ReplicaSet], olds: Sequence[ReplicaSet]
) -> tuple[Write | None, ...]:
    """scaleDownOldReplicaSetsForRollingUpdate: oldest first, down to minAvailable."""
    d = ctx.d
    min_available = d.spec.replicas - du.max_unavailable(d)
    available = du.available_replicas(all_rss)
    if available <= min_available:
        return ()
    target = available - min_available
    writes: list[Write | None] = []
    total = 0
    for rs in du.sorted_by_creation(olds):
        if total >= target:
            break
        if rs.spec.replicas == 0:
            continue
        count = min(rs.spec.replicas, target - total)
        writes.append(scale_and_record(ctx, rs, rs.spec.replicas - count)[1])
        total += count
    return tuple(writes)


# --- Recreate (recreate.go) -----------------------------------------------------------------


def old_pods_running(view: ClusterState, new: ReplicaSet | None, olds: Sequence[ReplicaSet]) -> bool:
    """oldPodsRunning: an old ReplicaSet reports pods, or a pod it controls is not terminal."""
    if du.actual_replicas(olds) > 0:
        return True
    for rs in olds:
        if new is not None and rs.metadata.uid == new.metadata.uid:
            continue
        for key in dependents(view, rs.metadata.uid):
            pod = get(view, key) if key.kind is Kind.POD else None
            if not isinstance(pod, Pod):
                continue
            ref = controller_of(pod.metadata)
            if ref is None or ref.uid != rs.metadata.uid:
                continue
            if pod.status.phase not in (PodPhase.FAILED, PodPhase.SUCCEEDED):
                return True
    return False


def recreate(ctx: RolloutContext) -> Plan:
    """rolloutRecreate: old ReplicaSets to 0, wait until their pods are gone, then the new
    ReplicaSet (created only now) to full size."""
    found = new_and_old(ctx, create=False)
    if isinstance(found, Plan):
        return found
    new, olds = found.new, found.olds
    all_rss = (*olds, new)
    writes = merge_writes(scale_and_record(ctx, rs, 0)[1] for rs in du.active(olds))
    if writes:
        return Plan(writes=writes).then(rollout_status(ctx, all_rss, new))
    if old_pods_running(ctx.view, new, olds):
        return rollout_status(ctx, all_rss, new)
    if new is None:
        made = new_and_old(ctx, create=True)
        return made if isinstance(made, Plan) else Plan()
    writes = merge_writes((scale_and_record(ctx, new, ctx.d.spec.replicas)[1],))
    if du.deployment_complete(ctx.d, ctx.d.status):
        writes += cleanup(ctx, olds)
    return Plan(writes=writes).then(rollout_status(ctx, all_rss, new))


# --- the deprecated rollback-to annotation (rollback.go) ------------------------------------


def rollback_to(d: Deployment) -> int | None:
    """getRollbackTo: the revision the annotation asks for (None when absent or malformed)."""
    text = d.metadata.annotations.get(du.ROLLBACK_TO_ANNOTATION, "")
    if not text:
        return None
    t = text.strip()
    return int(t) if t == text and t.lstrip("+-").isdigit() else None


def deployment_from_revision(d: Deployment, rs: ReplicaSet) -> Deployment:
    """SetFromReplicaSetTemplate + SetDeploymentAnnotationsTo: the deployment with the
    ReplicaSet's template (hash label dropped) and its copyable annotations."""
    ann = {k: v for k, v in d.metadata.annotations.items() if k in du.ANNOTATIONS_TO_SKIP}
    ann.update({k: v for k, v in rs.metadata.annotations.items() if k not in du.ANNOTATIONS_TO_SKIP})
    meta = attrs.evolve(d.metadata, annotations=pmap(ann))
    spec = attrs.evolve(d.spec, template=du.template_without_hash(rs.spec.template))
    return attrs.evolve(d, metadata=meta, spec=spec)


def _clear_rollback(d: Deployment, events: tuple[RecordEvent, ...] = ()) -> Write:
    meta = attrs.evolve(d.metadata, annotations=d.metadata.annotations.discard(du.ROLLBACK_TO_ANNOTATION))
    return Write(request=Update(obj=attrs.evolve(d, metadata=meta)), purpose=Purpose.UPDATE_DEPLOYMENT, events=events)


def rollback(ctx: RolloutContext) -> Plan:
    """rollback: copy the wanted revision's template into the deployment and clear the
    annotation; a missing revision or an unchanged template is a Warning event."""
    found = new_and_old(ctx, create=True)
    if isinstance(found, Plan):
        return found
    d = ctx.d
    all_rss = (*found.olds, *((found.new,) if found.new is not None else ()))
    wanted = rollback_to(d) or 0
    if wanted == 0:
        wanted = du.last_revision(all_rss)
        if wanted == 0:
            warn = event(ctx, du.REASON_ROLLBACK_NOT_FOUND, "Unable to find last revision.", warning=True)
            return Plan(writes=(_clear_rollback(d),), events=(warn,))
    for rs in all_rss:
        if du.revision(rs) != wanted:
            continue
        if du.equal_ignore_hash(d.spec.template, rs.spec.template):
            message = f'The rollback revision contains the same template as current deployment "{d.metadata.name}"'
            warn = event(ctx, du.REASON_ROLLBACK_UNCHANGED, message, warning=True)
            return Plan(writes=(_clear_rollback(d),), events=(warn,))
        done = event(ctx, du.REASON_ROLLBACK_DONE, f'Rolled back deployment "{d.metadata.name}" to revision {wanted}')
        return Plan(writes=(_clear_rollback(deployment_from_revision(d, rs), (done,)),))
    warn = event(ctx, du.REASON_ROLLBACK_NOT_FOUND, "Unable to find the revision to rollback to.", warning=True)
    return Plan(writes=(_clear_rollback(d),), events=(warn,))

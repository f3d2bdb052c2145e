"""What the Deployment controller computes from values: hashes, revisions, fenceposts, status.

Owns the pure helpers of the Deployment controller, each a function of API values:
- the pod-template-hash (`compute_hash`, FNV-32a + collisionCount + SafeEncodeString over
  the template's canonical JSON; see docs/semantics.md) and `equal_ignore_hash`;
- revision bookkeeping on annotations (`revision`, `max_revision`, `last_revision`,
  `set_new_rs_annotations`, `replicas_annotations`), with upstream's annotation keys;
- the rolling-update fenceposts (`resolve_fenceposts`, `max_surge`, `max_unavailable`),
  `new_rs_new_replicas`, saturation and proportional scaling (`get_proportion`);
- the orderings upstream sorts ReplicaSets by (creation, size newer/older, revision);
- the status (`calculate_status`), the Progressing/Available conditions and the
  predicates over them (`deployment_complete`, `deployment_progressing`,
  `deployment_timed_out`).

Rules: nothing here emits effects or reads a clock (callers pass `now`); every tuple that
leaves a function is in a deterministic order. Errors in user input (a malformed
IntOrString) raise `IntOrStringError` naming the value; validation rejects them first.

Must not know: the driver, component state, the apiserver.
Mirrors pkg/controller/deployment/util/deployment_util.go, pkg/controller/controller_utils.go
(ComputeHash, ReplicaSetsByCreationTimestamp/BySizeNewer/BySizeOlder,
FilterActiveReplicaSets) and the calculateStatus of pkg/controller/deployment/sync.go.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Final

import attrs
from pyrsistent.typing import PMap

from kcore.api.apps import (
    Deployment,
    DeploymentCondition,
    DeploymentConditionType,
    DeploymentStatus,
    DeploymentStrategyType,
    ReplicaSet,
)
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import PodTemplateSpec
from kcore.controllers.hashing import compute_hash as compute_hash
from kcore.controllers.hashing import safe_encode
from kcore.intstr import IntOrString, scaled_value

POD_TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
REVISION_ANNOTATION: Final = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION: Final = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION: Final = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO_ANNOTATION: Final = "deprecated.deployment.rollback.to"
LAST_APPLIED_ANNOTATION: Final = "kubectl.kubernetes.io/last-applied-configuration"
CHANGE_CAUSE_ANNOTATION: Final = "kubernetes.io/change-cause"
MAX_REV_HISTORY_CHARS: Final = 2000
MAX_INT32: Final = 2**31 - 1

ANNOTATIONS_TO_SKIP: Final = frozenset(
    {
        LAST_APPLIED_ANNOTATION,
        REVISION_ANNOTATION,
        REVISION_HISTORY_ANNOTATION,
        DESIRED_REPLICAS_ANNOTATION,
        MAX_REPLICAS_ANNOTATION,
        ROLLBACK_TO_ANNOTATION,
    }
)

# Condition reasons (deployment_util.go).
REASON_RS_UPDATED: Final = "ReplicaSetUpdated"
REASON_FAILED_RS_CREATE: Final = "ReplicaSetCreateError"
REASON_NEW_RS_CREATED: Final = "NewReplicaSetCreated"
REASON_FOUND_NEW_RS: Final = "FoundNewReplicaSet"
REASON_NEW_RS_AVAILABLE: Final = "NewReplicaSetAvailable"
REASON_TIMED_OUT: Final = "ProgressDeadlineExceeded"
REASON_PAUSED: Final = "DeploymentPaused"
REASON_RESUMED: Final = "DeploymentResumed"
REASON_MIN_AVAILABLE: Final = "MinimumReplicasAvailable"
REASON_MIN_UNAVAILABLE: Final = "MinimumReplicasUnavailable"
REASON_ROLLBACK_NOT_FOUND: Final = "DeploymentRollbackRevisionNotFound"
REASON_ROLLBACK_UNCHANGED: Final = "DeploymentRollbackTemplateUnchanged"
REASON_ROLLBACK_DONE: Final = "DeploymentRollback"
# Event reasons upstream's deployment controller writes inline (sync.go, deployment_controller.go).
REASON_SCALING_RS: Final = "ScalingReplicaSet"
REASON_SELECTING_ALL: Final = "SelectingAll"

# --- hashing --------------------------------------------------------------------------------

safe_encode_string = safe_encode  # rand.SafeEncodeString (kcore.controllers.hashing)


def _without_hash(t: PodTemplateSpec) -> PodTemplateSpec:
    labels = t.metadata.labels
    if POD_TEMPLATE_HASH_LABEL not in labels:
        return t
    return attrs.evolve(t, metadata=attrs.evolve(t.metadata, labels=labels.discard(POD_TEMPLATE_HASH_LABEL)))


def equal_ignore_hash(a: PodTemplateSpec, b: PodTemplateSpec) -> bool:
    """EqualIgnoreHash: the templates are equal once the pod-template-hash label is dropped."""
    return _without_hash(a) == _without_hash(b)


def template_without_hash(t: PodTemplateSpec) -> PodTemplateSpec:
    """The template with the pod-template-hash label removed (what a rollback restores)."""
    return _without_hash(t)


# --- fenceposts -----------------------------------------------------------------------------


def resolve_fenceposts(
    max_surge: IntOrString | None, max_unavailable: IntOrString | None, desired: int
) -> tuple[int, int]:
    """ResolveFenceposts: (surge rounded up, unavailable rounded down); both 0 -> (0, 1).

    A nil value counts as 0. A string that is not a percentage raises `IntOrStringError`.
    """
    surge = scaled_value(0 if max_surge is None else max_surge, desired, round_up=True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        # Rounding down may resolve both to zero; upstream then allows one unavailable pod
        # on the theory that surge might not work due to quota.
        unavailable = 1
    return surge, unavailable


def is_rolling_update(d: Deployment) -> bool:
    return d.spec.strategy.type is DeploymentStrategyType.ROLLING_UPDATE


def _fenceposts(d: Deployment) -> tuple[int, int]:
    ru = d.spec.strategy.rolling_update
    if ru is None:
        return resolve_fenceposts(None, None, d.spec.replicas)
    return resolve_fenceposts(ru.max_surge, ru.max_unavailable, d.spec.replicas)


def max_surge(d: Deployment) -> int:
    """MaxSurge: the resolved surge of a RollingUpdate deployment, else 0."""
    return _fenceposts(d)[0] if is_rolling_update(d) else 0


def max_unavailable(d: Deployment) -> int:
    """MaxUnavailable: the resolved unavailability, capped at replicas (0 when not rolling)."""
    if not is_rolling_update(d) or d.spec.replicas == 0:
        return 0
    return min(_fenceposts(d)[1], d.spec.replicas)


def has_progress_deadline(d: Deployment) -> bool:
    return d.spec.progress_deadline_seconds != MAX_INT32


def has_revision_history_limit(d: Deployment) -> bool:
    return d.spec.revision_history_limit != MAX_INT32


# --- replica sets ---------------------------------------------------------------------------


def _parse_int(text: str) -> int | None:
    t = text.strip()
    if t != text or not t or not t.lstrip("+-").isdigit():
        return None
    return int(t)


def revision(rs: ReplicaSet) -> int | None:
    """Revision: the revision annotation (absent -> 0; malformed -> None)."""
    text = rs.metadata.annotations.get(REVISION_ANNOTATION)
    return 0 if text is None else _parse_int(text)


def max_revision(rss: Iterable[ReplicaSet]) -> int:
    """MaxRevision: the highest readable revision, 0 when none."""
    return max((v for v in (revision(rs) for rs in rss) if v is not None), default=0)


def last_revision(rss: Iterable[ReplicaSet]) -> int:
    """LastRevision: the second highest revision (0 when there is none)."""
    top, second = 0, 0
    for rs in rss:
        v = revision(rs)
        if v is None:
            continue
        if v >= top:
            top, second = v, top
        elif v > second:
            second = v
    return second


def _by_creation(a: ReplicaSet, b: ReplicaSet) -> int:
    ta, tb = a.metadata.creation_timestamp or 0.0, b.metadata.creation_timestamp or 0.0
    if ta != tb:
        return -1 if ta < tb else 1
    return (a.metadata.name > b.metadata.name) - (a.metadata.name < b.metadata.name)


def _by_size(newer: bool) -> Callable[[ReplicaSet, ReplicaSet], int]:
    def cmp(a: ReplicaSet, b: ReplicaSet) -> int:
        if a.spec.replicas != b.spec.replicas:
            return -1 if a.spec.replicas > b.spec.replicas else 1
        return _by_creation(b, a) if newer else _by_creation(a, b)

    return cmp


def _by_revision(a: ReplicaSet, b: ReplicaSet) -> int:
    ra, rb = revision(a), revision(b)
    if ra is None or rb is None or ra == rb:
        return _by_creation(a, b)
    return -1 if ra < rb else 1


def sorted_by_creation(rss: Iterable[ReplicaSet], *, reverse: bool = False) -> tuple[ReplicaSet, ...]:
    """ReplicaSetsByCreationTimestamp (oldest first, then by name)."""
    return tuple(sorted(rss, key=functools.cmp_to_key(_by_creation), reverse=reverse))


def sorted_by_size(rss: Iterable[ReplicaSet], *, newer_first: bool) -> tuple[ReplicaSet, ...]:
    """ReplicaSetsBySizeNewer / BySizeOlder: larger first, ties by creation."""
    return tuple(sorted(rss, key=functools.cmp_to_key(_by_size(newer_first))))


def sorted_by_revision(rss: Iterable[ReplicaSet]) -> tuple[ReplicaSet, ...]:
    """ReplicaSetsByRevision: lowest revision first."""
    return tuple(sorted(rss, key=functools.cmp_to_key(_by_revision)))


def active(rss: Iterable[ReplicaSet | None]) -> tuple[ReplicaSet, ...]:
    """FilterActiveReplicaSets: those with spec.replicas > 0."""
    return tuple(rs for rs in rss if rs is not None and rs.spec.replicas > 0)


def spec_replicas(rss: Iterable[ReplicaSet | None]) -> int:
    """GetReplicaCountForReplicaSets."""
    return sum(rs.spec.replicas for rs in rss if rs is not None)


def actual_replicas(rss: Iterable[ReplicaSet | None]) -> int:
    """GetActualReplicaCountForReplicaSets."""
    return sum(rs.status.replicas for rs in rss if rs is not None)


def ready_replicas(rss: Iterable[ReplicaSet | None]) -> int:
    return sum(rs.status.ready_replicas for rs in rss if rs is not None)


def available_replicas(rss: Iterable[ReplicaSet | None]) -> int:
    return sum(rs.status.available_replicas for rs in rss if rs is not None)


def find_new(d: Deployment, rss: Iterable[ReplicaSet]) -> ReplicaSet | None:
    """FindNewReplicaSet: the oldest ReplicaSet whose template equals the deployment's."""
    for rs in sorted_by_creation(rss):
        if equal_ignore_hash(rs.spec.template, d.spec.template):
            return rs
    return None


def find_old(d: Deployment, rss: Iterable[ReplicaSet], new: ReplicaSet | None) -> tuple[ReplicaSet, ...]:
    """FindOldReplicaSets (all old ones): every ReplicaSet but the new one, sorted by name."""
    uid = new.metadata.uid if new is not None else None
    return tuple(rs for rs in rss if rs.metadata.uid != uid)


def find_active_or_latest(new: ReplicaSet | None, olds: Sequence[ReplicaSet]) -> ReplicaSet | None:
    """FindActiveOrLatest: the only active ReplicaSet, or the newest when none is active."""
    if new is None and not olds:
        return None
    newest_first = sorted_by_creation(olds, reverse=True)
    live = active((*newest_first, new))
    if len(live) == 0:
        return new if new is not None else newest_first[0]
    if len(live) == 1:
        return live[0]
    return None


def _annotation_int(rs: ReplicaSet, key: str) -> int | None:
    text = rs.metadata.annotations.get(key)
    return None if text is None else _parse_int(text)


def desired_replicas_annotation(rs: ReplicaSet) -> int | None:
    return _annotation_int(rs, DESIRED_REPLICAS_ANNOTATION)


def is_saturated(d: Deployment, rs: ReplicaSet | None) -> bool:
    """IsSaturated: the ReplicaSet has, wants and keeps available all the deployment's replicas."""
    if rs is None:
        return False
    desired = desired_replicas_annotation(rs)
    if desired is None:
        return False
    n = d.spec.replicas
    return rs.spec.replicas == n and desired == n and rs.status.available_replicas == n


def replicas_annotations(d: Deployment) -> tuple[str, str]:
    """The (desired-replicas, max-replicas) annotation values the deployment implies."""
    return str(d.spec.replicas), str(d.spec.replicas + max_surge(d))


def with_replicas_annotations(rs: ReplicaSet, d: Deployment) -> ReplicaSet:
    """SetReplicasAnnotations: `rs` carrying the deployment's desired and max replicas."""
    desired, most = replicas_annotations(d)
    ann = rs.metadata.annotations.set(DESIRED_REPLICAS_ANNOTATION, desired).set(MAX_REPLICAS_ANNOTATION, most)
    if ann == rs.metadata.annotations:
        return rs
    return attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=ann))


def new_rs_new_replicas(d: Deployment, all_rss: Iterable[ReplicaSet], new: ReplicaSet) -> int:
    """NewRSNewReplicas: how far the new ReplicaSet may grow now."""
    if d.spec.strategy.type is DeploymentStrategyType.RECREATE:
        return d.spec.replicas
    max_total = d.spec.replicas + max_surge(d)
    current = spec_replicas(all_rss)
    if current >= max_total:
        return new.spec.replicas
    up = min(max_total - current, d.spec.replicas - new.spec.replicas)
    return new.spec.replicas + up


def _round_half_away(x: Fraction) -> int:
    whole = int(abs(x) + Fraction(1, 2))
    return whole if x >= 0 else -whole


def _replica_set_fraction(rs: ReplicaSet, d: Deployment) -> int:
    """getReplicaSetFraction: this ReplicaSet's share of a resize, by its max-replicas annotation."""
    if d.spec.replicas == 0:
        return -rs.spec.replicas
    deployment_max = d.spec.replicas + max_surge(d)
    before = _annotation_int(rs, MAX_REPLICAS_ANNOTATION)
    if before is None or before == 0:
        before = d.status.replicas or deployment_max
    return _round_half_away(Fraction(rs.spec.replicas * deployment_max, before)) - rs.spec.replicas


def get_proportion(rs: ReplicaSet | None, d: Deployment, to_add: int, added: int) -> int:
    """GetProportion: how many of the `to_add - added` replicas left go to `rs`."""
    if rs is None or rs.spec.replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _replica_set_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def set_new_rs_annotations(d: Deployment, rs: ReplicaSet, new_revision: str, exists: bool) -> ReplicaSet:
    """SetNewReplicaSetAnnotations: copy the deployment's annotations, raise the revision
    (keeping the old one in revision-history), and for a new ReplicaSet the replica counts."""
    ann = rs.metadata.annotations
    for k in sorted(d.metadata.annotations):
        v = d.metadata.annotations[k]
        if k in ANNOTATIONS_TO_SKIP or ann.get(k) == v:
            continue
        ann = ann.set(k, v)
    old_text = ann.get(REVISION_ANNOTATION)
    old = 0 if old_text is None else _parse_int(old_text)
    new = _parse_int(new_revision)
    if old is None or new is None:
        return _with_annotations(rs, ann)
    if old < new:
        ann = ann.set(REVISION_ANNOTATION, new_revision)
        if old_text is not None:
            ann = _append_history(ann, old_text)
    rs = _with_annotations(rs, ann)
    return rs if exists else with_replicas_annotations(rs, d)


def _append_history(ann: PMap[str, str], old_text: str) -> PMap[str, str]:
    history = ann.get(REVISION_HISTORY_ANNOTATION, "")
    if not history:
        return ann.set(REVISION_HISTORY_ANNOTATION, old_text)
    olds = history.split(",")
    total = len(history) + len(old_text) + 1
    start = 0
    while total > MAX_REV_HISTORY_CHARS and start < len(olds):
        total -= len(olds[start]) + 1
        start += 1
    if total > MAX_REV_HISTORY_CHARS:
        return ann
    return ann.set(REVISION_HISTORY_ANNOTATION, ",".join([*olds[start:], old_text]))


def _with_annotations(rs: ReplicaSet, ann: PMap[str, str]) -> ReplicaSet:
    if ann == rs.metadata.annotations:
        return rs
    return attrs.evolve(rs, metadata=attrs.evolve(rs.metadata, annotations=ann))


# --- conditions and status ------------------------------------------------------------------


def get_condition(status: DeploymentStatus, kind: DeploymentConditionType) -> DeploymentCondition | None:
    for c in status.conditions:
        if c.type is kind:
            return c
    return None


def new_condition(
    kind: DeploymentConditionType, status: ConditionStatus, reason: str, message: str, now: Time
) -> DeploymentCondition:
    """NewDeploymentCondition: stamped with `now` as update and transition time."""
    return DeploymentCondition(
        type=kind, status=status, last_update_time=now, last_transition_time=now, reason=reason, message=message
    )


def set_condition(st: DeploymentStatus, cond: DeploymentCondition) -> DeploymentStatus:
    """SetDeploymentCondition: same status and reason -> unchanged; same status keeps the
    transition time; the condition moves to the end of the list."""
    current = get_condition(st, cond.type)
    if current is not None and current.status is cond.status and current.reason == cond.reason:
        return st
    if current is not None and current.status is cond.status:
        cond = attrs.evolve(cond, last_transition_time=current.last_transition_time)
    kept = tuple(c for c in st.conditions if c.type is not cond.type)
    return attrs.evolve(st, conditions=(*kept, cond))


def remove_condition(st: DeploymentStatus, kind: DeploymentConditionType) -> DeploymentStatus:
    kept = tuple(c for c in st.conditions if c.type is not kind)
    return st if len(kept) == len(st.conditions) else attrs.evolve(st, conditions=kept)


def calculate_status(
    all_rss: Sequence[ReplicaSet | None], new: ReplicaSet | None, d: Deployment, now: Time
) -> DeploymentStatus:
    """calculateStatus: counts from the ReplicaSets, observedGeneration, and Available."""
    available = available_replicas(all_rss)
    unavailable = max(0, spec_replicas(all_rss) - available)
    st = DeploymentStatus(
        observed_generation=d.metadata.generation,
        replicas=actual_replicas(all_rss),
        updated_replicas=actual_replicas((new,)),
        ready_replicas=ready_replicas(all_rss),
        available_replicas=available,
        unavailable_replicas=unavailable,
        collision_count=d.status.collision_count,
        conditions=d.status.conditions,
    )
    if available >= d.spec.replicas - max_unavailable(d):
        cond = new_condition(
            DeploymentConditionType.AVAILABLE,
            ConditionStatus.TRUE,
            REASON_MIN_AVAILABLE,
            "Deployment has minimum availability.",
            now,
        )
    else:
        cond = new_condition(
            DeploymentConditionType.AVAILABLE,
            ConditionStatus.FALSE,
            REASON_MIN_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    return set_condition(st, cond)


def deployment_complete(d: Deployment, st: DeploymentStatus) -> bool:
    """DeploymentComplete: every replica updated and available, and the spec observed."""
    n = d.spec.replicas
    return (
        st.updated_replicas == n
        and st.replicas == n
        and st.available_replicas == n
        and st.observed_generation >= d.metadata.generation
    )


def deployment_progressing(d: Deployment, st: DeploymentStatus) -> bool:
    """DeploymentProgressing: more updated/ready/available pods or fewer old ones than before."""
    old = d.status
    return (
        st.updated_replicas > old.updated_replicas
        or (st.replicas - st.updated_replicas) < (old.replicas - old.updated_replicas)
        or st.ready_replicas > old.ready_replicas
        or st.available_replicas > old.available_replicas
    )


def deployment_timed_out(d: Deployment, st: DeploymentStatus, now: Time) -> bool:
    """DeploymentTimedOut: no progress reported for longer than progressDeadlineSeconds."""
    if not has_progress_deadline(d):
        return False
    cond = get_condition(st, DeploymentConditionType.PROGRESSING)
    if cond is None or cond.reason == REASON_NEW_RS_AVAILABLE:
        return False
    if cond.reason == REASON_TIMED_OUT:
        return True
    since = cond.last_update_time or 0.0
    return since + d.spec.progress_deadline_seconds < now

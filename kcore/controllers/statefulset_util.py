"""What the StatefulSet controller knows about one pod, one claim or one revision, as pure functions.

Owns:
- stable identity: `parent_and_ordinal` (upstream's `(.*)-([0-9]+)$` regex), `pod_name`,
  `claim_name` (`<claim>-<set>-<ordinal>`), the ordinal range (`start_ordinal`,
  `in_ordinal_range`), `identity_matches` / `with_identity` and `storage_matches` /
  `with_storage`;
- the pod a set creates for an ordinal at a revision (`new_stateful_pod`): the template
  stamped by `podcontrol.pod_from_template`, named `<set>-<ordinal>`, hostname = its name,
  subdomain = spec.serviceName, the pod-name / pod-index / controller-revision-hash
  labels, and one volume per volumeClaimTemplate naming its claim;
- the claims of an ordinal (`claims_for`), and the PVC retention policy:
  `claim_owners_up_to_date` and `with_retention_refs` (isClaimOwnerUpToDate and
  updateClaimOwnerRefForSetAndPod), `claim_is_stale` (PodClaimIsStale);
- revisions: `revision_name(set, template, collision_count)` = `<set>-<hash>` where the
  hash is FNV-32a of the canonical JSON of the template plus the collision count in
  decimal, written in upstream's SafeEncodeString alphabet (kcore models no
  ControllerRevision objects; this name stands in for theirs), and
  `template_from_pod`, the template a surviving pod of a revision implies;
- pod predicates (`is_running_and_ready`, `is_running_and_available`, `is_unavailable`,
  `is_terminating`, `is_finished`) and `compute_status` (updateStatus plus
  completeRollingUpdate).

Rules: pure; tuples leave in template or ordinal order, never in map order. Time is `now`.

Must not know: component state, the driver, the apiserver.

Mirrors pkg/controller/statefulset/stateful_set_utils.go (getParentNameAndOrdinal,
identityMatches, storageMatches, getPersistentVolumeClaims, updateStorage, initIdentity,
updateIdentity, newStatefulSetPod, newVersionedStatefulSetPod, isClaimOwnerUpToDate,
updateClaimOwnerRefForSetAndPod, completeRollingUpdate), stateful_pod_control.go
(PodClaimIsStale) and stateful_set_control.go (computeReplicaStatus, updateStatus).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import attrs

from kcore.api.apps import (
    PersistentVolumeClaimRetentionPolicyType,
    StatefulSet,
    StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetStatus,
    StatefulSetUpdateStrategyType,
)
from kcore.api.core import PersistentVolumeClaim
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, OwnerReference, Time
from kcore.api.pod import (
    PersistentVolumeClaimVolumeSource,
    Pod,
    PodPhase,
    PodTemplateSpec,
    Volume,
)
from kcore.controllers.hashing import canonical_json, fnv32a, safe_encode
from kcore.controllers.podcontrol import (
    controller_ref,
    is_pod_available,
    is_pod_ready,
    pod_from_template,
)

POD_NAME_LABEL: Final = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL: Final = "apps.kubernetes.io/pod-index"
REVISION_LABEL: Final = "controller-revision-hash"

_ORDINAL_RE: Final = re.compile(r"(.*)-([0-9]+)$", re.DOTALL)
_INT32_MAX: Final = 2**31 - 1
RETAIN: Final = PersistentVolumeClaimRetentionPolicyType.RETAIN
DELETE: Final = PersistentVolumeClaimRetentionPolicyType.DELETE


# --- identity -------------------------------------------------------------------------------


def parent_and_ordinal(name: str) -> tuple[str, int]:
    """getParentNameAndOrdinal: ("", -1) unless `name` ends in `-<digits>` (an int32)."""
    m = _ORDINAL_RE.match(name)
    if m is None:
        return "", -1
    digits = m.group(2)
    ordinal = int(digits)
    return m.group(1), ordinal if ordinal <= _INT32_MAX else -1


def ordinal_of(pod: ApiObject) -> int:
    return parent_and_ordinal(pod.metadata.name)[1]


def is_member_of(sts: StatefulSet, pod: ApiObject) -> bool:
    """isMemberOf: the pod's name parses as `<set>-<ordinal>`."""
    return parent_and_ordinal(pod.metadata.name)[0] == sts.metadata.name


def start_ordinal(sts: StatefulSet) -> int:
    """getStartOrdinal: spec.ordinals.start, else 0."""
    return sts.spec.ordinals.start if sts.spec.ordinals is not None else 0


def in_ordinal_range(ordinal: int, sts: StatefulSet) -> bool:
    """podInOrdinalRange: start <= ordinal < start + replicas."""
    start = start_ordinal(sts)
    return start <= ordinal < start + sts.spec.replicas


def pod_name(sts: StatefulSet, ordinal: int) -> str:
    return f"{sts.metadata.name}-{ordinal}"


def claim_name(sts: StatefulSet, template: PersistentVolumeClaim, ordinal: int) -> str:
    return f"{template.metadata.name}-{sts.metadata.name}-{ordinal}"


def identity_matches(sts: StatefulSet, pod: Pod) -> bool:
    """identityMatches (with the PodIndexLabel gate on, as upstream's default)."""
    parent, ordinal = parent_and_ordinal(pod.metadata.name)
    labels = pod.metadata.labels
    return (
        ordinal >= 0
        and parent == sts.metadata.name
        and pod.metadata.namespace == sts.metadata.namespace
        and labels.get(POD_NAME_LABEL) == pod.metadata.name
        and labels.get(POD_INDEX_LABEL) == str(ordinal)
    )


def with_identity(sts: StatefulSet, pod: Pod) -> Pod:
    """updateIdentity: name, namespace, pod-name and pod-index labels from the ordinal."""
    ordinal = ordinal_of(pod)
    name = pod_name(sts, ordinal)
    labels = pod.metadata.labels.set(POD_NAME_LABEL, name).set(POD_INDEX_LABEL, str(ordinal))
    meta = attrs.evolve(pod.metadata, name=name, namespace=sts.metadata.namespace, labels=labels)
    return attrs.evolve(pod, metadata=meta)


def storage_matches(sts: StatefulSet, pod: Pod) -> bool:
    """storageMatches: every claim template has a volume naming this ordinal's claim."""
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.name: v for v in pod.spec.volumes}
    for template in sts.spec.volume_claim_templates:
        vol = volumes.get(template.metadata.name)
        if vol is None or vol.persistent_volume_claim is None:
            return False
        if vol.persistent_volume_claim.claim_name != claim_name(sts, template, ordinal):
            return False
    return True


def claims_for(sts: StatefulSet, ordinal: int) -> tuple[PersistentVolumeClaim, ...]:
    """getPersistentVolumeClaims: one claim per template, named for the ordinal, in the
    set's namespace, labelled with the template's labels plus the selector's matchLabels."""
    out: list[PersistentVolumeClaim] = []
    for template in sts.spec.volume_claim_templates:
        labels = template.metadata.labels.update(sts.spec.selector.match_labels)
        meta = ObjectMeta(
            name=claim_name(sts, template, ordinal),
            namespace=sts.metadata.namespace,
            labels=labels,
            annotations=template.metadata.annotations,
            finalizers=template.metadata.finalizers,
        )
        out.append(PersistentVolumeClaim(metadata=meta, spec=template.spec))
    return tuple(out)


def with_storage(sts: StatefulSet, pod: Pod) -> Pod:
    """updateStorage: the claim volumes first (in template order), then the pod's other
    volumes; a pod volume named like a claim template is replaced."""
    ordinal = ordinal_of(pod)
    names = {t.metadata.name for t in sts.spec.volume_claim_templates}
    claim_volumes = tuple(
        Volume(
            name=t.metadata.name,
            persistent_volume_claim=PersistentVolumeClaimVolumeSource(claim_name=claim_name(sts, t, ordinal)),
        )
        for t in sts.spec.volume_claim_templates
    )
    others = tuple(v for v in pod.spec.volumes if v.name not in names)
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, volumes=claim_volumes + others))


def new_stateful_pod(sts: StatefulSet, template: PodTemplateSpec, revision: str, ordinal: int) -> Pod:
    """newVersionedStatefulSetPod for the template and revision chosen by the caller."""
    pod = pod_from_template(template, sts)
    name = pod_name(sts, ordinal)
    pod = attrs.evolve(
        pod,
        metadata=attrs.evolve(pod.metadata, name=name, labels=pod.metadata.labels.set(REVISION_LABEL, revision)),
        spec=attrs.evolve(pod.spec, hostname=name, subdomain=sts.spec.service_name),
    )
    return with_storage(sts, with_identity(sts, pod))


# --- revisions ------------------------------------------------------------------------------


def revision_name(sts: StatefulSet, template: PodTemplateSpec, collision_count: int) -> str:
    """`<set>-<hash>`: kcore's stand-in for the ControllerRevision name of `template`."""
    data = canonical_json(template) + str(collision_count).encode()
    return f"{sts.metadata.name}-{safe_encode(str(fnv32a(data)))}"


def template_from_pod(sts: StatefulSet, pod: Pod) -> PodTemplateSpec:
    """The template a pod of some revision was stamped from, as far as the pod shows it:
    its labels without the per-pod ones, its annotations, finalizers and spec without the
    binding, the identity and the claim volumes."""
    labels = pod.metadata.labels.discard(POD_NAME_LABEL).discard(POD_INDEX_LABEL).discard(REVISION_LABEL)
    names = {t.metadata.name for t in sts.spec.volume_claim_templates}
    spec = attrs.evolve(
        pod.spec,
        node_name="",
        hostname="",
        subdomain="",
        volumes=tuple(v for v in pod.spec.volumes if v.name not in names),
    )
    meta = ObjectMeta(labels=labels, annotations=pod.metadata.annotations, finalizers=pod.metadata.finalizers)
    return PodTemplateSpec(metadata=meta, spec=spec)


# --- predicates -----------------------------------------------------------------------------


def is_running_and_ready(pod: Pod) -> bool:
    return pod.status.phase is PodPhase.RUNNING and is_pod_ready(pod)


def is_running_and_available(pod: Pod, min_ready_seconds: int, now: Time) -> bool:
    """isRunningAndAvailable: upstream checks IsPodAvailable only (which implies Ready)."""
    return is_pod_available(pod, min_ready_seconds, now)


def is_terminating(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is not None


def is_finished(pod: Pod) -> bool:
    """isFailed || isSucceeded: a pod the set deletes and recreates."""
    return pod.status.phase in (PodPhase.FAILED, PodPhase.SUCCEEDED)


def is_unavailable(pod: Pod | None, min_ready_seconds: int, now: Time) -> bool:
    """isUnavailable: not created yet, not healthy (running, ready, not terminating), or
    not available for minReadySeconds."""
    if pod is None:
        return True
    healthy = is_running_and_ready(pod) and not is_terminating(pod)
    return not healthy or not is_running_and_available(pod, min_ready_seconds, now)


def pod_revision(pod: Pod) -> str:
    return pod.metadata.labels.get(REVISION_LABEL, "")


# --- PVC retention --------------------------------------------------------------------------


def retention_policy(sts: StatefulSet) -> StatefulSetPersistentVolumeClaimRetentionPolicy:
    return sts.spec.persistent_volume_claim_retention_policy or StatefulSetPersistentVolumeClaimRetentionPolicy()


def _matches_ref(ref: OwnerReference, obj: ApiObject) -> bool:
    """matchesRef: same apiVersion, kind and name (the uid is not compared)."""
    info = obj.KIND.info
    return ref.api_version == info.api_version and ref.kind == obj.KIND.value and ref.name == obj.metadata.name


def _has_owner_ref(claim: PersistentVolumeClaim, owner: ApiObject) -> bool:
    uid = owner.metadata.uid
    return any(ref.uid == uid for ref in claim.metadata.owner_references)


def _has_stale_owner_ref(claim: PersistentVolumeClaim, owner: ApiObject) -> bool:
    for ref in claim.metadata.owner_references:
        if _matches_ref(ref, owner):
            return ref.uid != owner.metadata.uid
    return False


def _has_unexpected_controller(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> bool:
    policy = retention_policy(sts)
    if policy.when_scaled is RETAIN and policy.when_deleted is RETAIN:
        return False
    for ref in claim.metadata.owner_references:
        for ours in (sts, pod):
            if _matches_ref(ref, ours):
                if ref.uid != ours.metadata.uid:
                    return True
                break
        else:
            if ref.controller:
                return True
    return False


def _has_non_controller_owner(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> bool:
    uids = {sts.metadata.uid, pod.metadata.uid}
    return any(ref.uid in uids and not ref.controller for ref in claim.metadata.owner_references)


def claim_owners_up_to_date(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> bool:
    """isClaimOwnerUpToDate: the claim's ownerReferences agree with the retention policy
    (Retain/Retain: none of ours; whenDeleted=Delete: the set while the pod is in range;
    whenScaled=Delete: the pod once it is scaled down). Stale or foreign-controlled claims
    are left alone."""
    if _has_stale_owner_ref(claim, sts) or _has_stale_owner_ref(claim, pod):
        return True
    if _has_unexpected_controller(claim, sts, pod):
        return not (_has_owner_ref(claim, sts) or _has_owner_ref(claim, pod))
    if _has_non_controller_owner(claim, sts, pod):
        return False
    want_set, want_pod = _wanted_refs(sts, pod)
    return _has_owner_ref(claim, sts) == want_set and _has_owner_ref(claim, pod) == want_pod


def _wanted_refs(sts: StatefulSet, pod: Pod) -> tuple[bool, bool]:
    """(set ref, pod ref) the policy asks for on the claims of `pod`."""
    policy = retention_policy(sts)
    scaled_down = not in_ordinal_range(ordinal_of(pod), sts)
    if policy.when_scaled is DELETE and scaled_down:
        return False, True
    return policy.when_deleted is DELETE, False


def with_retention_refs(claim: PersistentVolumeClaim, sts: StatefulSet, pod: Pod) -> PersistentVolumeClaim:
    """updateClaimOwnerRefForSetAndPod: drop our refs, then add the controller refs the
    policy wants (none when another controller owns the claim)."""
    unexpected = _has_unexpected_controller(claim, sts, pod)
    refs = tuple(r for r in claim.metadata.owner_references if not (_matches_ref(r, sts) or _matches_ref(r, pod)))
    if not unexpected:
        want_set, want_pod = _wanted_refs(sts, pod)
        for wanted, owner in ((want_set, sts), (want_pod, pod)):
            if wanted and all(r.uid != owner.metadata.uid for r in refs):
                refs = (*refs, controller_ref(owner))
    return attrs.evolve(claim, metadata=attrs.evolve(claim.metadata, owner_references=refs))


def claim_is_stale(claim: PersistentVolumeClaim, pod_name_: str) -> bool:
    """PodClaimIsStale for a pod not created yet: the claim still names an earlier pod of
    this ordinal as its owner, so the garbage collector is about to delete it."""
    return any(
        ref.kind == Kind.POD.value and ref.api_version == Kind.POD.info.api_version and ref.name == pod_name_
        for ref in claim.metadata.owner_references
    )


# --- status ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Revisions:
    """The current and update revision of a set: names and the templates they stamp."""

    current: str
    current_template: PodTemplateSpec
    update: str
    update_template: PodTemplateSpec


def compute_status(
    sts: StatefulSet, pods: Iterable[Pod], revs: Revisions, current_delta: int, now: Time
) -> StatefulSetStatus:
    """updateStatus over the set's pods (valid ordinals only), `current_delta` for the pods
    this sync deleted for update, then completeRollingUpdate."""
    pods = tuple(pods)
    mrs = sts.spec.min_ready_seconds
    live = tuple(p for p in pods if not is_terminating(p))
    ready = sum(1 for p in pods if is_running_and_ready(p))
    updated = sum(1 for p in live if pod_revision(p) == revs.update)
    current = sum(1 for p in live if pod_revision(p) == revs.current) + current_delta
    current_revision = revs.current
    rolling = sts.spec.update_strategy.type is StatefulSetUpdateStrategyType.ROLLING_UPDATE
    if rolling and updated == len(pods) and ready == len(pods):
        current, current_revision = updated, revs.update
    return StatefulSetStatus(
        observed_generation=sts.metadata.generation,
        replicas=len(pods),
        ready_replicas=ready,
        current_replicas=current,
        updated_replicas=updated,
        current_revision=current_revision,
        update_revision=revs.update,
        collision_count=sts.status.collision_count or 0,
        conditions=sts.status.conditions,
        available_replicas=sum(1 for p in pods if is_running_and_ready(p) and is_running_and_available(p, mrs, now)),
    )


def sorted_by_ordinal(pods: Iterable[Pod]) -> tuple[Pod, ...]:
    return tuple(sorted(pods, key=lambda p: (ordinal_of(p), p.metadata.name)))


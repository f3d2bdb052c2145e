"""`kubectl rollout undo deployment/NAME [--to-revision N]` as a pure request builder.

Rules (kubectl's DeploymentRollbacker): the wanted ReplicaSet is the one of revision N,
or for 0 the newest revision before the current one; a paused Deployment, a missing
revision or no history answer a Failure `Status`; a template already equal to the
revision's (ignoring the pod-template-hash label) answers Success "skipped rollback".
Otherwise one JSON patch copies the revision's template (hash label dropped) and its
annotations (except the ones kubectl skips) into the Deployment.

Mirrors k8s.io/kubectl/pkg/polymorphichelpers/rollback.go (DeploymentRollbacker) and
deploymentutil.GetAllReplicaSets.
"""

from __future__ import annotations

import json

from kcore.api.apps import Deployment, ReplicaSet
from kcore.api.codec import to_dict
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status, StatusReason
from kcore.apiserver.errors import not_found
from kcore.component.requests import Patch, PatchType, Request
from kcore.controllers import deployment_util as du
from kcore.controllers.podcontrol import controller_of
from kcore.state import ClusterState, get, list_objects


def _failure(message: str, reason: StatusReason = StatusReason.BAD_REQUEST, code: int = 400) -> Status:
    return Status(message=message, reason=reason, code=code)


def _controlled_rss(view: ClusterState, d: Deployment) -> tuple[ReplicaSet, ...]:
    """deploymentutil.GetAllReplicaSets: the ReplicaSets `d` controls (sorted by name)."""
    out = []
    for rs in list_objects(view, Kind.REPLICA_SET, d.metadata.namespace):
        ref = controller_of(rs.metadata)
        if isinstance(rs, ReplicaSet) and ref is not None and ref.uid == d.metadata.uid:
            out.append(rs)
    return tuple(out)


def revision_replica_set(view: ClusterState, d: Deployment, to_revision: int) -> ReplicaSet | Status:
    """deploymentRevision: the ReplicaSet of `to_revision`, or of the previous one for 0."""
    latest: tuple[int, ReplicaSet | None] = (-1, None)
    previous: tuple[int, ReplicaSet | None] = (-1, None)
    for rs in _controlled_rss(view, d):
        v = du.revision(rs)
        if v is None:
            continue
        if to_revision == 0:
            if latest[0] < v:
                previous, latest = latest, (v, rs)
            elif previous[0] < v:
                previous = (v, rs)
        elif v == to_revision:
            return rs
    if to_revision > 0:
        return _failure(f"unable to find specified revision {to_revision} in history", StatusReason.NOT_FOUND, 404)
    if previous[1] is None:
        return _failure(f'no rollout history found for deployment "{d.metadata.name}"', StatusReason.NOT_FOUND, 404)
    return previous[1]


def rollback_request(view: ClusterState, deployment_key: ObjectKey, to_revision: int = 0) -> Request | Status:
    """`kubectl rollout undo`: the JSON patch that copies the wanted revision's template
    (hash label dropped) and annotations into the Deployment.

    A Status answers instead: Failure (not found, no such revision, paused deployment) or
    Success "skipped rollback (current template already matches revision N)".
    """
    d = get(view, deployment_key)
    if not isinstance(d, Deployment):
        return not_found(deployment_key)
    if to_revision < 0:
        return _failure(f"unable to find specified revision {to_revision} in history", StatusReason.NOT_FOUND, 404)
    rs = revision_replica_set(view, d, to_revision)
    if isinstance(rs, Status):
        return rs
    if d.spec.paused:
        return _failure(
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
        )
    if du.equal_ignore_hash(rs.spec.template, d.spec.template):
        message = f"skipped rollback (current template already matches revision {to_revision})"
        return Status(status="Success", message=message, code=200)
    annotations = {k: v for k, v in d.metadata.annotations.items() if k in du.ANNOTATIONS_TO_SKIP}
    annotations.update({k: v for k, v in rs.metadata.annotations.items() if k not in du.ANNOTATIONS_TO_SKIP})
    ops = [
        {"op": "replace", "path": "/spec/template", "value": to_dict(du.template_without_hash(rs.spec.template))},
        {"op": "add", "path": "/metadata/annotations", "value": dict(sorted(annotations.items()))},
    ]
    return Patch(key=deployment_key, patch_type=PatchType.JSON, patch=json.dumps(ops, sort_keys=True))

"""`kubectl apply`'s client side, pure: the last-applied annotation and the three-way merge.

Owns `LAST_APPLIED` (kubectl's last-applied-configuration annotation),
`with_last_applied(desired)` (the object as `apply` creates it) and
`merged_for_apply(current, desired)` (the object as `apply` updates it, in wire shape).
`Cluster.apply` sends what they return.

Rules: the annotation holds the applied manifest as compact JSON with sorted keys, without
its status and without the annotation itself. The merge takes the manifest over the live
object and drops what the last apply set and the manifest no longer has; fields neither
applied before nor in the manifest keep their live value (what the server or a controller
set: spec.clusterIP, spec.nodeName, annotations); lists of objects of equal length merge
element by element, other lists are replaced; the server-owned metadata stays the live
object's (ownerReferences and finalizers only when the manifest sets them).

Mirrors k8s.io/kubectl/pkg/util/apply.go (GetOriginalConfiguration,
CreateApplyAnnotation), k8s.io/kubectl/pkg/cmd/apply/patcher.go (the three-way merge of
strategicpatch.CreateThreeWayMergePatch, here without patch strategies) and
k8s.io/api/core/v1 LastAppliedConfigAnnotation.
"""

from __future__ import annotations

import json
from typing import Final

import attrs

from kcore.api.codec import JSONValue, to_dict
from kcore.api.meta import ApiObject

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"

_SERVER_OWNED_META: Final = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
)
_MANIFEST_MAY_SET: Final = frozenset({"ownerReferences", "finalizers"})


def _three_way(current: JSONValue, desired: JSONValue, original: JSONValue) -> JSONValue:
    """`desired` over `current`, dropping what the last apply (`original`) set and the
    manifest no longer has: kubectl's three-way merge, with lists of objects of equal
    length merged element by element and other lists replaced.

    Keys neither applied before nor in the manifest keep their live value (fields the
    server or a controller set: spec.clusterIP, spec.nodeName, annotations), and an empty
    string in the (defaulted) manifest does not wipe a live value.
    """
    if isinstance(current, dict) and isinstance(desired, dict):
        orig = original if isinstance(original, dict) else {}
        out = {k: v for k, v in current.items() if k in desired or k not in orig}
        for k, v in desired.items():
            out[k] = _three_way(current[k], v, orig.get(k)) if k in current else v
        return out
    if (
        isinstance(current, list)
        and isinstance(desired, list)
        and len(current) == len(desired)
        and all(isinstance(d, dict) for d in desired)
    ):
        origs = original if isinstance(original, list) and len(original) == len(desired) else [None] * len(desired)
        return [_three_way(c, d, o) for c, d, o in zip(current, desired, origs, strict=True)]
    if desired == "" and current != "":
        return current
    return desired


def _applied_config(desired: ApiObject) -> dict[str, JSONValue]:
    data = to_dict(desired)
    data.pop("status", None)
    meta = data.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                del meta["annotations"]
    return data


def with_last_applied(desired: ApiObject) -> ApiObject:
    """`desired` carrying kubectl's last-applied-configuration annotation (compact JSON)."""
    text = json.dumps(_applied_config(desired), sort_keys=True, separators=(",", ":")) + "\n"
    meta = desired.metadata
    new_meta = attrs.evolve(meta, annotations=meta.annotations.set(LAST_APPLIED, text))
    obj: ApiObject = attrs.evolve(desired, metadata=new_meta)  # type: ignore[misc]  # every kind is an attrs class
    return obj


def _last_applied(current: ApiObject) -> JSONValue:
    text = current.metadata.annotations.get(LAST_APPLIED)
    if text is None:
        return None
    try:
        loaded: JSONValue = json.loads(text)
    except ValueError:
        return None
    return loaded


def merged_for_apply(current: ApiObject, desired: ApiObject) -> dict[str, JSONValue]:
    """The object `apply` stores when `desired` meets the live `current` (wire shape)."""
    cur = to_dict(current)
    want = to_dict(with_last_applied(desired))
    want.pop("status", None)
    merged = _three_way(cur, want, _last_applied(current))
    assert isinstance(merged, dict)
    meta, cur_meta = merged.get("metadata"), cur.get("metadata")
    if isinstance(meta, dict) and isinstance(cur_meta, dict):
        for field in _SERVER_OWNED_META:
            manifest_wins = field in _MANIFEST_MAY_SET and field in want.get("metadata", {})  # type: ignore[operator]
            if field in cur_meta and not manifest_wins:
                meta[field] = cur_meta[field]
    return merged

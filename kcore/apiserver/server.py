"""`handle(state, request, now)`: the apiserver as one pure function.

Owns the dispatch of each request type: authorize (403 before anything else), then hand
the request to the registry (storage.py), the reads (listing.py), the subresources
(subresources.py) or the patch pipeline (to JSON, patch, back to a typed object, then the
update path). Returns the new state, the HTTP-shaped response and the watch events the
write produced; a rejected request returns the input state and no events.

Rules: the verbs and subresources given to the authorizer are upstream's RequestInfo
(get list watch create update patch delete; scale/status/binding/eviction); a create has
no name for authorization, as upstream's collection POST. A system:masters user skips
building them: `authorize` allows that group before looking at anything else.

Must not know: how objects are stored or versioned (storage.py, kcore.state).

Mirrors k8s.io/apiserver/pkg/endpoints/handlers (create.go, get.go, update.go, patch.go,
delete.go) and pkg/endpoints/filters/authorization.go.
"""

from __future__ import annotations

from typing import assert_never

from kcore.api.codec import CodecError, from_dict, to_dict
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status, Time
from kcore.api.user import UserInfo
from kcore.apiserver import errors
from kcore.apiserver.auth import MASTERS, authorize
from kcore.apiserver.listing import get_object, list_response
from kcore.apiserver.patch import PatchError, apply_patch
from kcore.apiserver.storage import (
    DeleteOptions,
    Outcome,
    create,
    delete,
    fail,
    prepare_update,
    update,
    write_update,
)
from kcore.apiserver.subresources import bind, evict, get_scale, update_scale
from kcore.component.requests import (
    Bind,
    Create,
    Delete,
    Evict,
    Get,
    GetScale,
    ListObjects,
    Patch,
    Request,
    Subresource,
    Update,
    UpdateScale,
)
from kcore.state import ClusterState, get
from kcore.util_validation import invalid as invalid_field


def handle(state: ClusterState, request: Request, now: Time) -> Outcome:
    """Serve one API request: (new state, response, watch events)."""
    # system:masters is allowed everything (authorize's first test): the request's
    # attributes (an ObjectKey, the kind's REST facts) are built only for RBAC users.
    if MASTERS not in request.user.groups:
        denied = authorize_request(state, request)
        if denied is not None:
            return fail(state, denied)
    match request:
        case Create(obj=obj):
            return create(state, obj, now)
        case Get(key=key):
            return state, get_object(state, key, now), ()
        case ListObjects(kind=kind, namespace=ns, label_selector=ls, field_selector=fs):
            return state, list_response(state, kind, ns, ls, fs, now), ()
        case Update(obj=obj, subresource=sub):
            if sub not in (Subresource.NONE, Subresource.STATUS):
                return fail(state, errors.method_not_allowed(f"update of {sub.value} is not supported"))
            if sub is Subresource.STATUS and not obj.KIND.info.has_status:
                return fail(state, errors.not_found(_key(obj.KIND, obj.metadata.namespace, obj.metadata.name)))
            return update(state, obj, sub, now)
        case Patch():
            return _patch(state, request, now)
        case Delete():
            options = DeleteOptions(
                propagation=request.propagation,
                grace_period_seconds=request.grace_period_seconds,
                precondition_uid=request.precondition_uid,
                precondition_resource_version=request.precondition_resource_version,
            )
            return delete(state, _scoped(request.key), options, now)
        case GetScale(key=key):
            return state, get_scale(state, key), ()
        case UpdateScale(key=key, replicas=replicas, resource_version=rv):
            return update_scale(state, key, replicas, rv, now)
        case Bind(key=key, node_name=node):
            return bind(state, key, node, now)
        case Evict(key=key, grace_period_seconds=grace):
            return evict(state, key, grace, now)
        case _:
            assert_never(request)


def _key(kind: Kind, namespace: str, name: str) -> ObjectKey:
    return ObjectKey(kind=kind, namespace=namespace if kind.info.namespaced else "", name=name)


def _scoped(key: ObjectKey) -> ObjectKey:
    return _key(key.kind, key.namespace, key.name)


def authorize_request(state: ClusterState, request: Request) -> Status | None:
    """RequestInfo of `request` checked by the authorizer; None = allowed."""
    verb, key, sub = _attributes(request)
    user: UserInfo = request.user
    return authorize(state, user, verb, key.kind, key.namespace, key.name, sub)


def _attributes(request: Request) -> tuple[str, ObjectKey, Subresource]:
    match request:
        case Create(obj=obj):
            return "create", _key(obj.KIND, obj.metadata.namespace, ""), Subresource.NONE
        case Get(key=key):
            return "get", _scoped(key), Subresource.NONE
        case ListObjects(kind=kind, namespace=ns):
            return "list", _key(kind, ns or "", ""), Subresource.NONE
        case Update(obj=obj, subresource=sub):
            return "update", _key(obj.KIND, obj.metadata.namespace, obj.metadata.name), sub
        case Patch(key=key, subresource=sub):
            return "patch", _scoped(key), sub
        case Delete(key=key):
            return "delete", _scoped(key), Subresource.NONE
        case GetScale(key=key):
            return "get", _scoped(key), Subresource.SCALE
        case UpdateScale(key=key):
            return "update", _scoped(key), Subresource.SCALE
        case Bind(key=key):
            return "create", _scoped(key), Subresource.BINDING
        case Evict(key=key):
            return "create", _scoped(key), Subresource.EVICTION
        case _:
            assert_never(request)


def _patch(state: ClusterState, request: Patch, now: Time) -> Outcome:
    """PATCH: the stored object as JSON, patched, decoded, then the update path."""
    key = _scoped(request.key)
    sub = request.subresource
    if sub not in (Subresource.NONE, Subresource.STATUS):
        return fail(state, errors.method_not_allowed(f"patch of {sub.value} is not supported"))
    if sub is Subresource.STATUS and not key.kind.info.has_status:
        return fail(state, errors.not_found(key))
    old = get(state, key)
    if old is None:
        return fail(state, errors.not_found(key))
    try:
        data = apply_patch(key.kind, to_dict(old), request.patch_type, request.patch)
    except PatchError as e:
        if e.code == 422:
            return fail(state, errors.invalid(key.kind, key.name, (invalid_field("patch", request.patch, e.message),)))
        return fail(state, errors.bad_request(e.message))
    try:
        new = from_dict(data, kind=key.kind).obj
    except CodecError as e:
        path = e.path or "patch"
        return fail(state, errors.invalid(key.kind, key.name, (invalid_field(path, request.patch, e.detail),)))
    m = new.metadata
    if m.name != key.name or (key.kind.info.namespaced and m.namespace != key.namespace):
        return fail(
            state,
            errors.bad_request(
                f"the name of the object ({m.name}) does not match the name on the URL ({key.name})"
            ),
        )
    if m.resource_version and m.resource_version != old.metadata.resource_version:
        return fail(state, errors.stale(key))
    if m.uid and m.uid != old.metadata.uid:
        why = f"Precondition failed: UID in precondition: {m.uid}, UID in object meta: {old.metadata.uid}"
        return fail(state, errors.conflict(key, why))
    return write_update(state, old, prepare_update(old, apply_defaults(new), sub), now)

"""The generic registry: create, update and delete semantics for every kind.

Owns what upstream's generic `Store` and the per-kind REST strategies decide once a
request is authorized: names (generateName), uids, creationTimestamp, generation, the
resourceVersion (the new global revision), optimistic concurrency, the main resource vs
the /status subresource, no-op updates, graceful deletion, finalizers and deletion
propagation. Every write that changes the state produces exactly one watch event at one
new revision; a rejected or no-op request returns the input state and no event.

Rules:
- Work only on typed objects: no codec on the create/update path.
- Defaulting and admission (`kcore.apiserver.admission.admit`) run on every create and on
  every update that changes something; admission may return a changed object (LimitRange
  defaults, allocated ClusterIPs), which is what is stored.
- Deletion (k8s.io/apiserver/pkg/registry/rest/delete.go BeforeDelete and store.go
  Delete/updateForGracefulDeletionAndFinalizers): only pods delete gracefully; the
  propagation policy becomes the `orphan`/`foregroundDeletion` finalizers; an object with
  finalizers gets deletionTimestamp (grace 0) and stays until an update removes the last
  one; a second delete may only shorten a pending grace period. kcore writes one DELETED
  event where upstream writes a MODIFIED then a DELETED for a graceless pod delete.

Must not know: request dispatch and authorization (server.py), patch formats, the
watch log's layout (kcore.state).

Mirrors k8s.io/apiserver/pkg/registry/generic/registry/store.go, pkg/registry/rest
(create.go, update.go, delete.go) and the PrepareForCreate/PrepareForUpdate strategies of
pkg/registry/*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import attrs

from kcore.api.batch import Job, generate_selector
from kcore.api.core import Namespace, NamespacePhase, NamespaceStatus
from kcore.api.defaults import apply_defaults
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    ApiObject,
    ObjectMeta,
    Status,
    Time,
    evolver,
)
from kcore.api.pod import Pod, PodPhase
from kcore.api.registry import CLASSES, defaulter_for
from kcore.api.watch import WatchEvent, WatchType
from kcore.apiserver import errors
from kcore.apiserver.admission import Operation, admit
from kcore.apiserver.naming import generated_name, uid_for
from kcore.component.requests import PropagationPolicy, Response, Subresource
from kcore.state import ClusterState, exists, get, key_of, lookup, put, record, remove

Outcome = tuple[ClusterState, Response, tuple[WatchEvent, ...]]

_GENERATE_ATTEMPTS: Final = 8
_BLANK_POD_STATUS: Final = Pod().status  # the default instance: `is` finds most new pods
# attrs.evolve for what every write copies (see `kcore.api.meta.evolver`).
_EVOLVE_META: Final = evolver(ObjectMeta)
_EVOLVE_POD: Final = evolver(Pod)


def _compared_fields(cls: type) -> tuple[str, ...] | None:
    """The fields attrs' `__eq__` compares for `cls`, or None if it compares any through an
    `eq_key` (then only `==` itself gives the same answer)."""
    fields = attrs.fields(cls)
    if any(f.eq and f.eq_key is not None for f in fields):
        return None
    return tuple(f.name for f in fields if f.eq)


# Built once at import for every kind's class (constants, not a cache filled at run time).
_COMPARED: Final[dict[type, tuple[str, ...] | None]] = {
    cls: _compared_fields(cls) for cls in CLASSES.values()
}
_SPEC_COMPARED: Final[dict[type, tuple[str, ...] | None]] = {
    cls: None if names is None else tuple(n for n in names if n not in ("metadata", "status"))
    for cls, names in _COMPARED.items()
}


def _fields_equal(a: object, b: object, names: tuple[str, ...]) -> bool:
    for name in names:
        x = getattr(a, name)
        y = getattr(b, name)
        if x is not y and x != y:
            return False
    return True


def same_object(a: ApiObject, b: ApiObject) -> bool:
    """`a == b`, each field compared by identity first.

    attrs' generated `__eq__` compares every field with `==`, which walks a whole PodSpec
    even when both objects hold the very same one (an update keeps the stored spec, a
    /status update the stored metadata too).
    """
    if type(a) is not type(b):
        return False
    names = _COMPARED.get(type(a))
    return a == b if names is None else _fields_equal(a, b, names)


def fail(state: ClusterState, status: Status) -> Outcome:
    """A rejected request: the state unchanged, the Status as the body, no event."""
    return state, Response(code=status.code, body=status), ()


# Every kind's generated evolve (`kcore.api.meta.evolver`), built once at import: the
# metadata and status copies of every write, e.g. an Event's, skip attrs.evolve's lookups.
_EVOLVE_KIND: Final[dict[type, Callable[..., ApiObject]]] = {
    cls: evolver(cls) for cls in CLASSES.values()
}


def with_meta(obj: ApiObject, meta: ObjectMeta) -> ApiObject:
    """`obj` with its metadata replaced."""
    if type(obj) is Pod:  # the hot kind: its generated evolve
        return _EVOLVE_POD(obj, metadata=meta)
    try:
        evolve = _EVOLVE_KIND[type(obj)]
    except KeyError:  # not a registered kind's class
        return attrs.evolve(obj, metadata=meta)  # type: ignore[misc]  # every kind is an attrs class
    return evolve(obj, metadata=meta)


def whole_seconds(now: Time) -> Time:
    """Timestamps are stored with the wire's precision (RFC 3339 seconds)."""
    return Time(float(int(now)))


def commit(
    state: ClusterState, obj: ApiObject, change: WatchType, generation: int | None = None
) -> tuple[ClusterState, ApiObject, WatchEvent]:
    """Store `obj` at the next revision (ADDED or MODIFIED) and log its watch event;
    `generation`, when given, is stamped with the revision (one metadata copy)."""
    rev = state.revision + 1
    stored = obj
    m = obj.metadata
    if generation is not None and generation != m.generation:
        stored = with_meta(obj, _EVOLVE_META(m, resource_version=rev, generation=generation))
    elif m.resource_version != rev:  # a create stamps it already
        stored = with_meta(obj, _EVOLVE_META(m, resource_version=rev))
    event = WatchEvent(type=change, obj=stored, resource_version=rev)
    return put(state, stored, (event,)), stored, event


def commit_delete(state: ClusterState, obj: ApiObject) -> tuple[ClusterState, ApiObject, WatchEvent]:
    """Remove `obj` at the next revision; the DELETED event carries it at that revision."""
    rev = state.revision + 1
    final = with_meta(obj, attrs.evolve(obj.metadata, resource_version=rev))
    event = WatchEvent(type=WatchType.DELETED, obj=final, resource_version=rev)
    return record(remove(state, key_of(obj)), (event,)), final, event


def scoped_key(obj: ApiObject) -> ObjectKey | Status:
    """The key `obj` is stored under: namespaced kinds need a namespace, others have none."""
    kind = obj.KIND
    m = obj.metadata
    if not kind.info.namespaced:
        return ObjectKey(kind=kind, namespace="", name=m.name)
    if not m.namespace:
        return errors.bad_request("namespace is required")
    return ObjectKey(kind=kind, namespace=m.namespace, name=m.name)


# --- create ----------------------------------------------------------------------------------


def create(state: ClusterState, obj: ApiObject, now: Time) -> Outcome:
    """POST: default, name, stamp, admit, store at a new revision; 201 with the object."""
    key = scoped_key(obj)
    if isinstance(key, Status):
        return fail(state, key)
    rev = state.revision + 1
    seed = state.config.seed
    obj = apply_defaults(_without_pod_status(obj))
    m = obj.metadata
    name = m.name
    if not name and m.generate_name:
        name = _free_name(state, key, seed, rev, m.generate_name)
    meta = _EVOLVE_META(
        m,
        name=name,
        namespace=key.namespace,
        uid=uid_for(seed, rev),
        resource_version=rev,
        generation=1,
        creation_timestamp=whole_seconds(now),
        deletion_timestamp=None,
        deletion_grace_period_seconds=None,
    )
    obj = _prepare_for_create(with_meta(obj, meta))
    admitted = admit(state, Operation.CREATE, obj, None, now)
    if isinstance(admitted, Status):
        return fail(state, admitted)
    obj = admitted.obj
    key = key_of(obj)
    if exists(state, key):
        return fail(state, errors.already_exists(key))
    state, stored, event = commit(state, obj, WatchType.ADDED)
    return state, Response(code=201, body=stored), (event,)


def _free_name(state: ClusterState, key: ObjectKey, seed: int, rev: int, base: str) -> str:
    # Upstream retries a taken generated name a few times before giving up; so does kcore,
    # with each attempt a different hash so the answer stays a function of the inputs.
    name = generated_name(seed, rev, base)
    for attempt in range(1, _GENERATE_ATTEMPTS):
        if get(state, attrs.evolve(key, name=name)) is None:
            break
        name = generated_name(seed, rev, base, attempt)
    return name


def _without_pod_status(obj: ApiObject) -> ApiObject:
    """A new pod's status is the pod strategy's, never the user's: dropped before
    defaulting, so `default_pod` computes the phase (Pending) and the QoS class once."""
    if not isinstance(obj, Pod) or obj.status is _BLANK_POD_STATUS or obj.status == _BLANK_POD_STATUS:
        return obj
    return attrs.evolve(obj, status=_BLANK_POD_STATUS)


def _prepare_for_create(obj: ApiObject) -> ApiObject:
    """The strategies' PrepareForCreate: users cannot create status (Nodes excepted); a
    Job gets its generated selector once it has a uid (pkg/registry/batch/job/strategy.go).
    A pod's status was reset before defaulting (`_without_pod_status`)."""
    if type(obj) is Pod:
        return obj
    if isinstance(obj, Job):
        obj = generate_selector(obj)
    if not obj.KIND.info.has_status or obj.KIND is Kind.NODE or not has_status_field(obj):
        return obj
    if isinstance(obj, Pod):
        return obj
    if isinstance(obj, Namespace):
        return attrs.evolve(obj, status=NamespaceStatus(phase=NamespacePhase.ACTIVE))
    blank = type(obj.status)()  # type: ignore[attr-defined]  # checked above; statuses default every field
    return attrs.evolve(obj, status=blank)  # type: ignore[misc]  # every kind is an attrs class


def has_status_field(obj: ApiObject) -> bool:
    return hasattr(obj, "status")


# --- update ----------------------------------------------------------------------------------


def update(state: ClusterState, obj: ApiObject, subresource: Subresource, now: Time) -> Outcome:
    """PUT of the main resource or of /status, with optimistic concurrency.

    The stored object is looked up by (kind, namespace, name) without an `ObjectKey`,
    which only the error answers need (`scoped_key` gives the same key and errors).
    """
    m = obj.metadata
    kind = obj.KIND
    try:
        namespaced = _NAMESPACED[type(obj)]
    except KeyError:  # not a registered kind's class
        namespaced = kind.info.namespaced
    if namespaced and not m.namespace:
        return fail(state, errors.bad_request("namespace is required"))
    old = lookup(state, kind, m.namespace if namespaced else "", m.name)
    if old is None:
        return fail(state, errors.not_found(_scoped(obj, namespaced)))
    om = old.metadata
    if m.resource_version and m.resource_version != om.resource_version:
        return fail(state, errors.stale(_scoped(obj, namespaced)))
    if m.uid and m.uid != om.uid:
        return fail(
            state,
            errors.conflict(
                _scoped(obj, namespaced),
                f"Precondition failed: UID in precondition: {m.uid}, UID in object meta: {om.uid}",
            ),
        )
    return write_update(state, old, prepare_update(old, _defaulted(obj, old, subresource), subresource), now)


def _scoped(obj: ApiObject, namespaced: bool) -> ObjectKey:
    m = obj.metadata
    return ObjectKey(kind=obj.KIND, namespace=m.namespace if namespaced else "", name=m.name)


# Each kind's class: whether it is namespaced, and its group's defaulting (as
# `apply_defaults` finds it through `kind_of`), built once at import.
_NAMESPACED: Final[dict[type, bool]] = {cls: kind.info.namespaced for kind, cls in CLASSES.items()}
_DEFAULTER: Final[dict[type, Callable[[ApiObject], ApiObject]]] = {
    cls: defaulter_for(kind) for kind, cls in CLASSES.items() if getattr(cls, "KIND", None) is kind
}


def defaults_of(obj: ApiObject) -> ApiObject:
    """`apply_defaults(obj)`: the defaulter found by the object's class in one lookup."""
    try:
        default = _DEFAULTER[type(obj)]
    except KeyError:  # not a registered kind's class: apply_defaults says so
        return apply_defaults(obj)
    return default(obj)


def _defaulted(obj: ApiObject, old: ApiObject, subresource: Subresource) -> ApiObject:
    """The update's object with its kind's defaults.

    A pod that carries the stored spec value itself (a label, annotation or status write)
    skips them: the stored spec is already defaulted, a main-resource update keeps the
    stored status, and a /status update takes only a status that needs no defaults.
    """
    if isinstance(obj, Pod) and isinstance(old, Pod) and obj.spec is old.spec:
        if subresource is Subresource.NONE:
            return obj
        if subresource is Subresource.STATUS and obj.status.phase and obj.status.qos_class:
            return obj
    return defaults_of(obj)


def prepare_update(old: ApiObject, new: ApiObject, subresource: Subresource) -> ApiObject:
    """What the request may change: /status only the status, the main resource all but it.

    Fields the server owns (uid, creationTimestamp, deletion stamps, generateName,
    generation) are kept from the stored object.
    """
    if subresource is Subresource.STATUS:
        if type(old) is Pod and isinstance(new, Pod):  # the hot kind: its generated evolve
            return _EVOLVE_POD(old, status=new.status)
        if not has_status_field(old):
            return old
        return attrs.evolve(old, status=new.status)  # type: ignore[attr-defined, misc]  # checked above
    om = old.metadata
    nm = new.metadata
    if not _keeps_server_owned(nm, om):  # a client echoing the stored values copies nothing
        meta = _EVOLVE_META(
            nm,
            namespace=om.namespace,
            uid=om.uid,
            resource_version=om.resource_version,
            creation_timestamp=om.creation_timestamp,
            deletion_timestamp=om.deletion_timestamp,
            deletion_grace_period_seconds=om.deletion_grace_period_seconds,
            generate_name=om.generate_name,
            generation=om.generation,
        )
        new = with_meta(new, meta)
    if old.KIND.info.has_status and has_status_field(old):
        new = attrs.evolve(new, status=old.status)  # type: ignore[attr-defined, misc]  # checked above
    # A Namespace's spec.finalizers change only through the namespace controller's
    # finalize step, which kcore folds into updates of a terminating namespace.
    live = old.metadata.deletion_timestamp is None
    if isinstance(old, Namespace) and isinstance(new, Namespace) and live:
        new = attrs.evolve(new, spec=old.spec)
    return new


_SERVER_OWNED: Final = (
    "namespace",
    "uid",
    "resource_version",
    "creation_timestamp",
    "deletion_timestamp",
    "deletion_grace_period_seconds",
    "generate_name",
    "generation",
)
"""The metadata fields an update keeps from the stored object (`prepare_update`)."""


def _keeps_server_owned(new: ObjectMeta, old: ObjectMeta) -> bool:
    """Whether `new` already holds the stored values of every server-owned field, so that
    copying them over gives an equal ObjectMeta. The same type is required besides `==`
    (`True == 1`, `1.0 == 1`): the stored value must be the very one a copy would hold."""
    if new is old:
        return True
    for name in _SERVER_OWNED:
        x = getattr(new, name)
        y = getattr(old, name)
        if x is not y and (type(x) is not type(y) or x != y):
            return False
    return True


def write_update(state: ClusterState, old: ApiObject, new: ApiObject, now: Time) -> Outcome:
    """Store a prepared update: no-op, admit, bump generation, commit or finish a delete.

    A spec change cannot be a no-op (the spec differs), so only an unchanged spec checks
    the admitted object against the stored one again; the bumped generation and the new
    resourceVersion are stamped with one metadata copy.
    """
    if same_object(new, old):
        return state, Response(code=200, body=old), ()
    admitted = admit(state, Operation.UPDATE, new, old, now)
    if isinstance(admitted, Status):
        return fail(state, admitted)
    new = admitted.obj
    generation: int | None = None
    if spec_changed(old, new):
        generation = old.metadata.generation + 1
    elif same_object(new, old):
        return state, Response(code=200, body=old), ()
    nm = new.metadata
    if (
        nm.deletion_timestamp is not None
        and nm.deletion_grace_period_seconds in (None, 0)
        and not pending_finalizers(new)
    ):
        if generation is not None:
            new = with_meta(new, _EVOLVE_META(nm, generation=generation))
        state, final, event = commit_delete(state, new)
        return state, Response(code=200, body=final), (event,)
    state, stored, event = commit(state, new, WatchType.MODIFIED, generation)
    return state, Response(code=200, body=stored), (event,)


def spec_changed(old: ApiObject, new: ApiObject) -> bool:
    """Whether anything but metadata and status differs: what bumps metadata.generation."""
    if type(old) is not type(new):
        return True
    names = _SPEC_COMPARED.get(type(old))
    if names is not None:
        return not _fields_equal(old, new, names)
    aligned = with_meta(new, old.metadata)
    if has_status_field(old):
        aligned = attrs.evolve(aligned, status=old.status)  # type: ignore[attr-defined, misc]  # checked above
    return aligned != old


def pending_finalizers(obj: ApiObject) -> bool:
    """Finalizers that keep a deleted object stored (a Namespace's spec ones too)."""
    if obj.metadata.finalizers:
        return True
    return isinstance(obj, Namespace) and bool(obj.spec.finalizers)


# --- delete ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DeleteOptions:
    propagation: PropagationPolicy | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str = ""
    precondition_resource_version: int = 0


def delete(state: ClusterState, key: ObjectKey, options: DeleteOptions, now: Time) -> Outcome:
    """DELETE: preconditions, graceful deletion, finalizers; 200 with the object or Success."""
    obj = get(state, key)
    if obj is None:
        return fail(state, errors.not_found(key))
    m = obj.metadata
    if options.precondition_uid and options.precondition_uid != m.uid:
        why = f"Precondition failed: UID in precondition: {options.precondition_uid}, UID in object meta: {m.uid}"
        return fail(state, errors.conflict(key, why))
    want_rv = options.precondition_resource_version
    if want_rv and want_rv != m.resource_version:
        why = (
            f"Precondition failed: ResourceVersion in precondition: {want_rv}, "
            f"ResourceVersion in object meta: {m.resource_version}"
        )
        return fail(state, errors.conflict(key, why))
    # Delete admission sees the stored object as both object and old object.
    admitted = admit(state, Operation.DELETE, obj, obj, now)
    if isinstance(admitted, Status):
        return fail(state, admitted)
    marked = _before_delete(obj, options.grace_period_seconds, now)
    if marked is None:  # a graceful deletion is already pending: nothing to change
        return state, Response(code=200, body=obj), ()
    graceful, obj = marked
    obj = with_meta(obj, attrs.evolve(obj.metadata, finalizers=_gc_finalizers(obj.metadata, options.propagation)))
    grace = obj.metadata.deletion_grace_period_seconds or 0
    if pending_finalizers(obj) or (graceful and grace > 0):
        if not graceful:
            obj = _mark_as_deleting(obj, now)
        if obj == get(state, key):
            return state, Response(code=200, body=obj), ()
        state, stored, event = commit(state, obj, WatchType.MODIFIED)
        return state, Response(code=200, body=stored), (event,)
    state, final, event = commit_delete(state, obj)
    return state, Response(code=200, body=errors.success(key.kind, key.name, final.metadata.uid)), (event,)


def _before_delete(obj: ApiObject, grace: int | None, now: Time) -> tuple[bool, ApiObject] | None:
    """rest.BeforeDelete: (graceful, object with deletion stamps), None when already pending."""
    m = obj.metadata
    if m.deletion_timestamp is not None:
        current = m.deletion_grace_period_seconds
        if not current:
            return False, obj
        if grace is None or grace >= current:
            return None
        ts = Time(m.deletion_timestamp - current + grace)
        return True, with_meta(obj, attrs.evolve(m, deletion_timestamp=ts, deletion_grace_period_seconds=grace))
    if not isinstance(obj, Pod):
        return False, obj
    period = grace if grace is not None else obj.spec.termination_grace_period_seconds
    if not obj.spec.node_name or obj.status.phase in (PodPhase.FAILED, PodPhase.SUCCEEDED):
        period = 0  # nothing runs it, or nothing runs any more: no one to wait for
    period = max(period, 0)
    meta = attrs.evolve(
        m,
        deletion_timestamp=Time(whole_seconds(now) + period),
        deletion_grace_period_seconds=period,
        generation=m.generation + 1 if m.generation > 0 else m.generation,
    )
    return True, with_meta(obj, meta)


def _gc_finalizers(m: ObjectMeta, policy: PropagationPolicy | None) -> tuple[str, ...]:
    """deletionFinalizersForGarbageCollection: the propagation policy as finalizers."""
    if policy is None:
        return m.finalizers  # an existing orphan/foreground finalizer stands
    kept = tuple(f for f in m.finalizers if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND))
    if policy is PropagationPolicy.ORPHAN:
        return (*kept, FINALIZER_ORPHAN)
    if policy is PropagationPolicy.FOREGROUND:
        return (*kept, FINALIZER_FOREGROUND)
    return kept


def _mark_as_deleting(obj: ApiObject, now: Time) -> ApiObject:
    """markAsDeleting: deletionTimestamp (kept if set) and a zero grace period."""
    m = obj.metadata
    ts = m.deletion_timestamp if m.deletion_timestamp is not None else whole_seconds(now)
    obj = with_meta(obj, attrs.evolve(m, deletion_timestamp=ts, deletion_grace_period_seconds=0))
    if isinstance(obj, Namespace):
        obj = attrs.evolve(obj, status=attrs.evolve(obj.status, phase=NamespacePhase.TERMINATING))
    return obj

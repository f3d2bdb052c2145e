"""The garbage collector: ownerReferences as a graph, deletion propagated along it.

Owns `GarbageCollector` (component "garbage-collector-controller") and its pure `sync`.

Theory of operation (level-triggered; read pkg/controller/garbagecollector/garbagecollector.go):
- Every object with ownerReferences is checked whenever it or one of its owners changes.
  Each reference is *solid* (the owner exists with that uid and is not waiting for its
  dependents), *dangling* (no object of that kind/name with that uid) or *waiting* (the
  owner is being deleted in the foreground).
- attemptToDeleteItem: with a solid owner, dangling and waiting references are removed;
  with none, the dependent is deleted: in the foreground when an owner waits for it and
  it has dependents of its own, else as its own finalizers say (Background by default).
- An owner deleted with propagationPolicy=Orphan carries the `orphan` finalizer: its
  dependents lose their references to it, then the finalizer goes (orphanDependents).
- An owner deleted in the Foreground carries `foregroundDeletion`: its dependents are
  deleted (themselves in the foreground), and the finalizer goes once no dependent with
  blockOwnerDeletion=true remains (processDeletingDependentsItem).
- Background deletion needs nothing here but the first rule: the owner is gone at once
  and its dependents' references dangle.

Rules: one request in flight per key (in-flight keys wait for their answer), tagged
with that key; a failed write (Conflict, NotFound) re-syncs the key from the view; keys
sync in sorted order. Every answer re-syncs its key at the next `Timer.RETRY` (its watch event may have come
while the key was in flight). For settling (`workqueue.resync_after_answer`) that timer
is in motion after a success or a first failure (a cascade in progress), merely
scheduled after the same key failed again (`failures`); a merely scheduled one never
covers one in motion.
Writes carry no resourceVersion, as upstream's: a reference is removed by a strategic
merge patch deleting it by uid (GenerateDeleteOwnerRefStrategicMergeBytes), a finalizer
by `$deleteFromPrimitiveList/finalizers` (upstream: a merge patch of the list read with
a fresh GET), both with the object's uid as a precondition; deletes carry the uid too.
So a view whose copy of an object lags in fields the collector does not read (status)
never makes a write conflict.

Watch filter (`wants`, upstream's graph builder: processGraphChanges only acts on an
update when `referencesDiffs`, `deletionStartsWithFinalizer` or
`beingDeletedWithFinalizers`/`hasDeleteDependentsFinalizer` change): every DELETED event
(its dependents' references now dangle), an ADDED event of an object with
ownerReferences or a deletionTimestamp (an ownerless new object has nothing to sync, and
no dependent can name its fresh uid before it exists), and a MODIFIED event whose uid, ownerReferences, deletionTimestamp or
finalizers differ from the old object's (or whose old object is unknown). Every field
`sync` reads (at an event, an answer or the retry timer) is one of those, so the view
is always current for it; a status write, a label change or a Lease renewal is skipped.

Must not know: any particular workload kind. Mirrors garbagecollector.go and graph.go,
without the graph cache: the view's `dependents_by_owner_uid` index is the graph.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey, UnknownKindError, kind_for_gvk
from kcore.api.meta import (
    FINALIZER_FOREGROUND,
    FINALIZER_ORPHAN,
    ApiObject,
    OwnerReference,
    Time,
    evolver,
)
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.component.requests import Delete, Patch, PatchType, PropagationPolicy, Request
from kcore.component.workqueue import Wake, resync_after_answer
from kcore.state import ClusterState, dependents, get, list_objects

NAME: Final = "garbage-collector-controller"
RETRY_AFTER: Final = 1.0  # seconds before a failed write is tried again
_WATCHED: Final = frozenset(k for k in Kind if k is not Kind.EVENT)


class Timer(enum.Enum):
    """The collector's one timer: sync the answered writes' keys again."""

    RETRY = "retry"


@attrs.frozen(kw_only=True)
class GCState:
    view: ClusterState
    in_flight: PSet[ObjectKey] = pset()  # a request for this key awaits its answer
    retry: PSet[ObjectKey] = pset()  # answered writes, synced again at the next `Timer.RETRY`
    retry_wake: Wake | None = None  # the `Timer.RETRY` pending
    failures: PMap[ObjectKey, int] = pmap()  # consecutive failed writes per key


_evolve = evolver(GCState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen
class GarbageCollector:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # garbagecollector.go's recorder
    watches: frozenset[Kind] = _WATCHED

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): no update that leaves the graph as it was."""
        match event.type:
            case WatchType.ADDED:
                m = event.obj.metadata
                return bool(m.owner_references) or m.deletion_timestamp is not None
            case WatchType.MODIFIED:
                return old is None or _graph_changed(old, event.obj)
            case _:
                return True

    def init(self, view: ClusterState, now: Time) -> tuple[GCState, tuple[Effect, ...]]:
        return GCState(view=view), ()

    def step(self, s: GCState, ev: Event) -> tuple[GCState, tuple[Effect, ...]]:
        match ev:
            case Started() | Resynced():
                if isinstance(ev, Resynced):
                    s = attrs.evolve(s, view=ev.view, in_flight=pset())
                return _sync_keys(s, _all_interesting(s.view))
            case WatchDelivered(event=w):
                old = get(s.view, w.key)
                s = _evolve(s, view=follow(s.view, ev))
                if w.type is WatchType.MODIFIED and old is not None and not _graph_changed(old, w.obj):
                    # a Lease renewal, a status write: no edge of the graph and no deletion
                    # state moved, so no sync can decide anything new (upstream's
                    # processGraphChanges ignores such updates too); failed writes are
                    # retried by the retry timer, not by unrelated events
                    return s, ()
                keys = {w.key, *dependents(s.view, w.obj.metadata.uid)}
                keys.update(_owner_keys(w.obj))  # a foreground owner waits on this one
                if old is not None:
                    keys.update(_owner_keys(old))
                if w.type is WatchType.DELETED:
                    keys.discard(w.key)
                return _sync_keys(s, keys)
            case ApiAnswered(tag=ObjectKey() as key):
                # success or not, look again once the write's own watch event is in the view
                at = Time(ev.now + RETRY_AFTER)
                failures, pending, wake = resync_after_answer(s.failures, key, ev.response.ok, s.retry_wake, at, Timer.RETRY)
                s = attrs.evolve(
                    s, in_flight=s.in_flight.discard(key), retry=s.retry.add(key), retry_wake=pending, failures=failures
                )
                return s, wake
            case TimerFired(key=Timer.RETRY):
                keys = set(s.retry)
                return _sync_keys(attrs.evolve(s, retry=pset(), retry_wake=None), keys)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def _graph_changed(old: ApiObject, new: ApiObject) -> bool:
    """Whether an update touches what the collector decides on: identity, owner
    references, deletion state, finalizers."""
    a, b = old.metadata, new.metadata
    return (
        a.uid != b.uid
        or a.owner_references != b.owner_references
        or a.deletion_timestamp != b.deletion_timestamp
        or a.finalizers != b.finalizers
    )


def _all_interesting(view: ClusterState) -> set[ObjectKey]:
    keys: set[ObjectKey] = set()
    for kind in sorted(_WATCHED, key=lambda k: k.value):
        for obj in list_objects(view, kind):
            m = obj.metadata
            if m.owner_references or (m.deletion_timestamp is not None and _gc_finalizer(m.finalizers)):
                keys.add(ObjectKey(kind=kind, namespace=m.namespace, name=m.name))
    return keys


def _gc_finalizer(finalizers: Sequence[str]) -> bool:
    return FINALIZER_ORPHAN in finalizers or FINALIZER_FOREGROUND in finalizers


def _sync_keys(s: GCState, keys: set[ObjectKey]) -> tuple[GCState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for key in sorted(keys):
        if key in s.in_flight:
            continue
        req = sync(s.view, key)
        if req is None:
            if key in s.failures:  # at rest: nothing left to retry
                s = attrs.evolve(s, failures=s.failures.discard(key))
            continue
        s = attrs.evolve(s, in_flight=s.in_flight.add(key))
        effects.append(CallApi(request=req, tag=key))
    return s, tuple(effects)


# --- the decision -------------------------------------------------------------------------


def sync(view: ClusterState, key: ObjectKey) -> Request | None:
    """The one write the collector makes for `key` now, or None when it is at rest."""
    obj = get(view, key)
    if obj is None:
        return None
    m = obj.metadata
    if m.deletion_timestamp is not None:
        if FINALIZER_ORPHAN in m.finalizers:
            return _orphan_dependents(view, obj)
        if FINALIZER_FOREGROUND in m.finalizers:
            return _delete_dependents(view, obj)
        return None  # being deleted already: nothing to add
    if not m.owner_references:
        return None
    solid, dangling, waiting = _classify(view, obj)
    if solid:
        gone = {r.uid for r in (*dangling, *waiting)}
        if not gone:
            return None
        return _without_refs(obj, gone)
    if waiting and dependents(view, m.uid):
        return _delete(obj, PropagationPolicy.FOREGROUND)
    return _delete(obj, PropagationPolicy.BACKGROUND)


def _owner_keys(obj: ApiObject) -> set[ObjectKey]:
    keys = (_owner_key(obj, r) for r in obj.metadata.owner_references)
    return {k for k in keys if k is not None}


def _owner_key(obj: ApiObject, ref: OwnerReference) -> ObjectKey | None:
    try:
        kind = kind_for_gvk(ref.api_version, ref.kind)
    except UnknownKindError:
        return None
    ns = obj.metadata.namespace if kind.info.namespaced else ""
    return ObjectKey(kind=kind, namespace=ns, name=ref.name)


def _classify(
    view: ClusterState, obj: ApiObject
) -> tuple[list[OwnerReference], list[OwnerReference], list[OwnerReference]]:
    solid: list[OwnerReference] = []
    dangling: list[OwnerReference] = []
    waiting: list[OwnerReference] = []
    for ref in obj.metadata.owner_references:
        okey = _owner_key(obj, ref)
        owner = None if okey is None else get(view, okey)
        if owner is None or owner.metadata.uid != ref.uid:
            dangling.append(ref)
        elif owner.metadata.deletion_timestamp is not None and FINALIZER_FOREGROUND in owner.metadata.finalizers:
            waiting.append(ref)
        else:
            solid.append(ref)
    return solid, dangling, waiting


def _metadata_patch(obj: ApiObject, metadata: dict[str, object]) -> Request:
    m = obj.metadata
    key = ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)
    body = {"metadata": {**metadata, "uid": m.uid}}
    return Patch(key=key, patch_type=PatchType.STRATEGIC, patch=json.dumps(body, sort_keys=True))


def _without_refs(obj: ApiObject, uids: set[str]) -> Request:
    """The strategic merge patch deleting the references to `uids` (uid precondition)."""
    gone = [{"$patch": "delete", "uid": uid} for uid in sorted(uids)]
    return _metadata_patch(obj, {"ownerReferences": gone})


def _without_finalizer(obj: ApiObject, finalizer: str) -> Request:
    """The strategic merge patch removing `finalizer` (uid precondition)."""
    return _metadata_patch(obj, {"$deleteFromPrimitiveList/finalizers": [finalizer]})


def _delete(obj: ApiObject, policy: PropagationPolicy) -> Request:
    m = obj.metadata
    key = ObjectKey(kind=obj.KIND, namespace=m.namespace, name=m.name)
    if FINALIZER_ORPHAN in m.finalizers:
        policy = PropagationPolicy.ORPHAN
    elif FINALIZER_FOREGROUND in m.finalizers:
        policy = PropagationPolicy.FOREGROUND
    return Delete(key=key, propagation=policy, precondition_uid=m.uid)


def _orphan_dependents(view: ClusterState, owner: ApiObject) -> Request:
    uid = owner.metadata.uid
    for dkey in dependents(view, uid):
        dep = get(view, dkey)
        if dep is not None and any(r.uid == uid for r in dep.metadata.owner_references):
            return _without_refs(dep, {uid})
    return _without_finalizer(owner, FINALIZER_ORPHAN)


def _delete_dependents(view: ClusterState, owner: ApiObject) -> Request | None:
    uid = owner.metadata.uid
    blocking = False
    for dkey in dependents(view, uid):
        dep = get(view, dkey)
        if dep is None:
            continue
        refs = [r for r in dep.metadata.owner_references if r.uid == uid]
        if not refs:
            continue
        if dep.metadata.deletion_timestamp is None:
            own = PropagationPolicy.FOREGROUND if dependents(view, dep.metadata.uid) else PropagationPolicy.BACKGROUND
            return _delete(dep, own)
        if any(r.block_owner_deletion for r in refs):
            blocking = True
    if blocking:
        return None
    return _without_finalizer(owner, FINALIZER_FOREGROUND)

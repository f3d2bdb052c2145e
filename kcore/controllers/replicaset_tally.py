"""The ReplicaSet controller's claim, kept pod by pod: an owner's tally and the count it equals.

Owns `Tally` (one owner's claim over its candidate pods with its counts), `Basis` (what the
claim depends on besides the pods), `Claiming` (an adopt/release patch out on a pod), the
orphan index (`orphan_index`, `reindex_orphan`), the reference rule `count` beside its
fast twin `reclassify`, `tally_of` (the kept tally while valid, else a count), `retally`,
`sorted_claimed`, `pod_update_matters` (what the watch filter may drop) and
`agrees_with_a_recount` (the cache's invariant: the ReplicaSet machine's
`tallies_equal_a_recount`).

Rules:
- `count` is the claim as upstream makes it every sync: every candidate (a pod naming the
  owner's uid, or an orphan of its namespace) that is active and not being claimed by
  another owner is passed through `podcontrol.claim`; `claimed` are the pods it owns or
  adopts, `fully_labeled` and `ready` count them.
- `reclassify` recounts one pod exactly as `count` would count it now; a pod event
  changes the claim of the owners it concerns before or after it and of no other, so a
  sync costs O(changed pods), not O(owned pods).
- A tally is valid while its `basis` is the owner's (uid, deletion, selector, template
  labels), its `claiming` is the controller's (the same value: any claim sent or landed
  rebuilds it) and the pods it would adopt are the view's; else `tally_of` counts afresh.
  A relist drops every tally. It is a cache: dropping one changes no effect.
- A dropped pod update (`pod_update_matters` false) leaves a tally holding an older
  version of the pod that differs only in fields no sync reads.

Must not know: the RS/RC adapter, the component's state record, the driver.
Mirrors the claimPods / calculateStatus counting of pkg/controller/replicaset/replica_set.go
and replica_set_utils.go, which upstream recomputes every sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Time, evolver
from kcore.api.pod import ContainerRestartPolicy, Pod
from kcore.controllers.podcontrol import (
    DELETION_COST_ANNOTATION,
    claim,
    controller_of,
    is_pod_active,
    is_pod_ready,
    key_of,
    pod_ready_time,
)
from kcore.labels import Selector, selector_from_set
from kcore.state import ClusterState, dependents, get, list_objects

_NO_KEYS: Final[PSet[ObjectKey]] = pset()

Orphans = PMap[str, PSet[ObjectKey]]
"""Per namespace, the pods with no controller."""


@attrs.frozen(kw_only=True)
class Claiming:
    """An adopt/release patch of `owner` on a pod: `written_rv` 0 until answered."""

    owner: ObjectKey
    written_rv: int = 0


@attrs.frozen(kw_only=True)
class Basis:
    """What an owner's claim of its pods depends on besides the pods themselves."""

    uid: str
    deleting: bool
    selector: Selector
    template_labels: PMap[str, str]


@attrs.frozen(kw_only=True)
class Tally:
    """One owner's claim over its candidate pods, as `count` finds it, kept up to date pod
    by pod. `claimed` are the pods it owns or is adopting (by key), `adopt` and `release`
    the candidates it would patch; `fully_labeled` and `ready` count `claimed`."""

    basis: Basis
    claiming: PMap[ObjectKey, Claiming]
    # derived from `basis` (template labels as a selector), built once per count
    template_sel: Selector = attrs.field(eq=False, repr=False)
    claimed: PMap[ObjectKey, Pod] = pmap()
    adopt: PMap[ObjectKey, Pod] = pmap()
    release: PMap[ObjectKey, Pod] = pmap()
    fully_labeled: int = 0
    ready: int = 0


_evolve_tally: Final = evolver(Tally)


def basis_of(obj: ApiObject, selector: Selector, template_labels: PMap[str, str]) -> Basis:
    meta = obj.metadata
    return Basis(
        uid=meta.uid, deleting=meta.deletion_timestamp is not None, selector=selector, template_labels=template_labels
    )


# --- the orphan index -----------------------------------------------------------------------


def orphan_index(view: ClusterState) -> Orphans:
    """Every pod with no controller, by namespace."""
    index: dict[str, PSet[ObjectKey]] = {}
    for obj in list_objects(view, Kind.POD):
        if controller_of(obj.metadata) is None:
            ns = obj.metadata.namespace
            index[ns] = index.get(ns, pset()).add(key_of(obj))
    return pmap(index)


def reindex_orphan(orphans: Orphans, key: ObjectKey, pod: ApiObject | None) -> Orphans:
    """`orphans` after pod `key` became `pod` (None: deleted)."""
    ns = key.namespace
    current = orphans.get(ns, pset())
    updated = current.add(key) if pod is not None and controller_of(pod.metadata) is None else current.discard(key)
    if updated is current:
        return orphans
    return orphans.set(ns, updated) if updated else orphans.discard(ns)


# --- the reference rule and its fast twin ---------------------------------------------------


def candidates(view: ClusterState, orphans: Orphans, owner: ObjectKey, uid: str) -> tuple[Pod, ...]:
    """Active pods that could be the owner's: those naming its uid, and the orphans of its
    namespace (pods of other controllers are never looked at), by key."""
    keys = {k for k in dependents(view, uid) if k.kind is Kind.POD}
    keys.update(orphans.get(owner.namespace, pset()))
    pods = (get(view, k) for k in sorted(keys))
    return tuple(p for p in pods if isinstance(p, Pod) and is_pod_active(p))


def count(
    view: ClusterState,
    orphans: Orphans,
    claiming: PMap[ObjectKey, Claiming],
    owner: ObjectKey,
    obj: ApiObject,
    basis: Basis,
) -> Tally:
    """The owner's claim counted afresh: every candidate through `claim`, but a pod another
    owner is adopting or releasing right now."""
    found = tuple(
        p
        for p in candidates(view, orphans, owner, basis.uid)
        if (c := claiming.get(key_of(p))) is None or c.owner == owner
    )
    result = claim(obj, found, lambda p: basis.selector.matches(p.metadata.labels))
    claimed = [p for p in (*result.owned, *result.adopt) if isinstance(p, Pod)]
    template_sel = selector_from_set(basis.template_labels)
    return Tally(
        basis=basis,
        claiming=claiming,
        template_sel=template_sel,
        claimed=pmap({key_of(p): p for p in claimed}),
        adopt=pmap({key_of(p): p for p in result.adopt if isinstance(p, Pod)}),
        release=pmap({key_of(p): p for p in result.release if isinstance(p, Pod)}),
        fully_labeled=sum(1 for p in claimed if template_sel.matches(p.metadata.labels)),
        ready=sum(1 for p in claimed if is_pod_ready(p)),
    )


def reclassify(
    view: ClusterState, orphans: Orphans, claiming: PMap[ObjectKey, Claiming], owner: ObjectKey, t: Tally, pk: ObjectKey
) -> Tally:
    """`t` with the pod at `pk` counted as `count` would count it now: a candidate (naming
    the owner's uid, or an orphan of its namespace) that is active and not being claimed by
    another owner is kept or released if the owner controls it, adopted if an orphan."""
    b = t.basis
    claimed, adopt, release = t.claimed, t.adopt, t.release
    if pk in adopt:
        adopt = adopt.discard(pk)
    if pk in release:
        release = release.discard(pk)
    fully_labeled, ready = t.fully_labeled, t.ready
    template_sel = t.template_sel
    old = claimed.get(pk)
    if old is not None:
        claimed = claimed.discard(pk)
        fully_labeled -= template_sel.matches(old.metadata.labels)
        ready -= is_pod_ready(old)
    pod = get(view, pk)
    c = claiming.get(pk)
    keep = False
    if (
        isinstance(pod, Pod)
        and is_pod_active(pod)
        and (c is None or c.owner == owner)
        and (pk in view.dependents_by_owner_uid.get(b.uid, _NO_KEYS) or pk in orphans.get(pk.namespace, _NO_KEYS))
    ):
        ref = controller_of(pod.metadata)
        matches = b.selector.matches(pod.metadata.labels)
        if ref is not None:
            if ref.uid == b.uid:
                if matches:
                    keep = True
                elif not b.deleting:
                    release = release.set(pk, pod)
        elif not b.deleting and matches and pod.metadata.namespace == owner.namespace:
            adopt = adopt.set(pk, pod)
            keep = True
    if keep and isinstance(pod, Pod):
        claimed = claimed.set(pk, pod)
        fully_labeled += template_sel.matches(pod.metadata.labels)
        ready += is_pod_ready(pod)
    return _evolve_tally(
        t, claimed=claimed, adopt=adopt, release=release, fully_labeled=fully_labeled, ready=ready
    )


def tally_of(
    view: ClusterState,
    orphans: Orphans,
    claiming: PMap[ObjectKey, Claiming],
    kept: Tally | None,
    owner: ObjectKey,
    obj: ApiObject,
    basis: Basis,
) -> Tally:
    """The owner's tally: `kept` (the one kept since the last sync) while still valid,
    else `count`."""
    if kept is not None and kept.claiming is claiming and kept.basis == basis and _adopt_current(view, kept):
        return kept
    return count(view, orphans, claiming, owner, obj, basis)


def retally(
    tallies: PMap[ObjectKey, Tally],
    view: ClusterState,
    orphans: Orphans,
    claiming: PMap[ObjectKey, Claiming],
    pod: ObjectKey,
    owners: Iterable[ObjectKey],
) -> PMap[ObjectKey, Tally]:
    """Recount `pod` in the tallies of the owners its event concerns (the only owners
    whose claim it can change: any other ignores it before and after)."""
    for owner in owners:
        t = tallies.get(owner)
        if t is not None:
            tallies = tallies.set(owner, reclassify(view, orphans, claiming, owner, t, pod))
    return tallies


def sorted_claimed(t: Tally) -> tuple[Pod, ...]:
    """The claimed pods in `count`'s order: by name (then namespace, the candidates' order)."""
    return tuple(sorted(t.claimed.values(), key=lambda p: (p.metadata.name, p.metadata.namespace)))


def _adopt_current(view: ClusterState, t: Tally) -> bool:
    """Whether every pod the tally would adopt is still the version it classified: an
    orphan adopted by a controller of another kind changes unseen (the watch filter drops
    that event), and the tally must then be counted afresh."""
    return not t.adopt or all(get(view, pk) is pod for pk, pod in t.adopt.items())


# --- what a sync reads of a pod --------------------------------------------------------------


def _ready_since(pod: Pod) -> tuple[bool, Time | None]:
    ready = is_pod_ready(pod)
    return ready, pod_ready_time(pod) if ready else None


def _restarts(pod: Pod) -> tuple[int, int]:
    """What victim ranking reads of restarts (podcontrol's maxContainerRestarts): the most
    restarts of a regular container and of a sidecar, 0 without statuses."""
    st = pod.status
    regular = max((c.restart_count for c in st.container_statuses), default=0)
    if not st.init_container_statuses:
        return regular, 0
    sidecars = {c.name for c in pod.spec.init_containers if c.restart_policy is ContainerRestartPolicy.ALWAYS}
    return regular, max((c.restart_count for c in st.init_container_statuses if c.name in sidecars), default=0)


def pod_update_matters(old: Pod, new: Pod) -> bool:
    """Whether a pod update can change what an owner's sync reads of the pod: its claim
    (labels, ownerReferences, uid, deletion, phase, namespace), its tallies (the Ready
    condition and, for minReadySeconds, when it turned True) and its victim rank at
    scale-down (nodeName and the rest of the spec, phase, readiness and its time, the
    deletion-cost annotation, restart counts, creation time). A kubelet status write that
    changes only other conditions, container states, IPs or the start time does not, nor
    a status write to a pod inactive before and after (terminal, or being deleted: no
    claim counts it; its deletion was observed when deletionTimestamp was set)."""
    a, b = old.metadata, new.metadata
    if (
        a.uid != b.uid
        or (a.labels is not b.labels and a.labels != b.labels)
        or a.owner_references != b.owner_references
        or a.deletion_timestamp != b.deletion_timestamp
        or a.creation_timestamp != b.creation_timestamp
        or a.annotations.get(DELETION_COST_ANNOTATION) != b.annotations.get(DELETION_COST_ANNOTATION)
        or (old.spec is not new.spec and old.spec != new.spec)
    ):
        return True
    if old.status is new.status:
        return False
    if not is_pod_active(old) and not is_pod_active(new):
        return False  # terminal or being deleted, before and after: no sync reads it again
    return (
        old.status.phase != new.status.phase
        or _ready_since(old) != _ready_since(new)
        or _restarts(old) != _restarts(new)
    )


# --- the cache's invariant ------------------------------------------------------------------


def agrees_with_a_recount(
    view: ClusterState,
    orphans: Orphans,
    claiming: PMap[ObjectKey, Claiming],
    owner: ObjectKey,
    obj: ApiObject,
    kept: Tally,
) -> bool:
    """Whether `kept`, valid for `obj` (its basis and claiming current), equals `count` in
    everything a sync reads: the same counts and pod keys, each kept pod the view's version
    or an older one that differs only in fields no sync reads."""
    fresh = count(view, orphans, claiming, owner, obj, kept.basis)
    return (fresh.fully_labeled, fresh.ready) == (kept.fully_labeled, kept.ready) and all(
        set(f) == set(k) and not any(pod_update_matters(pod, f[pk]) for pk, pod in k.items())
        for f, k in ((fresh.claimed, kept.claimed), (fresh.adopt, kept.adopt), (fresh.release, kept.release))
    )

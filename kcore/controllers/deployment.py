"""The Deployment controller: ReplicaSets rolled out, scaled and rolled back for Deployments.

Owns `DeploymentController` (component "deployment-controller", watches Deployment,
ReplicaSet and Pod), its state `DeploymentState`, `plan_sync` (one sync round of one
Deployment, as data) and re-exports `resolve_fenceposts`. `kubectl rollout undo` is
client code: `kcore.kubectl.rollback`.

Theory of operation (level-triggered, as upstream's syncDeployment):
- `step` folds each watch event into the informer view and maps it to Deployment keys: a
  Deployment to itself; a ReplicaSet to its controlling Deployment, or (an orphan) to every
  Deployment in its namespace whose selector matches it; a Pod to its ReplicaSet's
  Deployment when that one uses the Recreate strategy (which waits for old pods to go).
  The view is the driver's shared informer cache (`informer.follow`). `wants` takes only
  the pod events that can end that wait (a pod of a ReplicaSet deleted, or turned
  terminal: a write to a pod already terminal is not taken): upstream registers deletePod alone, so pod additions and updates never queue a
  Deployment. A timer or an answer therefore reads pods as of the last event delivered.
- `sync` runs `plan_sync`: claim ReplicaSets (adopt matching orphans, release owned ones
  that stopped matching), then as upstream: a deleted Deployment only gets its status; a
  paused one gets the Paused/Resumed Progressing condition and is only scaled; the
  deprecated rollback-to annotation rolls back; a changed replica count scales
  proportionally; otherwise the strategy (RollingUpdate or Recreate) rolls out.
  `kcore.controllers.deployment_rollout` explains how a pass is cut into rounds.
- A round's writes are in flight as data (`busy` counts them), each tagged with what its
  answer needs (`RoundWrite`: purpose, ReplicaSet, events to record; a round writes each
  object once); the Deployment is not synced again until every answer is in. Answers fold the written objects into the view (so the next
  round sees them before their watch events), record the round's events on success, and
  then the Deployment is synced again. A failed write (a 409 from a stale view, a refused
  create) holds the Deployment back for an exponential backoff (`WakeMeAt`).
- A rollout that is not complete asks for a `WakeMeAt` at the progress deadline, so
  Progressing turns False with ProgressDeadlineExceeded in simulated time. A
  Deployment's timers (that one and the backoff) are keyed by its key.
- Settling (`kcore.component.workqueue`): the back-off after the first failed round is in
  motion, after a second one in a row merely scheduled, as is the progress-deadline check.
  A rollout needs no timer of its own: it moves on the ReplicaSets' status events (their
  controller waits out minReadySeconds).

Differences from upstream: the revision annotation of the Deployment is written by a main
update (kcore's status subresource keeps metadata as is; upstream's keeps annotations from
the status request); a hash collision is seen in the view before the create (as well as
from AlreadyExists); the SelectingAll warning is recorded once per generation.

Must not know: the driver, the ReplicaSet controller, pods beyond their owner and phase.
Mirrors pkg/controller/deployment/deployment_controller.go (and, through the modules it
uses, sync.go, rolling.go, recreate.go, rollback.go, progress.go, util/deployment_util.go)
and kubectl's polymorphichelpers/rollback.go (DeploymentRollbacker).
"""

from __future__ import annotations

from typing import Final, assert_never

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.apps import Deployment, DeploymentConditionType, DeploymentStrategyType, ReplicaSet
from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, ConditionStatus, Status, Time
from kcore.api.pod import LabelSelector, Pod, PodPhase
from kcore.api.watch import WatchEvent, WatchType
from kcore.component.effects import CallApi, Effect, EventType, RecordEvent, WakeMeAt
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
from kcore.component.requests import ObjectList, Response, Scale
from kcore.component.workqueue import DEFAULT_RATE_LIMITER, retry_in_motion
from kcore.controllers import deployment_util as du
from kcore.controllers.deployment_rollout import (
    Plan,
    Purpose,
    RolloutContext,
    Write,
    deployment_status,
    is_scaling_event,
    new_and_old,
    recreate,
    rollback,
    rollback_to,
    rolling,
    status_write,
    sync_scaling,
)
from kcore.controllers.deployment_util import resolve_fenceposts
from kcore.controllers.podcontrol import (
    adopt_request,
    claim,
    controller_of,
    release_request,
)
from kcore.labels import Selector, SelectorParseError, selector_from_label_selector
from kcore.state import ClusterState, get, list_objects, put

__all__ = ["NAME", "DeploymentController", "DeploymentState", "plan_sync", "resolve_fenceposts"]

NAME: Final = "deployment-controller"
_TERMINAL: Final = frozenset({PodPhase.FAILED, PodPhase.SUCCEEDED})

Effects = tuple[Effect, ...]


@attrs.frozen(kw_only=True)
class RoundWrite:
    """The tag of one write of `deployment`'s round: what it is for, the ReplicaSet it
    names ("" for the Deployment itself) and the events to record once it lands."""

    deployment: ObjectKey
    purpose: Purpose
    rs_name: str = ""
    events: tuple[RecordEvent, ...] = ()


@attrs.frozen(kw_only=True)
class DeploymentState:
    """The informer view, Deployments waiting for a sync, and the rounds in flight."""

    view: ClusterState
    dirty: PSet[ObjectKey] = pset()
    busy: PMap[ObjectKey, int] = pmap()  # writes of the current round still unanswered
    round_failed: PSet[ObjectKey] = pset()
    failures: PMap[ObjectKey, int] = pmap()  # consecutive failed rounds
    hold_until: PMap[ObjectKey, Time] = pmap()  # backoff after a failed round
    wakes: PMap[ObjectKey, Time] = pmap()  # progress-deadline wake-ups asked for


def deployment_key(namespace: str, name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.DEPLOYMENT, namespace=namespace, name=name)


def selector_of(sel: LabelSelector) -> Selector | None:
    """LabelSelectorAsSelector, or None when the selector cannot be parsed."""
    exprs = tuple((r.key, r.operator.value, r.values) for r in sel.match_expressions)
    try:
        return selector_from_label_selector(sel.match_labels, exprs)
    except SelectorParseError:
        return None


# --- the component --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class DeploymentController:
    """The component: `init` takes the LIST, `step` handles one event."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # deployment_controller.go
    watches: frozenset[Kind] = frozenset({Kind.DEPLOYMENT, Kind.REPLICA_SET, Kind.POD})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """Every Deployment and ReplicaSet event; of a pod's, only those that can end a
        Recreate's wait for the old pods (`old_pods_running`) of a pod controlled by a
        ReplicaSet: its deletion (upstream's deletePod, the only pod handler of
        deployment_controller.go) or a version in a terminal phase, unless the previous
        version (`old`, when known) was already terminal under the same controller."""
        obj = event.obj
        if not isinstance(obj, Pod):
            return True
        ref = controller_of(obj.metadata)
        if ref is None or ref.kind != Kind.REPLICA_SET.value:
            return False
        if event.type is WatchType.DELETED:
            return True
        if obj.status.phase not in _TERMINAL:
            return False
        # a write to a pod already terminal under the same controller ends no wait
        return (
            event.type is not WatchType.MODIFIED
            or not isinstance(old, Pod)
            or old.status.phase not in _TERMINAL
            or controller_of(old.metadata) != ref
        )

    def init(self, view: ClusterState, now: Time) -> tuple[DeploymentState, Effects]:
        """Relist; the `Started` event then syncs every Deployment."""
        return DeploymentState(view=view), ()

    def step(self, state: DeploymentState, event: Event) -> tuple[DeploymentState, Effects]:
        """Absorb one event; may emit ReplicaSet creates/updates/deletes/patches, Deployment
        (status) updates, ScalingReplicaSet and rollback events, and wake-ups."""
        match event:
            case Started(now=now):
                return _process(_mark_all(state), now)
            case WatchDelivered(event=ev, now=now):
                keys = _interested(state.view, ev)
                state = attrs.evolve(state, view=follow(state.view, event))
                keys |= _interested(state.view, ev)
                if ev.type is WatchType.DELETED and ev.obj.KIND is Kind.DEPLOYMENT:
                    state = _forget(state, ev.key)
                # As a workqueue Add while a rate-limited retry waits: a change syncs at once.
                hold = state.hold_until
                for k in keys:
                    hold = hold.discard(k)
                return _process(attrs.evolve(state, dirty=state.dirty.update(keys), hold_until=hold), now)
            case ApiAnswered(tag=RoundWrite() as write, response=resp, now=now):
                return _answered(state, write, resp, now)
            case TimerFired(key=ObjectKey() as key, now=now):
                state = attrs.evolve(
                    state,
                    dirty=state.dirty.add(key),
                    wakes=_drop_due(state.wakes, key, now),
                    hold_until=_drop_due(state.hold_until, key, now),
                )
                return _process(state, now)
            case Resynced(view=view, now=now):
                return _process(_mark_all(attrs.evolve(state, view=view, wakes=pmap())), now)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return state, ()
            case _:
                assert_never(event)


def _drop_due(m: PMap[ObjectKey, Time], key: ObjectKey, now: Time) -> PMap[ObjectKey, Time]:
    at = m.get(key)
    return m.discard(key) if at is not None and at <= now else m


def _mark_all(state: DeploymentState) -> DeploymentState:
    keys = (deployment_key(d.metadata.namespace, d.metadata.name) for d in list_objects(state.view, Kind.DEPLOYMENT))
    return attrs.evolve(state, dirty=state.dirty.update(keys))


def _forget(state: DeploymentState, key: ObjectKey) -> DeploymentState:
    return attrs.evolve(
        state,
        failures=state.failures.discard(key),
        hold_until=state.hold_until.discard(key),
        wakes=state.wakes.discard(key),
    )


def _interested(view: ClusterState, ev: WatchEvent) -> set[ObjectKey]:
    """The Deployments an event may concern (read against `view`, before or after it)."""
    obj = ev.obj
    ns = obj.metadata.namespace
    match obj.KIND:
        case Kind.DEPLOYMENT:
            return {deployment_key(ns, obj.metadata.name)}
        case Kind.REPLICA_SET:
            return _owners_of_rs(view, obj)
        case Kind.POD:
            ref = controller_of(obj.metadata)
            if ref is None or ref.kind != Kind.REPLICA_SET.value:
                return set()
            rs = get(view, ObjectKey(kind=Kind.REPLICA_SET, namespace=ns, name=ref.name))
            owners = _owners_of_rs(view, rs) if rs is not None else set()
            return {k for k in owners if _is_recreate(get(view, k))}
        case _:
            return set()


def _is_recreate(obj: ApiObject | None) -> bool:
    return isinstance(obj, Deployment) and obj.spec.strategy.type is DeploymentStrategyType.RECREATE


def _owners_of_rs(view: ClusterState, rs: ApiObject) -> set[ObjectKey]:
    """getDeploymentForReplicaSet / getDeploymentsForReplicaSet."""
    ns = rs.metadata.namespace
    ref = controller_of(rs.metadata)
    if ref is not None:
        return {deployment_key(ns, ref.name)} if ref.kind == Kind.DEPLOYMENT.value else set()
    found: set[ObjectKey] = set()
    for d in list_objects(view, Kind.DEPLOYMENT, ns):
        if not isinstance(d, Deployment):
            continue
        sel = selector_of(d.spec.selector)
        if sel is not None and not sel.is_empty() and sel.matches(rs.metadata.labels):
            found.add(deployment_key(ns, d.metadata.name))
    return found


# --- syncing --------------------------------------------------------------------------------


def _process(state: DeploymentState, now: Time) -> tuple[DeploymentState, Effects]:
    """Sync every dirty Deployment that has no round in flight and no backoff pending."""
    effects: list[Effect] = []
    for key in sorted(state.dirty):
        if state.busy.get(key, 0) > 0:
            continue
        hold = state.hold_until.get(key)
        if hold is not None and hold > now:
            continue
        state, out = sync(state, key, now)
        effects.extend(out)
    return state, tuple(effects)


def sync(state: DeploymentState, key: ObjectKey, now: Time) -> tuple[DeploymentState, Effects]:
    """One round for `key`: plan it from the view, send its writes, remember them."""
    state = attrs.evolve(state, dirty=state.dirty.discard(key))
    d = get(state.view, key)
    if not isinstance(d, Deployment):
        return _forget(state, key), ()
    plan = plan_sync(state.view, d, now)
    return _send(state, key, plan.writes, plan.events, plan.wake_at)


def _send(
    state: DeploymentState,
    key: ObjectKey,
    writes: tuple[Write, ...],
    events: tuple[RecordEvent, ...],
    wake_at: Time | None = None,
) -> tuple[DeploymentState, Effects]:
    effects: list[Effect] = list(events)
    for w in writes:
        tag = RoundWrite(deployment=key, purpose=w.purpose, rs_name=w.rs_name, events=w.events)
        effects.append(CallApi(request=w.request, tag=tag))
    busy = state.busy.set(key, state.busy.get(key, 0) + len(writes)) if writes else state.busy
    wakes = state.wakes
    if not writes and wake_at is not None and wakes.get(key) != wake_at:
        wakes = wakes.set(key, wake_at)
        effects.append(WakeMeAt(at=wake_at, key=key))  # a deadline: merely scheduled
    return attrs.evolve(state, busy=busy, wakes=wakes), tuple(effects)


def plan_sync(view: ClusterState, d: Deployment, now: Time) -> Plan:
    """syncDeployment for one round: claims, then deletion / pause / rollback / scaling /
    rollout, as upstream decides between them."""
    sel = selector_of(d.spec.selector)
    if sel is None:
        return Plan()
    if sel.is_empty():
        return _selecting_all(d)
    ns = d.metadata.namespace
    rss = tuple(rs for rs in list_objects(view, Kind.REPLICA_SET, ns) if isinstance(rs, ReplicaSet))
    claimed = claim(d, rss, lambda o: sel.matches(o.metadata.labels))
    if claimed.adopt or claimed.release:
        writes = tuple(Write(request=adopt_request(o, d), purpose=Purpose.CLAIM, rs_name=o.metadata.name) for o in claimed.adopt)
        writes += tuple(
            Write(request=release_request(o, d.metadata.uid), purpose=Purpose.CLAIM, rs_name=o.metadata.name)
            for o in claimed.release
        )
        return Plan(writes=writes)
    owned = tuple(rs for rs in claimed.owned if isinstance(rs, ReplicaSet))
    ctx = RolloutContext(view=view, d=d, rss=owned, now=now)
    if d.metadata.deletion_timestamp is not None:
        found = new_and_old(ctx, create=False)
        return found if isinstance(found, Plan) else deployment_status(ctx, (*found.olds, found.new), found.new)
    paused = _paused_condition(ctx)
    if paused is not None:
        return paused
    if d.spec.paused:
        return sync_scaling(ctx, paused_cleanup=rollback_to(d) is None)
    if rollback_to(d) is not None:
        return rollback(ctx)
    found = new_and_old(ctx, create=False)
    if isinstance(found, Plan):
        return found
    if is_scaling_event(ctx, found):
        return sync_scaling(ctx, paused_cleanup=False)
    if d.spec.strategy.type is DeploymentStrategyType.RECREATE:
        return recreate(ctx)
    return rolling(ctx)


def _selecting_all(d: Deployment) -> Plan:
    """An empty selector would select every pod: warn, observe the generation, do nothing."""
    if d.status.observed_generation >= d.metadata.generation:
        return Plan()
    key = deployment_key(d.metadata.namespace, d.metadata.name)
    warn = RecordEvent(
        involved=key,
        type=EventType.WARNING,
        reason=du.REASON_SELECTING_ALL,
        message="This deployment is selecting all pods. A non-empty selector is required.",
    )
    st = attrs.evolve(d.status, observed_generation=d.metadata.generation)
    return Plan(writes=(status_write(d, st),), events=(warn,))


def _paused_condition(ctx: RolloutContext) -> Plan | None:
    """checkPausedConditions: Progressing Unknown DeploymentPaused / DeploymentResumed."""
    d = ctx.d
    if not du.has_progress_deadline(d):
        return None
    cond = du.get_condition(d.status, DeploymentConditionType.PROGRESSING)
    if cond is not None and cond.reason == du.REASON_TIMED_OUT:
        return None
    exists = cond is not None and cond.reason == du.REASON_PAUSED
    if d.spec.paused and not exists:
        reason, message = du.REASON_PAUSED, "Deployment is paused"
    elif not d.spec.paused and exists:
        reason, message = du.REASON_RESUMED, "Deployment is resumed"
    else:
        return None
    new = du.new_condition(DeploymentConditionType.PROGRESSING, ConditionStatus.UNKNOWN, reason, message, ctx.now)
    return Plan(writes=(status_write(d, du.set_condition(d.status, new)),))


# --- answers --------------------------------------------------------------------------------


def _remember(view: ClusterState, obj: ApiObject) -> ClusterState:
    """`view` with an answered object, unless the view already holds a newer one."""
    held = get(view, ObjectKey(kind=obj.KIND, namespace=obj.metadata.namespace, name=obj.metadata.name))
    if held is not None and held.metadata.resource_version >= obj.metadata.resource_version:
        return view
    return put(view, obj)


def _message(resp: Response) -> str:
    body = resp.body
    return body.message if isinstance(body, Status) else f"unexpected answer {resp.code}"


def _answered(state: DeploymentState, w: RoundWrite, resp: Response, now: Time) -> tuple[DeploymentState, Effects]:
    key = w.deployment
    state = attrs.evolve(state, busy=state.busy.set(key, state.busy.get(key, 1) - 1))
    effects: list[Effect] = []
    ok = resp.ok or (resp.code == 404 and w.purpose is Purpose.DELETE_RS)
    if ok:
        body = resp.body
        if w.purpose is not Purpose.DELETE_RS and not isinstance(body, Status | ObjectList | Scale):
            state = attrs.evolve(state, view=_remember(state.view, body))
        effects.extend(w.events)
        if w.purpose is Purpose.CREATE_RS:
            state, out = _created(state, key, w.rs_name, now)
            effects.extend(out)
    else:
        state = attrs.evolve(state, round_failed=state.round_failed.add(key))
        if w.purpose is Purpose.CREATE_RS and resp.code != 409:
            state, out = _create_failed(state, key, w.rs_name, _message(resp), now)
            effects.extend(out)
    if state.busy.get(key, 0) > 0:
        return state, tuple(effects)
    state = attrs.evolve(state, busy=state.busy.discard(key))
    if key in state.round_failed:
        failures = state.failures.get(key, 0) + 1
        at = Time(now + DEFAULT_RATE_LIMITER.when(failures))
        state = attrs.evolve(
            state,
            round_failed=state.round_failed.discard(key),
            failures=state.failures.set(key, failures),
            hold_until=state.hold_until.set(key, at),
            dirty=state.dirty.add(key),
        )
        effects.append(WakeMeAt(at=at, key=key, in_motion=retry_in_motion(failures)))
        return state, tuple(effects)
    state = attrs.evolve(state, failures=state.failures.discard(key), dirty=state.dirty.add(key))
    state, out = _process(state, now)
    return state, (*effects, *out)


def _created(state: DeploymentState, key: ObjectKey, rs_name: str, now: Time) -> tuple[DeploymentState, Effects]:
    """After a create: Progressing NewReplicaSetCreated (upstream writes it in the same pass)."""
    d = get(state.view, key)
    if not isinstance(d, Deployment) or not du.has_progress_deadline(d):
        return state, ()
    cond = du.new_condition(
        DeploymentConditionType.PROGRESSING,
        ConditionStatus.TRUE,
        du.REASON_NEW_RS_CREATED,
        f'Created new replica set "{rs_name}"',
        now,
    )
    st = du.set_condition(d.status, cond)
    return _send(state, key, (status_write(d, st),), ()) if st != d.status else (state, ())


def _create_failed(
    state: DeploymentState, key: ObjectKey, rs_name: str, why: str, now: Time
) -> tuple[DeploymentState, Effects]:
    """A refused create: Progressing False ReplicaSetCreateError and a Warning event."""
    d = get(state.view, key)
    if not isinstance(d, Deployment):
        return state, ()
    msg = f'Failed to create new replica set "{rs_name}": {why}'
    warn = RecordEvent(involved=key, type=EventType.WARNING, reason=du.REASON_FAILED_RS_CREATE, message=msg)
    if not du.has_progress_deadline(d):
        return state, (warn,)
    cond = du.new_condition(
        DeploymentConditionType.PROGRESSING, ConditionStatus.FALSE, du.REASON_FAILED_RS_CREATE, msg, now
    )
    st = du.set_condition(d.status, cond)
    writes = (status_write(d, st),) if st != d.status else ()
    return _send(state, key, writes, (warn,))



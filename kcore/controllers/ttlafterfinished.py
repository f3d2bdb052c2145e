"""The TTL-after-finished controller: deletes finished Jobs once their TTL has run out.

Owns `TTLAfterFinishedController` ("ttl-after-finished-controller", watches Job), its
state `TTLState` and the pure helpers `finish_time(job)` and `expire_at(job)`.

Theory of operation (as upstream's processJob):
- a Job needs cleanup when `spec.ttlSecondsAfterFinished` is set and a Complete or Failed
  condition is True; it expires at that condition's lastTransitionTime + TTL;
- before then: `WakeMeAt(expire_at)`; at or after: a fresh GET (the view may hold a stale
  TTL), and if the fresh Job has expired too, DELETE with propagation Foreground and a uid
  precondition, so the Job's pods go first and a re-created Job is never hit;
- a Job being deleted, unfinished, or without a TTL is left alone. One request per Job
  is in flight at a time (`busy`), tagged `Call(job, step)`; failures retry 1 s later
  (`RETRY`). A Job's timer key is the Job's key.
- settling (`kcore.component.workqueue`): the expiry is a deadline, merely scheduled; a
  retry is in motion the first time in a row (its work queue counts the failures), not
  after.

Must not know: the Job controller, the garbage collector, the driver.
Mirrors pkg/controller/ttlafterfinished/ttlafterfinished_controller.go.
"""

from __future__ import annotations

import enum
from typing import Final, assert_never

import attrs
from pyrsistent import pset
from pyrsistent.typing import PSet

from kcore.api.batch import Job, JobConditionType
from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Time, evolver
from kcore.component.effects import CallApi, Effect, WakeMeAt
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
from kcore.component.requests import Delete, Get, PropagationPolicy
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    forget,
    num_requeues,
    rate_limited,
    retry_in_motion,
)
from kcore.controllers.podcontrol import key_of
from kcore.state import ClusterState, get, list_objects

NAME: Final = "ttl-after-finished-controller"
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A Job whose request failed is synced again 1 s later."""


class Step(enum.Enum):
    GET = "get"
    DELETE = "delete"


@attrs.frozen(kw_only=True)
class Call:
    """The tag of a request: the Job it is about, and which step of processJob it is."""

    job: ObjectKey
    step: Step


@attrs.frozen(kw_only=True)
class TTLState:
    view: ClusterState
    busy: PSet[ObjectKey] = pset()  # jobs with a request in flight
    queue: WorkQueue = WorkQueue(kind=Kind.JOB)  # failed requests in a row per Job


_evolve = evolver(TTLState)  # attrs.evolve for the hot per-event state updates


def finish_time(job: Job) -> Time | None:
    """jobFinishTime: lastTransitionTime of the True Complete/Failed condition."""
    for c in job.status.conditions:
        if c.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and c.status is ConditionStatus.TRUE:
            return c.last_transition_time
    return None


def expire_at(job: Job) -> Time | None:
    """When a finished Job with a TTL expires (None: no cleanup needed, or no finish time)."""
    ttl = job.spec.ttl_seconds_after_finished
    done = finish_time(job)
    if ttl is None or done is None:
        return None
    return Time(done + ttl)


@attrs.frozen(kw_only=True)
class TTLAfterFinishedController:
    """Deletes finished Jobs after `ttlSecondsAfterFinished`."""

    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # ttlafterfinished_controller.go

    @property
    def watches(self) -> frozenset[Kind]:
        return frozenset({Kind.JOB})

    def init(self, view: ClusterState, now: Time) -> tuple[TTLState, tuple[Effect, ...]]:
        return TTLState(view=view), ()

    def step(self, state: TTLState, event: Event) -> tuple[TTLState, tuple[Effect, ...]]:
        """Handles Started/Resynced (every Job), WatchDelivered (Jobs), TimerFired, ApiAnswered
        (the fresh GET, the DELETE). May emit CallApi (Get, Delete) and WakeMeAt."""
        s, now = state, event.now
        effects: list[Effect] = []
        keys: set[ObjectKey] = set()
        match event:
            case Started():
                keys = {key_of(j) for j in list_objects(s.view, Kind.JOB)}
            case Resynced(view=view):
                s = attrs.evolve(s, view=view)
                keys = {key_of(j) for j in list_objects(view, Kind.JOB)}
            case WatchDelivered(event=we):
                if we.key.kind is Kind.JOB:
                    s = _evolve(s, view=follow(s.view, event))
                    keys = {we.key}
            case TimerFired(key=ObjectKey() as job):
                keys = {job}
            case ApiAnswered(tag=Call() as call):
                s = self._answered(s, call, event, effects)
            case TimerFired() | ApiAnswered() | RuntimeAnswered() | RuntimeNotified():
                pass
            case _:
                assert_never(event)
        for key in sorted(keys):
            s = self._sync(s, key, now, effects)
        return s, tuple(effects)

    def _expired(self, job: Job, now: Time, effects: list[Effect]) -> bool:
        """processTTL: True when expired; otherwise a wake-up at expiry when there is one."""
        if job.metadata.deletion_timestamp is not None:
            return False
        at = expire_at(job)
        if at is None:
            return False
        if now >= at:
            return True
        # the expiry is a deadline: merely scheduled
        effects.append(WakeMeAt(at=at, key=key_of(job)))
        return False

    def _send(self, s: TTLState, key: ObjectKey, request: Get | Delete, step: Step, effects: list[Effect]) -> TTLState:
        effects.append(CallApi(request=request, tag=Call(job=key, step=step)))
        return attrs.evolve(s, busy=s.busy.add(key))

    def _sync(self, s: TTLState, key: ObjectKey, now: Time, effects: list[Effect]) -> TTLState:
        job = get(s.view, key)
        if not isinstance(job, Job):
            s = _forget(s, key)
        if not isinstance(job, Job) or key in s.busy or not self._expired(job, now, effects):
            return s
        return self._send(s, key, Get(key=key), Step.GET, effects)

    def _answered(self, s: TTLState, call: Call, ev: ApiAnswered, effects: list[Effect]) -> TTLState:
        key = call.job
        s = attrs.evolve(s, busy=s.busy.discard(key))
        resp = ev.response
        match call.step:
            case Step.GET:
                fresh = resp.body
                if resp.code == 404:
                    return _forget(s, key)
                if not resp.ok or not isinstance(fresh, Job):
                    return _retry(s, key, ev.now, effects)
                s = _forget(s, key)
                if not self._expired(fresh, ev.now, effects):
                    return s
                delete = Delete(key=key, propagation=PropagationPolicy.FOREGROUND, precondition_uid=fresh.metadata.uid)
                return self._send(s, key, delete, Step.DELETE, effects)
            case Step.DELETE:
                if not resp.ok and resp.code not in (404, 409):
                    return _retry(s, key, ev.now, effects)
                return _forget(s, key)
            case _:
                assert_never(call.step)


def _retry(s: TTLState, key: ObjectKey, now: Time, effects: list[Effect]) -> TTLState:
    """Sync Job `key` again `RETRY` after a failed request: in motion the first time in a row."""
    queue, requeue = rate_limited(s.queue, key, now, RETRY)
    effects.append(WakeMeAt(at=requeue.at, key=key, in_motion=retry_in_motion(requeue.failures)))
    return attrs.evolve(s, queue=queue)


def _forget(s: TTLState, key: ObjectKey) -> TTLState:
    """No standing failure of Job `key`: its next failed request is the first in a row."""
    return attrs.evolve(s, queue=forget(s.queue, key, RETRY)) if num_requeues(s.queue, key, RETRY) else s

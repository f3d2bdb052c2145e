"""The CronJob controller: Jobs made on a cron schedule, driven by simulated time only.

Owns `CronJobController` (component "cronjob-controller") and the pure `sync`.

Theory of operation (pkg/controller/cronjob/cronjob_controllerv2.go, syncCronJob):
1. Reconcile `status.active` with the Jobs the CronJob controls: finished ones leave it
   (event SawCompletedJob), vanished ones too (MissingJob); the newest completion time of
   a successful Job becomes `lastSuccessfulTime`.
2. Unless deleting or suspended, find the most recent unmet schedule time
   (`cronjob_schedule`). Nothing due: wake at the next one (+100 ms). Past
   `startingDeadlineSeconds`: event MissSchedule. Already started (its Job is active, or
   it equals `lastScheduleTime`): nothing. Forbid with an active Job: event
   JobAlreadyActive. Replace: delete the active Jobs first (SuccessfulDelete).
3. Create the Job `<cronjob>-<scheduled unix minutes>` from the template (labels and
   annotations, annotation batch.kubernetes.io/cronjob-scheduled-timestamp, a controller
   ownerReference); when the create answers, add it to `status.active` and set
   `lastScheduleTime` (event SuccessfulCreate "Created job <name>"). AlreadyExists for a
   Job we control: just record it.
4. Keep at most successfulJobsHistoryLimit / failedJobsHistoryLimit finished Jobs,
   deleting the oldest by start time (SuccessfulDelete), propagation Background.

Rules: one request in flight per CronJob (status writes carry the viewed
resourceVersion; a Conflict re-syncs), tagged `Call(cronjob, verb, target)`; a failed
request re-syncs the CronJob 1 s later (`RETRY`, its failures in a row counted by its
work queue); a CronJob's timer is keyed by its key; keys in sorted order.
Settling (`kcore.component.workqueue`): the next schedule time is merely scheduled (a
CronJob applied alone runs nothing unless settling passes its time anyway); the retry
after a failed request is in motion the first time in a row, not after.
Watch filter (`wants`): every CronJob event; a Job event only when the Job is controlled by
a CronJob or by nothing, as upstream's addJob/updateJob/deleteJob resolve the controllerRef
and return for another kind. Syncs read only the Jobs a CronJob controls.

Must not know: how Jobs run. Mirrors cronjob_controllerv2.go and utils.go.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Final

import attrs
from pyrsistent import pmap, pset
from pyrsistent.typing import PMap, PSet

from kcore.api.batch import ConcurrencyPolicy, CronJob, CronJobStatus, Job, JobConditionType
from kcore.api.core import EventSource, ObjectReference
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import (
    ApiObject,
    ConditionStatus,
    ObjectMeta,
    OwnerReference,
    Status,
    Time,
    evolver,
)
from kcore.api.watch import WatchEvent
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
from kcore.component.requests import Create, Delete, PropagationPolicy, Request, Subresource, Update
from kcore.component.workqueue import (
    RateLimiter,
    WorkQueue,
    forget,
    num_requeues,
    rate_limited,
    retry_in_motion,
)
from kcore.controllers.cronjob_schedule import (
    Missed,
    ScheduleError,
    next_schedule_delay,
    next_schedule_time,
    parse_schedule,
)
from kcore.controllers.podcontrol import mine_or_orphan
from kcore.state import ClusterState, dependents, get, key_of, list_objects

NAME: Final = "cronjob-controller"
SCHEDULED_TIMESTAMP: Final = "batch.kubernetes.io/cronjob-scheduled-timestamp"
RETRY: Final = RateLimiter(base_delay=1.0, max_delay=1.0)
"""A CronJob whose request failed is synced again 1 s later."""

# Reasons for CronJob events (upstream's cronjob_controllerv2.go writes them inline)
SUCCESSFUL_CREATE: Final = "SuccessfulCreate"
FAILED_CREATE: Final = "FailedCreate"
SUCCESSFUL_DELETE: Final = "SuccessfulDelete"
SAW_COMPLETED_JOB: Final = "SawCompletedJob"
MISSING_JOB: Final = "MissingJob"
TOO_MANY_MISSED_TIMES: Final = "TooManyMissedTimes"
MISS_SCHEDULE: Final = "MissSchedule"
JOB_ALREADY_ACTIVE: Final = "JobAlreadyActive"


@attrs.frozen(kw_only=True)
class Creating:
    """A Job create in flight for a CronJob, and the schedule time it starts."""

    job: str
    scheduled: Time


class Verb(enum.Enum):
    """What a CronJob's request does."""

    CREATE = "create"  # the Job of a schedule time
    DELETE = "delete"  # a Job replaced or beyond the history limits
    STATUS = "status"  # the CronJob's status


@attrs.frozen(kw_only=True)
class Call:
    """The tag of a request: the CronJob it is for, what it does, and to which object."""

    cronjob: ObjectKey
    verb: Verb
    target: ObjectKey


@attrs.frozen(kw_only=True)
class CronJobControllerState:
    view: ClusterState
    in_flight: PSet[ObjectKey] = pset()  # CronJobs with a request awaiting its answer
    creating: PMap[ObjectKey, Creating] = pmap()
    queue: WorkQueue = WorkQueue(kind=Kind.CRON_JOB)  # failed requests in a row per CronJob


_evolve = evolver(CronJobControllerState)  # attrs.evolve for the hot per-event state updates


@attrs.frozen(kw_only=True)
class Decision:
    """What one sync of one CronJob wants: writes, events, and when to look again."""

    requests: tuple[Request, ...] = ()
    events: tuple[RecordEvent, ...] = ()
    create: Creating | None = None
    wake_in: float | None = None


@attrs.frozen
class CronJobController:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # cronjob_controllerv2.go
    watches: frozenset[Kind] = frozenset({Kind.CRON_JOB, Kind.JOB})

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """The watch filter (see the module doc): CronJobs, and Jobs of a CronJob or orphans."""
        return mine_or_orphan(event.obj, Kind.JOB, Kind.CRON_JOB)

    def init(self, view: ClusterState, now: Time) -> tuple[CronJobControllerState, tuple[Effect, ...]]:
        return CronJobControllerState(view=view), ()

    def step(self, s: CronJobControllerState, ev: Event) -> tuple[CronJobControllerState, tuple[Effect, ...]]:
        match ev:
            case Started() | Resynced():
                if isinstance(ev, Resynced):
                    s = attrs.evolve(s, view=ev.view, in_flight=pset(), creating=pmap())
                keys = {_key(c) for c in list_objects(s.view, Kind.CRON_JOB) if isinstance(c, CronJob)}
                return _sync_keys(s, keys, ev.now)
            case WatchDelivered(event=w):
                s = _evolve(s, view=follow(s.view, ev))
                if isinstance(w.obj, CronJob):
                    return _sync_keys(s, {w.key}, ev.now)
                return _sync_keys(s, _owners(w.obj), ev.now)
            case ApiAnswered(tag=Call() as call, response=resp):
                return _answered(s, call, resp.body, resp.ok, ev.now)
            case TimerFired(key=ObjectKey() as key):
                return _sync_keys(s, {key}, ev.now)
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def _key(cj: CronJob) -> ObjectKey:
    return ObjectKey(kind=Kind.CRON_JOB, namespace=cj.metadata.namespace, name=cj.metadata.name)


def _owners(job: object) -> set[ObjectKey]:
    if not isinstance(job, Job):
        return set()
    return {
        ObjectKey(kind=Kind.CRON_JOB, namespace=job.metadata.namespace, name=r.name)
        for r in job.metadata.owner_references
        if r.kind == Kind.CRON_JOB.value and r.controller
    }


def _timer(key: ObjectKey, at: Time, in_motion: bool = False) -> WakeMeAt:
    return WakeMeAt(at=at, key=key, in_motion=in_motion)


def _retry(s: CronJobControllerState, key: ObjectKey, now: Time) -> tuple[CronJobControllerState, WakeMeAt]:
    """The resync after a failed request, `RETRY` later: in motion the first time in a row."""
    queue, requeue = rate_limited(s.queue, key, now, RETRY)
    return attrs.evolve(s, queue=queue), _timer(key, requeue.at, retry_in_motion(requeue.failures))


def _forget(s: CronJobControllerState, key: ObjectKey) -> CronJobControllerState:
    """No standing failure of `key`: its next failed request is the first in a row."""
    return attrs.evolve(s, queue=forget(s.queue, key, RETRY)) if num_requeues(s.queue, key, RETRY) else s


def _sync_keys(
    s: CronJobControllerState, keys: set[ObjectKey], now: Time
) -> tuple[CronJobControllerState, tuple[Effect, ...]]:
    effects: list[Effect] = []
    for key in sorted(keys):
        if key in s.in_flight:
            continue
        if num_requeues(s.queue, key, RETRY) and get(s.view, key) is None:
            s = _forget(s, key)
        d = sync(s.view, key, now)
        effects.extend(d.events)
        if d.wake_in is not None:  # the next schedule time: merely scheduled
            effects.append(_timer(key, Time(now + d.wake_in)))
        if d.create is not None:
            s = attrs.evolve(s, creating=s.creating.set(key, d.create))
        for req in d.requests:
            s, call = _call(s, key, req)
            effects.append(call)
    return s, tuple(effects)


def _tag(key: ObjectKey, req: Request) -> Call:
    """What `req`, sent for CronJob `key`, answers."""
    match req:
        case Create(obj=job):
            return Call(cronjob=key, verb=Verb.CREATE, target=key_of(job))
        case Delete(key=job_key):
            return Call(cronjob=key, verb=Verb.DELETE, target=job_key)
        case _:
            return Call(cronjob=key, verb=Verb.STATUS, target=key)


def _answered(
    s: CronJobControllerState, call: Call, body: object, ok: bool, now: Time
) -> tuple[CronJobControllerState, tuple[Effect, ...]]:
    key = call.cronjob
    s = attrs.evolve(s, in_flight=s.in_flight.discard(key))
    if ok:
        s = _forget(s, key)
    creating = s.creating.get(key)
    if call.verb is not Verb.CREATE or creating is None:
        if ok:
            return s, ()
        s, retry = _retry(s, key, now)
        return s, (retry,)
    s = attrs.evolve(s, creating=s.creating.discard(key))
    cj = get(s.view, key)
    if not isinstance(cj, CronJob):
        return s, ()
    job = body if isinstance(body, Job) else get(s.view, ObjectKey(kind=Kind.JOB, namespace=key.namespace, name=creating.job))
    if isinstance(body, Status) and not (body.reason.value == "AlreadyExists" and isinstance(job, Job)):
        failed = _event(cj, EventType.WARNING, FAILED_CREATE, f"Error creating job: {body.message}")
        s, retry = _retry(s, key, now)
        return s, (failed, retry)
    if not isinstance(job, Job) or not _controlled_by(job, cj):
        return s, ()  # someone else's Job of that name: theirs to report
    effects: list[Effect] = []
    if isinstance(body, Job):
        effects.append(_event(cj, EventType.NORMAL, SUCCESSFUL_CREATE, f"Created job {job.metadata.name}"))
    if any(a.uid == job.metadata.uid for a in cj.status.active):
        return s, tuple(effects)
    status = attrs.evolve(
        cj.status,
        active=(*cj.status.active, _ref(job)),
        last_schedule_time=creating.scheduled,
    )
    req = Update(obj=attrs.evolve(cj, status=status), subresource=Subresource.STATUS)
    s, write = _call(s, key, req)
    return s, (*effects, write)


def _call(s: CronJobControllerState, key: ObjectKey, req: Request) -> tuple[CronJobControllerState, CallApi]:
    s = attrs.evolve(s, in_flight=s.in_flight.add(key))
    return s, CallApi(request=req, tag=_tag(key, req))


# --- the decision -------------------------------------------------------------------------


def sync(view: ClusterState, key: ObjectKey, now: Time) -> Decision:
    """What CronJob `key` needs at `now`, read from `view`."""
    cj = get(view, key)
    if not isinstance(cj, CronJob):
        return Decision()
    jobs = _jobs_of(view, cj)
    status, events = _reconcile_active(cj, jobs)
    requests: list[Request] = []
    cleanup, cleanup_events = _cleanup_finished(cj, jobs)
    events += cleanup_events
    decision = _schedule(attrs.evolve(cj, status=status), jobs, now)
    requests += decision.requests
    requests += cleanup
    events += decision.events
    if status != cj.status:
        requests.insert(0, Update(obj=attrs.evolve(cj, status=status), subresource=Subresource.STATUS))
        decision = attrs.evolve(decision, create=None)  # create after the status write lands
        requests = [r for r in requests if not isinstance(r, Create)]
    return attrs.evolve(decision, requests=tuple(requests), events=tuple(events))


def _jobs_of(view: ClusterState, cj: CronJob) -> list[Job]:
    jobs = [get(view, k) for k in dependents(view, cj.metadata.uid) if k.kind is Kind.JOB]
    return sorted((j for j in jobs if isinstance(j, Job) and _controlled_by(j, cj)), key=lambda j: j.metadata.name)


def _controlled_by(job: Job, cj: CronJob) -> bool:
    return any(r.controller and r.uid == cj.metadata.uid for r in job.metadata.owner_references)


def _finished(job: Job) -> JobConditionType | None:
    for c in job.status.conditions:
        if c.type in (JobConditionType.COMPLETE, JobConditionType.FAILED) and c.status is ConditionStatus.TRUE:
            return c.type
    return None


def _reconcile_active(cj: CronJob, jobs: list[Job]) -> tuple[CronJobStatus, list[RecordEvent]]:
    status = cj.status
    events: list[RecordEvent] = []
    by_uid = {j.metadata.uid: j for j in jobs}
    active = list(status.active)
    last_ok = status.last_successful_time
    for job in jobs:
        done = _finished(job)
        listed = any(a.uid == job.metadata.uid for a in active)
        if listed and done is not None:
            active = [a for a in active if a.uid != job.metadata.uid]
            events.append(
                _event(cj, EventType.NORMAL, SAW_COMPLETED_JOB, f"Saw completed job: {job.metadata.name}, condition: {done.value}")
            )
        finished_at = job.status.completion_time if done is JobConditionType.COMPLETE else None
        if finished_at is not None and (last_ok is None or finished_at > last_ok):
            last_ok = finished_at
    for ref in list(active):
        if ref.uid not in by_uid:
            active = [a for a in active if a.uid != ref.uid]
            events.append(_event(cj, EventType.NORMAL, MISSING_JOB, f"Active job went missing: {ref.name}"))
    return attrs.evolve(status, active=tuple(active), last_successful_time=last_ok), events


def _schedule(cj: CronJob, jobs: list[Job], now: Time) -> Decision:
    if cj.metadata.deletion_timestamp is not None or cj.spec.suspend:
        return Decision()
    try:
        schedule = parse_schedule(cj)
        scheduled, missed = next_schedule_time(cj, now, schedule)
        wake = next_schedule_delay(cj, now, schedule)
    except ScheduleError as err:
        return Decision(events=(_event(cj, EventType.WARNING, err.reason, str(err)),))
    events: list[RecordEvent] = []
    if missed is Missed.MANY:
        events.append(
            _event(
                cj,
                EventType.WARNING,
                TOO_MANY_MISSED_TIMES,
                "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
            )
        )
    if scheduled is None:
        return Decision(events=tuple(events), wake_in=wake)
    deadline = cj.spec.starting_deadline_seconds
    if deadline is not None and scheduled + deadline < now:
        stamp = datetime.fromtimestamp(scheduled, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        events.append(_event(cj, EventType.WARNING, MISS_SCHEDULE, f"Missed scheduled time to start a job: {stamp}"))
        return Decision(events=tuple(events), wake_in=wake)
    name = job_name(cj, scheduled)
    if any(a.name == name for a in cj.status.active) or cj.status.last_schedule_time == scheduled:
        return Decision(events=tuple(events), wake_in=wake)
    if cj.spec.concurrency_policy is ConcurrencyPolicy.FORBID and cj.status.active:
        events.append(
            _event(
                cj,
                EventType.NORMAL,
                JOB_ALREADY_ACTIVE,
                "Not starting job because prior execution is running and concurrency policy is Forbid",
            )
        )
        return Decision(events=tuple(events), wake_in=wake)
    if cj.spec.concurrency_policy is ConcurrencyPolicy.REPLACE and cj.status.active:
        requests: list[Request] = []
        for ref in cj.status.active:
            requests.append(_delete_job(cj.metadata.namespace, ref.name))
            events.append(_event(cj, EventType.NORMAL, SUCCESSFUL_DELETE, f"Deleted job {ref.name}"))
        emptied = attrs.evolve(cj, status=attrs.evolve(cj.status, active=()))
        requests.append(Update(obj=emptied, subresource=Subresource.STATUS))
        # the create follows on the next sync, once the emptied status is in the view
        return Decision(requests=tuple(requests), events=tuple(events), wake_in=wake)
    job = job_from_template(cj, scheduled)
    return Decision(
        requests=(Create(obj=job),),
        events=tuple(events),
        create=Creating(job=job.metadata.name, scheduled=scheduled),
        wake_in=wake,
    )


def job_name(cj: CronJob, scheduled: Time) -> str:
    """`<cronjob>-<scheduled time in unix minutes>` (getJobName)."""
    return f"{cj.metadata.name}-{int(scheduled) // 60}"


def job_from_template(cj: CronJob, scheduled: Time) -> Job:
    """getJobFromTemplate2: the Job a CronJob starts at `scheduled`."""
    tmpl = cj.spec.job_template
    stamp = datetime.fromtimestamp(scheduled, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner = OwnerReference(
        api_version="batch/v1",
        kind="CronJob",
        name=cj.metadata.name,
        uid=cj.metadata.uid,
        controller=True,
        block_owner_deletion=True,
    )
    meta = ObjectMeta(
        name=job_name(cj, scheduled),
        namespace=cj.metadata.namespace,
        labels=tmpl.metadata.labels,
        annotations=tmpl.metadata.annotations.set(SCHEDULED_TIMESTAMP, stamp),
        owner_references=(owner,),
    )
    return Job(metadata=meta, spec=tmpl.spec)


def _ref(job: Job) -> ObjectReference:
    m = job.metadata
    return ObjectReference(
        kind="Job",
        namespace=m.namespace,
        name=m.name,
        uid=m.uid,
        api_version="batch/v1",
        resource_version=str(m.resource_version),
    )


def _delete_job(namespace: str, name: str) -> Request:
    key = ObjectKey(kind=Kind.JOB, namespace=namespace, name=name)
    return Delete(key=key, propagation=PropagationPolicy.BACKGROUND)


def _cleanup_finished(cj: CronJob, jobs: list[Job]) -> tuple[list[Request], list[RecordEvent]]:
    requests: list[Request] = []
    events: list[RecordEvent] = []
    for want, limit in (
        (JobConditionType.COMPLETE, cj.spec.successful_jobs_history_limit),
        (JobConditionType.FAILED, cj.spec.failed_jobs_history_limit),
    ):
        done = [j for j in jobs if _finished(j) is want and j.metadata.deletion_timestamp is None]
        done.sort(key=lambda j: (j.status.start_time is None, j.status.start_time or 0.0, j.metadata.name))
        for job in done[: max(0, len(done) - limit)]:
            requests.append(_delete_job(job.metadata.namespace, job.metadata.name))
            events.append(_event(cj, EventType.NORMAL, SUCCESSFUL_DELETE, f"Deleted job {job.metadata.name}"))
    return requests, events


def _event(cj: CronJob, kind: EventType, reason: str, message: str) -> RecordEvent:
    return RecordEvent(involved=_key(cj), type=kind, reason=reason, message=message)

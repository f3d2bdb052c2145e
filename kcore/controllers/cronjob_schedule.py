"""CronJob schedule arithmetic: when a CronJob should next run, and what it missed.

Owns `parse_schedule`, `most_recent_schedule_time`, `next_schedule_time` and
`next_schedule_delay`, pure functions of (cronjob, now). Schedules are parsed with
`croniter` (five fields, names, and the `@hourly`-style macros), evaluated in the
CronJob's `spec.timeZone` (an IANA name; UTC, kcore's controller-manager zone, when
unset); the legacy `TZ=`/`CRON_TZ=` prefix in the schedule is honoured too.

Rules, as upstream (pkg/controller/cronjob/utils.go, mostRecentScheduleTime):
- The earliest time considered is the last schedule time, else the creation time, moved
  up to `now - startingDeadlineSeconds` when that is later.
- The missed count is estimated as upstream does: (now - t1) / (t2 - t1) + 1 from the
  first two schedule times after the earliest; more than 100 is `MANY` (the controller
  warns "too many missed start times"); the most recent time is found by walking the
  schedule from one interval before the estimate to the last time not after `now`.
  Where that estimate overshoots an irregular schedule (upstream then finds nothing and
  skips the run), kcore walks from the first missed time instead (docs/semantics.md).
- A schedule whose two next times are less than a second apart is invalid.
Must not know: Jobs or the API. Time values are kcore `Time` (seconds since the epoch).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from kcore.api.batch import CronJob
from kcore.api.meta import Time

NEXT_SCHEDULE_DELTA: Final = 0.1  # upstream requeues 100 ms after the next schedule time
MANY_MISSED: Final = 100
WALK_LIMIT: Final = 10_000  # schedule steps walked when the interval estimate overshoots


class Missed(enum.Enum):
    NONE = "none"
    FEW = "few"
    MANY = "many"


class ScheduleError(ValueError):
    """An unparseable schedule or unknown time zone (the message is upstream's)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@attrs.frozen(kw_only=True)
class Schedule:
    expression: str
    zone: tzinfo

    def next_after(self, t: Time) -> Time:
        start = datetime.fromtimestamp(t, UTC).astimezone(self.zone)
        nxt: datetime = croniter(self.expression, start).get_next(datetime)
        return Time(nxt.timestamp())


def parse_schedule(cj: CronJob) -> Schedule:
    """The CronJob's schedule in its time zone; ScheduleError names what is wrong."""
    text = cj.spec.schedule.strip()
    zone_name = cj.spec.time_zone
    for prefix in ("CRON_TZ=", "TZ="):
        if text.startswith(prefix):
            head, _, text = text.partition(" ")
            zone_name = zone_name or head[len(prefix):]
            text = text.strip()
    zone: tzinfo = UTC
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError("UnknownTimeZone", f"invalid timeZone: {zone_name!r}") from None
    if text.startswith("@every") or not croniter.is_valid(text):
        raise ScheduleError("UnparseableSchedule", f"unparseable schedule: {cj.spec.schedule!r}")
    return Schedule(expression=text, zone=zone)


def most_recent_schedule_time(
    cj: CronJob, now: Time, schedule: Schedule, *, include_deadline: bool
) -> tuple[Time, Time | None, Missed]:
    """(earliest time considered, the most recent unmet schedule time or None, missed)."""
    created = cj.metadata.creation_timestamp
    earliest = cj.status.last_schedule_time or created or now
    deadline = cj.spec.starting_deadline_seconds
    if include_deadline and deadline is not None:
        earliest = max(earliest, Time(now - deadline))
    try:
        t1 = schedule.next_after(earliest)
        t2 = schedule.next_after(t1)
    except (CroniterBadDateError, CroniterBadCronError, CroniterNotAlphaError):
        raise ScheduleError(
            "InvalidSchedule", f"invalid schedule: {cj.spec.schedule} : no next schedule time"
        ) from None
    if now < t1:
        return earliest, None, Missed.NONE
    if now < t2:
        return earliest, t1, Missed.NONE
    between = round(t2 - t1)
    if between < 1:
        raise ScheduleError(
            "InvalidSchedule",
            f"invalid schedule: {cj.spec.schedule} : time difference between two schedules is less than 1 second",
        )
    count = int(now - t1) // between + 1
    # upstream walks from one interval before the estimate, so irregular schedules
    # ("30 6-16/4 * * 1-5") land on a real schedule time
    recent: Time | None = None
    t = schedule.next_after(Time(t1 + (count - 2) * between))
    while t <= now:
        recent = t
        t = schedule.next_after(t)
    if recent is None:  # the estimate overshot an irregular schedule: walk from t1 instead
        t, steps = t1, 0
        while t <= now and steps < WALK_LIMIT:
            recent, t, steps = t, schedule.next_after(t), steps + 1
    missed = Missed.MANY if count > MANY_MISSED else Missed.FEW if count > 1 else Missed.NONE
    return earliest, recent, missed


def next_schedule_time(cj: CronJob, now: Time, schedule: Schedule) -> tuple[Time | None, Missed]:
    """The schedule time to start a job for now (None: nothing due), and the missed count."""
    _, recent, missed = most_recent_schedule_time(cj, now, schedule, include_deadline=True)
    if recent is None or recent > now:
        return None, missed
    return recent, missed


def next_schedule_delay(cj: CronJob, now: Time, schedule: Schedule) -> float:
    """Seconds until the sync after the next schedule time (upstream adds 100 ms)."""
    earliest, recent, _ = most_recent_schedule_time(cj, now, schedule, include_deadline=False)
    base = recent if recent is not None else earliest
    return schedule.next_after(base) + NEXT_SCHEDULE_DELTA - now

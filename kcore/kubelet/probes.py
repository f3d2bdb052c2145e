"""Container probes: when each one runs and what its results add up to.

Owns `ProbeTrack` (one probe of one running container: its current result, consecutive
successes/failures, the next tick and whether an ExecProbe is in flight) and the pure
rules around it:
- `new_track(kind, probe, started_at)`: a probe worker starts with the container. Ticks
  fall on `started_at + k * periodSeconds`; ticks before `initialDelaySeconds` are skipped
  (upstream's worker ticks from the start and skips while the delay runs). Initial
  results: readiness fails, liveness passes, startup has not passed.
- `record(track, probe, success, now)`: the result flips only after `successThreshold`
  consecutive successes or `failureThreshold` consecutive failures; the next tick moves
  one period on.
- liveness and readiness are held (ticks pass without a probe) until the startup probe
  has passed; `realign` puts them back on their grid when it does.
- `in_motion(track, probe)`: whether the next tick is work in motion for settling
  (`kcore.driver.settling`): while the result is undecided (a startup or readiness probe
  that has not passed yet and has not failed `failureThreshold` times in a row, or a
  passing probe that has started failing), or while the last failure is one the
  application's script ends by itself (`ProbeResult.passes_at`: still warming up). A
  steady result, passing or failing for good, is merely scheduled.

Must not know: the runtime, events, the API. Mirrors pkg/kubelet/prober/worker.go
(doProbe) and prober_manager.go (initial results).
"""

from __future__ import annotations

import math

import attrs

from kcore.api.meta import Time
from kcore.api.pod import Container, Probe
from kcore.runtime.cri import ProbeKind

PROBE_ORDER: tuple[ProbeKind, ...] = (ProbeKind.STARTUP, ProbeKind.LIVENESS, ProbeKind.READINESS)


@attrs.frozen(kw_only=True)
class ProbeTrack:
    kind: ProbeKind
    origin: Time  # the container's start: ticks are origin + k * period
    next_at: Time
    passing: bool
    successes: int = 0
    failures: int = 0
    inflight: bool = False
    passes_at: Time | None = None  # the last failure's `ProbeResult.passes_at`


def probe_of(container: Container, kind: ProbeKind) -> Probe | None:
    match kind:
        case ProbeKind.STARTUP:
            return container.startup_probe
        case ProbeKind.LIVENESS:
            return container.liveness_probe
        case ProbeKind.READINESS:
            return container.readiness_probe


def _period(probe: Probe) -> float:
    return float(max(probe.period_seconds, 1))


def tick_at_or_after(origin: Time, probe: Probe, at: float) -> Time:
    """The first tick of the probe's grid at or after `at` and past the initial delay."""
    period = _period(probe)
    earliest = max(at, origin + probe.initial_delay_seconds)
    k = max(0, math.ceil((earliest - origin) / period - 1e-9))
    return Time(origin + k * period)


def new_track(kind: ProbeKind, probe: Probe, started_at: Time) -> ProbeTrack:
    """The track of a probe whose container just started at `started_at`."""
    return ProbeTrack(
        kind=kind,
        origin=started_at,
        next_at=tick_at_or_after(started_at, probe, started_at),
        passing=kind is ProbeKind.LIVENESS,
    )


def realign(track: ProbeTrack, probe: Probe, now: Time) -> ProbeTrack:
    """The track with its next tick at the first grid point at or after `now`."""
    return attrs.evolve(track, next_at=tick_at_or_after(track.origin, probe, now))


def in_motion(track: ProbeTrack, probe: Probe) -> bool:
    """Whether the track's next tick is work in motion (see the module doc)."""
    if track.passing:
        return track.failures > 0
    return track.failures < max(probe.failure_threshold, 1) or track.passes_at is not None


def record(
    track: ProbeTrack, probe: Probe, success: bool, now: Time, passes_at: Time | None = None
) -> ProbeTrack:
    """The track after one probe result at `now` (thresholds as upstream's doProbe);
    `passes_at`: the failing result's hint (see `kcore.runtime.cri.ProbeResult`)."""
    if success:
        successes, failures = track.successes + 1, 0
        passing = track.passing or successes >= max(probe.success_threshold, 1)
    else:
        successes, failures = 0, track.failures + 1
        passing = track.passing and failures < max(probe.failure_threshold, 1)
    next_at = tick_at_or_after(track.origin, probe, max(now, track.next_at) + 1e-6)
    return attrs.evolve(
        track,
        successes=successes,
        failures=failures,
        passing=passing,
        next_at=next_at,
        inflight=False,
        passes_at=None if success else passes_at,
    )

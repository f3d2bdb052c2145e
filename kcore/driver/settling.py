"""What `Cluster.settle` answers: how far simulated time ran after a command, and why it stopped.

Owns `Settled` and `SettleEnd`, plain values. The rule itself lives in
`kcore.driver.cluster.Cluster.settle`:

- Every queued delivery is work in motion except a timer its component marked as merely
  scheduled (`WakeMeAt.in_motion` False, the default): watch events, API answers,
  throttled requests and runtime callbacks (a pull ending, a container exiting, a
  graceful stop) are all in motion. The queue counts the items in motion, so the check is
  O(1) and settling adds no scan of anything.
- Settling delivers everything due now, then walks the clock from one queued time to
  the next, firing whatever is due there (merely scheduled work too: it fires because
  settling passes its time, as it would in a real cluster during that interval), as long
  as some work in motion is still queued. It stops at the instant the last of it played
  out (`SETTLED`), or at `max_seconds` (`TIMEOUT`), or when one instant needs more than
  `max_steps` deliveries (`STEPS`).
- A component decides what is in motion where it asks for the timer: a probe whose
  result is undecided, a minReadySeconds wait, a scheduling back-off after a change, the
  first retry after a failure. A repeat of the same failure (CrashLoopBackOff,
  ImagePullBackOff after the second failed pull, a controller's second failed write) and
  periodic work (heartbeats, resyncs, monitor passes, CronJob schedules, HPA syncs,
  deadlines) are merely scheduled: a workload stuck in a repeating state lets settling
  end, not the bound.

Mirrors nothing upstream: a real cluster's time passes by itself. This is what a user
expects `kubectl apply` followed by `kubectl rollout status` to show.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from kcore.api.meta import Time

DEFAULT_SETTLE_SECONDS: Final = 600.0
"""How much simulated time settling may use by default (the CLI's `--timeout`, 10m)."""


class SettleEnd(enum.Enum):
    """Why settling stopped."""

    SETTLED = "settled"  # nothing in motion any more
    TIMEOUT = "timeout"  # work was still in motion when max_seconds had passed
    STEPS = "steps"  # one instant needed more than max_steps deliveries


@attrs.frozen(kw_only=True)
class Settled:
    """Settling ran simulated time from `started` to `ended` and stopped for `end`."""

    started: Time
    ended: Time
    end: SettleEnd

    @property
    def seconds(self) -> float:
        """Simulated seconds that passed."""
        return self.ended - self.started

"""What a component receives: the closed union of driver events.

Owns `Event`, the facts the driver delivers to a component's `step`. Each carries `now`,
the simulated time of delivery: components never read a clock. Events name facts (past
tense); a component answers with effects (`kcore.driver.effects`).

- `Started`: the component was (re)started; its `init` already saw a fresh LIST.
- `WatchDelivered`: one change from the apiserver's watch log, in revision order.
- `ApiAnswered`: the response to the component's own `CallApi` effect.
- `TimerFired`: a `WakeMeAt` the component asked for came due.

Must not know: how the queue orders them, or which component gets what.
Mirrors the informer event handlers and workqueue callbacks of client-go.
"""

from __future__ import annotations

import attrs

from kcore.api.meta import Time
from kcore.apiserver.types import Response, WatchEvent


@attrs.frozen(kw_only=True)
class Started:
    """The component (re)started; delivered once after each `init`."""

    now: Time


@attrs.frozen(kw_only=True)
class WatchDelivered:
    """One watch event (ADDED/MODIFIED/DELETED) of a kind the component watches."""

    event: WatchEvent
    now: Time


@attrs.frozen(kw_only=True)
class ApiAnswered:
    """The apiserver answered the component's `CallApi` with this `request_id`."""

    request_id: str
    response: Response
    now: Time


@attrs.frozen(kw_only=True)
class TimerFired:
    """A `WakeMeAt(at, key)` came due; `now` is at least the requested time."""

    key: str
    now: Time


Event = Started | WatchDelivered | ApiAnswered | TimerFired

"""What a component asks for: the closed union of effects the driver performs.

Owns `Effect`. Effects are data: a component returns them from `init`/`step`, the driver
performs them in order and reports results back as events (`kcore.component.events`).

- `CallApi`: send `request` to the apiserver; the response comes back as
  `ApiAnswered(tag, ...)`, the writes it made as `WatchDelivered` to watchers.
- `WakeMeAt`: deliver `TimerFired(key)` at simulated time `at` (or at once if past).
  `in_motion` says what the timer is for, for settling (`Cluster.settle`): True when it
  continues work already under way that will finish by itself (a minReadySeconds wait,
  a probe whose result is still undecided, the first retry after a failure); False
  (the default) when it is merely scheduled (a periodic resync, a heartbeat, the next
  CronJob run, a deadline, a back-off after the same failure happened again).
- `RecordEvent`: record a v1 Event about an object (`kubectl get events`); fire and forget.
  The Event is signed with the component's `event_source`, or with `source` when a
  component folds in an upstream controller that records under its own (the node
  lifecycle controller's taint evictions come from `taint-eviction-controller`).
- `CallRuntime`: perform one CRI call on node `node`'s simulated container runtime
  (kubelet only); the result comes back as `RuntimeAnswered(tag, ...)`, and the
  work it set in motion (a pull finishing, a container exiting) later as `RuntimeNotified`.

Tags and keys say what they answer, as an Elm message carries its meaning back
(`Http.send CompletedLogin`): a `CallApi` or `CallRuntime` carries a `tag` and a `WakeMeAt`
a `key`, any frozen hashable value the component chooses (an `ObjectKey`, a small purpose
record such as `Op(owner, CREATE)`), and the driver hands it back unchanged in the
answer or the `TimerFired`. The component matches on it instead of keeping a counter and
a map from ids to meanings. A tag must be a value (attrs frozen class, tuple, enum, str,
int): its `repr` is in the trace, so it may not hold an object identity.

Every `match` over the union ends in `assert_never`, so mypy names each place to update.
Mirrors client-go's clientset calls, workqueue.AddAfter and record.EventRecorder.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable
from typing import TypeAlias

import attrs

from kcore.api.core import EventSource
from kcore.api.kinds import ObjectKey
from kcore.api.meta import Time
from kcore.component.requests import Request
from kcore.runtime.cri import RuntimeCall

Tag: TypeAlias = Hashable
"""What a `CallApi`/`CallRuntime` tag or a `WakeMeAt` key may be: any frozen value."""


class EventType(enum.Enum):
    """v1 Event `type`."""

    NORMAL = "Normal"
    WARNING = "Warning"


@attrs.frozen(kw_only=True)
class CallApi:
    """Send one request to the apiserver; the answer comes back with the same `tag`."""

    request: Request
    tag: Tag


@attrs.frozen(kw_only=True)
class WakeMeAt:
    """Ask for `TimerFired(key)` at simulated time `at`; `in_motion`: see the module doc."""

    at: Time
    key: Tag
    in_motion: bool = False


@attrs.frozen(kw_only=True)
class RecordEvent:
    """Record a v1 Event about `involved` (reason is CamelCase, as upstream's); `source`:
    the recorder's, when not the component's own `event_source`."""

    involved: ObjectKey
    type: EventType
    reason: str
    message: str
    source: EventSource | None = None


@attrs.frozen(kw_only=True)
class CallRuntime:
    """Perform `call` on the container runtime of `node`; answered by `RuntimeAnswered`."""

    node: str
    call: RuntimeCall
    tag: Tag


Effect = CallApi | WakeMeAt | RecordEvent | CallRuntime

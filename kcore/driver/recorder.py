"""The event recorder: turns `RecordEvent` effects into v1 Event writes, deduplicated and
aggregated as client-go's EventCorrelator does.

Owns `RecorderCache` and `record(cache, source, effect, now, n) -> (cache, request)`.

Rules (client-go tools/record/events_cache.go, event.go):
- The Event carries the recorder's `source` (component and host) and, as client-go's
  recorder sets them from it, `reportingComponent` = its component and
  `reportingInstance` = its host.
- Dedup: an event identical to one seen before (same source component and host,
  involved object, type, reason and message) is not a new object: the earlier Event is
  rewritten with `count + 1` and `lastTimestamp = now`, keeping its name and
  `firstTimestamp`.
- Aggregation: once `MAX_SIMILAR` (10) events with the same source, object, type and
  reason but different messages arrive within `SIMILAR_WINDOW` (10 min), further ones are
  folded into one Event whose message is "(combined from similar events): <message>".
- The cache forgets everything once it holds `CACHE_SIZE` keys (upstream: an LRU of 4096).
- Names are `<object>.<hex of now in ns + n>`, `n` a driver counter, as upstream's
  `<name>.<UnixNano hex>`.

Pure: the driver passes `now` and `n` and performs the returned request. Must not know the
queue or the components.
"""

from __future__ import annotations

from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.core import Event, EventSource, ObjectReference
from kcore.api.meta import ObjectMeta, Time
from kcore.component.effects import RecordEvent
from kcore.component.requests import Create, Request, Update

MAX_SIMILAR: Final = 10
SIMILAR_WINDOW: Final = 600.0
CACHE_SIZE: Final = 4096
COMBINED_PREFIX: Final = "(combined from similar events): "

_Key = tuple[str, str, str, str, str, str, str, str]  # component, host, kind, ns, name, type, reason, message


@attrs.frozen(kw_only=True)
class _Seen:
    name: str
    namespace: str
    count: int
    first: Time


@attrs.frozen(kw_only=True)
class _Similar:
    """The messages of one aggregate key, each with when it was last seen; `oldest` is at
    most the smallest of those times (a lower bound: a record at `now` within the window
    of it has nothing to drop)."""

    messages: PMap[str, Time]
    oldest: Time


@attrs.frozen(kw_only=True)
class RecorderCache:
    seen: PMap[_Key, _Seen] = pmap()
    similar: PMap[_Key, _Similar] = pmap()  # aggregate key (message "") -> its messages


def record(
    cache: RecorderCache, source: EventSource, rec: RecordEvent, now: Time, n: int
) -> tuple[RecorderCache, Request]:
    """The write that records `rec` by the recorder of `source` at `now`, and the new cache."""
    inv = rec.involved
    agg_key: _Key = (
        source.component, source.host, inv.kind.value, inv.namespace, inv.name, rec.type.value, rec.reason, ""
    )
    recent = _recent(cache.similar, agg_key, rec.message, now)
    message = rec.message
    if len(recent.messages) >= MAX_SIMILAR:
        message = COMBINED_PREFIX + rec.message
        key = agg_key
    else:
        key = (*agg_key[:7], rec.message)
    if len(cache.seen) >= CACHE_SIZE or len(cache.similar) >= CACHE_SIZE:
        cache = RecorderCache()
    similar = cache.similar.set(agg_key, recent)
    prev = cache.seen.get(key)
    if prev is None:
        name = f"{inv.name}.{int(now * 1e9) + n:x}"
        seen = _Seen(name=name, namespace=inv.namespace or "default", count=1, first=now)
    else:
        seen = attrs.evolve(prev, count=prev.count + 1)
    event = Event(
        metadata=ObjectMeta(name=seen.name, namespace=seen.namespace),
        involved_object=ObjectReference(
            api_version=inv.kind.info.api_version,
            kind=inv.kind.value,
            namespace=inv.namespace,
            name=inv.name,
        ),
        reason=rec.reason,
        message=message,
        type=rec.type.value,
        count=seen.count,
        first_timestamp=seen.first,
        last_timestamp=now,
        source=source,
        reporting_component=source.component,
        reporting_instance=source.host,
    )
    new = RecorderCache(seen=cache.seen.set(key, seen), similar=similar)
    return new, (Create(obj=event) if prev is None else Update(obj=event))


_NO_MESSAGES: Final[PMap[str, Time]] = pmap()


def _recent(similar: PMap[_Key, _Similar], agg_key: _Key, message: str, now: Time) -> _Similar:
    """The aggregate key's messages seen within `SIMILAR_WINDOW` of `now`, `message` at `now`.

    Filtering rebuilds the map (O(messages)), so it runs only when the oldest time may
    have left the window: a controller's SuccessfulCreate for each of hundreds of pods
    would otherwise rebuild a map of hundreds of messages per event.
    """
    try:
        known = similar[agg_key]
    except KeyError:
        return _Similar(messages=_NO_MESSAGES.set(message, now), oldest=now)
    messages = known.messages
    oldest = known.oldest
    if now - oldest > SIMILAR_WINDOW:
        messages = pmap({m: t for m, t in messages.iteritems() if now - t <= SIMILAR_WINDOW})
        oldest = min(messages.values(), default=now)
    return _Similar(messages=messages.set(message, now), oldest=min(oldest, now))

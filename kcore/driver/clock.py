"""The simulated clock's fixed start and kubectl-style durations.

Owns `EPOCH` (every new cluster starts at 2026-01-01T00:00:00Z, so one seed and one input
give the same timestamps on every machine), `parse_duration` (`90s`, `10m`, `1h30m`, as
Go's time.ParseDuration for the units kubectl users type) and `format_time` (RFC 3339).
The clock itself is a `Time` value inside the driver's snapshot; nothing reads a wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from kcore.api.meta import Time

EPOCH: Final = Time(1767225600.0)
"""2026-01-01T00:00:00Z: the simulated time of every freshly created cluster."""

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration string that is not `<number><unit>...` with units ms, s, m, h, d."""


def parse_duration(text: str) -> float:
    """Seconds in `text` (`90s`, `10m`, `2h`, `1h30m`, `1.5h`, `500ms`, `1d`)."""
    s = text.strip()
    pos, total = 0, 0.0
    while pos < len(s):
        m = _PART.match(s, pos)
        if m is None:
            raise DurationError(
                f'invalid duration "{text}": use a number with a unit (ms, s, m, h, d), e.g. 90s or 1h30m'
            )
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if not s:
        raise DurationError('invalid duration "": use a number with a unit, e.g. 90s')
    return total


def format_time(t: Time) -> str:
    """RFC 3339 with second precision, UTC (`2026-01-01T00:00:00Z`)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""IntOrString: fields that hold a number or a string ("25%", "http").

Owns: the `IntOrString` alias (a plain `int | str`, which is exactly what the JSON
holds), scaling a count-or-percentage against a total (maxSurge, maxUnavailable,
PodDisruptionBudget minAvailable), and the field validators upstream applies to them.

Rules:
- An int is used as is. A string must be a percentage: an optional sign, decimal digits,
  then `%` ("25%", "-10%"; as Go's strconv.Atoi reads the part before `%`). Anything else
  raises `IntOrStringError` naming the value. Percentages scale exactly with integer
  arithmetic (upstream goes through float64, which agrees for every realistic value).
- A string that names a port ("http") is not a percentage; resolving named ports belongs
  to the code that knows the pod's containers.

Must not know: API objects. Imports only kcore.util_validation.

Mirrors k8s.io/apimachinery/pkg/util/intstr/intstr.go (GetScaledValueFromIntOrPercent,
getIntOrPercentValueSafely) and the IntOrPercent checks of
pkg/apis/apps/validation/validation.go (ValidatePositiveIntOrPercent,
IsNotMoreThan100Percent).
"""

from __future__ import annotations

import re
from typing import Final

from kcore.util_validation import NEGATIVE_ERROR_MSG, FieldError, invalid, is_valid_percent

IntOrString = int | str
"""An int32 or a string, as upstream's intstr.IntOrString carries on the wire."""

_ATOI_RE: Final = re.compile(r"[+-]?[0-9]+")


class IntOrStringError(ValueError):
    """A string IntOrString that is not a percentage where one is required."""


def _atoi(text: str) -> int | None:
    """strconv.Atoi on a 64-bit platform, or None where it fails."""
    if _ATOI_RE.fullmatch(text) is None:
        return None
    significant = text.lstrip("+-").lstrip("0") or "0"
    if len(significant) > 19:
        return None
    number = -int(significant) if text[0] == "-" else int(significant)
    return number if -(2**63) <= number < 2**63 else None


def parse_int_or_percent(value: IntOrString) -> tuple[int, bool]:
    """(number, is_percent): `5` -> (5, False), `"25%"` -> (25, True); else raises."""
    if isinstance(value, int):
        return value, False
    if not value.endswith("%"):
        raise IntOrStringError(
            f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}"
        )
    number = _atoi(value[:-1])
    if number is None:
        raise IntOrStringError(f"invalid value for IntOrString: invalid value {value!r}")
    return number, True


def scaled_value(value: IntOrString, total: int, round_up: bool) -> int:
    """GetScaledValueFromIntOrPercent: an int as is, "p%" as p% of `total`, rounded.

    `scaled_value("25%", 10, round_up=True)` is 3; with `round_up=False` it is 2.
    """
    number, is_percent = parse_int_or_percent(value)
    if not is_percent:
        return number
    scaled = number * total
    return -(-scaled // 100) if round_up else scaled // 100


def int_value(value: IntOrString) -> int:
    """IntValue: an int as is; a string read as a decimal integer, 0 if it is not one."""
    if isinstance(value, int):
        return value
    number = _atoi(value)
    return 0 if number is None else number


def validate_positive_int_or_percent(value: IntOrString, path: str) -> tuple[FieldError, ...]:
    """ValidatePositiveIntOrPercent: a non-negative int, or an `NN%` string."""
    if isinstance(value, int):
        return () if value >= 0 else (invalid(path, value, NEGATIVE_ERROR_MSG),)
    return tuple(invalid(path, value, msg) for msg in is_valid_percent(value))


def validate_not_more_than_100_percent(value: IntOrString, path: str) -> tuple[FieldError, ...]:
    """IsNotMoreThan100Percent: a percentage string may not exceed 100%."""
    if isinstance(value, int) or is_valid_percent(value):
        return ()
    number = _atoi(value[:-1])
    if number is None or number > 100:
        return (invalid(path, value, "must not be greater than 100%"),)
    return ()

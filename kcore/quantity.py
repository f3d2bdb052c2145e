"""Resource quantities ("100m", "1.5Gi", "12e6"): exact fixed-point values with a format.

Owns: `Quantity`, its parser, its canonical string, ordering and arithmetic.

Theory of operation. Upstream parses a quantity into an exact decimal, rounds any part
finer than a nano (1e-9) away from zero, and remembers the format the suffix had
(BinarySI for Ki..Ei, DecimalSI for n..E and none, DecimalExponent for e/E exponents).
Every quantity is therefore an integer number of nanos, which is how kcore stores it:
`nanos` is exact, `format` only steers how `str()` writes it. Arithmetic stays integral
(sums and differences of nanos are nanos), so no float ever touches a quantity.

Rules (each one upstream's, from quantity.go):
- Equality, hashing and ordering use the value only: `1Gi == 1024Mi`, `1e3 == 1k`.
- `str()` is the canonical form (CanonicalizeBytes): no fractional digits, the largest
  exponent that loses nothing, and for DecimalSI/DecimalExponent an exponent that is a
  multiple of 3 ("1.5" -> "1500m"). BinarySI is written in binary only when the value is
  an integer with magnitude >= 1024 ("1.5Gi" -> "1536Mi", "512Ki" stays, "0.5Ki" ->
  "512"); otherwise it falls back to DecimalSI. DecimalSI beyond E (1e18) falls back to
  exponent notation ("1000E" -> "1e21"), never dropping magnitude.
- Parsing caps a BinarySI magnitude at 2^63-1 ("8Ei" parses as 9223372036854775807) and
  turns a BinarySI value strictly between 0 and 1 into DecimalSI. Decimal values are not
  capped.
- `value()`, `milli_value()` and `scaled_value()` round away from zero, as upstream's
  ScaledValue on its int64 path (100m -> 1, -1500m -> -2). They never overflow: Python
  ints are unbounded where upstream's int64 accessors wrap.
- `a + b` and `a - b` keep `a`'s format unless `a` is zero, then take `b`'s (Add, Sub).

Where kcore refuses what upstream would try: a literal with more than 1000 digits or a
decimal exponent above 1000 raises `QuantityParseError` (upstream would allocate a
number with that many digits); an exponent outside int32 raises instead of wrapping.
BinarySI output stops at Ei (2^70 prints as "1024Ei", not a bare, wrong "1").

Must not know: resources, pods or nodes. It imports nothing from kcore.

Mirrors k8s.io/apimachinery/pkg/api/resource/quantity.go, amount.go and suffix.go.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Final

import attrs


class QuantityParseError(ValueError):
    """Text that is not a quantity. The message names the text and what is wrong."""


class Format(enum.Enum):
    """How a quantity is written; the value is upstream's `resource.Format` string."""

    DECIMAL_EXPONENT = "DecimalExponent"  # 12e6
    BINARY_SI = "BinarySI"  # 12Mi (12 * 2^20)
    DECIMAL_SI = "DecimalSI"  # 12M (12 * 10^6)


NANO: Final = -9
MICRO: Final = -6
MILLI: Final = -3
KILO: Final = 3
MEGA: Final = 6
GIGA: Final = 9
TERA: Final = 12
PETA: Final = 15
EXA: Final = 18

_NANOS_PER_UNIT: Final = 10**9
_MAX_BINARY_NANOS: Final = (2**63 - 1) * _NANOS_PER_UNIT
_MAX_LITERAL_DIGITS: Final = 1000
_MAX_DECIMAL_EXPONENT: Final = 1000
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1

_FORMAT_WRONG: Final = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_SUFFIX_WRONG: Final = "unable to parse quantity's suffix"
_SUFFIX_CHARS: Final = frozenset("eEinumkKMGTP")
_DIGITS: Final = frozenset("0123456789")

# suffix -> (base, exponent, format), upstream's suffixer tables.
_SUFFIXES: Final[Mapping[str, tuple[int, int, Format]]] = {
    "": (10, 0, Format.DECIMAL_SI),
    "n": (10, -9, Format.DECIMAL_SI),
    "u": (10, -6, Format.DECIMAL_SI),
    "m": (10, -3, Format.DECIMAL_SI),
    "k": (10, 3, Format.DECIMAL_SI),
    "M": (10, 6, Format.DECIMAL_SI),
    "G": (10, 9, Format.DECIMAL_SI),
    "T": (10, 12, Format.DECIMAL_SI),
    "P": (10, 15, Format.DECIMAL_SI),
    "E": (10, 18, Format.DECIMAL_SI),
    "Ki": (2, 10, Format.BINARY_SI),
    "Mi": (2, 20, Format.BINARY_SI),
    "Gi": (2, 30, Format.BINARY_SI),
    "Ti": (2, 40, Format.BINARY_SI),
    "Pi": (2, 50, Format.BINARY_SI),
    "Ei": (2, 60, Format.BINARY_SI),
}
_DECIMAL_SUFFIX: Final[Mapping[int, str]] = {
    -9: "n",
    -6: "u",
    -3: "m",
    0: "",
    3: "k",
    6: "M",
    9: "G",
    12: "T",
    15: "P",
    18: "E",
}
_BINARY_SUFFIX: Final = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


@attrs.frozen(kw_only=True, order=True)
class Quantity:
    """An exact quantity: `nanos` * 1e-9, written in `format`. Compare by value only."""

    nanos: int
    format: Format = attrs.field(default=Format.DECIMAL_SI, eq=False, order=False)

    # --- constructors ---------------------------------------------------------------

    @classmethod
    def from_int(cls, value: int, format: Format = Format.DECIMAL_SI) -> Quantity:
        """NewQuantity: `value` units (`from_int(1024, Format.BINARY_SI)` is 1Ki)."""
        return cls(nanos=value * _NANOS_PER_UNIT, format=format)

    @classmethod
    def from_milli(cls, value: int, format: Format = Format.DECIMAL_SI) -> Quantity:
        """NewMilliQuantity: `value` thousandths (`from_milli(1500)` is 1500m)."""
        return cls(nanos=value * 10**6, format=format)

    @classmethod
    def from_scaled(cls, value: int, scale: int) -> Quantity:
        """NewScaledQuantity: `value * 10**scale` in DecimalSI; scale >= -9."""
        if scale < NANO:
            raise ValueError(f"scale {scale} is finer than nano (-9)")
        return cls(nanos=value * 10 ** (scale - NANO), format=Format.DECIMAL_SI)

    # --- reading ----------------------------------------------------------------------

    def is_zero(self) -> bool:
        """True for any zero, whatever its format."""
        return self.nanos == 0

    def sign(self) -> int:
        """-1, 0 or 1."""
        return (self.nanos > 0) - (self.nanos < 0)

    def as_fraction(self) -> Fraction:
        """The exact value."""
        return Fraction(self.nanos, _NANOS_PER_UNIT)

    def scaled_value(self, scale: int) -> int:
        """ScaledValue: the value in units of 10**scale, rounded away from zero."""
        shift = scale - NANO
        if shift <= 0:
            return self.nanos * _pow10(-shift)
        return _div_away_from_zero(self.nanos, 10**shift)

    def value(self) -> int:
        """Value: whole units, rounded away from zero (100m -> 1, 1500m -> 2)."""
        return _div_away_from_zero(self.nanos, _NANOS_PER_UNIT)

    def milli_value(self) -> int:
        """MilliValue: thousandths, rounded away from zero (1n -> 1)."""
        nanos = self.nanos
        if nanos >= 0:
            return -(-nanos // 1_000_000)  # ceiling division: the hot path (qos, quota)
        return _div_away_from_zero(nanos, 1_000_000)

    # --- arithmetic -----------------------------------------------------------------------

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(nanos=self.nanos + other.nanos, format=self._sum_format(other))

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(nanos=self.nanos - other.nanos, format=self._sum_format(other))

    def __neg__(self) -> Quantity:
        return Quantity(nanos=-self.nanos, format=self.format)

    def __mul__(self, factor: int) -> Quantity:
        """Mul: an integer multiple, format kept."""
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Quantity(nanos=self.nanos * factor, format=self.format)

    def _sum_format(self, other: Quantity) -> Format:
        return other.format if self.nanos == 0 else self.format

    # --- writing ------------------------------------------------------------------------

    def __str__(self) -> str:
        return canonical_string(self.nanos, self.format)


ZERO: Final = Quantity(nanos=0)
"""The zero quantity, DecimalSI (what parse_quantity("0") returns)."""


def _pow10(exponent: int) -> int:
    """10**exponent for exponent >= 0, typed as int (mypy widens `int ** int`)."""
    result: int = 10**exponent
    return result


def _div_away_from_zero(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder:
        quotient += 1
    return -quotient if numerator < 0 else quotient


def sum_quantities(quantities: Iterable[Quantity]) -> Quantity:
    """The sum, starting from `ZERO` (so the first non-zero term's format wins)."""
    total = ZERO
    for q in quantities:
        total = total + q
    return total


# --- canonical form ---------------------------------------------------------------------------


def canonical_string(nanos: int, format: Format) -> str:
    """CanonicalizeBytes for the value `nanos` * 1e-9 written in `format`."""
    if nanos == 0:
        return "0"
    if (
        format is Format.BINARY_SI
        and abs(nanos) >= 1024 * _NANOS_PER_UNIT
        and nanos % _NANOS_PER_UNIT == 0
    ):
        return _binary_string(nanos // _NANOS_PER_UNIT)
    sign = "-" if nanos < 0 else ""
    mantissa, exponent = abs(nanos), NANO
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    drop = exponent % 3  # make the exponent a multiple of 3, rounding it down
    mantissa *= 10**drop
    exponent -= drop
    if format is not Format.DECIMAL_EXPONENT and exponent in _DECIMAL_SUFFIX:
        return f"{sign}{mantissa}{_DECIMAL_SUFFIX[exponent]}"
    suffix = f"e{exponent}" if exponent else ""
    return f"{sign}{mantissa}{suffix}"


def _binary_string(units: int) -> str:
    magnitude, power = abs(units), 0
    while power < len(_BINARY_SUFFIX) - 1 and magnitude % 1024 == 0:
        magnitude //= 1024
        power += 1
    sign = "-" if units < 0 else ""
    return f"{sign}{magnitude}{_BINARY_SUFFIX[power]}"


# --- parsing ----------------------------------------------------------------------------------


def parse_quantity(text: str) -> Quantity:
    """ParseQuantity: `text` as a Quantity, or QuantityParseError naming what is wrong.

    Accepts `[+-]digits[.digits]suffix` where the suffix is binary SI (Ki..Ei), decimal
    SI (n u m "" k M G T P E) or an exponent (e3, E-3, e+6). No whitespace anywhere.
    """
    if text == "0":
        return ZERO
    if not text:
        raise QuantityParseError(f"cannot parse quantity '': {_FORMAT_WRONG}")
    positive, num, denom, suffix = _scan(text)
    base, exponent, format = _interpret(text, suffix)
    if len(num) + len(denom) > _MAX_LITERAL_DIGITS:
        raise QuantityParseError(
            f"cannot parse quantity {text!r}: more than {_MAX_LITERAL_DIGITS} digits"
        )
    mantissa = int(num + denom)
    if base == 10:
        nanos = _decimal_nanos(text, mantissa, exponent - len(denom), len(num) + len(denom))
    else:
        numerator = mantissa * 2**exponent * _NANOS_PER_UNIT
        nanos = _div_away_from_zero(numerator, 10 ** len(denom))
    if format is Format.BINARY_SI:
        # The cap and the format change work on the magnitude, before the sign.
        nanos = min(nanos, _MAX_BINARY_NANOS)
        if 0 < nanos < _NANOS_PER_UNIT:
            format = Format.DECIMAL_SI
    return Quantity(nanos=nanos if positive else -nanos, format=format)


def _decimal_nanos(text: str, mantissa: int, exponent: int, digit_count: int) -> int:
    """`mantissa * 10**exponent` in nanos, a non-zero remainder rounded up (away from 0)."""
    if mantissa == 0:
        return 0
    shift = exponent - NANO
    if shift >= 0:
        if exponent > _MAX_DECIMAL_EXPONENT:
            raise QuantityParseError(
                f"cannot parse quantity {text!r}: exponent above {_MAX_DECIMAL_EXPONENT}"
            )
        return mantissa * _pow10(shift)
    if -shift > digit_count:
        # mantissa < 10**digit_count <= 10**-shift: a non-zero value below one nano.
        return 1
    return _div_away_from_zero(mantissa, 10 ** (-shift))


def _scan(text: str) -> tuple[bool, str, str, str]:
    """parseQuantityString: (positive, integer digits, fraction digits, suffix).

    Leading zeros of the integer part are dropped ("0" if none remain).
    """
    end = len(text)
    pos = 0
    positive = True
    if text[0] == "-":
        positive = False
        pos = 1
    elif text[0] == "+":
        pos = 1
    while pos < end and text[pos] == "0":
        pos += 1
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    num = text[start:pos] or "0"
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityParseError(f"cannot parse quantity {text!r}: {_FORMAT_WRONG}")
    return positive, num, denom, text[suffix_start:]


def _interpret(text: str, suffix: str) -> tuple[int, int, Format]:
    """The suffixer's interpret: (base, exponent, format) of a suffix."""
    known = _SUFFIXES.get(suffix)
    if known is not None:
        return known
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:].lstrip("+-")
        if (
            digits
            and set(digits) <= _DIGITS
            and len(suffix) - len(digits) <= 2
            and len(digits.lstrip("0")) <= 10
        ):
            exponent = int(suffix[1:])
            if _INT32_MIN <= exponent <= _INT32_MAX:
                return 10, exponent, Format.DECIMAL_EXPONENT
    raise QuantityParseError(f"cannot parse quantity {text!r}: {_SUFFIX_WRONG}")

"""kcore.quantity: upstream quantity_test.go tables (parse, canonical strings, accessors)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kcore.quantity import (
    MICRO,
    MILLI,
    NANO,
    ZERO,
    Format,
    Quantity,
    QuantityParseError,
    parse_quantity,
    sum_quantities,
)

BIN = Format.BINARY_SI
DEC = Format.DECIMAL_SI
EXP = Format.DECIMAL_EXPONENT
MAX_INT64 = 2**63 - 1


def dec(mantissa: int, exponent: int, fmt: Format) -> Quantity:
    """Upstream's decQuantity(mantissa, exponent, format): mantissa * 10**exponent."""
    assert exponent >= NANO
    return Quantity(nanos=mantissa * 10 ** (exponent - NANO), format=fmt)


# TestQuantityParse: input -> expected value and format.
PARSE_TABLE: list[tuple[str, Quantity]] = [
    ("0", dec(0, 0, DEC)),
    ("0n", dec(0, 0, DEC)),
    ("0u", dec(0, 0, DEC)),
    ("0m", dec(0, 0, DEC)),
    ("0Ki", dec(0, 0, BIN)),
    ("0k", dec(0, 0, DEC)),
    ("0Mi", dec(0, 0, BIN)),
    ("0M", dec(0, 0, DEC)),
    ("0Gi", dec(0, 0, BIN)),
    ("0G", dec(0, 0, DEC)),
    ("0Ti", dec(0, 0, BIN)),
    ("0T", dec(0, 0, DEC)),
    # Quantity less numbers are allowed
    ("1", dec(1, 0, DEC)),
    # Binary suffixes
    ("1Ki", dec(1024, 0, BIN)),
    ("8Ki", dec(8 * 1024, 0, BIN)),
    ("7Mi", dec(7 * 1024**2, 0, BIN)),
    ("6Gi", dec(6 * 1024**3, 0, BIN)),
    ("5Ti", dec(5 * 1024**4, 0, BIN)),
    ("4Pi", dec(4 * 1024**5, 0, BIN)),
    ("3Ei", dec(3 * 1024**6, 0, BIN)),
    ("10Ti", dec(10 * 1024**4, 0, BIN)),
    ("100Ti", dec(100 * 1024**4, 0, BIN)),
    # Decimal suffixes
    ("5n", dec(5, -9, DEC)),
    ("4u", dec(4, -6, DEC)),
    ("3m", dec(3, -3, DEC)),
    ("9", dec(9, 0, DEC)),
    ("8k", dec(8, 3, DEC)),
    ("50k", dec(5, 4, DEC)),
    ("7M", dec(7, 6, DEC)),
    ("6G", dec(6, 9, DEC)),
    ("5T", dec(5, 12, DEC)),
    ("40T", dec(4, 13, DEC)),
    ("300T", dec(3, 14, DEC)),
    ("2P", dec(2, 15, DEC)),
    ("1E", dec(1, 18, DEC)),
    # Decimal exponents
    ("1E-3", dec(1, -3, EXP)),
    ("1e3", dec(1, 3, EXP)),
    ("1E6", dec(1, 6, EXP)),
    ("1e9", dec(1, 9, EXP)),
    ("1E12", dec(1, 12, EXP)),
    ("1e15", dec(1, 15, EXP)),
    ("1E18", dec(1, 18, EXP)),
    # Nonstandard but still parsable
    ("1e14", dec(1, 14, EXP)),
    ("1e13", dec(1, 13, EXP)),
    ("100.035k", dec(100035, 0, DEC)),
    # Things that look like floating point
    ("0.001", dec(1, -3, DEC)),
    ("0.0005k", dec(5, -1, DEC)),
    ("0.005", dec(5, -3, DEC)),
    ("0.05", dec(5, -2, DEC)),
    ("0.5", dec(5, -1, DEC)),
    ("0.00050k", dec(5, -1, DEC)),
    ("0.00500", dec(5, -3, DEC)),
    ("0.05000", dec(5, -2, DEC)),
    ("0.50000", dec(5, -1, DEC)),
    ("0.5e0", dec(5, -1, EXP)),
    ("0.5e-1", dec(5, -2, EXP)),
    ("0.5e-2", dec(5, -3, EXP)),
    ("10.035M", dec(10035, 3, DEC)),
    ("1.2e3", dec(12, 2, EXP)),
    ("1.3E+6", dec(13, 5, EXP)),
    ("1.40e9", dec(14, 8, EXP)),
    ("1.53E12", dec(153, 10, EXP)),
    ("1.6e15", dec(16, 14, EXP)),
    ("1.7E18", dec(17, 17, EXP)),
    ("9.01", dec(901, -2, DEC)),
    ("8.1k", dec(81, 2, DEC)),
    ("7.123456M", dec(7123456, 0, DEC)),
    ("6.987654321G", dec(6987654321, 0, DEC)),
    ("5.444T", dec(5444, 9, DEC)),
    ("40.1T", dec(401, 11, DEC)),
    ("300.2T", dec(3002, 11, DEC)),
    ("2.5P", dec(25, 14, DEC)),
    ("1.01E", dec(101, 16, DEC)),
    # Things that saturate/round
    ("3.001n", dec(4, -9, DEC)),
    ("1.1E-9", dec(2, -9, EXP)),
    ("0.0000000001", dec(1, -9, DEC)),
    ("0.0000000005", dec(1, -9, DEC)),
    ("0.00000000050", dec(1, -9, DEC)),
    ("0.5e-9", dec(1, -9, EXP)),
    ("0.9n", dec(1, -9, DEC)),
    ("0.00000012345", dec(124, -9, DEC)),
    ("0.00000012354", dec(124, -9, DEC)),
    ("9Ei", dec(MAX_INT64, 0, BIN)),
    ("9223372036854775807Ki", dec(MAX_INT64, 0, BIN)),
    ("12E", dec(12, 18, DEC)),
    # We'll accept fractional binary stuff, too.
    ("100.035Ki", dec(10243584, -2, BIN)),
    ("0.5Mi", dec(512 * 1024, 0, BIN)),
    ("0.05Gi", dec(536870912, -1, BIN)),
    ("0.025Ti", dec(274877906944, -1, BIN)),
    # Things written by trolls
    ("0.000000000001Ki", dec(2, -9, DEC)),  # rounds up, changes format
    (".001", dec(1, -3, DEC)),
    (".0001k", dec(100, -3, DEC)),
    ("1.", dec(1, 0, DEC)),
    ("1.G", dec(1, 9, DEC)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_parse_gives_upstreams_value_and_format(text: str, expected: Quantity) -> None:
    got = parse_quantity(text)
    assert got == expected
    assert got.format is expected.format


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_parse_with_a_minus_sign_negates(text: str, expected: Quantity) -> None:
    got = parse_quantity("-" + text)
    assert got == -expected
    assert got.format is expected.format


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_parse_with_a_plus_sign_is_the_same(text: str, expected: Quantity) -> None:
    got = parse_quantity("+" + text)
    assert got == expected
    assert got.format is expected.format


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.1.M",
        "1+1.0M",
        "0.1mi",
        "0.1am",
        "aoeu",
        ".5i",
        "1i",
        "-3.01i",
        "-3.01e-",
        " 1",
        "1 ",
        "1e",
        "1Mi3",
        "1ee3",
        "1e3.5",
        "1e+-3",
        "１",  # a full-width digit is not a digit here
        "1e99999999999",  # outside int32: upstream would wrap it
        "1e1001",  # kcore refuses to build a 1001-digit number
        "1" * 1001,
    ],
)
def test_parse_rejects_malformed_text(text: str) -> None:
    with pytest.raises(QuantityParseError) as raised:
        parse_quantity(text)
    assert repr(text) in str(raised.value)


def test_parse_accepts_upstreams_odd_but_valid_forms() -> None:
    assert parse_quantity(".") == ZERO
    assert parse_quantity("-") == ZERO
    assert parse_quantity("00012") == parse_quantity("12")
    assert parse_quantity("1e-99999999") == dec(1, -9, EXP)  # rounds up to one nano
    assert parse_quantity("0e1000000") == ZERO
    assert parse_quantity("1e00000000000003") == dec(1, 3, EXP)


# TestQuantityString: (value, canonical string, an alternate spelling of it).
STRING_TABLE: list[tuple[Quantity, str, str]] = [
    (dec(1024**3, 0, BIN), "1Gi", "1024Mi"),
    (dec(300 * 1024**2, 0, BIN), "300Mi", "307200Ki"),
    (dec(6 * 1024, 0, BIN), "6Ki", ""),
    (dec(1001 * 1024**3, 0, BIN), "1001Gi", "1025024Mi"),
    (dec(1024**4, 0, BIN), "1Ti", "1024Gi"),
    (dec(5, 0, BIN), "5", "5000m"),
    (dec(500, -3, BIN), "500m", "0.5"),
    (dec(1, 9, DEC), "1G", "1000M"),
    (dec(1000, 6, DEC), "1G", "0.001T"),
    (dec(1000000, 3, DEC), "1G", ""),
    (dec(1000000000, 0, DEC), "1G", ""),
    (dec(1, -3, DEC), "1m", "1000u"),
    (dec(80, -3, DEC), "80m", ""),
    (dec(1080, -3, DEC), "1080m", "1.08"),
    (dec(108, -2, DEC), "1080m", "1080000000n"),
    (dec(10800, -4, DEC), "1080m", ""),
    (dec(300, 6, DEC), "300M", ""),
    (dec(1, 12, DEC), "1T", ""),
    (dec(1, 18, DEC), "1E", ""),
    (dec(1, 21, DEC), "1e21", "1000E"),
    (dec(5, 21, DEC), "5e21", "5000E"),
    (dec(1, 24, DEC), "1e24", "1000000E"),
    (dec(1234567, 6, DEC), "1234567M", ""),
    (dec(1234567, -3, BIN), "1234567m", ""),
    (dec(3, 3, DEC), "3k", ""),
    (dec(1025, 0, BIN), "1025", ""),
    (dec(0, 0, DEC), "0", ""),
    (dec(0, 0, BIN), "0", ""),
    (dec(1, 9, EXP), "1e9", ".001e12"),
    (dec(1, -3, EXP), "1e-3", "0.001e0"),
    (dec(1, -9, EXP), "1e-9", "1000e-12"),
    (dec(80, -3, EXP), "80e-3", ""),
    (dec(300, 6, EXP), "300e6", ""),
    (dec(1, 12, EXP), "1e12", ""),
    (dec(1, 3, EXP), "1e3", ""),
    (dec(3, 3, EXP), "3e3", ""),
    (dec(3, 3, DEC), "3k", ""),
    (dec(0, 0, EXP), "0", "00"),
    (dec(1, -9, DEC), "1n", ""),
    (dec(80, -9, DEC), "80n", ""),
    (dec(1080, -9, DEC), "1080n", ""),
    (dec(108, -8, DEC), "1080n", ""),
    (dec(1080, -6, DEC), "1080u", ""),
    (dec(1, -6, DEC), "1u", ""),
    (dec(80, -6, DEC), "80u", ""),
]


@pytest.mark.parametrize(("q", "text", "alternate"), STRING_TABLE)
def test_canonical_string_matches_upstream(q: Quantity, text: str, alternate: str) -> None:
    assert str(q) == text
    assert parse_quantity(text) == q
    if alternate:
        assert str(parse_quantity(alternate)) == text


@pytest.mark.parametrize(("q", "text", "alternate"), STRING_TABLE)
def test_canonical_string_of_a_negative_has_a_minus(q: Quantity, text: str, alternate: str) -> None:
    if not q.is_zero():
        assert str(-q) == "-" + text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # TestQuantityParseEmit
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        # the brief's examples and common manifest values
        ("0.1", "100m"),
        ("1000m", "1"),
        ("1.5Gi", "1536Mi"),
        ("1e3", "1e3"),
        ("12e6", "12e6"),
        ("100k", "100k"),
        ("0", "0"),
        ("1.5", "1500m"),
        ("250m", "250m"),
        ("2048Ki", "2Mi"),
        ("1536Ki", "1536Ki"),
        ("1.2e3", "1200"),
        ("0.5e0", "500e-3"),
        ("1e-12", "1e-9"),
        ("9Ei", "9223372036854775807"),
        ("8Ei", "9223372036854775807"),
        ("1024Ei", "9223372036854775807"),
        ("0.5Ki", "512"),
        ("1.5Ki", "1536"),
        ("1000Ki", "1000Ki"),
    ],
)
def test_parse_then_print_gives_the_canonical_form(text: str, canonical: str) -> None:
    assert str(parse_quantity(text)) == canonical
    negative = parse_quantity("-" + text)
    if not negative.is_zero():
        assert str(negative) == "-" + canonical


def test_binary_output_stops_at_exbi() -> None:
    assert str(Quantity.from_int(2**70, BIN)) == "1024Ei"


# TestMilliNewSet
@pytest.mark.parametrize(
    ("value", "fmt", "text", "exact"),
    [
        (1, DEC, "1m", True),
        (1000, DEC, "1", True),
        (1234000, DEC, "1234", True),
        (1024, BIN, "1024m", False),  # format changes
        (1000000, EXP, "1e3", True),
        (1024 * 1024, BIN, "1048576m", False),
    ],
)
def test_from_milli(value: int, fmt: Format, text: str, exact: bool) -> None:
    q = Quantity.from_milli(value, fmt)
    assert str(q) == text
    if exact:
        assert parse_quantity(str(q)).milli_value() == value


# TestNewSet
@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        (1, DEC, "1"),
        (1000, DEC, "1k"),
        (1234000, DEC, "1234k"),
        (1024, BIN, "1Ki"),
        (1000000, EXP, "1e6"),
        (1024 * 1024, BIN, "1Mi"),
    ],
)
def test_from_int(value: int, fmt: Format, text: str) -> None:
    q = Quantity.from_int(value, fmt)
    assert str(q) == text
    assert parse_quantity(str(q)).value() == value


# TestNewScaledSet
@pytest.mark.parametrize(
    ("value", "scale", "text"),
    [
        (1, NANO, "1n"),
        (1000, NANO, "1u"),
        (1, MICRO, "1u"),
        (1000, MICRO, "1m"),
        (1, MILLI, "1m"),
        (1000, MILLI, "1"),
        (1, 0, "1"),
        (0, NANO, "0"),
        (0, MICRO, "0"),
        (0, MILLI, "0"),
        (0, 0, "0"),
    ],
)
def test_from_scaled(value: int, scale: int, text: str) -> None:
    q = Quantity.from_scaled(value, scale)
    assert str(q) == text
    assert parse_quantity(str(q)).scaled_value(scale) == value


# TestScaledValue
@pytest.mark.parametrize(
    ("from_scale", "to_scale", "expected"),
    [
        (NANO, NANO, 1),
        (NANO, MICRO, 1),
        (NANO, MILLI, 1),
        (NANO, 0, 1),
        (MICRO, NANO, 1000),
        (MICRO, MICRO, 1),
        (MICRO, MILLI, 1),
        (MICRO, 0, 1),
        (MILLI, NANO, 1000 * 1000),
        (MILLI, MICRO, 1000),
        (MILLI, MILLI, 1),
        (MILLI, 0, 1),
        (0, NANO, 1000 * 1000 * 1000),
        (0, MICRO, 1000 * 1000),
        (0, MILLI, 1000),
        (0, 0, 1),
        (2, -2, 100 * 100),
    ],
)
def test_scaled_value(from_scale: int, to_scale: int, expected: int) -> None:
    assert Quantity.from_scaled(1, from_scale).scaled_value(to_scale) == expected


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("100m", 1, 100),
        ("1500m", 2, 1500),
        ("1", 1, 1000),
        ("1n", 1, 1),
        ("0", 0, 0),
        ("1Ki", 1024, 1024000),
        ("-100m", -1, -100),
        ("-1500m", -2, -1500),
        ("-1n", -1, -1),
        ("12E", 12 * 10**18, 12 * 10**21),
    ],
)
def test_value_and_milli_value_round_away_from_zero(text: str, value: int, milli: int) -> None:
    q = parse_quantity(text)
    assert q.value() == value
    assert q.milli_value() == milli


def test_from_scaled_refuses_sub_nano_scales() -> None:
    with pytest.raises(ValueError):
        Quantity.from_scaled(1, -10)


# --- comparison and arithmetic -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1), ("10000T", "100Gi", 1)],
)
def test_comparison(x: str, y: str, expected: int) -> None:
    a, b = parse_quantity(x), parse_quantity(y)
    assert (a > b) - (a < b) == expected


def test_equality_is_by_value_across_formats() -> None:
    assert parse_quantity("1Gi") == parse_quantity("1024Mi")
    assert parse_quantity("1Ki") == Quantity.from_int(1024)
    assert parse_quantity("1e3") == parse_quantity("1k")
    assert hash(parse_quantity("1e3")) == hash(parse_quantity("1k"))
    assert parse_quantity("1") != parse_quantity("1001m")
    assert sorted(map(parse_quantity, ["1Gi", "1", "500m", "1G"])) == list(
        map(parse_quantity, ["500m", "1", "1G", "1Gi"])
    )


def test_add_and_sub_keep_the_left_format_unless_it_is_zero() -> None:
    ten_dec, ten_bin = Quantity.from_int(10, DEC), Quantity.from_int(10, BIN)
    one_bin, one_dec = Quantity.from_int(1, BIN), Quantity.from_int(1, DEC)
    assert (ten_dec + one_bin).format is DEC
    assert (ten_bin + one_dec).format is BIN
    assert ten_dec + Quantity.from_scaled(1, 1) == Quantity.from_int(20)
    assert ten_dec - Quantity.from_scaled(1, 1) == ZERO
    assert (ten_bin - one_dec) == Quantity.from_int(9)
    assert (ZERO + parse_quantity("1Gi")).format is BIN
    assert (ZERO - Quantity.from_int(50)) == Quantity.from_int(-50)


@pytest.mark.parametrize("text", ["100m", "1Gi"])
def test_adding_or_subtracting_zero_preserves_the_suffix(text: str) -> None:
    q = parse_quantity(text)
    assert str(q + ZERO) == text
    assert str(ZERO + q) == text
    assert str(q - ZERO) == text
    assert str(ZERO - q) == str(-q)


def test_negation_and_multiplication() -> None:
    assert str(-dec(901, -2, DEC)) == "-9010m"
    one_ki = parse_quantity("1Ki")
    negated = -one_ki
    assert negated == Quantity(nanos=-1024 * 10**9)
    assert -negated == one_ki
    assert str(parse_quantity("1Gi") * 3) == "3Gi"
    assert str(parse_quantity("250m") * 4) == "1"
    assert parse_quantity("-50") * -50 == Quantity.from_int(2500)


def test_sum_quantities_and_helpers() -> None:
    total = sum_quantities(parse_quantity(t) for t in ["100m", "250m", "1"])
    assert str(total) == "1350m"
    assert sum_quantities([]) == ZERO
    assert parse_quantity("1Mi").as_fraction() == Fraction(1024 * 1024)
    assert parse_quantity("-3m").sign() == -1
    assert ZERO.sign() == 0
    assert parse_quantity("0Ki").is_zero()


def test_quantities_are_frozen() -> None:
    q = parse_quantity("1")
    with pytest.raises(AttributeError):
        q.nanos = 2  # type: ignore[misc]  # proving the frozen class refuses it

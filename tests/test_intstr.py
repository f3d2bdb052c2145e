"""kcore.intstr: GetScaledValueFromIntOrPercent (upstream intstr_test.go) and its validators."""

from __future__ import annotations

import pytest

from kcore.intstr import (
    IntOrString,
    IntOrStringError,
    int_value,
    parse_int_or_percent,
    scaled_value,
    validate_not_more_than_100_percent,
    validate_positive_int_or_percent,
)
from kcore.util_validation import invalid


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        # TestGetIntFromIntOrPercent / TestGetScaledValueFromIntOrPercent
        (123, 0, False, 123),
        ("90%", 100, True, 90),
        ("90%", 95, True, 86),
        ("90%", 95, False, 85),
        ("25%", 10, True, 3),
        ("25%", 10, False, 2),
        ("0%", 10, True, 0),
        ("100%", 7, False, 7),
        ("-10%", 10, True, -1),
        ("-15%", 10, True, -1),
        ("-15%", 10, False, -2),
        ("+50%", 3, True, 2),
        (5, 100, True, 5),
        (-5, 100, False, -5),
    ],
)
def test_scaled_value(value: IntOrString, total: int, round_up: bool, expected: int) -> None:
    assert scaled_value(value, total, round_up) == expected


@pytest.mark.parametrize(
    "value", ["", "%", "90", "x%", "1.5%", "90 %", " 90%", "9%0%", "http", "1" * 30 + "%"]
)
def test_a_string_that_is_not_a_percentage_raises(value: str) -> None:
    with pytest.raises(IntOrStringError) as raised:
        scaled_value(value, 10, round_up=True)
    assert repr(value) in str(raised.value)


def test_parse_int_or_percent() -> None:
    assert parse_int_or_percent(5) == (5, False)
    assert parse_int_or_percent("25%") == (25, True)
    assert parse_int_or_percent("007%") == (7, True)


def test_int_value_reads_strings_as_atoi_does() -> None:
    assert int_value(8080) == 8080
    assert int_value("8080") == 8080
    assert int_value("http") == 0


def test_validate_positive_int_or_percent() -> None:
    path = "spec.strategy.rollingUpdate.maxSurge"
    assert validate_positive_int_or_percent(0, path) == ()
    assert validate_positive_int_or_percent("25%", path) == ()
    assert validate_positive_int_or_percent(-1, path) == (
        invalid(path, -1, "must be greater than or equal to 0"),
    )
    assert validate_positive_int_or_percent("25", path) == (
        invalid(
            path,
            "25",
            "a valid percent string must be a numeric string followed by an ending '%'"
            " (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
    )


def test_validate_not_more_than_100_percent() -> None:
    path = "spec.strategy.rollingUpdate.maxUnavailable"
    assert validate_not_more_than_100_percent("100%", path) == ()
    assert validate_not_more_than_100_percent(500, path) == ()
    assert validate_not_more_than_100_percent("bogus", path) == ()  # reported elsewhere
    assert validate_not_more_than_100_percent("101%", path) == (
        invalid(path, "101%", "must not be greater than 100%"),
    )

"""Hypothesis strategies for the leaf value types: label selectors and quantities.

Generated values are always valid (keys, values and operators as `new_requirement`
accepts them; quantities within the range that parses back exactly), so properties can
state laws without filtering.
"""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st

from kcore.labels import Operator, Requirement, Selector
from kcore.quantity import Format, Quantity

_NAME_RE: Final = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,6}[A-Za-z0-9])?"
_DNS_LABEL_RE: Final = r"[a-z0-9]([-a-z0-9]{0,4}[a-z0-9])?"

label_names: Final[st.SearchStrategy[str]] = st.one_of(
    st.from_regex(_NAME_RE, fullmatch=True),
    st.sampled_from(["in", "notin", "app", "tier", "a"]),
)
"""The name part of a label key; includes the parser's keywords on purpose."""

label_prefixes: Final[st.SearchStrategy[str]] = st.one_of(
    st.just(""),
    st.lists(st.from_regex(_DNS_LABEL_RE, fullmatch=True), min_size=1, max_size=3).map(
        lambda labels: ".".join(labels) + "/"
    ),
)

label_keys: Final[st.SearchStrategy[str]] = st.builds(
    lambda prefix, name: prefix + name, label_prefixes, label_names
)
"""Valid label keys (qualified names), with and without a DNS prefix."""

label_values: Final[st.SearchStrategy[str]] = st.one_of(
    st.just(""), st.from_regex(_NAME_RE, fullmatch=True), st.sampled_from(["in", "notin"])
)
"""Valid label values, the empty value included."""

_integer_values: Final[st.SearchStrategy[str]] = st.integers(0, 10**6).map(str) | st.sampled_from(
    ["007", "0", "9223372036854775807"]
)


def _requirement(key: str, op: Operator, values: list[str]) -> Requirement:
    return Requirement(key=key, operator=op, values=tuple(values))


requirements: Final[st.SearchStrategy[Requirement]] = st.one_of(
    st.builds(
        _requirement,
        label_keys,
        st.sampled_from([Operator.IN, Operator.NOT_IN]),
        st.lists(label_values, min_size=1, max_size=4),
    ),
    st.builds(
        _requirement,
        label_keys,
        st.sampled_from([Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS]),
        st.lists(label_values, min_size=1, max_size=1),
    ),
    st.builds(
        _requirement,
        label_keys,
        st.sampled_from([Operator.EXISTS, Operator.DOES_NOT_EXIST]),
        st.just([]),
    ),
    st.builds(
        _requirement,
        label_keys,
        st.sampled_from([Operator.GREATER_THAN, Operator.LESS_THAN]),
        st.lists(_integer_values, min_size=1, max_size=1),
    ),
)
"""Valid requirements of every operator."""

selectors: Final[st.SearchStrategy[Selector]] = st.lists(requirements, max_size=5).map(
    lambda rs: Selector(requirements=tuple(rs))
)
"""Selectors that print and parse back (never `Selector.nothing()`, which prints as "")."""

label_sets: Final[st.SearchStrategy[dict[str, str]]] = st.dictionaries(
    label_keys, label_values | _integer_values, max_size=5
)
"""Label maps to match selectors against."""


# --- quantities ----------------------------------------------------------------------------

_MAX_EXACT_NANOS: Final = (2**63 - 1) * 10**9
"""BinarySI parsing caps at 2^63-1; staying under it keeps parse(str(q)) == q."""

formats: Final[st.SearchStrategy[Format]] = st.sampled_from(list(Format))

_nanos: Final[st.SearchStrategy[int]] = st.one_of(
    st.integers(-_MAX_EXACT_NANOS, _MAX_EXACT_NANOS),
    st.integers(-(10**12), 10**12),
    st.builds(
        lambda units, power: units * 1024**power * 10**9,
        st.integers(-2048, 2048),
        st.integers(0, 5),
    ),
    st.builds(
        lambda units, power: units * 10 ** (power + 9),
        st.integers(-999, 999),
        st.integers(-9, 20),
    ).filter(lambda n: abs(n) <= _MAX_EXACT_NANOS),
)

quantities: Final[st.SearchStrategy[Quantity]] = st.builds(
    lambda nanos, fmt: Quantity(nanos=nanos, format=fmt), _nanos, formats
)
"""Quantities of every format, from nano scale to the int64 range."""

_SUFFIXES: Final = (
    "",
    "n",
    "u",
    "m",
    "k",
    "M",
    "G",
    "T",
    "P",
    "E",
    "Ki",
    "Mi",
    "Gi",
    "Ti",
    "Pi",
    "Ei",
)

quantity_texts: Final[st.SearchStrategy[str]] = st.builds(
    lambda sign, whole, frac, suffix: f"{sign}{whole}{frac}{suffix}",
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"[0-9]{0,8}", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r"\.[0-9]{0,10}", fullmatch=True)),
    st.one_of(
        st.sampled_from(_SUFFIXES),
        st.builds(
            lambda e, sign, n: f"{e}{sign}{n}",
            st.sampled_from(["e", "E"]),
            st.sampled_from(["", "+", "-"]),
            st.integers(0, 30),
        ),
    ),
).filter(bool)
"""Quantity strings as people write them: signs, fractions, every suffix, exponents."""

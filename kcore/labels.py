"""Label selectors and field selectors: parse, match, print.

Owns: `Selector` (an AND of `Requirement`s over labels), its parser for the selector
string syntax (`?labelSelector=`, `kubectl -l`), the conversion from a LabelSelector's
`matchLabels`/`matchExpressions`, its validation, and `FieldSelector` (`?fieldSelector=`).

Theory of operation:
- A `Requirement` is key + operator + values. Values are kept sorted and unique, so two
  requirements that match the same label sets compare equal; a `Selector` keeps its
  requirements sorted by (key, operator, values). Equal selectors print equally.
- `str(selector)` is upstream's canonical String(): requirements joined by ",", each
  `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`, values
  sorted. Parsing that string gives back an equal selector, and printing is a fixed point.
- Matching is the hot path: `Selector.matches` walks a tuple of requirements with no
  allocation and stops at the first miss.
- `Selector.nothing()` is upstream's Nothing() (what a nil LabelSelector converts to):
  it matches no label set, prints as "", and is not empty.
- Parsing errors (bad syntax, invalid key or value) raise `SelectorParseError`. For
  objects whose spec carries a LabelSelector, `validate_label_selector` returns
  `FieldError`s instead, as the apiserver needs.

Must not know: API objects. The LabelSelector arrives as plain values (a mapping and
(key, operator, values) triples), so this module imports only kcore.util_validation.

Mirrors k8s.io/apimachinery/pkg/labels/selector.go (lexer, parser, Requirement),
pkg/selection/operator.go, pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector),
pkg/apis/meta/v1/validation/validation.go (ValidateLabelSelector, ValidateLabels) and
pkg/fields/selector.go.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from kcore.util_validation import (
    FieldError,
    child,
    forbidden,
    index,
    invalid,
    is_qualified_name,
    is_valid_label_value,
    required,
)


class SelectorParseError(ValueError):
    """A selector string or LabelSelector that cannot be turned into a Selector."""


class Operator(enum.Enum):
    """A requirement's operator; the value is upstream's `selection.Operator`."""

    DOES_NOT_EXIST = "!"
    EQUALS = "="
    DOUBLE_EQUALS = "=="
    IN = "in"
    NOT_EQUALS = "!="
    NOT_IN = "notin"
    EXISTS = "exists"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


_SET_OPS: Final = frozenset({Operator.IN, Operator.NOT_IN})
_EXACT_OPS: Final = frozenset({Operator.EQUALS, Operator.DOUBLE_EQUALS, Operator.NOT_EQUALS})
_UNARY_OPS: Final = frozenset({Operator.EXISTS, Operator.DOES_NOT_EXIST})
_NUMERIC_OPS: Final = frozenset({Operator.GREATER_THAN, Operator.LESS_THAN})
_POSITIVE_OPS: Final = frozenset({Operator.IN, Operator.EQUALS, Operator.DOUBLE_EQUALS})
_INT64_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# Upstream's `binaryOperators` order, for the "expected:" part of parse errors.
_BINARY_OPERATOR_NAMES: Final = "in, notin, =, ==, !=, gt, lt"


def _sorted_unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def _parse_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None where it fails."""
    if _INT64_RE.fullmatch(text) is None:
        return None
    significant = text.lstrip("+-").lstrip("0") or "0"
    if len(significant) > 19:
        return None
    number = -int(significant) if text[0] == "-" else int(significant)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


@attrs.frozen(kw_only=True)
class Requirement:
    """`key <operator> values`. Build with `new_requirement` to get upstream's checks."""

    key: str
    operator: Operator
    values: tuple[str, ...] = attrs.field(default=(), converter=_sorted_unique)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Requirement.Matches: In/= need the key with a listed value; NotIn/!= hold when
        the key is absent or unlisted; Gt/Lt compare as int64 and fail on non-integers.
        """
        # Identity tests, not set membership: Enum.__hash__ runs in Python.
        op = self.operator
        if op is Operator.EQUALS or op is Operator.IN or op is Operator.DOUBLE_EQUALS:
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op is Operator.NOT_EQUALS or op is Operator.NOT_IN:
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op is Operator.EXISTS:
            return self.key in labels
        if op is Operator.DOES_NOT_EXIST:
            return self.key not in labels
        value = labels.get(self.key)
        if value is None or len(self.values) != 1:
            return False
        have, want = _parse_int64(value), _parse_int64(self.values[0])
        if have is None or want is None:
            return False
        return have > want if op is Operator.GREATER_THAN else have < want

    def __str__(self) -> str:
        op = self.operator
        if op is Operator.EXISTS:
            return self.key
        if op is Operator.DOES_NOT_EXIST:
            return "!" + self.key
        joined = ",".join(self.values)
        if op is Operator.IN:
            return f"{self.key} in ({joined})"
        if op is Operator.NOT_IN:
            return f"{self.key} notin ({joined})"
        return f"{self.key}{_OPERATOR_TEXT[op]}{joined}"


_OPERATOR_TEXT: Final[Mapping[Operator, str]] = {
    Operator.EQUALS: "=",
    Operator.DOUBLE_EQUALS: "==",
    Operator.NOT_EQUALS: "!=",
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
}


def _requirement_order(r: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (r.key, r.operator.value, r.values)


def _sort_requirements(requirements: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=_requirement_order))


@attrs.frozen(kw_only=True)
class Selector:
    """An AND of requirements over a label set. No requirements: matches everything."""

    requirements: tuple[Requirement, ...] = attrs.field(default=(), converter=_sort_requirements)
    matches_nothing: bool = False

    @classmethod
    def everything(cls) -> Selector:
        """Everything(): matches every label set."""
        return _EVERYTHING

    @classmethod
    def empty(cls) -> Selector:
        """The selector with no requirements (same as `everything()`)."""
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> Selector:
        """Nothing(): matches no label set (a nil LabelSelector)."""
        return _NOTHING

    def is_empty(self) -> bool:
        """Empty(): no restriction on the selection space."""
        return not self.requirements and not self.matches_nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every requirement holds for `labels`."""
        if self.matches_nothing:
            return False
        # A plain loop: cheaper than all() over a generator on this hot path.
        for requirement in self.requirements:  # noqa: SIM110
            if not requirement.matches(labels):
                return False
        return True

    def add(self, *requirements: Requirement) -> Selector:
        """Add(): a selector that also demands `requirements`."""
        return Selector(
            requirements=self.requirements + requirements, matches_nothing=self.matches_nothing
        )

    def requires_exact_match(self, label: str) -> str | None:
        """RequiresExactMatch(): the single value `label` must have, if the selector pins it."""
        for r in self.requirements:
            if r.key == label:
                if r.operator in _POSITIVE_OPS and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


_EVERYTHING: Final = Selector()
_NOTHING: Final = Selector(matches_nothing=True)


# --- building requirements ----------------------------------------------------------------


def requirement_errors(
    key: str, operator: Operator, values: Sequence[str], path: str = ""
) -> tuple[FieldError, ...]:
    """NewRequirement's checks as FieldErrors (empty = valid)."""
    errs: list[FieldError] = []
    key_msgs = is_qualified_name(key)
    if key_msgs:
        errs.append(invalid(child(path, "key"), key, "; ".join(key_msgs)))
    values_path = child(path, "values")
    if operator in _SET_OPS and not values:
        errs.append(
            invalid(
                values_path, list(values), "for 'in', 'notin' operators, values set can't be empty"
            )
        )
    elif operator in _EXACT_OPS and len(values) != 1:
        errs.append(
            invalid(
                values_path, list(values), "exact-match compatibility requires one single value"
            )
        )
    elif operator in _UNARY_OPS and values:
        errs.append(
            invalid(
                values_path, list(values), "values set must be empty for exists and does not exist"
            )
        )
    elif operator in _NUMERIC_OPS:
        if len(values) != 1:
            errs.append(
                invalid(
                    values_path,
                    list(values),
                    "for 'Gt', 'Lt' operators, exactly one value is required",
                )
            )
        for i, value in enumerate(values):
            if _parse_int64(value) is None:
                errs.append(
                    invalid(
                        index(values_path, i),
                        value,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    for i, value in enumerate(values):
        value_msgs = is_valid_label_value(value)
        if value_msgs:
            errs.append(invalid(f"{index(values_path, i)}[{key}]", value, "; ".join(value_msgs)))
    return tuple(errs)


def new_requirement(key: str, operator: Operator, values: Iterable[str] = ()) -> Requirement:
    """NewRequirement: a validated Requirement, or SelectorParseError listing every problem."""
    values = tuple(values)
    errs = requirement_errors(key, operator, values)
    if errs:
        raise SelectorParseError(_error_list_text(errs))
    return Requirement(key=key, operator=operator, values=values)


def _error_list_text(errs: Sequence[FieldError]) -> str:
    texts = [e.error_body() if not e.path else str(e) for e in errs]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def selector_from_set(labels: Mapping[str, str]) -> Selector:
    """SelectorFromSet: `k=v` for each entry, unvalidated; empty matches everything."""
    if not labels:
        return _EVERYTHING
    return Selector(
        requirements=tuple(
            Requirement(key=k, operator=Operator.EQUALS, values=(v,)) for k, v in labels.items()
        )
    )


_LABEL_SELECTOR_OPS: Final[Mapping[str, Operator]] = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def selector_from_label_selector(
    match_labels: Mapping[str, str],
    match_expressions: Sequence[tuple[str, str, Sequence[str]]] = (),
) -> Selector:
    """LabelSelectorAsSelector for a non-nil LabelSelector.

    `match_expressions` are (key, operator, values) with upstream's operator names
    (In, NotIn, Exists, DoesNotExist). Both empty: everything. Invalid input raises
    SelectorParseError (a nil LabelSelector is `Selector.nothing()`, the caller's call).
    """
    if not match_labels and not match_expressions:
        return _EVERYTHING
    requirements = [new_requirement(k, Operator.EQUALS, (v,)) for k, v in match_labels.items()]
    for key, op_name, values in match_expressions:
        op = _LABEL_SELECTOR_OPS.get(op_name)
        if op is None:
            raise SelectorParseError(f"{op_name!r} is not a valid label selector operator")
        requirements.append(new_requirement(key, op, values))
    return Selector(requirements=tuple(requirements))


# --- validation (apimachinery meta/v1/validation) ---------------------------------------------


def validate_label_name(name: str, path: str) -> tuple[FieldError, ...]:
    """ValidateLabelName: one Invalid per message of is_qualified_name."""
    return tuple(invalid(path, name, msg) for msg in is_qualified_name(name))


def validate_labels(labels: Mapping[str, str], path: str) -> tuple[FieldError, ...]:
    """ValidateLabels: every key a qualified name, every value a label value (key order)."""
    errs: list[FieldError] = []
    for k in sorted(labels):
        errs.extend(validate_label_name(k, path))
        errs.extend(invalid(path, labels[k], msg) for msg in is_valid_label_value(labels[k]))
    return tuple(errs)


def validate_label_selector(
    match_labels: Mapping[str, str],
    match_expressions: Sequence[tuple[str, str, Sequence[str]]],
    path: str,
) -> tuple[FieldError, ...]:
    """ValidateLabelSelector for a non-nil LabelSelector at `path`."""
    errs = list(validate_labels(match_labels, child(path, "matchLabels")))
    for i, (key, op_name, values) in enumerate(match_expressions):
        expr_path = index(child(path, "matchExpressions"), i)
        values_path = child(expr_path, "values")
        if op_name in ("In", "NotIn"):
            if not values:
                errs.append(
                    required(values_path, "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op_name in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(
                        values_path,
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            errs.append(
                invalid(child(expr_path, "operator"), op_name, "not a valid selector operator")
            )
        errs.extend(validate_label_name(key, child(expr_path, "key")))
        for j, value in enumerate(values):
            errs.extend(
                invalid(index(values_path, j), value, m) for m in is_valid_label_value(value)
            )
    return tuple(errs)


# --- the selector string parser ---------------------------------------------------------------


class _Token(enum.Enum):
    ERROR = 0
    END = 1
    CLOSED_PAR = 2
    COMMA = 3
    DOES_NOT_EXIST = 4
    DOUBLE_EQUALS = 5
    EQUALS = 6
    GREATER_THAN = 7
    IDENTIFIER = 8
    IN = 9
    LESS_THAN = 10
    NOT_EQUALS = 11
    NOT_IN = 12
    OPEN_PAR = 13


_SYMBOLS: Final[Mapping[str, _Token]] = {
    ")": _Token.CLOSED_PAR,
    ",": _Token.COMMA,
    "!": _Token.DOES_NOT_EXIST,
    "==": _Token.DOUBLE_EQUALS,
    "=": _Token.EQUALS,
    ">": _Token.GREATER_THAN,
    "<": _Token.LESS_THAN,
    "!=": _Token.NOT_EQUALS,
    "(": _Token.OPEN_PAR,
}
_KEYWORDS: Final[Mapping[str, _Token]] = {"in": _Token.IN, "notin": _Token.NOT_IN}
_OPERATOR_TOKENS: Final[Mapping[_Token, Operator]] = {
    _Token.IN: Operator.IN,
    _Token.EQUALS: Operator.EQUALS,
    _Token.DOUBLE_EQUALS: Operator.DOUBLE_EQUALS,
    _Token.GREATER_THAN: Operator.GREATER_THAN,
    _Token.LESS_THAN: Operator.LESS_THAN,
    _Token.NOT_IN: Operator.NOT_IN,
    _Token.NOT_EQUALS: Operator.NOT_EQUALS,
}

_Item = tuple[_Token, str]


# One token per match: whitespace, then a symbol (longest first) or a run of anything
# else. A NUL stops the scan; Go's lexer reads it as end of input and would silently drop
# the rest, kcore rejects the selector instead.
_TOKEN_RE: Final = re.compile(r"[ \t\r\n]*(?:(==|!=|[=!(),<>])|([^ \t\r\n=!(),<>\x00]+))")


def _lex(text: str) -> list[_Item]:
    """Lexer.Lex until the end: the longest symbol, or a run of other characters."""
    items: list[_Item] = []
    pos = 0
    match = _TOKEN_RE.match
    while True:
        m = match(text, pos)
        if m is None:
            if text[pos:].lstrip(" \t\r\n"):
                raise SelectorParseError(f"unable to parse requirement: NUL byte in {text!r}")
            items.append((_Token.END, ""))
            return items
        symbol, word = m.group(1, 2)
        if symbol is not None:
            items.append((_SYMBOLS[symbol], symbol))
        else:
            items.append((_KEYWORDS.get(word, _Token.IDENTIFIER), word))
        pos = m.end()


class _Parser:
    """Parser: upstream's recursive descent over the scanned items.

    `values=True` reads the keywords `in`/`notin` as identifiers (ParserContext Values),
    so `in=notin` and `x in (in)` parse.
    """

    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def lookahead(self, values: bool) -> _Item:
        token, literal = self.items[self.position]
        if values and (token is _Token.IN or token is _Token.NOT_IN):
            token = _Token.IDENTIFIER
        return token, literal

    def consume(self, values: bool) -> _Item:
        item = self.lookahead(values)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self.lookahead(values=True)
            if token is _Token.END:
                return requirements
            if token not in (_Token.IDENTIFIER, _Token.DOES_NOT_EXIST):
                raise SelectorParseError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
            requirements.append(self.parse_requirement())
            token, literal = self.consume(values=True)
            if token is _Token.END:
                return requirements
            if token is not _Token.COMMA:
                raise SelectorParseError(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self.lookahead(values=True)
            if token not in (_Token.IDENTIFIER, _Token.DOES_NOT_EXIST):
                raise SelectorParseError(f"found '{literal}', expected: identifier after ','")

    def parse_requirement(self) -> Requirement:
        key, operator = self.parse_key_and_infer_operator()
        if operator is not None:
            return new_requirement(key, operator)
        operator = self.parse_operator()
        values = self.parse_values() if operator in _SET_OPS else self.parse_exact_value()
        return new_requirement(key, operator, values)

    def parse_key_and_infer_operator(self) -> tuple[str, Operator | None]:
        operator: Operator | None = None
        token, literal = self.consume(values=True)
        if token is _Token.DOES_NOT_EXIST:
            operator = Operator.DOES_NOT_EXIST
            token, literal = self.consume(values=True)
        if token is not _Token.IDENTIFIER:
            raise SelectorParseError(f"found '{literal}', expected: identifier")
        msgs = is_qualified_name(literal)
        if msgs:
            raise SelectorParseError(f"invalid label key {literal!r}: {'; '.join(msgs)}")
        if operator is None and self.lookahead(values=True)[0] in (_Token.END, _Token.COMMA):
            operator = Operator.EXISTS
        return literal, operator

    def parse_operator(self) -> Operator:
        token, literal = self.consume(values=False)
        operator = _OPERATOR_TOKENS.get(token)
        if operator is None:
            raise SelectorParseError(f"found '{literal}', expected: {_BINARY_OPERATOR_NAMES}")
        return operator

    def parse_values(self) -> set[str]:
        token, literal = self.consume(values=True)
        if token is not _Token.OPEN_PAR:
            raise SelectorParseError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead(values=True)
        if token is _Token.CLOSED_PAR:
            self.consume(values=True)
            return {""}
        if token not in (_Token.IDENTIFIER, _Token.COMMA):
            raise SelectorParseError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.parse_identifiers_list()
        if self.consume(values=True)[0] is not _Token.CLOSED_PAR:
            raise SelectorParseError(f"found '{literal}', expected: ')'")
        return values

    def parse_identifiers_list(self) -> set[str]:
        values: set[str] = set()
        while True:
            token, literal = self.consume(values=True)
            if token is _Token.IDENTIFIER:
                values.add(literal)
                next_token, next_literal = self.lookahead(values=True)
                if next_token is _Token.COMMA:
                    continue
                if next_token is _Token.CLOSED_PAR:
                    return values
                raise SelectorParseError(f"found '{next_literal}', expected: ',' or ')'")
            if token is _Token.COMMA:
                # Empty members: "(,a)", "(a,)" and "(a,,b)" all include "".
                if not values:
                    values.add("")
                next_token = self.lookahead(values=True)[0]
                if next_token is _Token.CLOSED_PAR:
                    values.add("")
                    return values
                if next_token is _Token.COMMA:
                    self.consume(values=True)
                    values.add("")
                continue
            raise SelectorParseError(f"found '{literal}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        if self.lookahead(values=True)[0] in (_Token.END, _Token.COMMA):
            return {""}
        token, literal = self.consume(values=True)
        if token is _Token.IDENTIFIER:
            return {literal}
        raise SelectorParseError(f"found '{literal}', expected: identifier")


def parse_selector(text: str) -> Selector:
    """Parse: the selector string syntax, or SelectorParseError naming the input.

        <selector>    ::= <requirement> | <requirement> "," <selector>
        <requirement> ::= [!] KEY [ <set-based> | <exact-match> ]
        <set-based>   ::= "" | ("in" | "notin") "(" VALUE ["," VALUE]* ")"
        <exact-match> ::= ("=" | "==" | "!=" | ">" | "<") VALUE

    Whitespace (space, tab, CR, LF) separates tokens; the empty string is everything.
    """
    try:
        requirements = _Parser(text).parse()
    except SelectorParseError as err:
        raise SelectorParseError(f"unable to parse selector {text!r}: {err}") from None
    if not requirements:
        return _EVERYTHING
    return Selector(requirements=tuple(requirements))


# --- field selectors -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FieldRequirement:
    """`field=value` (EQUALS) or `field!=value` (NOT_EQUALS)."""

    field: str
    operator: Operator
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        """A missing field reads as "" (upstream's Fields.Get)."""
        have = fields.get(self.field, "")
        return have == self.value if self.operator is Operator.EQUALS else have != self.value

    def __str__(self) -> str:
        text = "=" if self.operator is Operator.EQUALS else "!="
        return f"{self.field}{text}{self.value}"


@attrs.frozen(kw_only=True)
class FieldSelector:
    """An AND of field requirements. No requirements: matches everything."""

    requirements: tuple[FieldRequirement, ...] = ()

    def is_empty(self) -> bool:
        """Empty(): no restriction."""
        return not self.requirements

    def matches(self, fields: Mapping[str, str]) -> bool:
        """True when every requirement holds for `fields`."""
        # A plain loop: cheaper than all() over a generator on this hot path.
        for requirement in self.requirements:  # noqa: SIM110
            if not requirement.matches(fields):
                return False
        return True

    def requires_exact_match(self, field: str) -> str | None:
        """RequiresExactMatch(): the value an `=` requirement pins `field` to, if any."""
        for r in self.requirements:
            if r.field == field and r.operator is Operator.EQUALS:
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_field_selector(text: str) -> FieldSelector:
    """fields.ParseSelector: comma-separated `f=v`, `f==v` or `f!=v` terms.

    Terms are sorted as strings first (upstream does, and prints in that order); empty
    terms are skipped. A term with none of the operators, or with one twice, is an error.
    """
    requirements: list[FieldRequirement] = []
    for part in sorted(text.split(",")):
        if not part:
            continue
        for separator, operator in (
            ("!=", Operator.NOT_EQUALS),
            ("==", Operator.EQUALS),
            ("=", Operator.EQUALS),
        ):
            pieces = part.split(separator)
            if len(pieces) == 2:
                requirements.append(
                    FieldRequirement(field=pieces[0], operator=operator, value=pieces[1])
                )
                break
        else:
            raise SelectorParseError(f"invalid selector: {text!r}; can't understand {part!r}")
    return FieldSelector(requirements=tuple(requirements))


def field_selector_from_set(fields: Mapping[str, str]) -> FieldSelector:
    """fields.SelectorFromSet: `f=v` for each entry, sorted by field."""
    return FieldSelector(
        requirements=tuple(
            FieldRequirement(field=f, operator=Operator.EQUALS, value=fields[f])
            for f in sorted(fields)
        )
    )

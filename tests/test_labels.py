"""kcore.labels: upstream selector_test.go tables, LabelSelector conversion, field selectors."""

from __future__ import annotations

import pytest
from pyrsistent import pmap

from kcore.labels import (
    FieldRequirement,
    FieldSelector,
    Operator,
    Requirement,
    Selector,
    SelectorParseError,
    field_selector_from_set,
    new_requirement,
    parse_field_selector,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
    validate_label_selector,
    validate_labels,
)
from kcore.util_validation import forbidden, invalid, required


def req(key: str, op: Operator, *values: str) -> Requirement:
    return Requirement(key=key, operator=op, values=values)


def sel(*requirements: Requirement) -> Selector:
    return Selector(requirements=requirements)


# --- TestSelectorParse ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_good_selectors_reprint_without_spaces(text: str) -> None:
    assert str(parse_selector(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a"])
def test_bad_selectors_are_rejected(text: str) -> None:
    with pytest.raises(SelectorParseError) as raised:
        parse_selector(text)
    assert repr(text) in str(raised.value)


def test_parsing_is_deterministic_whatever_the_order() -> None:
    assert str(parse_selector("x=a,a=x")) == str(parse_selector("a=x,x=a")) == "a=x,x=a"
    assert parse_selector("x=a,a=x") == parse_selector("a=x,x=a")


# --- TestSelectorMatches -----------------------------------------------------------------------

MATCHES: list[tuple[str, dict[str, str]]] = [
    ("", {"x": "y"}),
    ("x=y", {"x": "y"}),
    ("x=y,z=w", {"x": "y", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "a"}),
    ("notin=in", {"notin": "in"}),  # in and notin in exactMatch
    ("x", {"x": "z"}),
    ("!x", {"y": "z"}),
    ("x>1", {"x": "2"}),
    ("x<1", {"x": "0"}),
    ("foo=bar", {"foo": "bar", "baz": "blah"}),
    ("baz=blah", {"foo": "bar", "baz": "blah"}),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
    ("x in (a,b)", {"x": "b"}),
    ("x notin (a,b)", {"x": "c"}),
    ("x notin (a,b)", {}),
    ("x in ()", {"x": ""}),
    ("x==y", {"x": "y"}),
]
NO_MATCHES: list[tuple[str, dict[str, str]]] = [
    ("x=z", {}),
    ("x=y", {"x": "z"}),
    ("x=y,z=w", {"x": "w", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "w"}),
    ("x", {"y": "z"}),
    ("!x", {"x": "z"}),
    ("x>1", {"x": "0"}),
    ("x<1", {"x": "2"}),
    ("x>1", {"x": "v2"}),
    ("x>1", {}),
    ("foo=blah", {"foo": "bar", "baz": "blah"}),
    ("baz=bar", {"foo": "bar", "baz": "blah"}),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
    ("x in (a,b)", {"x": "c"}),
    ("x in (a,b)", {}),
    ("x notin (a,b)", {"x": "a"}),
]


@pytest.mark.parametrize(("text", "labels"), MATCHES)
def test_selector_matches(text: str, labels: dict[str, str]) -> None:
    assert parse_selector(text).matches(labels)
    assert parse_selector(text).matches(pmap(labels))


@pytest.mark.parametrize(("text", "labels"), NO_MATCHES)
def test_selector_does_not_match(text: str, labels: dict[str, str]) -> None:
    assert not parse_selector(text).matches(labels)


# --- TestRequirementSelectorMatching -------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "selector", "match"),
    [
        (
            {"x": "foo", "y": "baz"},
            sel(req("x", Operator.IN, "foo"), req("y", Operator.NOT_IN, "alpha")),
            True,
        ),
        (
            {"x": "foo", "y": "baz"},
            sel(req("x", Operator.IN, "foo"), req("y", Operator.IN, "alpha")),
            False,
        ),
        ({"y": ""}, sel(req("x", Operator.NOT_IN, ""), req("y", Operator.EXISTS)), True),
        ({"y": ""}, sel(req("x", Operator.DOES_NOT_EXIST), req("y", Operator.EXISTS)), True),
        ({"y": ""}, sel(req("x", Operator.NOT_IN, ""), req("y", Operator.DOES_NOT_EXIST)), False),
        ({"y": "baz"}, sel(req("x", Operator.IN, "")), False),
        ({"z": "2"}, sel(req("z", Operator.GREATER_THAN, "1")), True),
        ({"z": "v2"}, sel(req("z", Operator.GREATER_THAN, "1")), False),
        ({"z": "99999999999999999999"}, sel(req("z", Operator.GREATER_THAN, "1")), False),
    ],
)
def test_requirement_matching(labels: dict[str, str], selector: Selector, match: bool) -> None:
    assert selector.matches(labels) is match


# --- TestSetSelectorParser -------------------------------------------------------------------

PARSED: list[tuple[str, Selector]] = [
    ("", sel()),
    ("\rx", sel(req("x", Operator.EXISTS))),
    (
        "this-is-a-dns.domain.com/key-with-dash",
        sel(req("this-is-a-dns.domain.com/key-with-dash", Operator.EXISTS)),
    ),
    (
        "this-is-another-dns.domain.com/key-with-dash in (so,what)",
        sel(req("this-is-another-dns.domain.com/key-with-dash", Operator.IN, "so", "what")),
    ),
    (
        "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
        sel(req("0.1.2.domain/99", Operator.NOT_IN, "10.10.100.1", "tick.tack.clock")),
    ),
    ("foo  in\t (abc)", sel(req("foo", Operator.IN, "abc"))),
    ("x notin\n (abc)", sel(req("x", Operator.NOT_IN, "abc"))),
    ("x  notin\t\t(abc,def)", sel(req("x", Operator.NOT_IN, "abc", "def"))),
    ("x in (abc,def)", sel(req("x", Operator.IN, "abc", "def"))),
    ("x in (abc,)", sel(req("x", Operator.IN, "abc", ""))),
    ("x in ()", sel(req("x", Operator.IN, ""))),
    (
        "x notin (abc,def),bar,z in (),w",
        sel(
            req("bar", Operator.EXISTS),
            req("w", Operator.EXISTS),
            req("x", Operator.NOT_IN, "abc", "def"),
            req("z", Operator.IN, ""),
        ),
    ),
    ("x,y in (a)", sel(req("y", Operator.IN, "a"), req("x", Operator.EXISTS))),
    ("x,y", sel(req("x", Operator.EXISTS), req("y", Operator.EXISTS))),
    ("x=a", sel(req("x", Operator.EQUALS, "a"))),
    ("x>1", sel(req("x", Operator.GREATER_THAN, "1"))),
    ("x<7", sel(req("x", Operator.LESS_THAN, "7"))),
    ("x=a,y!=b", sel(req("x", Operator.EQUALS, "a"), req("y", Operator.NOT_EQUALS, "b"))),
    (
        "x=a,y!=b,z in (h,i,j)",
        sel(
            req("x", Operator.EQUALS, "a"),
            req("y", Operator.NOT_EQUALS, "b"),
            req("z", Operator.IN, "h", "i", "j"),
        ),
    ),
    ("x notin ( )", sel(req("x", Operator.NOT_IN, ""))),
    ("x notin (, a)", sel(req("x", Operator.NOT_IN, "", "a"))),
    ("a ", sel(req("a", Operator.EXISTS))),
    (
        "a in (x,y,notin, z,in)",
        sel(req("a", Operator.IN, "in", "notin", "x", "y", "z")),
    ),  # operator 'in' inside list of identifiers
    ("x==a", sel(req("x", Operator.DOUBLE_EQUALS, "a"))),
    ("in in (in)", sel(req("in", Operator.IN, "in"))),
    ("!notin", sel(req("notin", Operator.DOES_NOT_EXIST))),
    ("x in (a,,b)", sel(req("x", Operator.IN, "", "a", "b"))),
    ("x in (b,a,b)", sel(req("x", Operator.IN, "a", "b"))),
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_set_based_parse_result(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "x=a||y=b",
        "x,,y",
        ",x,y",
        "x nott in (y)",
        "a in (xyz),",
        "a in (xyz)b notin ()",
        "a in (xyz abc)",  # no comma
        "a notin(",  # bad formed
        "a (",  # cpar
        "(",  # opar
        "x in (,,)",
        "x in",
        "x in (a",
        "x=a=b",
        "x=(a)",
        "!",
        "!x in (a)",
        "x y",
        "Example.com/abc",  # invalid key prefix
        "x=a b",
        "x=%",  # invalid value
        "x=" + "a" * 64,
        "x>a",
        "x\x00",
    ],
)
def test_set_based_parse_errors(text: str) -> None:
    with pytest.raises(SelectorParseError):
        parse_selector(text)


# --- TestToString ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "text"),
    [
        (
            sel(
                req("x", Operator.IN, "abc", "def"),
                req("y", Operator.NOT_IN, "jkl"),
                req("z", Operator.EXISTS),
            ),
            "x in (abc,def),y notin (jkl),z",
        ),
        (
            sel(
                req("x", Operator.NOT_IN, "abc", "def"),
                req("y", Operator.NOT_EQUALS, "jkl"),
                req("z", Operator.DOES_NOT_EXIST),
            ),
            "x notin (abc,def),y!=jkl,!z",
        ),
        (
            sel(
                req("x", Operator.NOT_IN, "abc"),
                req("y", Operator.IN, "jkl", "mno"),
                req("z", Operator.NOT_IN, ""),
            ),
            "x notin (abc),y in (jkl,mno),z notin ()",
        ),
        (
            sel(
                req("x", Operator.EQUALS, "abc"),
                req("y", Operator.DOUBLE_EQUALS, "jkl"),
                req("z", Operator.NOT_EQUALS, "a"),
                req("z", Operator.EXISTS),
            ),
            "x=abc,y==jkl,z!=a,z",
        ),
        (
            sel(
                req("x", Operator.GREATER_THAN, "2"),
                req("y", Operator.LESS_THAN, "8"),
                req("z", Operator.EXISTS),
            ),
            "x>2,y<8,z",
        ),
        (sel(req("x", Operator.IN, "def", "abc")), "x in (abc,def)"),
    ],
)
def test_string_form(selector: Selector, text: str) -> None:
    assert str(selector) == text
    assert parse_selector(text) == selector


# --- TestRequirementConstructor ------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "op", "values", "ok"),
    [
        ("x", Operator.IN, (), False),
        ("x", Operator.NOT_IN, (), False),
        ("x", Operator.IN, ("foo",), True),
        ("x", Operator.NOT_IN, ("foo",), True),
        ("x", Operator.EXISTS, (), True),
        ("x", Operator.DOES_NOT_EXIST, (), True),
        ("x", Operator.EXISTS, ("foo",), False),
        ("x", Operator.EQUALS, (), False),
        ("x", Operator.EQUALS, ("a", "b"), False),
        ("1foo", Operator.IN, ("bar",), True),
        ("1234", Operator.IN, ("bar",), True),
        ("y", Operator.GREATER_THAN, ("1",), True),
        ("z", Operator.LESS_THAN, ("6",), True),
        ("foo", Operator.GREATER_THAN, ("bar",), False),
        ("barz", Operator.LESS_THAN, ("blah",), False),
        ("a" * 254, Operator.EXISTS, (), False),  # breaks DNS rule that len(key) <= 253
        ("x", Operator.IN, ("a b",), False),
    ],
)
def test_requirement_constructor(key: str, op: Operator, values: tuple[str, ...], ok: bool) -> None:
    if ok:
        assert new_requirement(key, op, values) == Requirement(key=key, operator=op, values=values)
    else:
        with pytest.raises(SelectorParseError):
            new_requirement(key, op, values)


def test_requirement_values_are_kept_sorted_and_unique() -> None:
    assert req("x", Operator.IN, "b", "a", "b").values == ("a", "b")


# --- everything, nothing, add, exact match --------------------------------------------------


def test_everything_and_empty_match_all() -> None:
    assert Selector.everything().matches({"x": "y"})
    assert Selector.everything().is_empty()
    assert Selector.empty() == Selector.everything() == parse_selector("")
    assert str(Selector.everything()) == ""


def test_nothing_matches_nothing_and_is_not_empty() -> None:
    assert not Selector.nothing().matches({})
    assert not Selector.nothing().is_empty()
    assert str(Selector.nothing()) == ""


def test_add_keeps_requirements_sorted() -> None:
    s = sel(req("key", Operator.IN, "value")).add(req("a", Operator.EQUALS, "b"))
    assert s.requirements == (req("a", Operator.EQUALS, "b"), req("key", Operator.IN, "value"))
    assert not s.is_empty()


def test_requires_exact_match() -> None:
    s = parse_selector("app=web,tier in (fe),env in (a,b),x!=y")
    assert s.requires_exact_match("app") == "web"
    assert s.requires_exact_match("tier") == "fe"
    assert s.requires_exact_match("env") is None
    assert s.requires_exact_match("x") is None
    assert s.requires_exact_match("missing") is None


def test_selector_from_set() -> None:
    assert selector_from_set({}) == Selector.everything()
    s = selector_from_set(pmap({"b": "2", "a": "1"}))
    assert str(s) == "a=1,b=2"
    assert s.matches({"a": "1", "b": "2", "c": "3"})
    assert not s.matches({"a": "1"})


# --- LabelSelectorAsSelector ------------------------------------------------------------------


def test_label_selector_with_labels_and_expressions() -> None:
    s = selector_from_label_selector(
        {"app": "web"},
        [
            ("tier", "In", ["fe", "be"]),
            ("env", "NotIn", ["dev"]),
            ("canary", "DoesNotExist", []),
            ("team", "Exists", []),
        ],
    )
    assert str(s) == "app=web,!canary,env notin (dev),team,tier in (be,fe)"
    assert s.matches({"app": "web", "tier": "fe", "team": "x"})
    assert not s.matches({"app": "web", "tier": "fe", "team": "x", "canary": "1"})
    assert not s.matches({"app": "web", "tier": "fe", "team": "x", "env": "dev"})


def test_empty_label_selector_matches_everything() -> None:
    assert selector_from_label_selector({}, []) == Selector.everything()


@pytest.mark.parametrize(
    "expression",
    [
        ("x", "In", []),
        ("x", "NotIn", []),
        ("x", "Exists", ["a"]),
        ("x", "DoesNotExist", ["a"]),
        ("x", "Equals", ["a"]),
        ("-x", "Exists", []),
        ("x", "In", ["not valid"]),
    ],
)
def test_invalid_label_selector_raises(expression: tuple[str, str, list[str]]) -> None:
    with pytest.raises(SelectorParseError):
        selector_from_label_selector({}, [expression])


def test_invalid_match_labels_raise() -> None:
    with pytest.raises(SelectorParseError):
        selector_from_label_selector({"a": "b c"}, [])


# --- ValidateLabelSelector / ValidateLabels -------------------------------------------------


def test_validate_label_selector_reports_upstreams_errors() -> None:
    errors = validate_label_selector(
        {"Bad_": "ok", "good": "-bad"},
        [
            ("x", "In", []),
            ("y", "Exists", ["a"]),
            ("z", "Equals", []),
            ("k", "In", ["a b"]),
        ],
        "spec.selector",
    )
    label_key_msg = (
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start"
        " and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or"
        " '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    )
    label_value_msg = (
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_'"
        " or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or"
        " 'my_value',  or '12345', regex used for validation is"
        " '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    )
    assert errors == (
        invalid("spec.selector.matchLabels", "Bad_", label_key_msg),
        invalid("spec.selector.matchLabels", "-bad", label_value_msg),
        required(
            "spec.selector.matchExpressions[0].values",
            "must be specified when `operator` is 'In' or 'NotIn'",
        ),
        forbidden(
            "spec.selector.matchExpressions[1].values",
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        ),
        invalid(
            "spec.selector.matchExpressions[2].operator", "Equals", "not a valid selector operator"
        ),
        invalid("spec.selector.matchExpressions[3].values[0]", "a b", label_value_msg),
    )


def test_validate_labels_accepts_valid_labels() -> None:
    assert validate_labels({"app.kubernetes.io/name": "web", "tier": ""}, "metadata.labels") == ()


# --- field selectors ------------------------------------------------------------------------


def test_field_selector_parse_and_match() -> None:
    s = parse_field_selector("status.phase!=Failed,spec.nodeName=node-1")
    assert s == FieldSelector(
        requirements=(
            FieldRequirement(field="spec.nodeName", operator=Operator.EQUALS, value="node-1"),
            FieldRequirement(field="status.phase", operator=Operator.NOT_EQUALS, value="Failed"),
        )
    )
    assert str(s) == "spec.nodeName=node-1,status.phase!=Failed"
    assert s.matches({"spec.nodeName": "node-1", "status.phase": "Running"})
    assert not s.matches({"spec.nodeName": "node-1", "status.phase": "Failed"})
    assert not s.matches({"spec.nodeName": "node-2"})
    assert s.requires_exact_match("spec.nodeName") == "node-1"
    assert s.requires_exact_match("status.phase") is None


def test_field_selector_double_equals_and_missing_fields() -> None:
    s = parse_field_selector("metadata.name==web")
    assert str(s) == "metadata.name=web"
    assert parse_field_selector("spec.nodeName=").matches({})  # missing reads as ""
    assert parse_field_selector("spec.nodeName!=").matches({"spec.nodeName": "n"})


def test_empty_field_selector_matches_everything() -> None:
    assert parse_field_selector("").is_empty()
    assert parse_field_selector(",,").matches({"a": "b"})
    assert field_selector_from_set({"b": "2", "a": "1"}) == parse_field_selector("a=1,b=2")


@pytest.mark.parametrize("text", ["a", "a=b=c", "a==b==c", "x,a"])
def test_field_selector_errors(text: str) -> None:
    with pytest.raises(SelectorParseError) as raised:
        parse_field_selector(text)
    assert repr(text) in str(raised.value)

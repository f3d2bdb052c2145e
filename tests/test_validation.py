"""kcore.util_validation: name predicates (upstream validation_test.go tables) and FieldError."""

from __future__ import annotations

import enum

import pytest

from kcore.util_validation import (
    ErrorType,
    FieldError,
    aggregate,
    child,
    duplicate,
    errors_from,
    forbidden,
    go_quote,
    index,
    internal_error,
    invalid,
    is_c_identifier,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_http_header_name,
    is_in_range,
    is_qualified_name,
    is_valid_cidr,
    is_valid_group_id,
    is_valid_ip,
    is_valid_ipv4_address,
    is_valid_ipv6_address,
    is_valid_label_value,
    is_valid_percent,
    is_valid_port_name,
    is_valid_port_num,
    is_valid_user_id,
    is_wildcard_dns1123_subdomain,
    key,
    not_found,
    not_supported,
    required,
    too_long,
    too_many,
    validate_non_negative,
)

# --- DNS-1123 labels (TestIsDNS1123Label) ------------------------------------------------

DNS1123_LABEL_GOOD = [
    *("a", "ab", "abc", "a1", "a-1", "a--1--2--b"),
    *("0", "01", "012", "1a", "1-a", "1--a--b--2"),
    "a" * 63,
]
DNS1123_LABEL_BAD = [
    *("", "A", "ABC", "aBc", "A1", "A-1", "1-A"),
    *("-", "a-", "-a", "1-", "-1"),
    *("_", "a_", "_a", "a_b", "1_", "_1", "1_2"),
    *(".", "a.", ".a", "a.b", "1.", ".1", "1.2"),
    *(" ", "a ", " a", "a b", "1 ", " 1", "1 2"),
    "a" * 64,
    "a\n",  # Go's $ does not match before a final newline
]


@pytest.mark.parametrize("value", DNS1123_LABEL_GOOD)
def test_dns1123_label_accepts_upstream_good_values(value: str) -> None:
    assert is_dns1123_label(value) == ()


@pytest.mark.parametrize("value", DNS1123_LABEL_BAD)
def test_dns1123_label_rejects_upstream_bad_values(value: str) -> None:
    assert is_dns1123_label(value) != ()


def test_dns1123_label_with_dots_says_so() -> None:
    assert is_dns1123_label("a.b") == ("must not contain dots",)


def test_dns1123_label_messages_are_upstreams() -> None:
    assert is_dns1123_label("A" * 64) == (
        "must be no more than 63 characters",
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or"
        " '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or"
        " '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    )


# --- DNS-1123 subdomains (TestIsDNS1123Subdomain) -------------------------------------------

DNS1123_SUBDOMAIN_GOOD = [
    *("a", "ab", "abc", "a1", "a-1", "a--1--2--b"),
    *("0", "01", "012", "1a", "1-a", "1--a--b--2"),
    *("a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a"),
    *("a.1", "ab.1", "abc.1", "a1.1", "a-1.1", "a--1--2--b.1"),
    *("0.a", "01.a", "012.a", "1a.a", "1-a.a", "1--a--b--2"),
    *("0.1", "01.1", "012.1", "1a.1", "1-a.1", "1--a--b--2.1"),
    *("a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55"),
    "a" * 253,
]
DNS1123_SUBDOMAIN_BAD = [
    *("", "A", "ABC", "aBc", "A1", "A-1", "1-A"),
    *("-", "a-", "-a", "1-", "-1"),
    *("_", "a_", "_a", "a_b", "1_", "_1", "1_2"),
    *(".", "a.", ".a", "a..b", "1.", ".1", "1..2"),
    *(" ", "a ", " a", "a b", "1 ", " 1", "1 2"),
    *("A.a", "aB.a", "ab.A", "A1.a", "a1.A"),
    *("A.1", "aB.1", "A1.1", "1A.1"),
    *("0.A", "01.A", "012.A", "1A.a", "1a.A"),
    *("A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee"),
    *("a@b", "a,b", "a_b", "a;b"),
    *("a:b", "a%b", "a?b", "a$b"),
    "a" * 254,
]


@pytest.mark.parametrize("value", DNS1123_SUBDOMAIN_GOOD)
def test_dns1123_subdomain_accepts_upstream_good_values(value: str) -> None:
    assert is_dns1123_subdomain(value) == ()


@pytest.mark.parametrize("value", DNS1123_SUBDOMAIN_BAD)
def test_dns1123_subdomain_rejects_upstream_bad_values(value: str) -> None:
    assert is_dns1123_subdomain(value) != ()


# --- DNS-1035 labels (TestIsDNS1035Label) -------------------------------------------------

DNS1035_GOOD = [*("a", "ab", "abc", "a1", "a-1", "a--1--2--b"), "a" * 63]
DNS1035_BAD = [
    *("0", "01", "012", "1a", "1-a", "1--a--b--2"),
    *("", "A", "ABC", "aBc", "A1", "A-1", "1-A"),
    *("-", "a-", "-a", "1-", "-1"),
    *("_", "a_", "_a", "a_b", "1_", "_1", "1_2"),
    *(".", "a.", ".a", "a.b", "1.", ".1", "1.2"),
    *(" ", "a ", " a", "a b", "1 ", " 1", "1 2"),
    "a" * 64,
]


@pytest.mark.parametrize("value", DNS1035_GOOD)
def test_dns1035_label_accepts_upstream_good_values(value: str) -> None:
    assert is_dns1035_label(value) == ()


@pytest.mark.parametrize("value", DNS1035_BAD)
def test_dns1035_label_rejects_upstream_bad_values(value: str) -> None:
    assert is_dns1035_label(value) != ()


def test_wildcard_subdomain_tables() -> None:
    for good in ("*.example.com", "*.bar.com", "*.foo.bar.com"):
        assert is_wildcard_dns1123_subdomain(good) == ()
    for bad in ("*.*.bar.com", "*.foo.*.com", "*bar.com", "f*.bar.com", "*"):
        assert is_wildcard_dns1123_subdomain(bad) != ()


# --- qualified names and label values (TestIsQualifiedName, TestIsValidLabelValue) ---------

QUALIFIED_GOOD = [
    "simple",
    "now-with-dashes",
    "1-starts-with-num",
    "1234",
    "simple/simple",
    "now-with-dashes/simple",
    "now-with-dashes/now-with-dashes",
    "now.with.dots/simple",
    "now-with.dashes-and.dots/simple",
    "1-num.2-num/3-num",
    "1234/5678",
    "1.2.3.4/5678",
    "Uppercase_Is_OK_123",
    "example.com/Uppercase_Is_OK_123",
    "requests.storage-foo",
    "a" * 63,
    "a" * 253 + "/" + "b" * 63,
]
QUALIFIED_BAD = [
    "nospecialchars%^=@",
    "cantendwithadash-",
    "-cantstartwithadash-",
    "only/one/slash",
    "Example.com/abc",
    "example_com/abc",
    "example.com/",
    "/simple",
    "a" * 64,
    "a" * 254 + "/abc",
]


@pytest.mark.parametrize("value", QUALIFIED_GOOD)
def test_qualified_name_accepts_upstream_good_values(value: str) -> None:
    assert is_qualified_name(value) == ()


@pytest.mark.parametrize("value", QUALIFIED_BAD)
def test_qualified_name_rejects_upstream_bad_values(value: str) -> None:
    assert is_qualified_name(value) != ()


def test_qualified_name_messages_name_the_failing_part() -> None:
    assert is_qualified_name("/simple") == ("prefix part must be non-empty",)
    assert is_qualified_name("example.com/e_") == (
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start"
        " and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or"
        " '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    )
    assert is_qualified_name("example.com/")[0] == "name part must be non-empty"
    assert is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")


LABEL_VALUE_GOOD = [
    "simple",
    "now-with-dashes",
    "1-starts-with-num",
    "end-with-num-1",
    "1234",
    "a" * 63,
    "",
]
LABEL_VALUE_BAD = [
    "nospecialchars%^=@",
    "Tama-nui-te-rā.is.Māori.sun",
    "\\backslashes\\are\\bad",
    "-starts-with-dash",
    "ends-with-dash-",
    ".starts.with.dot",
    "ends.with.dot.",
    "a" * 64,
]


@pytest.mark.parametrize("value", LABEL_VALUE_GOOD)
def test_label_value_accepts_upstream_good_values(value: str) -> None:
    assert is_valid_label_value(value) == ()


@pytest.mark.parametrize("value", LABEL_VALUE_BAD)
def test_label_value_rejects_upstream_bad_values(value: str) -> None:
    assert is_valid_label_value(value) != ()


def test_label_value_length_counts_utf8_bytes_as_go_does() -> None:
    assert is_valid_label_value("é" * 32)[0] == "must be no more than 63 characters"


# --- identifiers, ports, percents ------------------------------------------------------------


def test_c_identifier() -> None:
    for good in ("a", "_a", "A_1", "my_name", "MY_NAME", "MyName"):
        assert is_c_identifier(good) == ()
    for bad in ("", "1a", "a-b", "a.b", "a b"):
        assert is_c_identifier(bad) != ()


def test_env_var_name_allows_dots_and_dashes_but_not_chdir_prefixes() -> None:
    for good in ("A", "a.b", "my.env-name", "MY_ENV.NAME", "MyEnvName1", "-x", "_"):
        assert is_env_var_name(good) == ()
    assert is_env_var_name("1A") != ()
    assert is_env_var_name("..") == ("must not be '..'",)
    assert is_env_var_name("..a") == ("must not start with '..'",)
    assert is_env_var_name(".") == ("must not be '.'",)


def test_config_map_key_table() -> None:
    good = ("a", "good", "good-good", "still.good", "this.is.also.good", ".so.is.this")
    for value in (*good, "THIS_IS_GOOD", "so_is_this_17"):
        assert is_config_map_key(value) == ()
    for value in (".", "..", "..bad", "b*d", "bad!&bad"):
        assert is_config_map_key(value) != ()


@pytest.mark.parametrize("port", [1, 2, 1000, 16384, 32768, 65535])
def test_port_numbers_in_range_are_valid(port: int) -> None:
    assert is_valid_port_num(port) == ()


@pytest.mark.parametrize("port", [0, -1, 65536, 100000])
def test_port_numbers_out_of_range_are_invalid(port: int) -> None:
    assert is_valid_port_num(port) == ("must be between 1 and 65535, inclusive",)


def test_in_range_and_ids() -> None:
    assert is_in_range(1, 0, 10) == ()
    assert is_in_range(25, 10, 25) == ()
    assert is_in_range(5, -4, 2) == ("must be between -4 and 2, inclusive",)
    for good in (0, 1, 65535, 2147483648, 0xFFFFFFFF):
        assert is_valid_user_id(good) == ()
        assert is_valid_group_id(good) == ()
    for bad in (-1, -1003, 0x100000000):
        assert is_valid_user_id(bad) != ()
        assert is_valid_group_id(bad) != ()


def test_port_name_table() -> None:
    for good in ("telnet", "re-mail-ck", "pop3", "a", "a-1", "1-a", "a-1-b-2-c", "1-a-2-b-3"):
        assert is_valid_port_name(good) == ()
    bad = ("longerthan15characters", "", "a" * 16, "12345", "1-2-3-4", "-begin", "end-")
    for value in (*bad, "two--hyphens", "whois++"):
        assert is_valid_port_name(value) != ()


def test_percent_table() -> None:
    for good in ("0%", "00000%", "1%", "01%", "99%", "100%", "101%"):
        assert is_valid_percent(good) == ()
    for bad in ("", "0", "100", "0.0%", "99.9%", "hundred", " 1%", "1% ", "-0%", "-1%", "+1%"):
        assert is_valid_percent(bad) != ()


def test_http_header_name_table() -> None:
    for good in ("Accept-Encoding", "Host", "X-Forwarded-For", "a", "-a", "--123-ABC"):
        assert is_http_header_name(good) == ()
    for bad in ("Host:", "X-@Home", "", "_", "a.b", "a b", "#a#", "{"):
        assert is_http_header_name(bad) != ()


# --- IP addresses and CIDRs --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "010.001.002.003",  # sloppy: leading zeros read as decimal
        "::1",
        "2001:db8::ffff",
        "::ffff:1.2.3.4",
        "::ffff:010.1.2.3",
        "fe80::1",
    ],
)
def test_valid_ips(value: str) -> None:
    assert is_valid_ip(value) == ()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.3.4 ",
        " 1.2.3.4",
        "a.b.c.d",
        "fe80::1%eth0",
        "1.2.3.4/32",
        "::1::2",
        "١.٢.٣.٤",
    ],
)
def test_invalid_ips(value: str) -> None:
    assert is_valid_ip(value) == ("must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",)


def test_ip_family_predicates() -> None:
    assert is_valid_ipv4_address("10.0.0.1") == ()
    assert is_valid_ipv4_address("::ffff:10.0.0.1") == ()
    assert is_valid_ipv4_address("::1") == ("must be a valid IPv4 address",)
    assert is_valid_ipv6_address("::1") == ()
    assert is_valid_ipv6_address("10.0.0.1") == ("must be a valid IPv6 address",)


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/8",
        "10.0.0.1/24",
        "0.0.0.0/0",
        "1.2.3.4/32",
        "2001:db8::/64",
        "::/0",
        "::1/128",
        "10.0.0.0/024",
    ],
)
def test_valid_cidrs(value: str) -> None:
    assert is_valid_cidr(value) == ()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "10.0.0.0",
        "10.0.0.0/",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/-1",
        "/8",
        "10.0.0.0/8/8",
        "10.0.0.0/ 8",
        "x/8",
    ],
)
def test_invalid_cidrs(value: str) -> None:
    assert is_valid_cidr(value) == (
        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
    )


# --- FieldError ------------------------------------------------------------------------------


def test_invalid_int_prints_the_value_bare() -> None:
    error = invalid("spec.replicas", -1, "must be greater than or equal to 0")
    assert error == FieldError(
        path="spec.replicas",
        reason=ErrorType.INVALID,
        detail="must be greater than or equal to 0",
        bad_value="-1",
    )
    assert str(error) == "spec.replicas: Invalid value: -1: must be greater than or equal to 0"


def test_invalid_string_prints_the_value_quoted() -> None:
    error = invalid("metadata.name", "Foo_Bar", "a lowercase RFC 1123 subdomain ...")
    assert (
        str(error) == 'metadata.name: Invalid value: "Foo_Bar": a lowercase RFC 1123 subdomain ...'
    )


def test_required_prints_no_value() -> None:
    assert str(required("metadata.name")) == "metadata.name: Required value"
    assert (
        str(required("metadata.name", "name or generateName is required"))
        == "metadata.name: Required value: name or generateName is required"
    )


def test_not_supported_lists_the_supported_values() -> None:
    class Policy(enum.Enum):
        ALWAYS = "Always"
        NEVER = "Never"

    error = not_supported("spec.restartPolicy", "Sometimes", [Policy.ALWAYS, Policy.NEVER])
    assert str(error) == (
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"'
    )
    assert error.reason.value == "FieldValueNotSupported"


def test_forbidden_duplicate_not_found_and_internal() -> None:
    assert str(forbidden("spec.selector", "field is immutable")) == (
        "spec.selector: Forbidden: field is immutable"
    )
    assert str(duplicate("spec.ports[1].name", "http")) == (
        'spec.ports[1].name: Duplicate value: "http"'
    )
    assert str(not_found("spec.volumes[0]", "data")) == 'spec.volumes[0]: Not found: "data"'
    assert str(internal_error("", "boom")) == ": Internal error: boom"


def test_too_long_hides_the_value() -> None:
    assert str(too_long("metadata.annotations", "x" * 10, 262144)) == (
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    )
    assert str(too_long("x", "", 1)) == "x: Too long: may not be more than 1 byte"
    assert str(too_long("x", "", -1)) == "x: Too long: value is too long"


def test_too_many_shows_the_count_unless_negative() -> None:
    assert str(too_many("spec.items", 5, 3)) == "spec.items: Too many: 5: must have at most 3 items"
    assert str(too_many("spec.items", -1, 1)) == "spec.items: Too many: must have at most 1 item"


def test_bad_values_render_like_go() -> None:
    assert invalid("p", True).bad_value == "true"
    assert invalid("p", 1.5).bad_value == "1.5"
    assert invalid("p", None).bad_value == "null"
    assert invalid("p", ["a", 1]).bad_value == '["a",1]'
    assert invalid("p", {"b": 1, "a": [2]}).bad_value == '{"a":[2],"b":1}'
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'


def test_error_body_is_the_text_without_the_path() -> None:
    assert invalid("spec.replicas", -1, "must be >= 0").error_body() == (
        "Invalid value: -1: must be >= 0"
    )


def test_aggregate_brackets_several_distinct_errors() -> None:
    a = required("a")
    b = forbidden("b", "no")
    assert aggregate(()) == ""
    assert aggregate((a,)) == "a: Required value"
    assert aggregate((a, b, a)) == "[a: Required value, b: Forbidden: no]"
    assert aggregate((a, a)) == "a: Required value"


def test_paths_compose_like_field_path() -> None:
    assert child("", "metadata", "name") == "metadata.name"
    assert index(child("spec", "containers"), 0) == "spec.containers[0]"
    assert key("metadata.labels", "app") == "metadata.labels[app]"


def test_validate_non_negative_and_errors_from() -> None:
    assert validate_non_negative(0, "spec.replicas") == ()
    assert validate_non_negative(-1, "spec.replicas") == (
        invalid("spec.replicas", -1, "must be greater than or equal to 0"),
    )
    assert errors_from(is_dns1123_label("a.b"), "metadata.name", "a.b") == (
        invalid("metadata.name", "a.b", "must not contain dots"),
    )


def test_field_errors_are_hashable_values() -> None:
    assert len({required("a"), required("a"), required("b")}) == 2

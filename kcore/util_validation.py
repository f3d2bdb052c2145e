"""Syntax checks for names, keys, ports and addresses, and the `FieldError` value.

Owns: the string predicates every API validator builds on (DNS labels and subdomains,
qualified names / label keys, label values, C identifiers, env var names, ports, IPs,
CIDRs, percents) and `FieldError`, the one shape a validation failure takes in kcore.

Rules:
- A predicate returns a tuple of upstream's message strings: empty means valid. It never
  raises, and the messages are byte-for-byte upstream's, so clients that grep them work.
- Lengths are counted in UTF-8 bytes, as Go's `len(string)` does.
- Patterns are anchored with `re.fullmatch`: Go's `$` never matches before a final
  newline, Python's does.
- `FieldError.bad_value` holds the bad value already rendered the way upstream prints it
  (`-1`, `"foo"` quoted, JSON for collections) or None when the message omits it, so the
  record stays a plain hashable value and `str()` reproduces upstream's text.

Must not know: any API object. It imports nothing from kcore.

Mirrors k8s.io/apimachinery/pkg/util/validation/validation.go and ip.go,
pkg/api/validate/content/kube.go (label keys and values) and
pkg/util/validation/field/errors.go (`field.Error`, `ErrorType`, the constructors, and
the aggregate's message).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

# --- messages -------------------------------------------------------------------------


def max_len_error(length: int) -> str:
    """Upstream MaxLenError."""
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream RegexError: the message, examples, and the pattern used."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def empty_error() -> str:
    """Upstream EmptyError."""
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    """Upstream InclusiveRangeError."""
    return f"must be between {lo} and {hi}, inclusive"


NEGATIVE_ERROR_MSG: Final = "must be greater than or equal to 0"
"""apimachinery validation.IsNegativeErrorMsg."""


def _byte_len(value: str) -> int:
    return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))


# --- DNS names --------------------------------------------------------------------------

DNS1123_LABEL_MAX_LENGTH: Final = 63
DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253
DNS1035_LABEL_MAX_LENGTH: Final = 63

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_ERR: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-',"
    " and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_ERR: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
    " '-' or '.', and must start and end with an alphanumeric character"
)
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_LABEL_ERR: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with"
    " an alphabetic character, and end with an alphanumeric character"
)
_WILDCARD_FMT: Final = "\\*\\." + _DNS1123_SUBDOMAIN_FMT
_WILDCARD_ERR: Final = (
    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain,"
    " which must consist of lower case alphanumeric characters, '-' or '.' and end with an"
    " alphanumeric character"
)

_DNS1123_LABEL_RE: Final = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE: Final = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE: Final = re.compile(_DNS1035_LABEL_FMT)
_WILDCARD_RE: Final = re.compile(_WILDCARD_FMT)


def is_dns1123_label(value: str) -> tuple[str, ...]:
    """An RFC 1123 label: object names of most namespaced kinds, namespace names."""
    if len(value) <= DNS1123_LABEL_MAX_LENGTH and _DNS1123_LABEL_RE.fullmatch(value) is not None:
        return ()  # valid: the pattern is ASCII, so characters are bytes
    errs: list[str] = []
    if _byte_len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if _DNS1123_LABEL_RE.fullmatch(value) is None:
        if _DNS1123_SUBDOMAIN_RE.fullmatch(value) is not None:
            # A valid subdomain but not a label: length was checked, so it must be dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_ERR, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return tuple(errs)


def is_dns1123_subdomain(value: str) -> tuple[str, ...]:
    """An RFC 1123 subdomain: names of most kinds, label key prefixes."""
    if len(value) <= DNS1123_SUBDOMAIN_MAX_LENGTH and _DNS1123_SUBDOMAIN_RE.fullmatch(value) is not None:
        return ()  # valid: the pattern is ASCII, so characters are bytes
    errs: list[str] = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if _DNS1123_SUBDOMAIN_RE.fullmatch(value) is None:
        errs.append(regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return tuple(errs)


def is_dns1035_label(value: str) -> tuple[str, ...]:
    """An RFC 1035 label: Service names, port names' stricter cousin."""
    if len(value) <= DNS1035_LABEL_MAX_LENGTH and _DNS1035_LABEL_RE.fullmatch(value) is not None:
        return ()  # valid: the pattern is ASCII, so characters are bytes
    errs: list[str] = []
    if _byte_len(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if _DNS1035_LABEL_RE.fullmatch(value) is None:
        errs.append(regex_error(_DNS1035_LABEL_ERR, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return tuple(errs)


def is_wildcard_dns1123_subdomain(value: str) -> tuple[str, ...]:
    """`*.` followed by an RFC 1123 subdomain (Ingress hosts)."""
    errs: list[str] = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if _WILDCARD_RE.fullmatch(value) is None:
        errs.append(regex_error(_WILDCARD_ERR, _WILDCARD_FMT, "*.example.com"))
    return tuple(errs)


# --- label keys and values ----------------------------------------------------------------

QUALIFIED_NAME_MAX_LENGTH: Final = 63
LABEL_VALUE_MAX_LENGTH: Final = 63

_QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_ERR: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an"
    " alphanumeric character"
)
_LABEL_VALUE_FMT: Final = "(" + _QUALIFIED_NAME_FMT + ")?"
_LABEL_VALUE_ERR: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_'"
    " or '.', and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_RE: Final = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE: Final = re.compile(_LABEL_VALUE_FMT)


def is_qualified_name(value: str) -> tuple[str, ...]:
    """A label key / qualified name: `[prefix/]name`, prefix a DNS subdomain, name <= 63."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    else:
        return (
            "a qualified name "
            + regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        )
    if not name:
        errs.append("name part " + empty_error())
    elif _byte_len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if _QUALIFIED_NAME_RE.fullmatch(name) is None:
        errs.append(
            "name part "
            + regex_error(_QUALIFIED_NAME_ERR, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return tuple(errs)


def is_valid_label_value(value: str) -> tuple[str, ...]:
    """A label value: empty, or <= 63 alphanumerics, '-', '_', '.' with alnum ends."""
    errs: list[str] = []
    if _byte_len(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if _LABEL_VALUE_RE.fullmatch(value) is None:
        errs.append(regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return tuple(errs)


# --- identifiers ------------------------------------------------------------------------

_C_IDENTIFIER_FMT: Final = "[A-Za-z_][A-Za-z0-9_]*"
_C_IDENTIFIER_ERR: Final = (
    "a valid C identifier must start with alphabetic character or '_', followed by a string"
    " of alphanumeric characters or '_'"
)
_C_IDENTIFIER_RE: Final = re.compile(_C_IDENTIFIER_FMT)

_ENV_VAR_NAME_FMT: Final = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR_NAME_ERR: Final = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_',"
    " '-', or '.', and must not start with a digit"
)
_ENV_VAR_NAME_RE: Final = re.compile(_ENV_VAR_NAME_FMT)

_CONFIG_MAP_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_CONFIG_MAP_KEY_ERR: Final = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
)
_CONFIG_MAP_KEY_RE: Final = re.compile(_CONFIG_MAP_KEY_FMT)

_PERCENT_FMT: Final = "[0-9]+%"
_PERCENT_ERR: Final = "a valid percent string must be a numeric string followed by an ending '%'"
_PERCENT_RE: Final = re.compile(_PERCENT_FMT)

_HTTP_HEADER_NAME_FMT: Final = "[-A-Za-z0-9]+"
_HTTP_HEADER_NAME_ERR: Final = "a valid HTTP header must consist of alphanumeric characters or '-'"
_HTTP_HEADER_NAME_RE: Final = re.compile(_HTTP_HEADER_NAME_FMT)

_PORT_NAME_CHARSET_RE: Final = re.compile("[-a-z0-9]+")
_PORT_NAME_ONE_LETTER_RE: Final = re.compile("[a-z]")


def is_c_identifier(value: str) -> tuple[str, ...]:
    """A C identifier (checks format only, not length)."""
    if _C_IDENTIFIER_RE.fullmatch(value) is None:
        return (regex_error(_C_IDENTIFIER_ERR, _C_IDENTIFIER_FMT, "my_name", "MY_NAME", "MyName"),)
    return ()


def _has_chdir_prefix(value: str) -> tuple[str, ...]:
    if value == ".":
        return ("must not be '.'",)
    if value == "..":
        return ("must not be '..'",)
    if value.startswith(".."):
        return ("must not start with '..'",)
    return ()


def is_env_var_name(value: str) -> tuple[str, ...]:
    """An environment variable name as containers[].env[].name accepts it."""
    errs: list[str] = []
    if _ENV_VAR_NAME_RE.fullmatch(value) is None:
        errs.append(
            regex_error(
                _ENV_VAR_NAME_ERR, _ENV_VAR_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"
            )
        )
    return (*errs, *_has_chdir_prefix(value))


def is_config_map_key(value: str) -> tuple[str, ...]:
    """A key of a ConfigMap's or Secret's data."""
    errs: list[str] = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if _CONFIG_MAP_KEY_RE.fullmatch(value) is None:
        errs.append(
            regex_error(
                _CONFIG_MAP_KEY_ERR, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"
            )
        )
    return (*errs, *_has_chdir_prefix(value))


def is_valid_percent(value: str) -> tuple[str, ...]:
    """`NN%`: digits then a percent sign (no sign, no fraction)."""
    if _PERCENT_RE.fullmatch(value) is None:
        return (regex_error(_PERCENT_ERR, _PERCENT_FMT, "1%", "93%"),)
    return ()


def is_http_header_name(value: str) -> tuple[str, ...]:
    """An HTTP header name as probes' httpHeaders accept it."""
    if _HTTP_HEADER_NAME_RE.fullmatch(value) is None:
        return (regex_error(_HTTP_HEADER_NAME_ERR, _HTTP_HEADER_NAME_FMT, "X-Header-Name"),)
    return ()


# --- numbers ------------------------------------------------------------------------------


def is_valid_port_num(port: int) -> tuple[str, ...]:
    """A non-zero TCP/UDP port, 1..65535."""
    if 1 <= port <= 65535:
        return ()
    return (inclusive_range_error(1, 65535),)


def is_in_range(value: int, lo: int, hi: int) -> tuple[str, ...]:
    """`lo <= value <= hi`."""
    if lo <= value <= hi:
        return ()
    return (inclusive_range_error(lo, hi),)


def is_valid_user_id(uid: int) -> tuple[str, ...]:
    """A Unix UID (uint32)."""
    return is_in_range(uid, 0, 0xFFFFFFFF)


def is_valid_group_id(gid: int) -> tuple[str, ...]:
    """A Unix GID (uint32)."""
    return is_in_range(gid, 0, 0xFFFFFFFF)


def is_valid_port_name(port: str) -> tuple[str, ...]:
    """An IANA_SVC_NAME: <= 15 of [-a-z0-9], at least one letter, no '--', no end '-'."""
    errs: list[str] = []
    if _byte_len(port) > 15:
        errs.append(max_len_error(15))
    if _PORT_NAME_CHARSET_RE.fullmatch(port) is None:
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if _PORT_NAME_ONE_LETTER_RE.search(port) is None:
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return tuple(errs)


# --- IP addresses -------------------------------------------------------------------------

_IP_ERR: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_CIDR_ERR: Final = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_SLOPPY_IPV4_RE: Final = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")
_DTOI_BIG: Final = 0xFFFFFF


def _sloppy_ipv4(value: str) -> str | None:
    """The dotted quad with leading zeros dropped, if Go's forked parseIPv4 takes it.

    k8s.io/utils/net ParseIPSloppy keeps Go 1.16's parser, which reads each octet as plain
    decimal: "010.1.1.1" is 10.1.1.1, not an error and not octal.
    """
    match = _SLOPPY_IPV4_RE.fullmatch(value)
    if match is None:
        return None
    octets: list[str] = []
    for field_text in match.groups():
        if _dtoi(field_text) > 255:
            return None
        octets.append(str(_dtoi(field_text)))
    return ".".join(octets)


def _dtoi(digits: str) -> int:
    """Go's dtoi on an all-digit string: leading zeros are fine, huge values saturate."""
    significant = digits.lstrip("0") or "0"
    return _DTOI_BIG if len(significant) > 8 else min(int(significant), _DTOI_BIG)


def _parse_ip_sloppy(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Go rejects IPv6 zones ("fe80::1%eth0"); Python's ipaddress accepts them.
    if not value or "%" in value:
        return None
    if ":" not in value:
        canonical = _sloppy_ipv4(value)
        return None if canonical is None else ipaddress.IPv4Address(canonical)
    head, sep, tail = value.rpartition(":")
    if sep and "." in tail:
        canonical = _sloppy_ipv4(tail)
        if canonical is None:
            return None
        value = head + ":" + canonical
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def is_valid_ip(value: str) -> tuple[str, ...]:
    """An IPv4 or IPv6 address as upstream's sloppy parser accepts it."""
    if _parse_ip_sloppy(value) is None:
        return (_IP_ERR,)
    return ()


def is_valid_ipv4_address(value: str) -> tuple[str, ...]:
    """An IPv4 address (an IPv4-mapped IPv6 address counts, as upstream's To4)."""
    ip = _parse_ip_sloppy(value)
    if ip is None or (isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None):
        return ("must be a valid IPv4 address",)
    return ()


def is_valid_ipv6_address(value: str) -> tuple[str, ...]:
    """An IPv6 address that is not IPv4 or IPv4-mapped."""
    ip = _parse_ip_sloppy(value)
    if ip is None or isinstance(ip, ipaddress.IPv4Address) or ip.ipv4_mapped is not None:
        return ("must be a valid IPv6 address",)
    return ()


def is_valid_cidr(value: str) -> tuple[str, ...]:
    """`address/prefix`; host bits may be set ("10.0.0.1/24" is valid), as upstream."""
    address, sep, prefix = value.partition("/")
    if not sep or not prefix or not prefix.isascii() or not prefix.isdigit():
        return (_CIDR_ERR,)
    ip = _parse_ip_sloppy(address)
    if ip is None or _dtoi(prefix) > (32 if ip.version == 4 else 128):
        return (_CIDR_ERR,)
    return ()


# --- field errors ---------------------------------------------------------------------------


class ErrorType(enum.Enum):
    """Why a field is invalid; the value is upstream's `field.ErrorType` (a CauseType)."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    TOO_FEW = "FieldValueTooFew"
    TOO_SHORT = "FieldValueTooShort"
    TYPE_INVALID = "FieldValueTypeInvalid"
    INTERNAL = "InternalError"

    @property
    def text(self) -> str:
        """The canonical message upstream's `ErrorType.String()` prints."""
        return _ERROR_TYPE_TEXT[self]


_ERROR_TYPE_TEXT: Final[Mapping[ErrorType, str]] = {
    ErrorType.NOT_FOUND: "Not found",
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value",
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
    ErrorType.TOO_MANY: "Too many",
    ErrorType.TOO_FEW: "Too few",
    ErrorType.TOO_SHORT: "Too short",
    ErrorType.TYPE_INVALID: "Invalid value",
    ErrorType.INTERNAL: "Internal error",
}

# Types whose message never shows the bad value (upstream ErrorBody's first case).
_VALUE_HIDDEN: Final = frozenset(
    {
        ErrorType.REQUIRED,
        ErrorType.FORBIDDEN,
        ErrorType.TOO_LONG,
        ErrorType.TOO_SHORT,
        ErrorType.INTERNAL,
    }
)


@attrs.frozen(kw_only=True)
class FieldError:
    """One validation failure: which field, why, and (rendered) the offending value.

    `str(e)` is upstream's `field.Error.Error()`, e.g.
    `spec.replicas: Invalid value: -1: must be greater than or equal to 0`.
    """

    path: str
    reason: ErrorType
    detail: str = ""
    bad_value: str | None = None

    def error_body(self) -> str:
        """The message without the field path (a StatusCause's `message`)."""
        text = self.reason.text
        if self.reason not in _VALUE_HIDDEN and self.bad_value is not None:
            text = f"{text}: {self.bad_value}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.path}: {self.error_body()}"


def go_quote(text: str) -> str:
    """Go's strconv.Quote: a double-quoted string with Go escapes."""
    out = ['"']
    for ch in text:
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES: Final[Mapping[str, str]] = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def render_value(value: object) -> str:
    """A bad value as upstream's ErrorBody prints it.

    Strings are Go-quoted, numbers and booleans bare (`%v`), enums by their wire value,
    anything else as compact JSON (None is `null`).
    """
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def _jsonable(value: object) -> object:
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, Sequence | frozenset | set) and not isinstance(value, str | bytes):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def required(path: str, detail: str = "") -> FieldError:
    """A required value is missing (empty string, null, empty list)."""
    return FieldError(path=path, reason=ErrorType.REQUIRED, detail=detail)


def invalid(path: str, value: object, detail: str = "") -> FieldError:
    """A malformed value (failed pattern, out of range)."""
    return FieldError(
        path=path, reason=ErrorType.INVALID, detail=detail, bad_value=render_value(value)
    )


def not_supported(path: str, value: object, valid_values: Iterable[str | enum.Enum]) -> FieldError:
    """A value outside an enumerated set; the detail lists the supported values."""
    quoted = [go_quote(str(v.value) if isinstance(v, enum.Enum) else v) for v in valid_values]
    detail = "supported values: " + ", ".join(quoted) if quoted else ""
    return FieldError(
        path=path, reason=ErrorType.NOT_SUPPORTED, detail=detail, bad_value=render_value(value)
    )


def forbidden(path: str, detail: str) -> FieldError:
    """A well-formed value not permitted here (policy, immutability)."""
    return FieldError(path=path, reason=ErrorType.FORBIDDEN, detail=detail)


def duplicate(path: str, value: object) -> FieldError:
    """A value that must be unique appears twice."""
    return FieldError(path=path, reason=ErrorType.DUPLICATE, bad_value=render_value(value))


def not_found(path: str, value: object) -> FieldError:
    """A referenced value does not exist."""
    return FieldError(path=path, reason=ErrorType.NOT_FOUND, bad_value=render_value(value))


def too_long(path: str, value: object, max_length: int) -> FieldError:
    """Longer than `max_length` bytes; the value itself is not shown (upstream's choice)."""
    del value  # upstream takes it for symmetry with Invalid and never prints it
    if max_length >= 0:
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}"
    else:
        detail = "value is too long"
    return FieldError(path=path, reason=ErrorType.TOO_LONG, detail=detail)


def too_many(path: str, actual: int, max_quantity: int) -> FieldError:
    """A list with more than `max_quantity` items (`actual` < 0 omits the count)."""
    if max_quantity >= 0:
        unit = "item" if max_quantity == 1 else "items"
        detail = f"must have at most {max_quantity} {unit}"
    else:
        detail = "has too many items"
    bad = str(actual) if actual >= 0 else None
    return FieldError(path=path, reason=ErrorType.TOO_MANY, detail=detail, bad_value=bad)


def internal_error(path: str, detail: str) -> FieldError:
    """A failure not caused by the user's input."""
    return FieldError(path=path, reason=ErrorType.INTERNAL, detail=detail)


def aggregate(errors: Sequence[FieldError]) -> str:
    """The message of upstream's `ErrorList.ToAggregate()`: one error bare, more in [a, b]."""
    if not errors:
        return ""
    if len(errors) == 1:
        return str(errors[0])
    seen: dict[str, None] = {}
    for error in errors:
        seen.setdefault(str(error))
    if len(seen) == 1:
        return next(iter(seen))
    return "[" + ", ".join(seen) + "]"


# --- field paths ----------------------------------------------------------------------------


def child(path: str, *names: str) -> str:
    """`field.Path.Child`: `child("spec", "template")` is `spec.template`."""
    for name in names:
        path = f"{path}.{name}" if path else name
    return path


def index(path: str, i: int) -> str:
    """`field.Path.Index`: `index("spec.containers", 0)` is `spec.containers[0]`."""
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    """`field.Path.Key`: `key("metadata.labels", "app")` is `metadata.labels[app]`."""
    return f"{path}[{k}]"


# --- field validators built on the predicates -----------------------------------------------


def validate_non_negative(value: int, path: str) -> tuple[FieldError, ...]:
    """ValidateNonnegativeField: `value >= 0`."""
    return () if value >= 0 else (invalid(path, value, NEGATIVE_ERROR_MSG),)


def errors_from(messages: Iterable[str], path: str, value: object) -> tuple[FieldError, ...]:
    """One `invalid` FieldError per predicate message, the common upstream idiom."""
    return tuple(invalid(path, value, msg) for msg in messages)

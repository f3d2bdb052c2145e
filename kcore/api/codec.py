"""The codec between Kubernetes JSON (already parsed: dicts, lists, scalars) and typed objects.

Owns `to_dict` / `from_dict` for every kind, `encode_value` / `decode_value` for parts,
`Decoded` and `CodecError`. It has no per-kind code: it walks the attrs fields and the
resolved type hints of the model classes, following the conventions pinned in the
docstring of `kcore.api.meta` (JSON names from `wire(...)` or lowerCamelCase, `X | None`
optional, `tuple` lists, `PMap` string maps, enums by value, `Time`/`MicroTime` as
RFC 3339, `Quantity` canonical, `int | str` IntOrString, `bytes` base64).

Rules of theory of operation:
- A *plan* is compiled once per class (and per type hint for `encode_value`): the fields,
  their JSON names and one encoder/decoder closure each. Nothing resolves type hints per
  call. Plans are immutable once published.
- Output: apiVersion and kind first for a top-level kind, then the fields in declaration
  order; None is omitted, an empty collection is omitted when its default is empty too;
  a scalar equal to a zero default is omitted (upstream's `omitempty`) unless the field
  is marked `wire(always=True)`; a non-zero default is always written, so decoding the
  output gives back the same value.
  `metadata.resourceVersion` is a decimal string on the wire, an int in Python.
  Map keys are written sorted (Go's encoding/json does the same; PMap order is hash order).
- Input: an unknown field is dropped with a warning worded as upstream's strict decoding
  (`unknown field "spec.foo"`); a wrong type or a missing required field raises
  `CodecError` naming the path; `null` means absent. Accepted as upstream accepts: an
  integral float for an int, a number for an IntOrString or a Quantity.
- Pure: no I/O, no clock (time arithmetic is calendar arithmetic on given values).

Mirrors k8s.io/apimachinery/pkg/runtime/serializer/json (strict decoding warnings),
pkg/apis/meta/v1/time.go and micro_time.go, pkg/api/resource/quantity.go (JSON form),
pkg/util/intstr/intstr.go.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime
import decimal
import enum
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias, cast

import attrs
from pyrsistent import pmap, pset, pvector
from pyrsistent import typing as ptyping

from kcore.api import registry
from kcore.api.kinds import Kind, UnknownKindError, kind_for_gvk
from kcore.api.meta import (
    ALWAYS,
    ApiObject,
    MicroTime,
    ObjectMeta,
    Status,
    Time,
)
from kcore.quantity import Quantity, parse_quantity

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"

Encoder: TypeAlias = Callable[[object], JSONValue]
# (value, path of the value, warnings accumulator) -> decoded value
Decoder: TypeAlias = Callable[[object, str, list[str]], object]


class CodecError(ValueError):
    """Input that cannot become a typed object; `path` is the field path ("" = the root)."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}" if path else detail)
        self.path = path
        self.detail = detail


@attrs.frozen(kw_only=True)
class Decoded:
    """A decoded object and the warnings (unknown fields) met on the way."""

    obj: ApiObject
    warnings: tuple[str, ...] = ()


# --- describing bad input ------------------------------------------------------------------


def describe(value: object) -> str:
    """A JSON-flavoured description of a value for error messages: `string "x"`, `number 3`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'string "{shown}"'
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _mismatch(path: str, expected: str, value: object) -> CodecError:
    return CodecError(path, f"expected {expected}, got {describe(value)}")


# --- scalars ---------------------------------------------------------------------------------


def _dec_str(v: object, path: str, w: list[str]) -> object:
    if type(v) is str:
        return v
    raise _mismatch(path, "string", v)


def _dec_int(v: object, path: str, w: list[str]) -> object:
    if type(v) is int:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    raise _mismatch(path, "integer", v)


def _dec_float(v: object, path: str, w: list[str]) -> object:
    if type(v) is float:
        return v
    if type(v) is int:
        return float(v)
    raise _mismatch(path, "number", v)


def _dec_bool(v: object, path: str, w: list[str]) -> object:
    if type(v) is bool:
        return v
    raise _mismatch(path, "boolean", v)


def _dec_int_or_string(v: object, path: str, w: list[str]) -> object:
    if type(v) is int or type(v) is str:
        return v
    if type(v) is float and v.is_integer():
        return int(v)
    raise _mismatch(path, "integer or string", v)


def _number_text(v: int | float) -> str:
    if type(v) is int:
        return str(v)
    return format(decimal.Decimal(repr(v)), "f")


def _enc_quantity(v: object) -> JSONValue:
    return str(v)


def _dec_quantity(v: object, path: str, w: list[str]) -> object:
    if type(v) is str:
        text = v
    elif type(v) is int or type(v) is float:
        if not math.isfinite(v):
            raise _mismatch(path, "quantity", v)
        text = _number_text(v)
    else:
        raise _mismatch(path, "quantity (string or number)", v)
    try:
        return parse_quantity(text)
    except ValueError as e:
        raise CodecError(path, str(e)) from None


def _enc_bytes(v: object) -> JSONValue:
    return base64.b64encode(cast(bytes, v)).decode("ascii")


def _dec_bytes(v: object, path: str, w: list[str]) -> object:
    if type(v) is not str:
        raise _mismatch(path, "base64 string", v)
    try:
        return base64.b64decode(v.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        raise CodecError(path, f"illegal base64 data: {describe(v)}") from None


# --- Time and MicroTime ------------------------------------------------------------------

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def format_time(t: float) -> str:
    """metav1.Time on the wire: RFC 3339, whole seconds (fraction truncated), UTC."""
    d = _EPOCH + datetime.timedelta(seconds=math.floor(t))
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


def format_micro_time(t: float) -> str:
    """metav1.MicroTime on the wire: RFC 3339 with exactly six fractional digits, UTC."""
    secs, micros = divmod(round(t * 1_000_000), 1_000_000)
    d = _EPOCH + datetime.timedelta(seconds=secs)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T"
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{micros:06d}Z"
    )


def parse_time(text: str) -> tuple[int, int]:
    """Parse RFC 3339 (Z or an offset, optional fraction) into (epoch seconds, microseconds).

    Raises ValueError naming the text when it is not RFC 3339.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ValueError(f'invalid time "{text}": expected RFC 3339 like "2026-01-01T00:00:00Z"')
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac, zone = m.group(7), m.group(8)
    try:
        datetime.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError as e:
        raise ValueError(f'invalid time "{text}": {e}') from None
    if hour > 23 or minute > 59 or second > 60:
        raise ValueError(f'invalid time "{text}": clock out of range')
    secs = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        secs -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    micros = int((frac or "")[:6].ljust(6, "0"))
    return secs, micros


def _time_parts(v: object, path: str) -> tuple[int, int]:
    if type(v) is str:
        try:
            return parse_time(v)
        except ValueError as e:
            raise CodecError(path, str(e)) from None
    if isinstance(v, datetime.datetime):  # what a plain YAML loader makes of a timestamp
        aware = v if v.tzinfo is not None else v.replace(tzinfo=datetime.UTC)
        delta = aware - _EPOCH
        return delta.days * 86400 + delta.seconds, delta.microseconds
    raise _mismatch(path, "RFC 3339 time string", v)


def _enc_time(v: object) -> JSONValue:
    return format_time(cast(float, v))


def _dec_time(v: object, path: str, w: list[str]) -> object:
    secs, _ = _time_parts(v, path)  # Time keeps whole seconds, as it is written
    return Time(float(secs))


def _enc_micro_time(v: object) -> JSONValue:
    return format_micro_time(cast(float, v))


def _dec_micro_time(v: object, path: str, w: list[str]) -> object:
    secs, micros = _time_parts(v, path)
    return MicroTime(secs + micros / 1_000_000)


# --- metadata.resourceVersion ----------------------------------------------------------------


def _enc_resource_version(v: object) -> JSONValue:
    return str(v)


def _dec_resource_version(v: object, path: str, w: list[str]) -> object:
    if type(v) is not str:
        raise _mismatch(path, "string", v)
    if v == "":
        return 0
    if not v.isascii() or not v.isdigit():
        raise CodecError(path, f'invalid resource version "{v}": must be a decimal integer')
    return int(v)


# --- enums and literals ------------------------------------------------------------------


def _enum_codec(tp: type[enum.Enum]) -> tuple[Encoder, Decoder]:
    by_value: Mapping[object, enum.Enum] = {m.value: m for m in tp}
    supported = ", ".join(f'"{m.value}"' for m in tp)

    def enc(v: object) -> JSONValue:
        return cast(JSONValue, cast(enum.Enum, v).value)

    def dec(v: object, path: str, w: list[str]) -> object:
        if isinstance(v, list | dict | bool) or v is None:
            raise _mismatch(path, "string", v)
        member = by_value.get(v)
        if member is None:
            raise CodecError(path, f"Unsupported value: {_quote(v)}: supported values: {supported}")
        return member

    return enc, dec


def _quote(v: object) -> str:
    return f'"{v}"' if isinstance(v, str) else repr(v)


# Decoders under which a value of exactly this type decodes to itself (bool is not an int).
_PASSTHROUGH: Final[Mapping[Decoder, type]] = {
    _dec_str: str,
    _dec_int: int,
    _dec_bool: bool,
    _dec_float: float,
}

# --- plans -----------------------------------------------------------------------------------

_NOTHING: Final = object()

# Per-field wire formats that the type alone does not decide.
_FIELD_CODECS: Final[Mapping[tuple[type, str], tuple[Encoder, Decoder]]] = {
    (ObjectMeta, "resource_version"): (_enc_resource_version, _dec_resource_version),
}
# Upstream metadata fields kcore does not model and drops silently, since real servers
# hand them out and clients send them back (`kubectl get -o yaml | kcore apply -f -`).
_SILENT_FIELDS: Final[Mapping[type, frozenset[str]]] = {
    ObjectMeta: frozenset({"managedFields", "selfLink"}),
}


@attrs.frozen(kw_only=True)
class _Field:
    attr: str  # Python attribute name
    alias: str  # __init__ keyword
    json: str  # wire name
    encode: Encoder | None  # None: the value is its own JSON
    decode: Decoder
    skip_empty: bool  # omit when falsy (an empty collection whose default is empty)
    zero: object  # omit when equal to this; _NOTHING = never by value
    required: bool
    nullable: bool  # None is a legal value (X | None)
    passthrough: type | None  # input of exactly this type decodes to itself


@attrs.define
class _ClassPlan:
    """Fields of one class. Filled once during compilation, then never changed."""

    cls: type
    header: tuple[tuple[str, str], ...] = ()  # (apiVersion, kind) pairs written first
    fields: tuple[_Field, ...] = ()
    by_json: Mapping[str, _Field] = attrs.Factory(dict)
    required: tuple[_Field, ...] = ()
    required_aliases: frozenset[str] = frozenset()
    silent: frozenset[str] = frozenset()


# Compiled plans, keyed by class / by type hint. A memo whose values depend only on the
# key (the class and its annotations, fixed at import), never on state: filled on first
# use, published only when complete, so a concurrent reader never sees a partial plan.
_PLANS: dict[type, _ClassPlan] = {}
_TYPE_CODECS: dict[object, tuple[Encoder | None, Decoder]] = {}


def _camel(name: str) -> str:
    head, *rest = name.strip("_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _plan(cls: type) -> _ClassPlan:
    plan = _PLANS.get(cls)
    if plan is None:
        building: dict[type, _ClassPlan] = {}
        plan = _compile_class(cls, building)
        _PLANS.update(building)
    return plan


def _compile_class(cls: type, building: dict[type, _ClassPlan]) -> _ClassPlan:
    known = _PLANS.get(cls) or building.get(cls)
    if known is not None:
        return known
    plan = _ClassPlan(cls=cls)
    building[cls] = plan
    try:
        hints = typing.get_type_hints(cls)
    except NameError as e:
        raise TypeError(f"{cls.__qualname__}: cannot resolve type hints: {e}") from None
    kind = getattr(cls, "KIND", None)
    if isinstance(kind, Kind):
        plan.header = (("apiVersion", kind.info.api_version), ("kind", kind.value))
    elif cls is Status:
        plan.header = (("apiVersion", "v1"), ("kind", "Status"))
    fields = []
    for a in attrs.fields(cls):
        fields.append(_compile_field(cls, a, hints[a.name], building))
    plan.fields = tuple(fields)
    plan.by_json = {f.json: f for f in fields}
    plan.required = tuple(f for f in fields if f.required)
    plan.required_aliases = frozenset(f.alias for f in plan.required)
    plan.silent = _SILENT_FIELDS.get(cls, frozenset())
    return plan


def _compile_field(
    cls: type,
    a: attrs.Attribute[object],
    tp: object,
    building: dict[type, _ClassPlan],
) -> _Field:
    where = f"{cls.__qualname__}.{a.name}"
    special = _FIELD_CODECS.get((cls, a.name))
    if special is not None:
        enc: Encoder | None
        enc, dec = special
    else:
        enc, dec = _compile_type(tp, where, building)
    default: object = a.default
    factory, takes_self = getattr(default, "factory", None), getattr(default, "takes_self", None)
    if callable(factory) and takes_self is not None:  # an attrs.Factory default
        default = _NOTHING if takes_self else factory()
    required = default is attrs.NOTHING
    base = _strip_optional(tp)
    is_collection = base is tuple or typing.get_origin(base) in _COLLECTION_ORIGINS
    skip_empty = is_collection and not required and _is_empty(default)
    zero: object = _NOTHING
    omitempty = not a.metadata.get(ALWAYS, False)
    if omitempty and not required and not is_collection and _is_zero(default):
        zero = default
    return _Field(
        attr=a.name,
        alias=a.alias or a.name.lstrip("_"),
        json=cast(str, a.metadata.get("kcore.json")) or _camel(a.name),
        encode=enc,
        decode=dec,
        skip_empty=skip_empty,
        zero=zero,
        required=required,
        nullable=_is_optional(tp),
        passthrough=_PASSTHROUGH.get(dec),
    )


def _is_empty(default: object) -> bool:
    return isinstance(default, tuple | Mapping) or type(default).__name__ in ("PVector", "PSet")


def _is_zero(default: object) -> bool:
    if isinstance(default, enum.Enum):
        default = default.value
    return default is False or default == 0 or default == ""


def _is_optional(tp: object) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _is_union(tp: object) -> bool:
    origin = typing.get_origin(tp)
    return origin is types.UnionType or origin is typing.Union


def _strip_optional(tp: object) -> object:
    if not _is_optional(tp):
        return tp
    rest = tuple(t for t in typing.get_args(tp) if t is not type(None))
    if len(rest) == 1:
        return rest[0]
    return typing.Union[rest]  # noqa: UP007  (a runtime union built from a tuple)


_COLLECTION_ORIGINS: Final = (tuple, ptyping.PMap, ptyping.PVector, ptyping.PSet, Mapping)


def _compile_type(
    tp: object, where: str, building: dict[type, _ClassPlan]
) -> tuple[Encoder | None, Decoder]:
    if tp is str:
        return None, _dec_str
    if tp is bool:
        return None, _dec_bool
    if tp is int:
        return None, _dec_int
    if tp is float:
        return None, _dec_float
    if tp is Time:
        return _enc_time, _dec_time
    if tp is MicroTime:
        return _enc_micro_time, _dec_micro_time
    if tp is bytes:
        return _enc_bytes, _dec_bytes
    if tp is Quantity:
        return _enc_quantity, _dec_quantity
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:  # any other NewType travels as its base type
        return _compile_type(supertype, where, building)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_codec(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _class_codec(_compile_class(tp, building))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if _is_union(tp):
        members = set(args) - {type(None)}
        if members == {int, str}:
            return None, _dec_int_or_string
        if len(members) == 1 and type(None) in args:
            return _compile_type(_strip_optional(tp), where, building)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _sequence_codec(*_compile_type(args[0], where, building), tuple)
    elif origin is ptyping.PVector:
        return _sequence_codec(*_compile_type(args[0], where, building), pvector)
    elif origin is ptyping.PSet:
        return _set_codec(*_compile_type(args[0], where, building))
    elif origin in (ptyping.PMap, Mapping) and args[0] is str:
        return _map_codec(*_compile_type(args[1], where, building))
    elif origin is typing.Literal:
        return None, _literal_decoder(args)
    raise TypeError(f"{where}: the codec does not support the type {tp!r}")


def _class_codec(plan: _ClassPlan) -> tuple[Encoder, Decoder]:
    def enc(v: object) -> JSONValue:
        return _encode_fields(plan, v, {})

    def dec(v: object, path: str, w: list[str]) -> object:
        return _decode_fields(plan, v, path, w, ())

    return enc, dec


def _sequence_codec(
    item_enc: Encoder | None, item_dec: Decoder, build: Callable[[list[object]], object]
) -> tuple[Encoder, Decoder]:
    def enc(v: object) -> JSONValue:
        items = cast(tuple[object, ...], v)
        if item_enc is None:
            return list(cast(tuple[JSONValue, ...], items))
        return [item_enc(x) for x in items]

    item_type = _PASSTHROUGH.get(item_dec)

    def dec(v: object, path: str, w: list[str]) -> object:
        if type(v) is not list and not isinstance(v, list | tuple):
            raise _mismatch(path, "array", v)
        if item_type is not None and all(type(x) is item_type for x in v):
            return build(list(v))
        return build([item_dec(x, f"{path}[{i}]", w) for i, x in enumerate(v)])

    return enc, dec


def _set_codec(item_enc: Encoder | None, item_dec: Decoder) -> tuple[Encoder, Decoder]:
    def enc(v: object) -> JSONValue:
        items = sorted(cast(frozenset[str], v))  # set order follows hashes: sort
        return [item_enc(x) for x in items] if item_enc else list(items)

    def dec(v: object, path: str, w: list[str]) -> object:
        if not isinstance(v, list | tuple):
            raise _mismatch(path, "array", v)
        return pset(item_dec(x, f"{path}[{i}]", w) for i, x in enumerate(v))

    return enc, dec


def _map_codec(val_enc: Encoder | None, val_dec: Decoder) -> tuple[Encoder, Decoder]:
    val_type = _PASSTHROUGH.get(val_dec)

    def enc(v: object) -> JSONValue:
        m = cast(Mapping[str, object], v)
        if val_enc is None:
            return {k: cast(JSONValue, m[k]) for k in sorted(m)}
        return {k: val_enc(m[k]) for k in sorted(m)}

    def dec(v: object, path: str, w: list[str]) -> object:
        if type(v) is not dict and not isinstance(v, Mapping):
            raise _mismatch(path, "object", v)
        if val_type is not None and all(
            type(k) is str and type(x) is val_type for k, x in v.items()
        ):
            return pmap(v)
        out: dict[str, object] = {}
        for k, x in v.items():
            if type(k) is not str:
                raise CodecError(path, f"expected string keys, got {describe(k)}")
            out[k] = val_dec(x, f"{path}[{k}]", w)
        return pmap(out)

    return enc, dec


def _literal_decoder(values: tuple[object, ...]) -> Decoder:
    supported = ", ".join(_quote(x) for x in values)

    def dec(v: object, path: str, w: list[str]) -> object:
        if isinstance(v, str | int) and not isinstance(v, bool) and v in values:
            return v
        raise CodecError(path, f"Unsupported value: {_quote(v)}: supported values: {supported}")

    return dec


# --- walking objects ---------------------------------------------------------------------


def _encode_fields(plan: _ClassPlan, obj: object, out: dict[str, JSONValue]) -> JSONValue:
    for f in plan.fields:
        v = getattr(obj, f.attr)
        if v is None or (f.skip_empty and not v) or (f.zero is not _NOTHING and v == f.zero):
            continue
        out[f.json] = v if f.encode is None else f.encode(v)
    return out


def _decode_fields(
    plan: _ClassPlan, data: object, path: str, warnings: list[str], skip: tuple[str, ...]
) -> object:
    if type(data) is not dict and not isinstance(data, Mapping):
        raise _mismatch(path, "object", data)
    by_json = plan.by_json
    kwargs: dict[str, object] = {}
    for key, raw in data.items():
        f = by_json.get(key)
        if f is not None and type(raw) is f.passthrough:  # the common scalar: no path needed
            kwargs[f.alias] = raw
            continue
        child = f"{path}.{key}" if path else str(key)
        if f is None:
            if key not in skip and key not in plan.silent:
                warnings.append(f'unknown field "{child}"')
            continue
        if raw is None:
            if f.nullable:
                kwargs[f.alias] = None
            elif f.required:
                raise CodecError(child, "Required value")
            continue
        kwargs[f.alias] = f.decode(raw, child, warnings)
    if not plan.required_aliases <= kwargs.keys():
        missing = next(f for f in plan.required if f.alias not in kwargs)
        raise CodecError(f"{path}.{missing.json}" if path else missing.json, "Required value")
    try:
        return plan.cls(**kwargs)
    except (TypeError, ValueError) as e:  # a model's own attrs validator refused the value
        raise CodecError(path, str(e)) from None


# --- public API ----------------------------------------------------------------------------


def to_dict(obj: object) -> dict[str, JSONValue]:
    """Encode an object (a kind, Status, or any model struct) into its Kubernetes JSON shape."""
    plan = _plan(type(obj))
    out: dict[str, JSONValue] = dict(plan.header)
    if plan.cls is Status:
        out["metadata"] = {}
    _encode_fields(plan, obj, out)
    return out


def from_dict(data: Mapping[str, object], *, kind: Kind | None = None) -> Decoded:
    """Decode one object from its JSON shape; its apiVersion/kind pick the class.

    `kind` (the kind a REST path names) is used when the body has no apiVersion/kind and
    must agree with it otherwise. Raises `CodecError` (path "" for the root) on bad input.
    """
    if not isinstance(data, Mapping):
        raise _mismatch("", "object", data)
    found = _kind_of_data(data, kind)
    warnings: list[str] = []
    obj = _decode_fields(_plan(registry.class_for(found)), data, "", warnings, _TYPE_META)
    return Decoded(obj=cast(ApiObject, obj), warnings=tuple(warnings))


_TYPE_META: Final = ("apiVersion", "kind")


def _kind_of_data(data: Mapping[str, object], kind: Kind | None) -> Kind:
    api_version, wire_kind = data.get("apiVersion"), data.get("kind")
    if api_version is None and wire_kind is None and kind is not None:
        return kind
    if wire_kind is None or wire_kind == "":
        raise CodecError("kind", "Required value: Object 'Kind' is missing")
    if api_version is None or api_version == "":
        raise CodecError("apiVersion", "Required value: Object 'apiVersion' is missing")
    if type(wire_kind) is not str:
        raise _mismatch("kind", "string", wire_kind)
    if type(api_version) is not str:
        raise _mismatch("apiVersion", "string", api_version)
    try:
        found = kind_for_gvk(api_version, wire_kind)
    except UnknownKindError as e:
        raise CodecError("kind", str(e)) from None
    if kind is not None and found is not kind:
        raise CodecError(
            "kind", f"the body is a {found.value}, but the request is for {kind.value}"
        )
    return found


def encode_value(value: object, tp: object) -> JSONValue:
    """Encode a value of type hint `tp` (e.g. `PodSpec`, `tuple[Container, ...]`)."""
    enc, _ = _compile_type_published(tp)
    return cast(JSONValue, value) if enc is None else enc(value)


def decode_value(data: object, tp: object, *, path: str = "") -> tuple[object, tuple[str, ...]]:
    """Decode JSON `data` as type hint `tp`; returns (value, warnings). Raises CodecError."""
    _, dec = _compile_type_published(tp)
    warnings: list[str] = []
    return dec(data, path, warnings), tuple(warnings)


def _compile_type_published(tp: object) -> tuple[Encoder | None, Decoder]:
    known = _TYPE_CODECS.get(tp)
    if known is not None:
        return known
    if isinstance(tp, type) and attrs.has(tp):
        return _class_codec(_plan(tp))
    building: dict[type, _ClassPlan] = {}
    codec = _compile_type(tp, repr(tp), building)
    _PLANS.update(building)
    _TYPE_CODECS[tp] = codec
    return codec


def warm_up() -> None:
    """Compile the plans of every registered kind now (servers call this at start-up)."""
    for cls in registry.CLASSES.values():
        _plan(cls)

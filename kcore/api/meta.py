"""Object metadata and the shapes shared by every kind (meta.k8s.io/v1).

Owns: `Time`/`MicroTime` (simulated seconds since the Unix epoch), the field-naming
convention the codec reads (`wire(...)`), `ObjectMeta`, `OwnerReference`, `Condition`,
`Status` with its `StatusReason`, and the `ApiObject` protocol every stored kind satisfies.

Conventions every model module follows (the codec relies on them):
- classes are `@attrs.frozen(kw_only=True)`; Python names are snake_case, the JSON name is
  the lowerCamelCase form unless `metadata=wire("podIP")` says otherwise;
- lists are `tuple[X, ...]` (default `()`), string maps are `PMap[str, X]` (default
  `pmap()`); an empty collection is omitted on output, as upstream's omitempty;
- `X | None = None` is an optional (pointer) field; absent on output when None;
- a scalar equal to a zero default ("", 0, False) is omitted on output, as upstream's
  omitempty; mark the few fields upstream always writes with `wire(always=True)`; a
  field with no default is required;
- closed string sets are `enum.Enum` subclasses whose values are the wire strings;
- `Time` / `MicroTime` fields are RFC 3339 strings on the wire; `Quantity` is its
  canonical string; `int | str` is IntOrString; `bytes` is base64;
- a top-level kind declares `KIND: ClassVar[Kind]` and has a `metadata: ObjectMeta` field.

Mirrors k8s.io/apimachinery/pkg/apis/meta/v1/types.go.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, NewType, Protocol, TypeVar

import attrs
from pyrsistent import pmap, pvector  # noqa: F401  (re-exported for model modules)
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind

Time = NewType("Time", float)
"""Seconds since the Unix epoch, simulated; RFC 3339 with second precision on the wire."""

MicroTime = NewType("MicroTime", float)
"""As `Time`, written with microsecond precision (Lease renewTime, Event eventTime)."""

JSON_NAME: Final = "kcore.json"
ALWAYS: Final = "kcore.always"

FINALIZER_ORPHAN: Final = "orphan"
"""metav1.FinalizerOrphanDependents: the garbage collector orphans the dependents first."""
FINALIZER_FOREGROUND: Final = "foregroundDeletion"
"""metav1.FinalizerDeleteDependents: the garbage collector deletes the blocking dependents first."""


def wire(json_name: str = "", *, always: bool = False) -> Mapping[str, Any]:
    """Field metadata: the JSON key when lowerCamelCase of the Python name is wrong, and
    `always` for a field upstream writes even at its zero value (no `omitempty` tag)."""
    meta: dict[str, Any] = {JSON_NAME: json_name} if json_name else {}
    if always:
        meta[ALWAYS] = True
    return meta


@attrs.frozen(kw_only=True)
class OwnerReference:
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


@attrs.frozen(kw_only=True)
class ObjectMeta:
    """metadata of every object. `resource_version` is an int here, a string on the wire."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: int = 0
    generation: int = 0
    creation_timestamp: Time | None = None
    deletion_timestamp: Time | None = None
    deletion_grace_period_seconds: int | None = None
    labels: PMap[str, str] = pmap()
    annotations: PMap[str, str] = pmap()
    owner_references: tuple[OwnerReference, ...] = ()
    finalizers: tuple[str, ...] = ()


class ConditionStatus(enum.Enum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class ApiObject(Protocol):
    """What generic code (apiserver, state, codec) may rely on for any stored kind."""

    KIND: ClassVar[Kind]

    @property
    def metadata(self) -> ObjectMeta: ...


class StatusReason(enum.Enum):
    """metav1.StatusReason values kcore produces."""

    UNKNOWN = ""
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    INVALID = "Invalid"
    SERVER_TIMEOUT = "ServerTimeout"
    TIMEOUT = "Timeout"
    TOO_MANY_REQUESTS = "TooManyRequests"
    BAD_REQUEST = "BadRequest"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INTERNAL_ERROR = "InternalError"
    EXPIRED = "Expired"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"


@attrs.frozen(kw_only=True)
class StatusCause:
    reason: str = ""  # a field.ErrorType string such as "FieldValueInvalid"
    message: str = ""
    field: str = ""


@attrs.frozen(kw_only=True)
class StatusDetails:
    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: tuple[StatusCause, ...] = ()
    retry_after_seconds: int | None = None


@attrs.frozen(kw_only=True)
class Status:
    """meta.k8s.io/v1 Status: the body of every failed (and some successful) response."""

    status: str = "Failure"  # "Success" | "Failure"
    message: str = ""
    reason: StatusReason = StatusReason.UNKNOWN
    details: StatusDetails | None = None
    code: int = 0


_T = TypeVar("_T")


def evolver(cls: type[_T]) -> Callable[..., _T]:
    """A copy-with-changes function for one attrs class: `evolver(C)(obj, **changes)` is
    `attrs.evolve(obj, **changes)` for every `obj` of exactly class `C`, only cheaper.

    For hot classes (PodSpec, Container, Pod, ObjectMeta) on the create path: built once
    per class at import, not looked up per call. A class whose `__init__` does more than
    store its arguments (validators, converters, private or init=False fields, pre/post
    init hooks, a cached hash) gets plain `attrs.evolve`. Otherwise the function is
    generated (as attrs generates `__init__`): the new instance's fields are set from the
    old one, then the changes; an unknown field name raises TypeError, as `attrs.evolve`.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # callers pass attrs classes (raises otherwise)
    plain = not (
        any(
            not a.init or a.alias != a.name or a.validator is not None or a.converter is not None
            for a in fields
        )
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
        or hasattr(cls, "_attrs_cached_hash")  # cache_hash=True: __init__ resets it
    )
    if not plain:

        def generic(inst: _T, /, **changes: object) -> _T:
            return attrs.evolve(inst, **changes)  # type: ignore[misc]  # inst is an attrs instance of cls

        return generic
    names = tuple(a.name for a in fields)
    sets = "\n".join(f"    s({n!r}, inst.{n})" for n in names)
    source = (
        "def evolve(inst, /, **changes):\n"
        "    new = new_instance(cls)\n"
        "    s = setattr_.__get__(new)\n"
        f"{sets}\n"
        "    if changes:\n"
        "        if not changes.keys() <= known:\n"
        "            unknown = ', '.join(sorted(changes.keys() - known))\n"
        "            raise TypeError(f'{cls.__name__}.__init__() got an unexpected keyword argument {unknown}')\n"
        "        for name, value in changes.items():\n"
        "            s(name, value)\n"
        "    return new\n"
    )
    scope: dict[str, object] = {
        "cls": cls,
        "new_instance": object.__new__,
        "setattr_": object.__setattr__,
        "known": frozenset(names),
    }
    exec(compile(source, f"<kcore evolver {cls.__qualname__}>", "exec"), scope)  # the source names only the class's fields
    return scope["evolve"]  # type: ignore[return-value]  # the function defined just above

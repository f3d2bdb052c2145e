"""Kubernetes `Status` values for every failure the apiserver reports.

Owns the constructors that turn a failure into the exact `Status` body upstream returns
(k8s.io/apimachinery/pkg/api/errors/errors.go): message text, reason, HTTP code and
details (name, group, kind, causes). Callers never build a failing `Status` by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import Status, StatusCause, StatusDetails, StatusReason
from kcore.util_validation import FieldError


def qualified_resource(kind: Kind) -> str:
    """`deployments.apps`, or `pods` for the core group: how upstream names a resource."""
    info = kind.info
    return f"{info.plural}.{info.group}" if info.group else info.plural


def qualified_kind(kind: Kind) -> str:
    """`Deployment.apps`, or `Pod` for the core group: the kind in Invalid messages."""
    info = kind.info
    return f"{kind.value}.{info.group}" if info.group else kind.value


def _details(kind: Kind, name: str, causes: tuple[StatusCause, ...] = ()) -> StatusDetails:
    return StatusDetails(name=name, group=kind.info.group, kind=kind.info.plural, causes=causes)


def not_found(key: ObjectKey) -> Status:
    return Status(
        message=f'{qualified_resource(key.kind)} "{key.name}" not found',
        reason=StatusReason.NOT_FOUND,
        details=_details(key.kind, key.name),
        code=404,
    )


def already_exists(key: ObjectKey) -> Status:
    return Status(
        message=f'{qualified_resource(key.kind)} "{key.name}" already exists',
        reason=StatusReason.ALREADY_EXISTS,
        details=_details(key.kind, key.name),
        code=409,
    )


def conflict(key: ObjectKey, why: str) -> Status:
    return Status(
        message=f'Operation cannot be fulfilled on {qualified_resource(key.kind)} "{key.name}": {why}',
        reason=StatusReason.CONFLICT,
        details=_details(key.kind, key.name),
        code=409,
    )


def stale(key: ObjectKey) -> Status:
    """The optimistic-concurrency conflict: the caller's resourceVersion is not current."""
    return conflict(
        key, "the object has been modified; please apply your changes to the latest version and try again"
    )


def invalid(kind: Kind, name: str, errors: Sequence[FieldError]) -> Status:
    """422 Invalid with one cause per field error, as upstream NewInvalid."""
    causes = tuple(
        StatusCause(reason=e.reason.value, message=_cause_message(e), field=e.path) for e in errors
    )
    text = "; ".join(str(e) for e in errors)
    joined = f"[{text}]" if len(errors) > 1 else text
    return Status(
        message=f'{qualified_kind(kind)} "{name}" is invalid: {joined}',
        reason=StatusReason.INVALID,
        details=_details(kind, name, causes),
        code=422,
    )


def _cause_message(e: FieldError) -> str:
    # Upstream's cause message is the error text without its leading "path: ".
    text = str(e)
    prefix = f"{e.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def forbidden(kind: Kind, name: str, why: str) -> Status:
    what = f'{qualified_resource(kind)} "{name}"' if name else qualified_resource(kind)
    return Status(
        message=f"{what} is forbidden: {why}",
        reason=StatusReason.FORBIDDEN,
        details=_details(kind, name),
        code=403,
    )


def unauthorized(message: str = "Unauthorized") -> Status:
    return Status(message=message, reason=StatusReason.UNAUTHORIZED, code=401)


def gone(message: str) -> Status:
    return Status(message=message, reason=StatusReason.GONE, code=410)


def bad_request(message: str) -> Status:
    return Status(message=message, reason=StatusReason.BAD_REQUEST, code=400)


def method_not_allowed(message: str) -> Status:
    return Status(message=message, reason=StatusReason.METHOD_NOT_ALLOWED, code=405)


def too_many_requests(message: str, retry_after_seconds: int | None = None) -> Status:
    return Status(
        message=message,
        reason=StatusReason.TOO_MANY_REQUESTS,
        details=StatusDetails(retry_after_seconds=retry_after_seconds)
        if retry_after_seconds is not None
        else None,
        code=429,
    )


def internal_error(message: str) -> Status:
    return Status(message=f"Internal error occurred: {message}", reason=StatusReason.INTERNAL_ERROR, code=500)


def success(kind: Kind, name: str, uid: str = "") -> Status:
    """The Status a delete returns when the object is gone at once."""
    return Status(
        status="Success",
        details=StatusDetails(name=name, group=kind.info.group, kind=kind.info.plural, uid=uid),
        code=200,
    )

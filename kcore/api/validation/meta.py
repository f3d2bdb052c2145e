"""Validation of what every kind shares: ObjectMeta, labels, annotations, selectors.

Owns `validate_object_meta` (create) and `validate_object_meta_update` (update), the
name rules per kind (`NameRule`), label/annotation/finalizer/ownerReference checks and
the meta/v1 LabelSelector check that the workload kinds reuse, plus the small path and
immutability helpers every validation module uses.

Rules: pure functions from values to a tuple of `FieldError` (empty = valid), in the order
upstream reports them; field paths are upstream's (`metadata.labels`, `spec.ports[0]`).
Maps are read in sorted key order so the errors are deterministic.

Mirrors k8s.io/apimachinery/pkg/api/validation/objectmeta.go, generic.go,
k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go and the name functions of
pkg/apis/core/validation/validation.go.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Final

from pyrsistent import PMap as PMapType

from kcore import labels
from kcore.api.meta import ObjectMeta, OwnerReference
from kcore.api.pod import LabelSelector
from kcore.labels import validate_label_name, validate_labels
from kcore.util_validation import (
    NEGATIVE_ERROR_MSG,
    ErrorType,
    FieldError,
    child,
    forbidden,
    go_quote,
    invalid,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    required,
    too_long,
)

Errors = tuple[FieldError, ...]

TOTAL_ANNOTATION_SIZE_LIMIT_B: Final = 256 * (1 << 10)  # 256 KiB


# ---- names ---------------------------------------------------------------------------


class NameRule(enum.Enum):
    """How a kind's metadata.name is checked (upstream's ValidateNameFunc per kind)."""

    DNS1123_SUBDOMAIN = "subdomain"
    DNS1123_LABEL = "label"
    DNS1035_LABEL = "dns1035"
    PATH_SEGMENT = "path"  # RBAC objects: any name that is a valid path segment


def _mask_trailing_dash(name: str) -> str:
    # generateName "web-" is checked as "web" (upstream maskTrailingDash).
    return name[:-1] + "a" if len(name) > 1 and name.endswith("-") else name


def _path_segment_errors(name: str) -> tuple[str, ...]:
    # k8s.io/apimachinery/pkg/api/validation/path/name.go IsValidPathSegmentName
    if name in (".", ".."):
        return (f"may not be '{name}'",)
    return tuple(f"may not contain '{c}'" for c in ("/", "%") if c in name)


def name_errors(rule: NameRule, name: str, prefix: bool = False) -> tuple[str, ...]:
    """The messages for a bad name under `rule`; `prefix` for a generateName."""
    value = _mask_trailing_dash(name) if prefix else name
    match rule:
        case NameRule.DNS1123_SUBDOMAIN:
            return tuple(is_dns1123_subdomain(value))
        case NameRule.DNS1123_LABEL:
            return tuple(is_dns1123_label(value))
        case NameRule.DNS1035_LABEL:
            return tuple(is_dns1035_label(value))
        case NameRule.PATH_SEGMENT:
            return _path_segment_errors(value)


# Label keys and values that are valid at a glance: ASCII, at most 63 characters (so a
# prefix and a name part are each within their limits), the shape upstream's regexes
# accept. Anything else goes through kcore.labels for the exact messages.
_PLAIN_LABEL_KEY: Final = re.compile(
    r"(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_PLAIN_LABEL_VALUE: Final = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")


def _plain_label(key: str, value: str) -> bool:
    return (
        len(key) <= 63
        and len(value) <= 63
        and _PLAIN_LABEL_KEY.fullmatch(key) is not None
        and _PLAIN_LABEL_VALUE.fullmatch(value) is not None
    )


def label_errors(labels: Mapping[str, str], path: str) -> Errors:
    """ValidateLabels (kcore.labels.validate_labels), answered at once for plain labels."""
    key_ok, value_ok = _PLAIN_LABEL_KEY.fullmatch, _PLAIN_LABEL_VALUE.fullmatch
    # A PMap's iteritems skips the items view `.items()` builds.
    pairs = labels.iteritems() if isinstance(labels, PMapType) else labels.items()
    for k, v in pairs:  # `_plain_label`, inlined: every write checks its labels
        if len(k) > 63 or len(v) > 63 or key_ok(k) is None or value_ok(v) is None:
            return validate_labels(labels, path)
    return ()


def plain_label_key(key: str) -> bool:
    """A label key valid at a glance (`_plain_label(key, "")`): no rule can reject it."""
    return len(key) <= 63 and _PLAIN_LABEL_KEY.fullmatch(key) is not None


def label_key_errors(key: str, path: str) -> Errors:
    """ValidateLabelName (kcore.labels.validate_label_name), at once for a plain key."""
    if plain_label_key(key):
        return ()
    return validate_label_name(key, path)


def dns1123_label(value: str, path: str) -> Errors:
    """Upstream ValidateDNS1123Label."""
    messages = is_dns1123_label(value)
    return tuple(invalid(path, value, m) for m in messages) if messages else ()


def dns1123_subdomain(value: str, path: str) -> Errors:
    """Upstream ValidateDNS1123Subdomain."""
    messages = is_dns1123_subdomain(value)
    return tuple(invalid(path, value, m) for m in messages) if messages else ()


# ---- generic field helpers ---------------------------------------------------------------


def immutable(new: object, old: object, path: str) -> Errors:
    """Upstream ValidateImmutableField: `field is immutable` when the value changed."""
    if new == old:
        return ()
    return (invalid(path, new, "field is immutable"),)


def non_negative(value: int | None, path: str) -> Errors:
    """Upstream ValidateNonnegativeField."""
    if value is None or value >= 0:
        return ()
    return (invalid(path, value, NEGATIVE_ERROR_MSG),)


def positive(value: int | None, path: str) -> Errors:
    """A value that must be > 0 when set."""
    if value is None or value > 0:
        return ()
    return (invalid(path, value, "must be greater than 0"),)


# ---- labels, annotations, selectors -------------------------------------------------------


def validate_annotations(annotations: Mapping[str, str], path: str) -> Errors:
    """Upstream ValidateAnnotations: qualified keys, total size at most 256 KiB."""
    errors: list[FieldError] = []
    total = 0
    for k in sorted(annotations):
        errors.extend(invalid(path, k, m) for m in is_qualified_name(k.lower()))
        total += len(k.encode()) + len(annotations[k].encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errors.append(too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return tuple(errors)


def validate_label_selector(selector: LabelSelector, path: str) -> Errors:
    """meta/v1 ValidateLabelSelector on a model LabelSelector."""
    return labels.validate_label_selector(selector.match_labels, _expressions(selector), path)


def _expressions(selector: LabelSelector) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return tuple((r.key, r.operator.value, r.values) for r in selector.match_expressions)


def selector_matches(selector: LabelSelector, target: Mapping[str, str]) -> bool | None:
    """Whether `selector` selects `target`; None when the selector itself is malformed."""
    try:
        parsed = labels.selector_from_label_selector(selector.match_labels, _expressions(selector))
    except labels.SelectorParseError:
        return None
    return parsed.matches(target)


def selector_is_empty(selector: LabelSelector) -> bool:
    return not selector.match_labels and not selector.match_expressions


# ---- ObjectMeta ------------------------------------------------------------------------


def validate_object_meta(
    meta: ObjectMeta, *, namespaced: bool, rule: NameRule, path: str = "metadata"
) -> Errors:
    """Upstream ValidateObjectMeta for a create (also run again on every update)."""
    errors: list[FieldError] = []
    if meta.generate_name:
        errors.extend(
            invalid(child(path, "generateName"), meta.generate_name, m)
            for m in name_errors(rule, meta.generate_name, prefix=True)
        )
    if not meta.name:
        if not meta.generate_name:
            errors.append(required(child(path, "name"), "name or generateName is required"))
    else:
        messages = name_errors(rule, meta.name)
        if messages:
            errors.extend(invalid(child(path, "name"), meta.name, m) for m in messages)
    if namespaced:
        if not meta.namespace:
            errors.append(required(child(path, "namespace"), ""))
        else:
            messages = is_dns1123_label(meta.namespace)
            if messages:
                errors.extend(invalid(child(path, "namespace"), meta.namespace, m) for m in messages)
    elif meta.namespace:
        errors.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    # Empty fields are skipped before their paths are built: every write validates meta.
    if meta.generation < 0:
        errors.extend(non_negative(meta.generation, child(path, "generation")))
    if meta.labels:
        errors.extend(label_errors(meta.labels, child(path, "labels")))
    if meta.annotations:
        errors.extend(validate_annotations(meta.annotations, child(path, "annotations")))
    if meta.owner_references:
        errors.extend(
            validate_owner_references(meta.owner_references, child(path, "ownerReferences"))
        )
    if meta.finalizers:
        errors.extend(validate_finalizers(meta.finalizers, child(path, "finalizers")))
    return tuple(errors)


def validate_owner_references(refs: tuple[OwnerReference, ...], path: str) -> Errors:
    """Upstream ValidateOwnerReferences: every part set; at most one controller."""
    controllers_seen = 0
    for ref in refs:  # the usual references, every part set, pass before any path is built
        if not (ref.api_version and ref.kind and ref.name and ref.uid):
            break
        if ref.controller:
            controllers_seen += 1
    else:
        if controllers_seen <= 1:
            return ()
    errors: list[FieldError] = []
    for ref in refs:
        for name, value, what in (
            ("apiVersion", ref.api_version, "version"),
            ("kind", ref.kind, "kind"),
            ("name", ref.name, "name"),
            ("uid", ref.uid, "uid"),
        ):
            if not value:
                errors.append(invalid(child(path, name), value, f"{what} must not be empty"))
    controllers = [f"{r.kind}/{r.name}" for r in refs if r.controller]
    if len(controllers) > 1:
        errors.append(
            invalid(
                path,
                str(controllers),
                'Only one reference can have Controller set to true. Found "true" in references for '
                + " and ".join(controllers),
            )
        )
    return tuple(errors)


def validate_finalizers(finalizers: tuple[str, ...], path: str) -> Errors:
    """ValidateFinalizers: qualified names; not both orphan and foregroundDeletion."""
    errors = [invalid(path, name, m) for name in finalizers for m in is_qualified_name(name)]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errors.append(
            invalid_rendered(
                path,
                "[]string{" + ", ".join(go_quote(f) for f in finalizers) + "}",
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return tuple(errors)


def validate_object_meta_update(new: ObjectMeta, old: ObjectMeta, path: str = "metadata") -> Errors:
    """Upstream ValidateObjectMetaUpdate: identity fields never change.

    An empty uid, creationTimestamp or generation on the new object means "unchanged" (the
    REST layer copies them from the stored object, as upstream's BeforeUpdate does).
    The stored metadata itself (an update that changes only the spec or status) changes
    nothing, unless its creationTimestamp is NaN, which is not equal to itself.
    """
    if new is old and (new.creation_timestamp is None or new.creation_timestamp == old.creation_timestamp):
        return ()
    errors: list[FieldError] = []
    if old.deletion_timestamp is not None:
        added = sorted(set(new.finalizers) - set(old.finalizers))
        if added:
            shown = "[]string{" + ", ".join(f'"{f}"' for f in added) + "}"
            errors.append(
                forbidden(
                    child(path, "finalizers"),
                    "no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {shown}",
                )
            )
    if new.generation and new.generation < old.generation:
        errors.append(invalid(child(path, "generation"), new.generation, "must not be decremented"))
    errors.extend(immutable(new.name, old.name, child(path, "name")))
    errors.extend(immutable(new.namespace, old.namespace, child(path, "namespace")))
    if new.uid:
        errors.extend(immutable(new.uid, old.uid, child(path, "uid")))
    if new.creation_timestamp is not None:
        errors.extend(
            immutable(
                new.creation_timestamp, old.creation_timestamp, child(path, "creationTimestamp")
            )
        )
    return tuple(errors)


# ---- values as upstream prints them ----------------------------------------------------------


def go_string_map(values: Mapping[str, str]) -> str:
    """`map[string]string{"a":"b"}`: how upstream's %#v prints a label map."""
    body = ", ".join(f"{go_quote(k)}:{go_quote(values[k])}" for k in sorted(values))
    return "map[string]string{" + body + "}"


def go_label_selector(selector: LabelSelector) -> str:
    """How upstream prints a *metav1.LabelSelector (its generated String())."""
    labels = go_string_map(selector.match_labels).replace(", ", ",")
    exprs = ",".join(
        f"LabelSelectorRequirement{{Key:{r.key},Operator:{r.operator.value},"
        f"Values:[{' '.join(r.values)}],}}"
        for r in selector.match_expressions
    )
    return f"&LabelSelector{{MatchLabels:{labels},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}"


def invalid_rendered(path: str, rendered: str, detail: str) -> FieldError:
    """An Invalid error whose bad value is already rendered the upstream way."""
    return FieldError(path=path, reason=ErrorType.INVALID, detail=detail, bad_value=rendered)


def selector_mismatch(labels: Mapping[str, str], path: str) -> FieldError:
    """The error every workload kind gives when its selector misses its template labels."""
    return invalid_rendered(
        path, go_string_map(labels), "`selector` does not match template `labels`"
    )


def immutable_selector(new: LabelSelector, old: LabelSelector, path: str) -> Errors:
    """apps/v1: spec.selector never changes after creation."""
    if new == old:
        return ()
    return (invalid_rendered(path, go_label_selector(new), "field is immutable"),)

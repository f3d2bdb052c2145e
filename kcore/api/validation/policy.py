"""Validation of the policy/v1 group: PodDisruptionBudget.

Owns `validate_pdb` (create) and `validate_pdb_update`. A budget sets at most one of
minAvailable / maxUnavailable, each a non-negative int or a percentage of at most 100%;
its selector is a valid meta/v1 LabelSelector; unhealthyPodEvictionPolicy is one of the
two supported values. The spec may change after creation (policy/v1). The status counts
are non-negative and its conditions are valid meta/v1 Conditions.

Rules: pure, never raises on user input; errors are in upstream's order (the spec
first, then the generic ObjectMeta checks the REST layer runs after the strategy's).
Must not know: storage, the eviction subresource, the disruption controller.

Mirrors pkg/apis/policy/validation/validation.go (ValidatePodDisruptionBudget,
ValidatePodDisruptionBudgetSpec, ValidatePodDisruptionBudgetStatusUpdate),
k8s.io/apimachinery/pkg/apis/meta/v1/validation (ValidateConditions) and
pkg/registry/policy/poddisruptionbudget/strategy.go. One difference: upstream renders the
bad value of the both-set error as a Go struct with pointers; kcore renders the two values.
"""

from __future__ import annotations

import re
from typing import Final

from kcore.api.policy import (
    Condition,
    PodDisruptionBudget,
    PodDisruptionBudgetSpec,
    PodDisruptionBudgetStatus,
)
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    invalid_rendered,
    non_negative,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.intstr import validate_not_more_than_100_percent, validate_positive_int_or_percent
from kcore.labels import validate_label_name
from kcore.util_validation import (
    FieldError,
    child,
    duplicate,
    index,
    invalid,
    regex_error,
    required,
    too_long,
)

_REASON_FMT: Final = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?"
_REASON_RE: Final = re.compile(_REASON_FMT)
_REASON_MSG: Final = (
    "a condition reason must start with alphabetic character, optionally followed by a string "
    "of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'"
)
MAX_REASON_LEN: Final = 1024
MAX_MESSAGE_LEN: Final = 32 * 1024


def validate_pdb(pdb: PodDisruptionBudget) -> Errors:
    """Every error of a PodDisruptionBudget create."""
    return (
        *validate_pdb_spec(pdb.spec, "spec"),
        *validate_object_meta(pdb.metadata, namespaced=True, rule=NameRule.PATH_SEGMENT),
    )


def validate_pdb_update(new: PodDisruptionBudget, old: PodDisruptionBudget) -> Errors:
    """Every error of an update (main resource or /status): the spec rules again, the
    status rules, and the ObjectMeta update rules."""
    return (
        *validate_pdb_spec(new.spec, "spec"),
        *validate_pdb_status(new.status, "status"),
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_object_meta(new.metadata, namespaced=True, rule=NameRule.PATH_SEGMENT),
    )


def _render_spec(spec: PodDisruptionBudgetSpec) -> str:
    return f"{{minAvailable: {spec.min_available}, maxUnavailable: {spec.max_unavailable}}}"


def validate_pdb_spec(spec: PodDisruptionBudgetSpec, path: str) -> Errors:
    """ValidatePodDisruptionBudgetSpec."""
    errors: list[FieldError] = []
    if spec.min_available is not None and spec.max_unavailable is not None:
        errors.append(
            invalid_rendered(path, _render_spec(spec), "minAvailable and maxUnavailable cannot be both set")
        )
    for name, value in (("minAvailable", spec.min_available), ("maxUnavailable", spec.max_unavailable)):
        if value is not None:
            errors.extend(validate_positive_int_or_percent(value, child(path, name)))
            errors.extend(validate_not_more_than_100_percent(value, child(path, name)))
    if spec.selector is not None:
        errors.extend(validate_label_selector(spec.selector, child(path, "selector")))
    return tuple(errors)


def validate_pdb_status(status: PodDisruptionBudgetStatus, path: str) -> Errors:
    """ValidatePodDisruptionBudgetStatusUpdate for policy/v1."""
    return (
        *validate_conditions(status.conditions, child(path, "conditions")),
        *non_negative(status.disruptions_allowed, child(path, "disruptionsAllowed")),
        *non_negative(status.current_healthy, child(path, "currentHealthy")),
        *non_negative(status.desired_healthy, child(path, "desiredHealthy")),
        *non_negative(status.expected_pods, child(path, "expectedPods")),
    )


def validate_conditions(conditions: tuple[Condition, ...], path: str) -> Errors:
    """meta/v1 ValidateConditions: unique types, each condition well formed."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, c in enumerate(conditions):
        at = index(path, i)
        if c.type in seen:
            errors.append(duplicate(child(at, "type"), c.type))
        seen.add(c.type)
        errors.extend(_condition(c, at))
    return tuple(errors)


def _condition(c: Condition, path: str) -> Errors:
    errors: list[FieldError] = list(validate_label_name(c.type, child(path, "type")))
    if c.observed_generation < 0:
        errors.append(
            invalid(child(path, "observedGeneration"), c.observed_generation, "must be greater than or equal to zero")
        )
    reason_path = child(path, "reason")
    if not c.reason:
        errors.append(required(reason_path, "must be set"))
    else:
        if _REASON_RE.fullmatch(c.reason) is None:
            detail = regex_error(_REASON_MSG, _REASON_FMT, "my_name", "MY_NAME", "MyName", "ReasonA,ReasonB", "ReasonA:ReasonB")
            errors.append(invalid(reason_path, c.reason, detail))
        if len(c.reason) > MAX_REASON_LEN:
            errors.append(too_long(reason_path, c.reason, MAX_REASON_LEN))
    if len(c.message) > MAX_MESSAGE_LEN:
        errors.append(too_long(child(path, "message"), c.message, MAX_MESSAGE_LEN))
    return tuple(errors)

"""Validation of the scheduling.k8s.io/v1 group: PriorityClass.

Owns `validate_priority_class` (create) and `validate_priority_class_update`. A class
name is a DNS subdomain; names starting "system-" are reserved for the two system classes
with their exact values (and globalDefault false); any other class has a value of at most
1,000,000,000 (HighestUserDefinablePriority). On update, value and preemptionPolicy never
change (the name cannot either: ObjectMeta's rule).

Rules: pure, never raises on user input; errors in upstream's order (ObjectMeta first, as
ValidatePriorityClass calls it first). Must not know: other PriorityClasses. "Only one
globalDefault" needs the stored classes, so it is admission's check
(kcore.apiserver.priority), as upstream's Priority admission plugin.

Mirrors pkg/apis/scheduling/validation/validation.go (ValidatePriorityClass,
ValidatePriorityClassUpdate) and IsKnownSystemPriorityClass of
pkg/apis/scheduling/v1/helpers.go.
"""

from __future__ import annotations

from kcore.api.scheduling import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    SYSTEM_PRIORITY_CLASS_PREFIX,
    PriorityClass,
    system_priority_class,
)
from kcore.api.validation.meta import (
    Errors,
    NameRule,
    immutable,
    validate_object_meta,
    validate_object_meta_update,
)
from kcore.util_validation import FieldError, forbidden


def validate_priority_class(pc: PriorityClass) -> Errors:
    """Every error of a PriorityClass create (ValidatePriorityClass)."""
    errors: list[FieldError] = list(
        validate_object_meta(pc.metadata, namespaced=False, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    name = pc.metadata.name
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        why = _not_a_system_class(pc)
        if why:
            errors.append(
                forbidden(
                    "metadata.name",
                    f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are "
                    f"reserved for system use only. error: {why}",
                )
            )
    elif pc.value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errors.append(
            forbidden(
                "value",
                f"maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}",
            )
        )
    return tuple(errors)


def _not_a_system_class(pc: PriorityClass) -> str:
    """IsKnownSystemPriorityClass's error, "" when `pc` is one of the system classes."""
    name = pc.metadata.name
    known = system_priority_class(name)
    if known is None:
        return f"{name} is not a known system priority class"
    if known.value != pc.value:
        return f"value of {name} PriorityClass must be {known.value}"
    if known.global_default != pc.global_default:
        return f"globalDefault of {name} PriorityClass must be {str(known.global_default).lower()}"
    return ""


def validate_priority_class_update(new: PriorityClass, old: PriorityClass) -> Errors:
    """Every error of an update (ValidatePriorityClassUpdate): ObjectMeta's update rules,
    then value and preemptionPolicy, which may not change."""
    errors: list[FieldError] = [
        *validate_object_meta_update(new.metadata, old.metadata),
        *validate_object_meta(new.metadata, namespaced=False, rule=NameRule.DNS1123_SUBDOMAIN),
    ]
    if new.value != old.value:
        errors.append(forbidden("value", "may not be changed in an update."))
    errors.extend(immutable(_policy(new), _policy(old), "preemptionPolicy"))
    return tuple(errors)


def _policy(pc: PriorityClass) -> str:
    return "" if pc.preemption_policy is None else pc.preemption_policy.value

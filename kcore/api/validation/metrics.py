"""Validation of the metrics.k8s.io group: PodMetrics.

Owns `validate_pod_metrics`. Upstream never validates these objects (the metrics-server
builds them in memory and serves them read-only); kcore stores them, so it checks the
little that its readers rely on: the pod's name and namespace, a parseable window,
named and distinct containers, and usage quantities that are not negative.

Rules: pure; errors name the field path and never raise on user input.

Mirrors the shape constraints of k8s.io/metrics/pkg/apis/metrics/v1beta1/types.go.
"""

from __future__ import annotations

from kcore.api.metrics import PodMetrics, window_seconds
from kcore.api.validation.meta import Errors, NameRule, validate_object_meta
from kcore.util_validation import FieldError, child, duplicate, index, invalid, key, required


def validate_pod_metrics(metrics: PodMetrics) -> Errors:
    """Every error of a PodMetrics (the same rules on create and update)."""
    errors: list[FieldError] = list(
        validate_object_meta(metrics.metadata, namespaced=True, rule=NameRule.DNS1123_SUBDOMAIN)
    )
    if window_seconds(metrics.window) is None:
        errors.append(invalid("window", metrics.window, 'must be a duration such as "15s"'))
    seen: set[str] = set()
    for i, container in enumerate(metrics.containers):
        path = index("containers", i)
        if not container.name:
            errors.append(required(child(path, "name")))
        elif container.name in seen:
            errors.append(duplicate(child(path, "name"), container.name))
        seen.add(container.name)
        for resource in sorted(container.usage):
            quantity = container.usage[resource]
            if quantity.sign() < 0:
                errors.append(
                    invalid(key(child(path, "usage"), resource), str(quantity), "must be greater than or equal to 0")
                )
    return tuple(errors)

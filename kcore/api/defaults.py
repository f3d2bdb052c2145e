"""Context-dependent upstream defaulting for any kind, dispatched through the registry.

Owns `apply_defaults`. Static defaults are attrs defaults on the model classes; the rest
(targetPort = port, imagePullPolicy from the tag, selector from template labels, ...)
live in each group module's `default`, which this module only dispatches to.

Mirrors k8s.io/apimachinery/pkg/runtime Scheme.Default.
"""

from __future__ import annotations

from typing import TypeVar, cast

from kcore.api.meta import ApiObject
from kcore.api.registry import defaulter_for, kind_of

T = TypeVar("T", bound=ApiObject)


def apply_defaults(obj: T) -> T:
    """Apply the upstream defaults of `obj`'s kind; idempotent; returns the same kind."""
    # A group's `default` returns the kind it was given; its signature cannot say so.
    return cast(T, defaulter_for(kind_of(obj))(obj))

"""Which class models which kind, and which group module defaults it.

Owns `CLASSES` (every `Kind` to its attrs class), `class_for`, `kind_of` and
`defaulter_for` (a group module's `default`; the Pod's is `kcore.api.pod_defaults`'s). It
imports every group module and finds each kind's class by the naming convention of
`kcore.api.meta` (the class is named as the kind's wire name and declares `KIND`), so
adding a kind is adding its class; nothing here names a kind. The tables are built once
at import from the modules' contents and never change.

Mirrors the scheme registration of k8s.io/apimachinery/pkg/runtime (Scheme.AddKnownTypes,
AddTypeDefaultingFunc).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType, ModuleType
from typing import Final

from kcore.api import (
    apps,
    autoscaling,
    batch,
    coordination,
    core,
    discovery,
    metrics,
    networking,
    pod,
    pod_defaults,
    policy,
    rbac,
    scheduling,
)
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject

Defaulter = Callable[[ApiObject], ApiObject]

_GROUP_MODULES: Final[tuple[ModuleType, ...]] = (
    pod,
    core,
    discovery,
    apps,
    batch,
    autoscaling,
    networking,
    rbac,
    coordination,
    policy,
    metrics,
    scheduling,
)


def _scan() -> tuple[Mapping[Kind, type], Mapping[Kind, Defaulter]]:
    classes: dict[Kind, type] = {}
    defaulters: dict[Kind, Defaulter] = {}
    for module in _GROUP_MODULES:
        # the Pod's types and its defaulting are two modules, as upstream's types.go and defaults.go
        default: Defaulter = pod_defaults.default if module is pod else module.default
        for kind in Kind:
            cls = getattr(module, kind.value, None)
            if (
                isinstance(cls, type)
                and cls.__module__ == module.__name__
                and getattr(cls, "KIND", None) is kind
            ):
                classes[kind] = cls
                defaulters[kind] = default
    return MappingProxyType(classes), MappingProxyType(defaulters)


_TABLES: Final = _scan()
CLASSES: Final[Mapping[Kind, type]] = _TABLES[0]
_DEFAULTERS: Final[Mapping[Kind, Defaulter]] = _TABLES[1]


class UnregisteredKindError(LookupError):
    """A kind without a model class, or an object whose class is not a registered kind."""


def class_for(kind: Kind) -> type:
    """The attrs class that models `kind`."""
    try:
        return CLASSES[kind]
    except KeyError:
        raise UnregisteredKindError(f"no class models the kind {kind.value}") from None


def kind_of(obj: object) -> Kind:
    """The kind of a model object (its class's `KIND`), checked against the registry."""
    kind = getattr(type(obj), "KIND", None)
    if not isinstance(kind, Kind) or CLASSES.get(kind) is not type(obj):
        raise UnregisteredKindError(f"{type(obj).__qualname__} is not a registered kind")
    return kind


def defaulter_for(kind: Kind) -> Defaulter:
    """The group module's `default` function for `kind` (context-dependent defaulting)."""
    try:
        return _DEFAULTERS[kind]
    except KeyError:
        raise UnregisteredKindError(f"no defaulting is registered for {kind.value}") from None

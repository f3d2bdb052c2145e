"""Per-owner resync timers: the `WakeMeAt` key naming one owner object, and back.

Owns `owner_timer_key(prefix, owner)` and `owner_of_timer(prefix, kind, key)`, the one
encoding every controller uses for "resync this owner at t" (`<prefix><namespace>/<name>`),
so a controller never parses keys of its own making by hand. Pure; mirrors a workqueue's
AddAfter of a namespace/name key.
"""

from __future__ import annotations

from kcore.api.kinds import Kind, ObjectKey


def owner_timer_key(prefix: str, owner: ObjectKey) -> str:
    """The timer key that resyncs `owner`."""
    return f"{prefix}{owner.namespace}/{owner.name}"


def owner_of_timer(prefix: str, kind: Kind, key: str) -> ObjectKey | None:
    """The owner of `kind` a timer key made by `owner_timer_key(prefix, ...)` names, or
    None for a key of another shape (another timer of the same component)."""
    if not key.startswith(prefix) or "/" not in key[len(prefix) :]:
        return None
    namespace, _, name = key[len(prefix) :].partition("/")
    return ObjectKey(kind=kind, namespace=namespace, name=name)

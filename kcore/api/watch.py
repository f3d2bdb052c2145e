"""Watch events: one change in the apiserver's log, as watchers receive it.

Owns `WatchType` and `WatchEvent`. The state keeps a bounded log of them
(`kcore.state.WatchLog`); the driver fans each out to the components that watch its kind.

Mirrors k8s.io/apimachinery/pkg/watch (Event, EventType) and metav1.WatchEvent.
"""

from __future__ import annotations

import enum

import attrs

from kcore.api.kinds import ObjectKey
from kcore.api.meta import ApiObject


class WatchType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    ERROR = "ERROR"


@attrs.frozen(kw_only=True)
class WatchEvent:
    """One change in the watch log; `resource_version` is the revision that made it."""

    type: WatchType
    obj: ApiObject
    resource_version: int

    @property
    def key(self) -> ObjectKey:
        m = self.obj.metadata
        return ObjectKey(kind=self.obj.KIND, namespace=m.namespace, name=m.name)

"""Requests, responses and watch events: the data that crosses the apiserver boundary.

Owns the closed `Request` union (one class per verb or subresource), `Response`,
`ObjectList`, `WatchEvent`, `UserInfo` and the local admin identity. Every component
speaks to the cluster only by emitting these requests as effects; the driver hands them
to `kcore.apiserver.handle`, which answers with a `Response` and the `WatchEvent`s the
write produced.

Mirrors the request shapes of k8s.io/apiserver (RequestInfo, DeleteOptions,
PatchType) and metav1.WatchEvent.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status


@attrs.frozen(kw_only=True)
class UserInfo:
    """An authenticated identity (k8s.io/apiserver/pkg/authentication/user.Info)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


ADMIN: Final = UserInfo(name="kcore-admin", groups=("system:masters", "system:authenticated"))
"""The local identity of the `kcore` CLI and of in-process callers: member of
system:masters, which RBAC always permits (as upstream's superuser group)."""


class Subresource(enum.Enum):
    NONE = ""
    STATUS = "status"
    SCALE = "scale"
    BINDING = "binding"
    EVICTION = "eviction"


class PatchType(enum.Enum):
    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


class PropagationPolicy(enum.Enum):
    ORPHAN = "Orphan"
    BACKGROUND = "Background"
    FOREGROUND = "Foreground"


class WatchType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    ERROR = "ERROR"


@attrs.frozen(kw_only=True)
class Create:
    obj: ApiObject
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Get:
    key: ObjectKey
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class ListObjects:
    """List one kind; `namespace=None` lists every namespace (and cluster-scoped kinds)."""

    kind: Kind
    namespace: str | None = None
    label_selector: str = ""
    field_selector: str = ""
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Update:
    """Replace an object (or only its status with `subresource=STATUS`).

    `obj.metadata.resource_version == 0` means an unconditional update, as upstream
    when resourceVersion is omitted; otherwise a stale version answers 409 Conflict.
    """

    obj: ApiObject
    subresource: Subresource = Subresource.NONE
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Patch:
    """Patch an object; `patch` is the request body as JSON text."""

    key: ObjectKey
    patch_type: PatchType
    patch: str
    subresource: Subresource = Subresource.NONE
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Delete:
    key: ObjectKey
    propagation: PropagationPolicy | None = None
    grace_period_seconds: int | None = None
    precondition_uid: str = ""
    precondition_resource_version: int = 0
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Scale:
    """autoscaling/v1 Scale: the body of the scale subresource."""

    key: ObjectKey
    replicas: int
    status_replicas: int = 0
    selector: str = ""
    resource_version: int = 0
    uid: str = ""


@attrs.frozen(kw_only=True)
class GetScale:
    key: ObjectKey
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class UpdateScale:
    key: ObjectKey
    replicas: int
    resource_version: int = 0
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Bind:
    """pods/binding: set spec.nodeName of an unbound pod (v1 Binding)."""

    key: ObjectKey
    node_name: str
    user: UserInfo = ADMIN


@attrs.frozen(kw_only=True)
class Evict:
    """pods/eviction (policy/v1 Eviction): a delete that disruption budgets may refuse."""

    key: ObjectKey
    grace_period_seconds: int | None = None
    user: UserInfo = ADMIN


Request = (
    Create | Get | ListObjects | Update | Patch | Delete | GetScale | UpdateScale | Bind | Evict
)


@attrs.frozen(kw_only=True)
class ObjectList:
    kind: Kind
    items: tuple[ApiObject, ...]
    resource_version: int


ResponseBody = ApiObject | ObjectList | Scale | Status


@attrs.frozen(kw_only=True)
class Response:
    """An HTTP-shaped answer: `code` is the status code, `body` what the server returns."""

    code: int
    body: ResponseBody

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300


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

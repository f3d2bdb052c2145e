"""Requests and responses: what a component sends the apiserver and what comes back.

Owns the closed `Request` union (one class per verb or subresource), `Response` and
`ObjectList`. Every component speaks to the cluster only by emitting these requests in
`CallApi` effects; the driver hands them to `kcore.apiserver.handle`, which answers with a
`Response` and the watch events (`kcore.api.watch`) the write produced. Each request
carries the caller's identity (`kcore.api.user`).

Mirrors the request shapes of k8s.io/apiserver (RequestInfo, DeleteOptions, PatchType)
as client-go's rest client sends them.
"""

from __future__ import annotations

import enum

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ApiObject, Status
from kcore.api.user import ADMIN, UserInfo


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

"""Who is asking: the identity every request carries.

Owns `UserInfo` and `ADMIN`, the local identity of the `kcore` CLI and of in-process
callers. Authentication fills it in (`kcore.apiserver.auth`); RBAC reads it.

Mirrors k8s.io/apiserver/pkg/authentication/user.Info.
"""

from __future__ import annotations

from typing import Final

import attrs


@attrs.frozen(kw_only=True)
class UserInfo:
    """An authenticated identity (k8s.io/apiserver/pkg/authentication/user.Info)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


ADMIN: Final = UserInfo(name="kcore-admin", groups=("system:masters", "system:authenticated"))
"""The local identity of the `kcore` CLI and of in-process callers: member of
system:masters, which RBAC always permits (as upstream's superuser group)."""

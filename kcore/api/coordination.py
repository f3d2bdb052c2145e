"""The coordination.k8s.io/v1 group: Lease (node heartbeats, leader election).

Owns the `Lease` value class and `default` (upstream has no Lease defaulting, so it
returns every object unchanged; it exists so each group module has the same contract).
Every spec field is optional upstream and stays `X | None` here: a lease nobody holds
has no holder, duration or times. Renew and acquire times are `MicroTime`.

Mirrors k8s.io/api/coordination/v1/types.go.
"""


from __future__ import annotations

import enum
from typing import ClassVar

import attrs

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, MicroTime, ObjectMeta


class CoordinatedLeaseStrategy(enum.Enum):
    OLDEST_EMULATION_VERSION = "OldestEmulationVersion"


@attrs.frozen(kw_only=True)
class LeaseSpec:
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: MicroTime | None = None
    renew_time: MicroTime | None = None
    lease_transitions: int | None = None
    strategy: CoordinatedLeaseStrategy | None = None
    preferred_holder: str | None = None


@attrs.frozen(kw_only=True)
class Lease:
    KIND: ClassVar[Kind] = Kind.LEASE
    metadata: ObjectMeta = ObjectMeta()
    spec: LeaseSpec = LeaseSpec()


def default(obj: ApiObject) -> ApiObject:
    """coordination.k8s.io/v1 has no defaulting: every object is returned unchanged."""
    return obj

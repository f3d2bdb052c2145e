"""Template hashes shared by the workload controllers.

Owns `fnv32a` (Go's hash/fnv New32a), `safe_encode` (rand.SafeEncodeString) and
`compute_hash` (controller.ComputeHash): the pod-template-hash of Deployments' ReplicaSets
and the controller-revision-hash of DaemonSets. kcore hashes the template's canonical JSON
(sorted keys) where upstream hashes Go's deep printer output, so the values differ from a
real cluster's for the same template (docs/semantics.md); the collision count is mixed in
as 8 little-endian bytes, as upstream. Pure. Mirrors pkg/controller/controller_utils.go.
"""

from __future__ import annotations

import json
from typing import Final

from kcore.api.codec import to_dict
from kcore.api.pod import PodTemplateSpec

_SAFE_ALPHANUMS: Final = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET: Final = 0x811C9DC5
_FNV_PRIME: Final = 0x01000193


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of `data`."""
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte mapped onto consonants and digits (no vowels)."""
    return "".join(_SAFE_ALPHANUMS[b % len(_SAFE_ALPHANUMS)] for b in text.encode())


def canonical_json(template: PodTemplateSpec) -> bytes:
    """The template's wire form with sorted keys and no spaces: what kcore hashes."""
    return json.dumps(to_dict(template), sort_keys=True, separators=(",", ":")).encode()


def compute_hash(template: PodTemplateSpec, collision_count: int | None = None) -> str:
    """controller.ComputeHash of `template` (see the module docstring)."""
    data = canonical_json(template)
    if collision_count is not None:
        data += (collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    return safe_encode(str(fnv32a(data)))

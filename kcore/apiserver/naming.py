"""Deterministic uids and generated names.

Owns: `uid_for(seed, revision)` (a UUID-shaped string) and `generated_name(seed, revision,
base, attempt)`. Upstream draws both at random; kcore derives them from the cluster seed
and the revision the create will commit at, so one seed and one input give one result.

Rules: no `random`, `uuid` or `hash()` (which varies per process): sha256 of a fixed text.

Mirrors k8s.io/apiserver/pkg/storage/names/generate.go (SimpleNameGenerator) and
k8s.io/apimachinery/pkg/util/rand (the alphabet without vowels and look-alikes).
"""

from __future__ import annotations

import hashlib
from typing import Final

ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
"""utilrand's alphanumerics: no vowels (no accidental words), no 0/1/3 look-alikes."""

RANDOM_LENGTH: Final = 5
MAX_NAME_LENGTH: Final = 63
MAX_GENERATED_NAME_LENGTH: Final = MAX_NAME_LENGTH - RANDOM_LENGTH


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def uid_for(seed: int, revision: int) -> str:
    """The uid of the object created at `revision`: a version-4-shaped UUID string."""
    b = bytearray(_digest(f"uid\x00{seed}\x00{revision}")[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def generated_name(seed: int, revision: int, base: str, attempt: int = 0) -> str:
    """`base` (cut to 58 characters) plus 5 characters chosen by hashing the inputs."""
    if len(base) > MAX_GENERATED_NAME_LENGTH:
        base = base[:MAX_GENERATED_NAME_LENGTH]
    d = _digest(f"name\x00{seed}\x00{revision}\x00{base}\x00{attempt}")
    suffix = "".join(ALPHABET[d[i] % len(ALPHABET)] for i in range(RANDOM_LENGTH))
    return base + suffix

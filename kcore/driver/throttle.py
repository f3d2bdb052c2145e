"""Client-side rate limits: how fast each component may call the apiserver.

Owns `RateLimit`, `Bucket` (a token bucket's value), `reserve` and the upstream defaults.
Every upstream component talks to the apiserver through a client-go REST client whose
token bucket (`flowcontrol.NewTokenBucketRateLimiter(qps, burst)`, golang.org/x/time/rate
underneath) makes a request wait until a token is free. That limiter, not CPU, is what
sets how long a 1,000-pod ReplicaSet takes to fill upstream: kube-controller-manager's
clients default to 20 QPS with a burst of 30 (`--kube-api-qps`, `--kube-api-burst`),
kube-scheduler's to 50/100 (`clientConnection.qps/burst`), the kubelet's to 50/100
(`kubeAPIQPS`, `kubeAPIBurst`).

Theory of operation (rate.Limiter's reservation arithmetic): a bucket holds up to `burst`
tokens and gains `qps` per second. Reserving at time `t` first refills the bucket for the
time since the last reservation, then takes one token; the count may go negative, and a
negative count `-k` means the request waits `k / qps` seconds. Reservations are first
come, first served: a later request never overtakes an earlier one.

Rules: pure arithmetic on simulated time (floats); no clock. The driver keeps one bucket
per throttled component and performs a delayed request at its reserved time. Mirrors
client-go/util/flowcontrol/throttle.go and golang.org/x/time/rate (Limiter.reserveN).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap


@attrs.frozen
class RateLimit:
    """A client's token bucket: `qps` tokens per second, at most `burst` held."""

    qps: float
    burst: int

    def __attrs_post_init__(self) -> None:
        if not self.qps > 0:
            raise ValueError(f"qps: must be > 0, got {self.qps}")
        if self.burst < 1:
            raise ValueError(f"burst: must be >= 1, got {self.burst}")


@attrs.frozen
class Bucket:
    """A bucket's value: `tokens` (negative while requests wait) as of time `at`."""

    tokens: float
    at: float


def reserve(limit: RateLimit, bucket: Bucket | None, now: float) -> tuple[Bucket, float]:
    """Take one token at `now`: the new bucket and the time the request may go (>= now).

    A missing bucket is a full one (a client starts with `burst` tokens)."""
    if bucket is None:
        tokens = float(limit.burst)
    else:
        elapsed = max(0.0, now - bucket.at)
        tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.qps)
    tokens -= 1.0
    wait = 0.0 if tokens >= 0 else -tokens / limit.qps
    return Bucket(tokens=tokens, at=max(now, bucket.at) if bucket is not None else now), now + wait


CONTROLLER_MANAGER: Final = RateLimit(qps=20.0, burst=30)
"""kube-controller-manager's `--kube-api-qps=20 --kube-api-burst=30` (one client per controller)."""

SCHEDULER: Final = RateLimit(qps=50.0, burst=100)
"""kube-scheduler's `clientConnection: {qps: 50, burst: 100}`."""

KUBELET: Final = RateLimit(qps=50.0, burst=100)
"""The kubelet's `kubeAPIQPS: 50`, `kubeAPIBurst: 100` (KubeletConfiguration defaults since v1.27)."""

SCHEDULER_NAME: Final = "kube-scheduler"  # kcore.scheduler.component.NAME (the driver does not import components)


def upstream_client_limits(names: Iterable[str]) -> PMap[str, RateLimit]:
    """Each component's upstream default client limit: per-node components (`kubelet/<node>`)
    get the kubelet's, the scheduler its own, every other component (a controller) the
    controller-manager's."""
    out: dict[str, RateLimit] = {}
    for name in names:
        if "/" in name:
            out[name] = KUBELET
        elif name == SCHEDULER_NAME:
            out[name] = SCHEDULER
        else:
            out[name] = CONTROLLER_MANAGER
    return pmap(out)

"""The metrics.k8s.io/v1beta1 group: PodMetrics, the resource usage of one pod.

Owns the `PodMetrics` value class (one sample: when it was taken, over which window, the
usage of each container), `ContainerMetrics`, `default` (nothing to default) and the
small readers the autoscaler and the metrics server share: `window_seconds` (the Go
duration on the wire, "15s", in seconds) and `container_usage_milli` (a container's usage
of one resource in milli-units).

Rules (see kcore/api/meta.py for the conventions the codec reads): a PodMetrics carries
the name and namespace of the pod it measures; usage is keyed by resource name ("cpu",
"memory") as the pod's requests are. Upstream serves these objects from the
metrics-server's memory through an aggregated API; kcore stores them like any kind, so
the driver's users (and the simulated metrics server, kcore/addons/metricsserver.py)
feed metrics with ordinary Create/Update requests.

Knows nothing of controllers, validation or the apiserver.

Mirrors k8s.io/metrics/pkg/apis/metrics/v1beta1/types.go.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

import attrs
from pyrsistent import pmap
from pyrsistent.typing import PMap

from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, ObjectMeta, Time
from kcore.quantity import Quantity

DEFAULT_WINDOW: Final = "15s"
"""The metrics-server's default --metric-resolution, written as the sample window."""

_DURATION: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|ms|m|s))+$")
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS: Final = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


@attrs.frozen(kw_only=True)
class ContainerMetrics:
    """The usage of one container: resource name -> quantity."""

    name: str
    usage: PMap[str, Quantity] = pmap()


@attrs.frozen(kw_only=True)
class PodMetrics:
    """One sample of a pod's resource usage, named and namespaced as the pod."""

    KIND: ClassVar[Kind] = Kind.POD_METRICS
    metadata: ObjectMeta = ObjectMeta()
    timestamp: Time | None = None
    window: str = DEFAULT_WINDOW
    containers: tuple[ContainerMetrics, ...] = ()


def window_seconds(window: str) -> float | None:
    """A Go duration string ("15s", "1m30s", "500ms") in seconds; None if malformed."""
    if not window or _DURATION.match(window) is None:
        return None
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(window))


def container_usage_milli(metrics: PodMetrics, resource: str) -> PMap[str, int]:
    """Each container's usage of `resource` in milli-units (containers without it omitted)."""
    return pmap(
        {c.name: c.usage[resource].milli_value() for c in metrics.containers if resource in c.usage}
    )


def default(obj: ApiObject) -> ApiObject:
    """metrics.k8s.io has no defaulting; every object is returned unchanged."""
    return obj

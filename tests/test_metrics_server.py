"""The simulated metrics server: usage from pod annotations, a sample per resolution.

`pod_usage` is checked as a pure function; the component runs under the real driver and
apiserver with pods the test makes Running (as a kubelet would report them).
"""

from __future__ import annotations

import attrs
from pyrsistent import pmap

from kcore.addons.metricsserver import RESOLUTION, MetricsServer, pod_metrics, pod_usage
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ObjectMeta, Time
from kcore.api.metrics import ContainerMetrics, PodMetrics
from kcore.api.pod import Pod, PodPhase
from kcore.component.requests import Create, Delete, Subresource, Update
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.quantity import Format, Quantity, parse_quantity
from kcore.state import ClusterConfig, get
from tests.builders import a_container, a_pod


def q(text: str) -> Quantity:
    return parse_quantity(text)


def usage(*pairs: tuple[str, str, str]) -> tuple[ContainerMetrics, ...]:
    return tuple(ContainerMetrics(name=n, usage=pmap({"cpu": q(cpu), "memory": q(mem)})) for n, cpu, mem in pairs)


def two_container_pod(annotations: dict[str, str]) -> Pod:
    return a_pod(
        "web",
        annotations=annotations,
        containers=(a_container("app", cpu="300m", memory="1Gi"), a_container("sidecar", cpu="100m")),
    )


def test_pod_usage_is_split_over_containers_by_their_requests() -> None:
    pod = two_container_pod({"kcore.io/cpu-usage": "200m", "kcore.io/memory-usage": "512Mi"})
    assert pod_usage(pod) == usage(("app", "150m", "512Mi"), ("sidecar", "50m", "0"))


def test_a_container_annotation_wins_over_its_share() -> None:
    pod = two_container_pod({"kcore.io/cpu-usage": "200m", "kcore.io/cpu-usage.sidecar": "1"})
    assert pod_usage(pod) == usage(("app", "150m", "0"), ("sidecar", "1", "0"))


def test_without_requests_the_split_is_even_and_remainders_go_first() -> None:
    pod = a_pod("web", annotations={"kcore.io/cpu-usage": "5m"}, containers=(a_container("a"), a_container("b")))
    assert pod_usage(pod) == usage(("a", "3m", "0"), ("b", "2m", "0"))


def test_unannotated_or_unparseable_usage_is_zero() -> None:
    pod = a_pod("web", annotations={"kcore.io/memory-usage": "lots"})
    assert pod_usage(pod) == usage(("app", "0", "0"))


def test_a_sample_is_named_and_labelled_as_its_pod() -> None:
    pod = a_pod("web", labels={"app": "web"}, annotations={"kcore.io/cpu-usage": "10m"})
    assert pod_metrics(pod, Time(100.0)) == PodMetrics(
        metadata=ObjectMeta(name="web", namespace="default", labels=pmap({"app": "web"})),
        timestamp=Time(100.0),
        window="15s",
        containers=usage(("app", "10m", "0")),
    )
    assert pod_usage(attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, annotations=pmap({"kcore.io/memory-usage": "1Gi"}))))[0].usage[
        "memory"
    ] == Quantity.from_int(2**30, Format.BINARY_SI)


# --- the component -----------------------------------------------------------------------

KEY = ObjectKey(kind=Kind.POD_METRICS, namespace="default", name="web")


def a_cluster() -> Cluster:
    return create_cluster(ClusterConfig(seed=5), nodes=1, components=(MetricsServer(),))


def running(c: Cluster, pod: Pod) -> Pod:
    response = c.request(Create(obj=attrs.evolve(pod, spec=attrs.evolve(pod.spec, node_name="node-1"))))
    assert response.ok and isinstance(response.body, Pod)
    stored = response.body
    status = attrs.evolve(stored.status, phase=PodPhase.RUNNING)
    response = c.request(Update(obj=attrs.evolve(stored, status=status), subresource=Subresource.STATUS))
    assert response.ok and isinstance(response.body, Pod)
    return response.body


def sample(c: Cluster) -> PodMetrics | None:
    obj = get(c.state, KEY)
    assert obj is None or isinstance(obj, PodMetrics)
    return obj


def test_running_pods_are_sampled_every_resolution() -> None:
    c = a_cluster()
    running(c, a_pod("web", annotations={"kcore.io/cpu-usage": "250m"}))
    c.run_until_stable()
    assert sample(c) is None  # not before the next scrape
    c.advance(RESOLUTION)
    first = sample(c)
    assert first is not None and first.containers == usage(("app", "250m", "0"))
    assert first.timestamp == c.now
    c.advance(RESOLUTION)
    second = sample(c)
    assert second is not None and second.timestamp == c.now == Time(first.timestamp + RESOLUTION)


def test_a_pending_pod_has_no_sample() -> None:
    c = a_cluster()
    assert c.request(Create(obj=a_pod("web", annotations={"kcore.io/cpu-usage": "250m"}))).ok
    c.advance(RESOLUTION)
    assert sample(c) is None


def test_the_sample_of_a_deleted_pod_goes_away() -> None:
    c = a_cluster()
    running(c, a_pod("web"))
    c.advance(RESOLUTION)
    assert sample(c) is not None
    assert c.request(Delete(key=ObjectKey(kind=Kind.POD, namespace="default", name="web"), grace_period_seconds=0)).ok
    c.advance(RESOLUTION)
    assert sample(c) is None


def test_a_usage_change_shows_at_the_next_scrape() -> None:
    c = a_cluster()
    pod = running(c, a_pod("web", annotations={"kcore.io/cpu-usage": "100m"}))
    c.advance(RESOLUTION)
    annotated = attrs.evolve(pod, metadata=attrs.evolve(pod.metadata, annotations=pmap({"kcore.io/cpu-usage": "700m"})))
    assert c.request(Update(obj=annotated)).ok
    c.advance(RESOLUTION)
    got = sample(c)
    assert got is not None and got.containers == usage(("app", "700m", "0"))

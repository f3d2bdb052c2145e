"""The network benchmarks at a tiny size: they do what they measure (each call's answer is
checked inside), and their numbers count what they say. Never their timing."""

from __future__ import annotations

from benchmarks import bench_netlatency, bench_route


def test_the_route_benchmark_times_every_kind_of_call_on_a_small_view() -> None:
    result = bench_route.measure(nodes=20, services=40, endpoints=200, calls=20)
    assert [c.calls for c in result.calls] == [20] * 10
    assert len(result.build) == 3
    assert "| route pod -> ClusterIP:80 | 20 |" in "\n".join(bench_route.report(result))


def test_the_latency_benchmark_counts_one_sample_per_ready_pod_and_node() -> None:
    result = bench_netlatency.measure(nodes=5, services=2, replicas=3)
    create, scale, rolling = result.phases
    assert create.ready.count == 2 * 3 * 5  # every created pod, on every node
    assert scale.ready.count == 2 * 3 * 5  # the new pods only
    assert rolling.ready.count == 2 * 6 * 5  # every replacement
    assert all(0 <= v <= 30 for p in result.phases for v, _ in p.ready.samples)
    assert create.ready.quantile(0.99) == create.ready.max


def test_weighted_quantiles_count_each_sample_by_its_weight() -> None:
    lat = bench_netlatency.Latency(samples=((1.0, 98), (5.0, 1), (9.0, 1)))
    assert (lat.count, lat.quantile(0.5), lat.quantile(0.99), lat.quantile(1.0), lat.max) == (100, 1.0, 5.0, 9.0, 9.0)

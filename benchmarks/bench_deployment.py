"""A 1,000-replica Deployment on 100 nodes: created from nothing, then rolled to a new image.

`python -m benchmarks.bench_deployment [--nodes 100] [--replicas 1000] [--step 1]
[--client-limits upstream|none] [--profile]`

`kcore.driver.new_cluster(ClusterConfig(seed=1), nodes=N)` builds the cluster `kcore
cluster create` makes (every default controller, the scheduler, one kubelet per node over
the simulated runtime). With `--client-limits upstream` (the default) every component
talks to the apiserver through its upstream client rate limit (kube-controller-manager's
20 QPS / burst 30 per controller, the scheduler's and kubelet's 50/100:
`kcore.driver.throttle`), so the simulated time is what upstream would take; `none` sends
every request the moment it is made. Then two phases are measured, each by `advance`-ing the simulated
clock `step` seconds at a time until it is done:
- **create**: one Deployment (`replicas` pods of one container, 10m cpu and 16Mi memory
  requested, no probes: Ready as soon as the container runs) is created; done when the
  Deployment controller has observed it and reports `replicas` updated, ready and
  available replicas with condition Available=True, and every one of its pods is bound,
  Running and Ready;
- **rollout**: the template's image changes (default RollingUpdate, 25% surge, 25%
  unavailable); done when the new ReplicaSet has `replicas` available, the old one is
  scaled to 0 with no pods left, and the Deployment reports the rollout complete.

Each phase reports the wall time, the simulated time (to `step` granularity: the first
step boundary at which the check held) and the driver's trace entries (deliveries and
performed effects) per wall second. A phase that does not finish within
`LIMIT_SECONDS` simulated seconds raises `BenchmarkError`: no number comes from a run that
silently failed. `--profile` prints the cProfile of both phases instead.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Final

import attrs
from pyrsistent import pmap

from benchmarks import BenchmarkError, profiled, tune_gc
from kcore.api.apps import Deployment, DeploymentConditionType, DeploymentSpec, ReplicaSet
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, ObjectMeta
from kcore.api.pod import (
    Container,
    LabelSelector,
    Pod,
    PodPhase,
    PodSpec,
    PodTemplateSpec,
    ResourceRequirements,
)
from kcore.component.requests import Create, Get, Update
from kcore.controllers.podcontrol import is_pod_ready
from kcore.driver import new_cluster
from kcore.driver.cluster import Cluster
from kcore.quantity import parse_quantity
from kcore.state import ClusterConfig, get, list_objects

NAMESPACE: Final = "default"
NAME: Final = "web"
IMAGE_V1: Final = "registry.k8s.io/nginx:1.25"
IMAGE_V2: Final = "registry.k8s.io/nginx:1.26"
LIMIT_SECONDS: Final = 900.0
"""Simulated seconds a phase may take before it counts as not converging."""
_REQUESTS = pmap({"cpu": parse_quantity("10m"), "memory": parse_quantity("16Mi")})
_KEY: Final = ObjectKey(kind=Kind.DEPLOYMENT, namespace=NAMESPACE, name=NAME)


@attrs.frozen(kw_only=True)
class Phase:
    """One measured phase."""

    name: str
    replicas: int
    nodes: int
    throttled: bool  # upstream client rate limits on
    seconds: float  # wall
    cpu: float  # process CPU time (the wall time on an idle core; the machine may be shared)
    simulated: float  # simulated seconds until the check first held (step granularity)
    entries: int  # trace entries written during the phase

    @property
    def entries_per_second(self) -> float:
        """Trace entries per CPU second."""
        return self.entries / self.cpu if self.cpu > 0 else 0.0


def deployment(replicas: int, image: str = IMAGE_V1) -> Deployment:
    """The benchmarked Deployment: `replicas` one-container pods with small requests."""
    labels = pmap({"app": NAME})
    return Deployment(
        metadata=ObjectMeta(name=NAME, namespace=NAMESPACE, labels=labels),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(
                    containers=(
                        Container(
                            name="web",
                            image=image,
                            resources=ResourceRequirements(requests=_REQUESTS),
                        ),
                    )
                ),
            ),
        ),
    )


def build(nodes: int, throttled: bool = False) -> Cluster:
    """`new_cluster` with `nodes` nodes (with upstream client rate limits if `throttled`), settled."""
    tune_gc()
    return new_cluster(ClusterConfig(seed=1), nodes=nodes, throttled=throttled, addons=False)


def trace_total(cluster: Cluster) -> int:
    """Trace entries ever written (kept + forgotten)."""
    return len(cluster.trace) + cluster.snapshot().trace_dropped


def current(cluster: Cluster) -> Deployment:
    obj = get(cluster.state, _KEY)
    if not isinstance(obj, Deployment):
        raise BenchmarkError(f"deployment {NAME} is gone")
    return obj


def replica_sets(cluster: Cluster) -> list[ReplicaSet]:
    uid = current(cluster).metadata.uid
    return [
        rs
        for rs in list_objects(cluster.state, Kind.REPLICA_SET, NAMESPACE)
        if isinstance(rs, ReplicaSet) and any(o.uid == uid and o.controller for o in rs.metadata.owner_references)
    ]


def _image(rs: ReplicaSet) -> str:
    return rs.spec.template.spec.containers[0].image


def rollout_complete(cluster: Cluster, replicas: int, image: str) -> bool:
    """The Deployment controller reports `replicas` updated/ready/available, Available=True,
    and no other pod than the new ReplicaSet's remains (cheap checks first)."""
    d = current(cluster)
    s = d.status
    if (
        s.observed_generation < d.metadata.generation
        or (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas) != (replicas,) * 4
        or s.unavailable_replicas != 0
    ):
        return False
    if not any(c.type is DeploymentConditionType.AVAILABLE and c.status is ConditionStatus.TRUE for c in s.conditions):
        return False
    for rs in replica_sets(cluster):
        if _image(rs) == image:
            if rs.status.available_replicas != replicas:
                return False
        elif rs.spec.replicas != 0 or rs.status.replicas != 0:
            return False
    return _pods_done(cluster, replicas, image)


def _pods_done(cluster: Cluster, replicas: int, image: str) -> bool:
    pods = [p for p in list_objects(cluster.state, Kind.POD, NAMESPACE) if isinstance(p, Pod)]
    mine = [p for p in pods if p.metadata.labels.get("app") == NAME]
    return len(mine) == replicas and all(
        p.spec.node_name
        and p.metadata.deletion_timestamp is None
        and p.status.phase is PodPhase.RUNNING
        and is_pod_ready(p)
        and p.spec.containers[0].image == image
        for p in mine
    )


def _run_until(cluster: Cluster, name: str, done: Callable[[], bool], step: float) -> float:
    start = cluster.now
    while True:
        if not cluster.advance(step):
            raise BenchmarkError(f"{name}: the driver did not settle")
        if done():
            return cluster.now - start
        if cluster.now - start > LIMIT_SECONDS:
            raise BenchmarkError(f"{name}: not done after {LIMIT_SECONDS:g} simulated seconds")


def _measure(cluster: Cluster, name: str, nodes: int, replicas: int, start: Callable[[], None], image: str, step: float) -> Phase:
    """Run `start` (the phase's request) and advance until the rollout to `image` is
    complete; the phase's wall and CPU time, simulated time and trace entries."""
    before = trace_total(cluster)
    t0, c0 = time.perf_counter(), time.process_time()
    start()
    simulated = _run_until(cluster, name, lambda: rollout_complete(cluster, replicas, image), step)
    return Phase(
        name=name,
        throttled=bool(cluster.snapshot().client_limits),
        replicas=replicas,
        nodes=nodes,
        seconds=time.perf_counter() - t0,
        cpu=time.process_time() - c0,
        simulated=simulated,
        entries=trace_total(cluster) - before,
    )


def create_phase(cluster: Cluster, nodes: int, replicas: int, step: float = 1.0) -> Phase:
    """Create the Deployment and advance until every replica is Ready and it is Available."""

    def create() -> None:
        resp = cluster.request(Create(obj=deployment(replicas)))
        if not resp.ok:
            raise BenchmarkError(f"deployment not created: {resp.body}")

    return _measure(cluster, "create", nodes, replicas, create, IMAGE_V1, step)


def with_image(d: Deployment, image: str) -> Deployment:
    spec = d.spec
    pod = spec.template.spec
    containers = (attrs.evolve(pod.containers[0], image=image), *pod.containers[1:])
    template = attrs.evolve(spec.template, spec=attrs.evolve(pod, containers=containers))
    return attrs.evolve(d, spec=attrs.evolve(spec, template=template))


def update_phase(cluster: Cluster, nodes: int, replicas: int, step: float = 1.0) -> Phase:
    """Change the template's image and advance until the rolling update is complete."""

    def update() -> None:
        got = cluster.request(Get(key=_KEY))
        if not got.ok or not isinstance(got.body, Deployment):
            raise BenchmarkError(f"deployment not read: {got.body}")
        resp = cluster.request(Update(obj=with_image(got.body, IMAGE_V2)))
        if not resp.ok:
            raise BenchmarkError(f"deployment not updated: {resp.body}")

    return _measure(cluster, "rolling update", nodes, replicas, update, IMAGE_V2, step)


def run_phases(nodes: int, replicas: int, step: float = 1.0, throttled: bool = True) -> tuple[Phase, Phase]:
    cluster = build(nodes, throttled)
    created = create_phase(cluster, nodes, replicas, step)
    updated = update_phase(cluster, nodes, replicas, step)
    return created, updated


HEADER: Final = (
    "| nodes | replicas | client limits | phase | wall time | CPU time | simulated time | trace entries | entries/CPU s |",
    "|---:|---:|---|---|---:|---:|---:|---:|---:|",
)


def report(phases: tuple[Phase, ...]) -> list[str]:
    """The phases as Markdown table rows (header included)."""
    rows = [*HEADER]
    for p in phases:
        rows.append(
            f"| {p.nodes:,} | {p.replicas:,} | {'upstream' if p.throttled else 'none'} | {p.name} | {p.seconds:.1f} s | {p.cpu:.1f} s | {p.simulated:g} s "
            f"| {p.entries:,} | {p.entries_per_second:,.0f} |"
        )
    return rows


def run(nodes: int, replicas: int, step: float = 1.0, throttled: bool = True) -> list[str]:
    """Both phases on one fresh cluster; the Markdown table."""
    return report(run_phases(nodes, replicas, step, throttled))


def profile(nodes: int, replicas: int, step: float = 1.0, top: int = 40, throttled: bool = True) -> str:
    """cProfile of both phases: the top functions by own time and by cumulative time."""
    cluster = build(nodes, throttled)
    return profiled(lambda: (create_phase(cluster, nodes, replicas, step), update_phase(cluster, nodes, replicas, step)), top)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=1000)
    parser.add_argument("--step", type=float, default=1.0, help="simulated seconds per advance")
    parser.add_argument(
        "--client-limits",
        choices=("upstream", "none"),
        default="upstream",
        help="upstream client rate limits (default) or none",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile both phases")
    args = parser.parse_args()
    throttled = args.client_limits == "upstream"
    if args.profile:
        print(profile(args.nodes, args.replicas, args.step, throttled=throttled))
        return
    print("\n".join(run(args.nodes, args.replicas, args.step, throttled)))


if __name__ == "__main__":
    main()

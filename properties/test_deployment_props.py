"""Deployment rollouts stay inside maxSurge and maxUnavailable at every step.

A `RuleBasedStateMachine` runs the Deployment controller alone; the test plays the
ReplicaSet controller and the kubelets: a ReplicaSet has exactly `spec.replicas` pods at
once (surge counted as early as possible), a scale-down removes unavailable pods first
but removes them at once (availability counted as late as possible), and pods become
available only when a rule says so. The rules are a user changing the template and pods
becoming available; after every single delivery of the driver the invariant checks

    pods <= replicas + maxSurge   and   available pods >= replicas - maxUnavailable

(the DESIGN.md safety invariant), and the machine also checks determinism (replaying the
same inputs gives the same state) and that a finished rollout converges to its spec.
"""

from __future__ import annotations

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kcore.api.apps import (
    Deployment,
    DeploymentStrategy,
    ReplicaSet,
    ReplicaSetStatus,
    RollingUpdateDeployment,
)
from kcore.api.kinds import Kind, ObjectKey
from kcore.component.requests import Create, Subresource, Update
from kcore.controllers import deployment_util as du
from kcore.controllers.deployment import DeploymentController
from kcore.driver.bootstrap import create_cluster
from kcore.driver.cluster import Cluster
from kcore.intstr import IntOrString
from kcore.state import ClusterConfig, get, list_objects
from tests.builders import a_container, a_deployment

WEB = ObjectKey(kind=Kind.DEPLOYMENT, namespace="default", name="web")
RETRY_HORIZON = 2.0
"""Timers due within this many simulated seconds (retry backoffs) are waited for."""
IMAGES = ("nginx:1.25", "nginx:1.26", "nginx:1.27", "nginx:1.28")

fencepost = st.one_of(st.integers(0, 3), st.sampled_from(("0%", "10%", "25%", "50%", "100%")))


def _is_zero(v: IntOrString) -> bool:
    return v in (0, "0%")


class DeploymentRollout(RuleBasedStateMachine):
    """A rolling update under scripted pod readiness."""

    def __init__(self) -> None:
        super().__init__()
        self.c = Cluster(create_cluster(ClusterConfig(seed=1), nodes=1).snapshot(), [DeploymentController()])
        self.available: dict[str, int] = {}

    # -- the simulated ReplicaSet controller and kubelets

    def deployment(self) -> Deployment:
        d = get(self.c.state, WEB)
        assert isinstance(d, Deployment)
        return d

    def replica_sets(self) -> list[ReplicaSet]:
        return [rs for rs in list_objects(self.c.state, Kind.REPLICA_SET, "default") if isinstance(rs, ReplicaSet)]

    def settle(self) -> None:
        """Deliver events one at a time, checking the bounds after each."""
        for _ in range(5_000):
            self.forget_removed_pods()
            self.check_bounds()
            if self.c.step():
                continue
            head = self.c.snapshot().queue.peek()
            if head is None or head.at > self.c.now + RETRY_HORIZON:
                return
            # a retry backoff is due soon: move the clock to it without delivering anything
            self.c.advance(head.at - self.c.now, max_steps=0)
        raise AssertionError("the cluster did not settle")

    def forget_removed_pods(self) -> None:
        for rs in self.replica_sets():
            name = rs.metadata.name
            self.available[name] = min(self.available.get(name, 0), rs.spec.replicas)

    def report(self) -> None:
        """Write every ReplicaSet's status as its controller would and settle, until the
        statuses stay current (the ReplicaSet controller keeps up between deliveries)."""
        for _ in range(100):
            self.forget_removed_pods()
            wrote = False
            for rs in self.replica_sets():
                n = rs.spec.replicas
                a = self.available[rs.metadata.name]
                st_ = ReplicaSetStatus(
                    replicas=n,
                    fully_labeled_replicas=n,
                    ready_replicas=a,
                    available_replicas=a,
                    observed_generation=rs.metadata.generation,
                )
                if st_ != rs.status:
                    resp = self.c.request(Update(obj=attrs.evolve(rs, status=st_), subresource=Subresource.STATUS))
                    assert resp.ok, resp.body
                    wrote = True
            self.settle()
            if not wrote:
                return
        raise AssertionError("the ReplicaSet statuses never settled")

    def check_bounds(self) -> None:
        d = get(self.c.state, WEB)
        if not isinstance(d, Deployment) or not self.rolling:
            return
        pods = sum(rs.spec.replicas for rs in self.replica_sets())
        up = sum(min(self.available.get(rs.metadata.name, 0), rs.spec.replicas) for rs in self.replica_sets())
        assert pods <= d.spec.replicas + du.max_surge(d), (pods, d.spec.replicas, du.max_surge(d))
        assert up >= d.spec.replicas - du.max_unavailable(d), (up, d.spec.replicas, du.max_unavailable(d))

    # -- rules

    @initialize(
        replicas=st.integers(1, 8),
        bounds=st.tuples(fencepost, fencepost).filter(lambda t: not (_is_zero(t[0]) and _is_zero(t[1]))),
    )
    def start(self, replicas: int, bounds: tuple[IntOrString, IntOrString]) -> None:
        self.rolling = False
        d = a_deployment("web", replicas=replicas, containers=[a_container("app", image=IMAGES[0])])
        strategy = DeploymentStrategy(rolling_update=RollingUpdateDeployment(max_surge=bounds[0], max_unavailable=bounds[1]))
        assert self.c.request(Create(obj=attrs.evolve(d, spec=attrs.evolve(d.spec, strategy=strategy)))).ok
        self.settle()
        for rs in self.replica_sets():
            self.available[rs.metadata.name] = rs.spec.replicas
        self.report()
        self.rolling = True

    @rule(image=st.sampled_from(IMAGES))
    def change_template(self, image: str) -> None:
        d = self.deployment()
        t = d.spec.template
        containers = tuple(attrs.evolve(ct, image=image) for ct in t.spec.containers)
        t = attrs.evolve(t, spec=attrs.evolve(t.spec, containers=containers))
        assert self.c.request(Update(obj=attrs.evolve(d, spec=attrs.evolve(d.spec, template=t)))).ok
        self.settle()
        self.report()

    def waiting(self) -> list[ReplicaSet]:
        return [rs for rs in self.replica_sets() if self.available.get(rs.metadata.name, 0) < rs.spec.replicas]

    @precondition(lambda self: bool(self.waiting()))
    @rule(data=st.data())
    def pods_become_available(self, data: st.DataObject) -> None:
        choices = sorted(self.waiting(), key=lambda rs: rs.metadata.name)
        rs = data.draw(st.sampled_from(choices))
        name = rs.metadata.name
        self.available[name] += data.draw(st.integers(1, rs.spec.replicas - self.available[name]))
        self.report()

    @rule()
    def everything_becomes_available_and_the_rollout_completes(self) -> None:
        for _ in range(40):
            for rs in self.replica_sets():
                self.available[rs.metadata.name] = rs.spec.replicas
            self.report()
            d = self.deployment()
            if du.deployment_complete(d, d.status):
                break
        d = self.deployment()
        assert du.deployment_complete(d, d.status)
        live = {rs.metadata.name: rs.spec.replicas for rs in self.replica_sets() if rs.spec.replicas}
        new = du.find_new(d, self.replica_sets())
        assert new is not None and live == {new.metadata.name: d.spec.replicas}

    @invariant()
    def within_bounds(self) -> None:
        self.check_bounds()


DeploymentRollout.TestCase.settings = settings(
    max_examples=max(5, settings().max_examples // 4),
    stateful_step_count=8,
    deadline=None,
)
TestDeploymentRollout = DeploymentRollout.TestCase


def test_one_seed_one_result() -> None:
    """Determinism: the same scripted rollout twice ends in the same state."""

    def run() -> object:
        m = DeploymentRollout()
        m.start(replicas=5, bounds=(1, "25%"))
        m.change_template("nginx:1.28")
        m.everything_becomes_available_and_the_rollout_completes()
        return m.c.state.tables

    assert run() == run()

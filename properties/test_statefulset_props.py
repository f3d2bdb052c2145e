"""StatefulSet controller under random scaling, pod deletions and readiness flips.

A `RuleBasedStateMachine` runs the controller in a `Cluster` (no kubelet: the user binds
pods and writes their status, so readiness is exactly what the rules say) while a user
scales the set, deletes pods (gracefully: they stay terminating until a rule finishes
them), flips pods Ready/NotReady and lets only some events through. The rules that let
the controller run carry the pods it created into the `pods` bundle (by name, once per
incarnation); a user's deletion consumes one.

Checked at every decision (a wrapper around the component inspects each step's effects
against the view it decided on):
- OrderedReady never creates ordinal n+1 before ordinals start..n exist Running and
  Ready (and not terminating) in the controller's view;
- the controller never creates an ordinal its view already holds, and never gets
  AlreadyExists for a pod it creates (no duplicate ordinal, even with a slow watch).
After the faults stop and every pod is made Ready, the set converges: exactly the pods
web-0..web-(n-1), all controlled by the set, status.replicas == readyReplicas == n, and
another sync emits no effects.
"""

from __future__ import annotations

from typing import Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from kcore.api.apps import PodManagementPolicy, StatefulSet
from kcore.api.core import EventSource
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import ConditionStatus, Time
from kcore.api.pod import ContainerStatus, Pod, PodCondition, PodPhase, PodStatus
from kcore.component.effects import CallApi, Effect
from kcore.component.events import ApiAnswered, Event, Resynced
from kcore.component.requests import Bind, Create, Delete, Subresource, Update, UpdateScale
from kcore.controllers.podcontrol import controller_of
from kcore.controllers.statefulset import Action, Op, StatefulSetController, StatefulSetState
from kcore.controllers.statefulset_util import is_running_and_ready, is_terminating, ordinal_of
from kcore.driver.cluster import Cluster
from kcore.driver.faults import PauseComponent, ResumeComponent
from kcore.state import ClusterState, get, list_objects
from tests.builders import a_node, a_stateful_set, cluster_with

SET: Final = ObjectKey(kind=Kind.STATEFUL_SET, namespace="default", name="web")
NAME: Final = "statefulset-controller"


@attrs.frozen(kw_only=True)
class Checked:
    """The controller, with every step's pod creations checked against its own view."""

    inner: StatefulSetController = StatefulSetController()
    name: str = NAME

    @property
    def event_source(self) -> EventSource:
        return self.inner.event_source

    @property
    def watches(self) -> frozenset[Kind]:
        return self.inner.watches

    def init(self, view: ClusterState, now: Time) -> tuple[StatefulSetState, tuple[Effect, ...]]:
        return self.inner.init(view, now)

    def step(self, state: StatefulSetState, event: Event) -> tuple[StatefulSetState, tuple[Effect, ...]]:
        if isinstance(event, ApiAnswered) and isinstance(op := event.tag, Op) and op.action is Action.CREATE_POD:
            assert event.response.code != 409, f"created {op.target} twice"
        new, effects = self.inner.step(state, event)
        for eff in effects:
            if isinstance(eff, CallApi) and isinstance(eff.request, Create) and isinstance(eff.request.obj, Pod):
                _check_creation(new.view, eff.request.obj)
        return new, effects


def _check_creation(view: ClusterState, pod: Pod) -> None:
    sts = get(view, SET)
    assert isinstance(sts, StatefulSet)
    name = pod.metadata.name
    assert get(view, ObjectKey(kind=Kind.POD, namespace="default", name=name)) is None, f"{name} exists"
    if sts.spec.pod_management_policy is not PodManagementPolicy.ORDERED_READY:
        return
    for lower in range(ordinal_of(pod)):
        pred = get(view, ObjectKey(kind=Kind.POD, namespace="default", name=f"web-{lower}"))
        assert isinstance(pred, Pod), f"{name} created before web-{lower} exists"
        assert is_running_and_ready(pred) and not is_terminating(pred), f"{name} created before web-{lower} is Ready"


def _pods(c: Cluster) -> list[Pod]:
    return [p for p in list_objects(c.state, Kind.POD) if isinstance(p, Pod)]


def _pod_key(name: str) -> ObjectKey:
    return ObjectKey(kind=Kind.POD, namespace="default", name=name)


def _set_ready(c: Cluster, name: str, ready: bool) -> None:
    """Bind pod `name` if needed and write a Running status, Ready or not (if it is
    still there and not terminating)."""
    k = _pod_key(name)
    pod = get(c.state, k)
    if not isinstance(pod, Pod):
        return
    if not pod.spec.node_name and not c.request(Bind(key=k, node_name="node-1")).ok:
        return
    current = get(c.state, k)
    if not isinstance(current, Pod) or is_terminating(current):
        return
    cond = PodCondition(
        type="Ready", status=ConditionStatus.TRUE if ready else ConditionStatus.FALSE, last_transition_time=c.now
    )
    status = PodStatus(phase=PodPhase.RUNNING, conditions=(cond,), container_statuses=(ContainerStatus(name="app", ready=ready),))
    c.request(Update(obj=attrs.evolve(current, status=status), subresource=Subresource.STATUS))


class StatefulSetMachine(RuleBasedStateMachine):
    """Scale, delete pods and flip readiness while the controller's mail is delayed."""

    pods = Bundle("pods")

    def __init__(self) -> None:
        super().__init__()
        self.c = Cluster.empty(cluster_with(a_node()), (Checked(),))
        self.paused = False
        self.seen: set[str] = set()  # uids of the pods already in the bundle

    def created(self) -> MultipleResults[str]:
        """The names of the pods the controller created since last asked."""
        new = [p for p in _pods(self.c) if p.metadata.uid not in self.seen]
        self.seen.update(p.metadata.uid for p in new)
        return multiple(*(p.metadata.name for p in new))

    @initialize(replicas=st.integers(0, 4))
    def create_set(self, replicas: int) -> None:
        assert self.c.request(Create(obj=a_stateful_set(replicas=replicas, policy=PodManagementPolicy.ORDERED_READY))).ok

    @rule(replicas=st.integers(0, 5))
    def scale(self, replicas: int) -> None:
        assert self.c.request(UpdateScale(key=SET, replicas=replicas)).ok

    @rule(name=consumes(pods))
    def delete_pod(self, name: str) -> None:
        self.c.request(Delete(key=_pod_key(name)))

    @precondition(lambda self: any(is_terminating(p) for p in _pods(self.c)))
    @rule()
    def finish_terminations(self) -> None:
        for p in _pods(self.c):
            if is_terminating(p):
                self.c.request(Delete(key=_pod_key(p.metadata.name), grace_period_seconds=0))

    @rule(name=pods, ready=st.booleans())
    def flip_ready(self, name: str, ready: bool) -> None:
        _set_ready(self.c, name, ready)

    @rule()
    def pause(self) -> None:
        self.c.inject(PauseComponent(name=NAME))
        self.paused = True

    @rule()
    def resume(self) -> None:
        self.c.inject(ResumeComponent(name=NAME))
        self.paused = False

    @rule(target=pods, steps=st.integers(1, 8))
    def deliver_some(self, steps: int) -> MultipleResults[str]:
        for _ in range(steps):
            if not self.c.step():
                break
        return self.created()

    @rule(target=pods)
    def settle(self) -> MultipleResults[str]:
        self.c.run_until_stable(max_steps=20_000)
        return self.created()

    @invariant()
    def every_pod_is_named_for_an_ordinal_of_the_set(self) -> None:
        for p in _pods(self.c):
            assert p.metadata.name.startswith("web-") and ordinal_of(p) >= 0, p.metadata.name

    def teardown(self) -> None:
        if self.paused:
            self.c.inject(ResumeComponent(name=NAME))
        for _ in range(40):
            assert self.c.advance(10.0, max_steps=200_000)
            for p in _pods(self.c):
                if is_terminating(p):
                    self.c.request(Delete(key=_pod_key(p.metadata.name), grace_period_seconds=0))
                elif not is_running_and_ready(p):
                    _set_ready(self.c, p.metadata.name, True)
        assert self.c.advance(10.0, max_steps=200_000)
        sts = get(self.c.state, SET)
        assert isinstance(sts, StatefulSet)
        n = sts.spec.replicas
        pods = _pods(self.c)
        assert sorted(p.metadata.name for p in pods) == sorted(f"web-{i}" for i in range(n))
        for p in pods:
            ref = controller_of(p.metadata)
            assert ref is not None and ref.uid == sts.metadata.uid
            assert is_running_and_ready(p)
        st_ = sts.status
        assert (st_.replicas, st_.ready_replicas, st_.observed_generation) == (n, n, sts.metadata.generation)
        comp = Checked()
        _, effects = comp.step(self.c.component_state(NAME), Resynced(view=self.c.state, now=self.c.now))
        assert effects == ()


StatefulSetMachine.TestCase.settings = settings(max_examples=max(8, settings().max_examples // 4), stateful_step_count=15)
TestStatefulSetMachine = StatefulSetMachine.TestCase


def test_one_seed_one_trace() -> None:
    """Determinism: the same operations on two clusters give the same trace and state."""

    def run() -> tuple[object, ...]:
        c = Cluster.empty(cluster_with(a_node()), (StatefulSetController(),))
        assert c.request(Create(obj=a_stateful_set(replicas=3))).ok
        for _ in range(4):
            c.run_until_stable()
            for p in _pods(c):
                _set_ready(c, p.metadata.name, True)
        c.run_until_stable()
        assert c.request(UpdateScale(key=SET, replicas=1)).ok
        c.run_until_stable()
        sts = get(c.state, SET)
        assert isinstance(sts, StatefulSet)
        live = tuple(sorted(p.metadata.name for p in _pods(c) if not is_terminating(p)))
        return (tuple(c.trace), live, sts.status)

    first, second = run(), run()
    assert first == second
    # scale 3 -> 1 deletes web-2 first; it stays terminating (no kubelet), so web-1 waits
    assert first[1] == ("web-0", "web-1")

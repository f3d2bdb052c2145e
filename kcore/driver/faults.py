"""Faults the driver can inject, as data, and seeded fault plans.

Owns the closed `Fault` union, `FaultAt` (a fault at an offset of simulated seconds) and
`random_plan(seed, ...)`, which draws a plan from a seed alone (SHA-256 of the seed and a
counter: no `random`, no `hash()`), so one seed gives one plan on every machine.

What each fault means (the `Cluster` performs them; see `Cluster.inject`):
- `CrashNode`: the machine dies. Its per-node components (`kubelet/<node>`, named
  `<component>/<node>`) stop and lose their mail; its container runtime is wiped (every
  container dies, every pod IP is freed); heartbeats stop. `RestartNode` boots it again:
  a fresh runtime, components `init` from a fresh LIST.
- `PartitionNode`: the node loses the apiserver. Its components keep running (and so do
  its containers) but every API call they make fails with a 504 Timeout and no watch
  event reaches them. `HealPartition` reconnects them: each gets `Resynced` (a relist).
- `KillContainer`: the named container of a pod on the node is SIGKILLed (or OOM-killed).
- `FailImagePull`: the next `count` pulls of `image` on the node fail.
- `PauseComponent` / `ResumeComponent`: the component stops taking events (SIGSTOP);
  its mail waits and is delivered in order on resume.
- `CrashComponent`: the component crashes and restarts at once (`init` from a fresh LIST),
  losing its mail and in-memory state, as a controller pod that is killed and restarted.

Must not know: the Cluster's internals. Mirrors chaos tooling (node kill, network
partition, container kill) reduced to deterministic values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import attrs

from kcore.api.kinds import ObjectKey


@attrs.frozen(kw_only=True)
class CrashNode:
    node: str


@attrs.frozen(kw_only=True)
class RestartNode:
    node: str


@attrs.frozen(kw_only=True)
class PartitionNode:
    node: str


@attrs.frozen(kw_only=True)
class HealPartition:
    node: str


@attrs.frozen(kw_only=True)
class KillContainer:
    node: str
    pod: ObjectKey
    container: str
    oom: bool = False


@attrs.frozen(kw_only=True)
class FailImagePull:
    node: str
    image: str
    count: int = 1


@attrs.frozen(kw_only=True)
class PauseComponent:
    name: str


@attrs.frozen(kw_only=True)
class ResumeComponent:
    name: str


@attrs.frozen(kw_only=True)
class CrashComponent:
    name: str


Fault = (
    CrashNode
    | RestartNode
    | PartitionNode
    | HealPartition
    | KillContainer
    | FailImagePull
    | PauseComponent
    | ResumeComponent
    | CrashComponent
)


@attrs.frozen(kw_only=True)
class FaultAt:
    """`fault`, `after` simulated seconds from the start of the plan."""

    after: float
    fault: Fault


def _draw(seed: int, n: int, bound: int) -> int:
    digest = hashlib.sha256(f"kcore-faults/{seed}/{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % bound


def random_plan(
    seed: int,
    *,
    nodes: Sequence[str],
    components: Sequence[str] = (),
    duration: float = 600.0,
    count: int = 4,
    outage: float = 120.0,
) -> tuple[FaultAt, ...]:
    """`count` outages drawn from `seed`, each undone `outage` seconds later, sorted by time.

    Each outage is a node crash (then restart), a partition (then heal) or, when
    `components` are given, a component pause (then resume) or crash. The plan always ends
    healed, so a run that continues after it can converge.
    """
    plan: list[FaultAt] = []
    names = sorted(nodes)
    comps = sorted(components)
    kinds = 4 if comps else 2
    for i in range(count):
        start = float(_draw(seed, 3 * i, max(1, int(duration))))
        which = _draw(seed, 3 * i + 1, kinds)
        if which < 2:
            if not names:
                continue
            node = names[_draw(seed, 3 * i + 2, len(names))]
            if which == 0:
                plan += [FaultAt(after=start, fault=CrashNode(node=node)),
                         FaultAt(after=start + outage, fault=RestartNode(node=node))]
            else:
                plan += [FaultAt(after=start, fault=PartitionNode(node=node)),
                         FaultAt(after=start + outage, fault=HealPartition(node=node))]
        else:
            name = comps[_draw(seed, 3 * i + 2, len(comps))]
            if which == 2:
                plan += [FaultAt(after=start, fault=PauseComponent(name=name)),
                         FaultAt(after=start + outage, fault=ResumeComponent(name=name))]
            else:
                plan.append(FaultAt(after=start, fault=CrashComponent(name=name)))
    return tuple(sorted(plan, key=lambda f: f.after))

"""What the DaemonSet controller decides about one pod or one node, as pure functions.

Owns:
- the revision hash of a DaemonSet's template (`template_hash`): FNV-32a over the
  canonical JSON of the template (kcore.api.codec.to_dict, keys sorted, no spaces), then
  the collision count as upstream mixes it in, written with upstream's SafeEncodeString
  alphabet; it stands in for the ControllerRevision objects kcore does not model;
- the template generation (`template_generation`): the deprecated annotation when
  present, else metadata.generation, and `is_pod_updated` (hash or generation matches);
- the default DaemonSet tolerations (`add_daemon_tolerations`) and the node pinning
  (`replace_node_name_affinity`, `target_node_name`);
- the pod a DaemonSet creates for a node (`pod_for_node`), and node eligibility
  (`node_should_run`: nodeName, nodeSelector and required node affinity, NoSchedule /
  NoExecute taints against the pod's tolerations plus the defaults);
- the rolling update budgets (`surge_count`, `unavailable_count`: percentages of the
  desired number scheduled, both rounded up, as upstream's util does);
- `creation_order`: podByCreationTimestampAndPhase (scheduled first, then older, then name).

Rules: pure; every tuple in a deterministic order. Node eligibility reuses the scheduler's
filter helpers (`nodeaffinity.required_matches`, `tainttoleration.tolerates`).

Must not know: component state, the driver, the apiserver.

Mirrors pkg/controller/daemon/util/daemonset_util.go (AddOrUpdateDaemonPodTolerations,
CreatePodTemplate, IsPodUpdated, SurgeCount, UnavailableCount,
ReplaceDaemonSetPodNodeNameNodeAffinity, GetTargetNodeName), NodeShouldRunDaemonPod /
NewPod / podByCreationTimestampAndPhase of pkg/controller/daemon/daemon_controller.go,
pkg/controller/controller_utils.go (ComputeHash) and
k8s.io/apimachinery/pkg/util/rand (SafeEncodeString).
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.api.apps import DaemonSet, DaemonSetUpdateStrategyType
from kcore.api.core import Node
from kcore.api.meta import Time
from kcore.api.pod import (
    Affinity,
    NodeAffinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    PodSpec,
    PodTemplateSpec,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from kcore.controllers.hashing import compute_hash
from kcore.controllers.podcontrol import pod_from_template
from kcore.helpers.scheduling import required_matches, tolerates
from kcore.intstr import scaled_value

CONTROLLER_REVISION_HASH_LABEL: Final = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL: Final = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION: Final = "deprecated.daemonset.template.generation"
NODE_NAME_FIELD: Final = "metadata.name"

TAINT_NOT_READY: Final = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE: Final = "node.kubernetes.io/unreachable"
TAINT_DISK_PRESSURE: Final = "node.kubernetes.io/disk-pressure"
TAINT_MEMORY_PRESSURE: Final = "node.kubernetes.io/memory-pressure"
TAINT_PID_PRESSURE: Final = "node.kubernetes.io/pid-pressure"
TAINT_UNSCHEDULABLE: Final = "node.kubernetes.io/unschedulable"
TAINT_NETWORK_UNAVAILABLE: Final = "node.kubernetes.io/network-unavailable"

# --- revision hash --------------------------------------------------------------------------


def template_hash(template: PodTemplateSpec, collision_count: int | None = None) -> str:
    """The controller-revision-hash of `template` (kcore's stand-in for ComputeHash)."""
    return compute_hash(template, collision_count)


def template_generation(ds: DaemonSet) -> int | None:
    """GetTemplateGeneration: the deprecated annotation if it parses, else the DaemonSet's
    metadata.generation (kcore's apiserver keeps no separate templateGeneration)."""
    text = ds.metadata.annotations.get(TEMPLATE_GENERATION_ANNOTATION)
    if text is not None:
        try:
            return int(text)
        except ValueError:
            return None
    return ds.metadata.generation or None


def is_pod_updated(pod: Pod, hash_: str, generation: int | None) -> bool:
    """IsPodUpdated: the pod's revision hash or template generation label is current."""
    labels = pod.metadata.labels
    by_generation = generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == str(generation)
    by_hash = bool(hash_) and labels.get(CONTROLLER_REVISION_HASH_LABEL) == hash_
    return by_hash or by_generation


# --- tolerations and pinning ----------------------------------------------------------------


def _exists(key: str, effect: TaintEffect) -> Toleration:
    return Toleration(key=key, operator=TolerationOperator.EXISTS, effect=effect)


def _add_or_update(tolerations: tuple[Toleration, ...], t: Toleration) -> tuple[Toleration, ...]:
    """AddOrUpdateTolerationInPodSpec: replace the toleration matching key, operator, value
    and effect (dropping e.g. its tolerationSeconds), or append."""
    out: list[Toleration] = []
    updated = False
    for have in tolerations:
        if (have.key, have.operator, have.value, have.effect) == (t.key, t.operator, t.value, t.effect):
            out.append(t)
            updated = True
        else:
            out.append(have)
    if not updated:
        out.append(t)
    return tuple(out)


def daemon_tolerations(host_network: bool) -> tuple[Toleration, ...]:
    """The tolerations every DaemonSet pod gets (network-unavailable only on hostNetwork)."""
    out = [
        _exists(TAINT_NOT_READY, TaintEffect.NO_EXECUTE),
        _exists(TAINT_UNREACHABLE, TaintEffect.NO_EXECUTE),
        _exists(TAINT_DISK_PRESSURE, TaintEffect.NO_SCHEDULE),
        _exists(TAINT_MEMORY_PRESSURE, TaintEffect.NO_SCHEDULE),
        _exists(TAINT_PID_PRESSURE, TaintEffect.NO_SCHEDULE),
        _exists(TAINT_UNSCHEDULABLE, TaintEffect.NO_SCHEDULE),
    ]
    if host_network:
        out.append(_exists(TAINT_NETWORK_UNAVAILABLE, TaintEffect.NO_SCHEDULE))
    return tuple(out)


def add_daemon_tolerations(spec: PodSpec) -> PodSpec:
    """AddOrUpdateDaemonPodTolerations: `spec` with the default DaemonSet tolerations."""
    tolerations = spec.tolerations
    for t in daemon_tolerations(spec.host_network):
        tolerations = _add_or_update(tolerations, t)
    return attrs.evolve(spec, tolerations=tolerations)


def replace_node_name_affinity(affinity: Affinity | None, node_name: str) -> Affinity:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes one term,
    matchFields metadata.name In [node_name]; preferred terms and pod (anti)affinity stay."""
    term = NodeSelectorTerm(
        match_fields=(
            NodeSelectorRequirement(key=NODE_NAME_FIELD, operator=NodeSelectorOperator.IN, values=(node_name,)),
        )
    )
    required = NodeSelector(node_selector_terms=(term,))
    aff = affinity or Affinity()
    na = aff.node_affinity or NodeAffinity()
    return attrs.evolve(
        aff, node_affinity=attrs.evolve(na, required_during_scheduling_ignored_during_execution=required)
    )


def target_node_name(pod: Pod) -> str:
    """GetTargetNodeName: spec.nodeName, else the node a pending pod is pinned to by its
    matchFields metadata.name In [one value]; "" when neither names one."""
    if pod.spec.node_name:
        return pod.spec.node_name
    aff = pod.spec.affinity
    na = aff.node_affinity if aff is not None else None
    required = na.required_during_scheduling_ignored_during_execution if na is not None else None
    if required is None:
        return ""
    for term in required.node_selector_terms:
        for r in term.match_fields:
            if r.key == NODE_NAME_FIELD and r.operator is NodeSelectorOperator.IN:
                return r.values[0] if len(r.values) == 1 else ""
    return ""


# --- pods and nodes -------------------------------------------------------------------------


def stamped_template(ds: DaemonSet, hash_: str) -> PodTemplateSpec:
    """CreatePodTemplate: the template with the default tolerations and the
    pod-template-generation and controller-revision-hash labels."""
    t = ds.spec.template
    labels = t.metadata.labels
    generation = template_generation(ds)
    if generation is not None:
        labels = labels.set(TEMPLATE_GENERATION_LABEL, str(generation))
    if hash_:
        labels = labels.set(CONTROLLER_REVISION_HASH_LABEL, hash_)
    return PodTemplateSpec(
        metadata=attrs.evolve(t.metadata, labels=labels), spec=add_daemon_tolerations(t.spec)
    )


def pod_for_node(ds: DaemonSet, template: PodTemplateSpec, node_name: str) -> Pod:
    """The pod syncNodes creates on `node_name` from a `stamped_template`: pinned by node
    affinity (the default scheduler binds it; nodeName stays empty), controlled by `ds`."""
    pod = pod_from_template(template, ds)
    spec = attrs.evolve(pod.spec, affinity=replace_node_name_affinity(pod.spec.affinity, node_name))
    return attrs.evolve(pod, spec=spec)


def _eligibility_pod(ds: DaemonSet, node_name: str) -> Pod:
    """NewPod: the template with the default tolerations, as if on `node_name`."""
    t = ds.spec.template
    spec = attrs.evolve(add_daemon_tolerations(t.spec), node_name=node_name)
    return Pod(metadata=attrs.evolve(t.metadata, namespace=ds.metadata.namespace), spec=spec)


def _untolerated(node: Node, pod: Pod, effects: frozenset[TaintEffect]) -> bool:
    tolerations = pod.spec.tolerations
    return any(
        taint.effect in effects and not any(tolerates(t, taint.key, taint.value, taint.effect) for t in tolerations)
        for taint in node.spec.taints
    )


_NO_SCHEDULE_OR_EXECUTE: Final = frozenset({TaintEffect.NO_SCHEDULE, TaintEffect.NO_EXECUTE})
_NO_EXECUTE: Final = frozenset({TaintEffect.NO_EXECUTE})


def node_should_run(node: Node, ds: DaemonSet) -> tuple[bool, bool]:
    """NodeShouldRunDaemonPod: (should_run, should_continue_running).

    A template nodeName naming another node, an unmatched nodeSelector or required node
    affinity: (False, False). An untolerated NoSchedule/NoExecute taint: not run, but an
    existing pod continues unless a NoExecute taint is untolerated. Else (True, True).
    """
    name = node.metadata.name
    if ds.spec.template.spec.node_name not in ("", name):
        return False, False
    pod = _eligibility_pod(ds, name)
    if not required_matches(pod, node):
        return False, False
    if _untolerated(node, pod, _NO_SCHEDULE_OR_EXECUTE):
        return False, not _untolerated(node, pod, _NO_EXECUTE)
    return True, True


def creation_order(pod: Pod) -> tuple[bool, Time, str]:
    """podByCreationTimestampAndPhase as a sort key: scheduled first, older, then by name."""
    return (not pod.spec.node_name, pod.metadata.creation_timestamp or Time(0.0), pod.metadata.name)


# --- rolling update budgets -----------------------------------------------------------------


def surge_count(ds: DaemonSet, desired: int) -> int:
    """SurgeCount: maxSurge of `desired` (percent rounded up); 0 unless RollingUpdate.
    Raises IntOrStringError on a malformed value (validation rejects those)."""
    s = ds.spec.update_strategy
    if s.type is not DaemonSetUpdateStrategyType.ROLLING_UPDATE or s.rolling_update is None:
        return 0
    if s.rolling_update.max_surge is None:
        return 0
    return scaled_value(s.rolling_update.max_surge, desired, round_up=True)


def unavailable_count(ds: DaemonSet, desired: int) -> int:
    """UnavailableCount: maxUnavailable of `desired` (percent rounded up, as upstream's
    DaemonSet util; Deployments round it down); 0 unless RollingUpdate."""
    s = ds.spec.update_strategy
    if s.type is not DaemonSetUpdateStrategyType.ROLLING_UPDATE or s.rolling_update is None:
        return 0
    if s.rolling_update.max_unavailable is None:
        return 0
    return scaled_value(s.rolling_update.max_unavailable, desired, round_up=True)


def allows_surge(ds: DaemonSet) -> bool:
    """AllowsSurge: a RollingUpdate whose maxSurge scales to more than 0 of one pod."""
    try:
        return surge_count(ds, 1) > 0
    except ValueError:
        return False

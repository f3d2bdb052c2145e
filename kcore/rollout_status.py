"""kubectl's rollout status viewers: whether a Deployment, DaemonSet or StatefulSet has
rolled out, and the line `kubectl rollout status` prints for it.

Owns `RolloutStatus` and `status_of(obj)` (StatusViewerFor(kind).Status(obj)): a
Deployment's `rollout_status`, `daemon_set_status`, `stateful_set_status`. Pure reads of
one object; `kcore rollout status` prints them while it waits (`kcore.cli.rollout`) and
`kcore.unsettled` asks them whether a workload is done.

Mirrors k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go, messages included.
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.api.apps import (
    DaemonSet,
    DaemonSetUpdateStrategyType,
    Deployment,
    DeploymentConditionType,
    StatefulSet,
    StatefulSetUpdateStrategyType,
)
from kcore.api.meta import ApiObject
from kcore.apiserver.errors import qualified_kind
from kcore.controllers import deployment_util as du

NOT_ROLLING: Final = "rollout status is only available for RollingUpdate strategy type"


@attrs.frozen(kw_only=True)
class RolloutStatus:
    """What `kubectl rollout status` prints: a message, whether it is done, or an error."""

    message: str
    done: bool
    error: str = ""


def rollout_status(d: Deployment) -> RolloutStatus:
    """DeploymentStatusViewer.Status for `d`."""
    name, st = d.metadata.name, d.status
    if d.metadata.generation > st.observed_generation:
        return RolloutStatus(message="Waiting for deployment spec update to be observed...\n", done=False)
    cond = du.get_condition(st, DeploymentConditionType.PROGRESSING)
    if cond is not None and cond.reason == du.REASON_TIMED_OUT:
        return RolloutStatus(message="", done=False, error=f'deployment "{name}" exceeded its progress deadline')
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if st.updated_replicas < d.spec.replicas:
        text = f"{st.updated_replicas} out of {d.spec.replicas} new replicas have been updated...\n"
        return RolloutStatus(message=prefix + text, done=False)
    if st.replicas > st.updated_replicas:
        text = f"{st.replicas - st.updated_replicas} old replicas are pending termination...\n"
        return RolloutStatus(message=prefix + text, done=False)
    if st.available_replicas < st.updated_replicas:
        text = f"{st.available_replicas} of {st.updated_replicas} updated replicas are available...\n"
        return RolloutStatus(message=prefix + text, done=False)
    return RolloutStatus(message=f'deployment "{name}" successfully rolled out\n', done=True)


def daemon_set_status(ds: DaemonSet) -> RolloutStatus:
    """DaemonSetStatusViewer.Status for `ds`."""
    name, st = ds.metadata.name, ds.status
    if ds.spec.update_strategy.type is not DaemonSetUpdateStrategyType.ROLLING_UPDATE:
        return RolloutStatus(message="", done=True, error=NOT_ROLLING)
    if ds.metadata.generation > st.observed_generation:
        return RolloutStatus(message="Waiting for daemon set spec update to be observed...\n", done=False)
    prefix = f'Waiting for daemon set "{name}" rollout to finish: '
    if st.updated_number_scheduled < st.desired_number_scheduled:
        text = f"{st.updated_number_scheduled} out of {st.desired_number_scheduled} new pods have been updated...\n"
        return RolloutStatus(message=prefix + text, done=False)
    if st.number_available < st.desired_number_scheduled:
        text = f"{st.number_available} of {st.desired_number_scheduled} updated pods are available...\n"
        return RolloutStatus(message=prefix + text, done=False)
    return RolloutStatus(message=f'daemon set "{name}" successfully rolled out\n', done=True)


def stateful_set_status(sts: StatefulSet) -> RolloutStatus:
    """StatefulSetStatusViewer.Status for `sts` (a defaulted RollingUpdate carries a
    partition, so upstream reports `partitioned roll out complete` for it too)."""
    spec, st = sts.spec, sts.status
    if spec.update_strategy.type is not StatefulSetUpdateStrategyType.ROLLING_UPDATE:
        return RolloutStatus(message="", done=True, error=NOT_ROLLING)
    if st.observed_generation == 0 or sts.metadata.generation > st.observed_generation:
        return RolloutStatus(message="Waiting for statefulset spec update to be observed...\n", done=False)
    if st.ready_replicas < spec.replicas:
        return RolloutStatus(message=f"Waiting for {spec.replicas - st.ready_replicas} pods to be ready...\n", done=False)
    ru = spec.update_strategy.rolling_update
    if ru is not None:
        wanted = spec.replicas - ru.partition
        if st.updated_replicas < wanted:
            text = f"Waiting for partitioned roll out to finish: {st.updated_replicas} out of {wanted} new pods have been updated...\n"
            return RolloutStatus(message=text, done=False)
        return RolloutStatus(message=f"partitioned roll out complete: {st.updated_replicas} new pods have been updated...\n", done=True)
    if st.update_revision != st.current_revision:
        text = f"waiting for statefulset rolling update to complete {st.updated_replicas} pods at revision {st.update_revision}...\n"
        return RolloutStatus(message=text, done=False)
    text = f"statefulset rolling update complete {st.current_replicas} pods at revision {st.current_revision}...\n"
    return RolloutStatus(message=text, done=True)


def status_of(obj: ApiObject) -> RolloutStatus:
    """StatusViewerFor(obj's kind).Status(obj), or its error for a kind without a viewer."""
    match obj:
        case Deployment():
            return rollout_status(obj)
        case DaemonSet():
            return daemon_set_status(obj)
        case StatefulSet():
            return stateful_set_status(obj)
        case _:
            return RolloutStatus(message="", done=True, error=f"no status viewer has been implemented for {qualified_kind(obj.KIND)}")



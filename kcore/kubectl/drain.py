"""`kubectl drain`'s pod filters, pure: which of a node's pods it evicts, skips or refuses.

Owns `DrainOptions` (the flags the filters read), `PodDeleteStatus` (one pod's verdict),
`daemon_set_to_check(pod)` (the DaemonSet whose Get the filter needs), `filter_pod`, and
`pods_for_deletion` (the pods to evict and the Warning and Error lines, in kubectl's
words), with `aggregate` (utilerrors.Aggregate's message).

Rules: the filters run in kubectl's order (daemonSet, mirror, localStorage,
unreplicated); the first that keeps the pod decides, else the last warning stands.
A pod controlled by a DaemonSet is refused unless --ignore-daemonsets (then skipped with
a warning), and one whose DaemonSet is gone is evicted only with --force; mirror pods are
skipped; a pod with an emptyDir needs --delete-emptydir-data, one with no controller
--force. Finished pods (Succeeded, Failed) pass the DaemonSet, local storage and
controller filters. The Get of the DaemonSet is the shell's: it sends the request
`daemon_set_to_check` names and hands the answer to `filter_pod`, as kubectl's
daemonSetFilter asks the apiserver.

Mirrors k8s.io/kubectl/pkg/drain/filters.go (makeFilters, daemonSetFilter,
mirrorPodFilter, localStorageFilter, unreplicatedFilter) and GetPodsForDeletion in
drain.go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import OwnerReference, Status
from kcore.api.pod import Pod, PodPhase
from kcore.component.requests import Response

DAEMON_SET_FATAL: Final = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMON_SET_WARNING: Final = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL: Final = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING: Final = "deleting Pods with local storage"
UNMANAGED_FATAL: Final = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING: Final = "deleting Pods that declare no controller"
MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"


@attrs.frozen(kw_only=True)
class DrainOptions:
    """The drain flags the filters read."""

    force: bool = False
    ignore_daemonsets: bool = False
    delete_emptydir_data: bool = False


@attrs.frozen(kw_only=True)
class PodDeleteStatus:
    """drain's PodDeleteStatus: whether to evict, and a Warning or Error message."""

    delete: bool
    reason: str = "Okay"  # Okay | Skip | Warning | Error
    message: str = ""


@attrs.frozen(kw_only=True)
class PodsForDeletion:
    """GetPodsForDeletion's answer: the pods to evict, the warning and the error lines."""

    pods: tuple[Pod, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def _controller_of(pod: Pod) -> OwnerReference | None:
    return next((o for o in pod.metadata.owner_references if o.controller), None)


def _finished(pod: Pod) -> bool:
    return pod.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED)


def daemon_set_to_check(pod: Pod) -> ObjectKey | None:
    """The DaemonSet controlling `pod`, whose Get `filter_pod` reads; None when the
    daemonSet filter has nothing to ask (no DaemonSet controller, or a finished pod)."""
    ref = _controller_of(pod)
    if ref is None or ref.kind != Kind.DAEMON_SET.value or _finished(pod):
        return None
    return ObjectKey(kind=Kind.DAEMON_SET, namespace=pod.metadata.namespace, name=ref.name)


def filter_pod(pod: Pod, options: DrainOptions, daemon_set: Response | None) -> PodDeleteStatus:
    """kubectl's filters in order (daemonSet, mirror, localStorage, unreplicated); the
    first that keeps the pod decides, else the last one's warning stands. `daemon_set` is
    the answer to the Get `daemon_set_to_check` named (None when it named none)."""
    status = PodDeleteStatus(delete=True)
    ref = _controller_of(pod)
    if daemon_set is not None:
        gone = daemon_set.body if isinstance(daemon_set.body, Status) else None
        if gone is not None:
            if daemon_set.code == 404 and options.force:
                status = PodDeleteStatus(delete=True, reason="Warning", message=gone.message)
            else:
                return PodDeleteStatus(delete=False, reason="Error", message=gone.message)
        elif not options.ignore_daemonsets:
            return PodDeleteStatus(delete=False, reason="Error", message=DAEMON_SET_FATAL)
        else:
            return PodDeleteStatus(delete=False, reason="Warning", message=DAEMON_SET_WARNING)
    if MIRROR_ANNOTATION in pod.metadata.annotations:
        return PodDeleteStatus(delete=False, reason="Skip")
    if any(v.empty_dir is not None for v in pod.spec.volumes) and not _finished(pod):
        if not options.delete_emptydir_data:
            return PodDeleteStatus(delete=False, reason="Error", message=LOCAL_STORAGE_FATAL)
        status = PodDeleteStatus(delete=True, reason="Warning", message=LOCAL_STORAGE_WARNING)
    if not _finished(pod) and ref is None:
        if not options.force:
            return PodDeleteStatus(delete=False, reason="Error", message=UNMANAGED_FATAL)
        status = PodDeleteStatus(delete=True, reason="Warning", message=UNMANAGED_WARNING)
    return status


def pods_for_deletion(filtered: Sequence[tuple[Pod, PodDeleteStatus]]) -> PodsForDeletion:
    """GetPodsForDeletion over the node's pods and their verdicts, in order: the pods to
    evict, one warning line and one error line per message naming its pods."""
    pods: list[Pod] = []
    warned: dict[str, list[str]] = {}
    failed: dict[str, list[str]] = {}
    for pod, st in filtered:
        name = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if st.delete:
            pods.append(pod)
        if st.reason == "Warning":
            warned.setdefault(st.message, []).append(name)
        elif st.reason == "Error":
            failed.setdefault(st.message, []).append(name)
    warnings = tuple(f"{msg}: {', '.join(names)}" for msg, names in warned.items())
    errors = tuple(
        f"{msg}: {', '.join(names)}" if msg.lower().startswith("cannot delete") else f"cannot delete {msg}: {', '.join(names)}"
        for msg, names in failed.items()
    )
    return PodsForDeletion(pods=tuple(pods), warnings=warnings, errors=errors)


def aggregate(errors: Sequence[str]) -> str:
    """utilerrors.Aggregate.Error(): one message as is, several in brackets."""
    return errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"

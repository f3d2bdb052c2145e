"""kubectl drain's pod filters: which of a node's pods it evicts, skips or refuses, and why."""

from __future__ import annotations

import attrs

from kcore.api.apps import DaemonSet, DaemonSetSpec
from kcore.api.kinds import Kind, ObjectKey
from kcore.api.meta import OwnerReference
from kcore.api.pod import EmptyDirVolumeSource, LabelSelector, Pod, PodPhase, Volume
from kcore.apiserver.errors import not_found
from kcore.component.requests import Response
from kcore.kubectl.drain import (
    DAEMON_SET_FATAL,
    DAEMON_SET_WARNING,
    LOCAL_STORAGE_FATAL,
    LOCAL_STORAGE_WARNING,
    MIRROR_ANNOTATION,
    UNMANAGED_FATAL,
    UNMANAGED_WARNING,
    DrainOptions,
    PodDeleteStatus,
    PodsForDeletion,
    aggregate,
    daemon_set_to_check,
    filter_pod,
    pods_for_deletion,
)
from tests.builders import a_pod

DS_KEY = ObjectKey(kind=Kind.DAEMON_SET, namespace="default", name="agent")
DS_FOUND = Response(code=200, body=DaemonSet(spec=DaemonSetSpec(selector=LabelSelector())))
DS_GONE = Response(code=404, body=not_found(DS_KEY))


def controlled_by(kind: str, name: str) -> tuple[OwnerReference, ...]:
    return (OwnerReference(api_version="apps/v1", kind=kind, name=name, uid=f"uid-{name}", controller=True),)


def daemon_pod(name: str = "agent-x") -> Pod:
    return a_pod(name, owners=controlled_by("DaemonSet", "agent"))


def managed_pod(name: str = "web-x") -> Pod:
    return a_pod(name, owners=controlled_by("ReplicaSet", "web"))


def with_empty_dir(pod: Pod) -> Pod:
    return attrs.evolve(pod, spec=attrs.evolve(pod.spec, volumes=(Volume(name="scratch", empty_dir=EmptyDirVolumeSource()),)))


def finished(pod: Pod) -> Pod:
    return attrs.evolve(pod, status=attrs.evolve(pod.status, phase=PodPhase.SUCCEEDED))


def test_only_an_unfinished_daemon_set_pod_asks_for_its_daemon_set() -> None:
    assert daemon_set_to_check(daemon_pod()) == DS_KEY
    assert daemon_set_to_check(finished(daemon_pod())) is None
    assert daemon_set_to_check(managed_pod()) is None
    assert daemon_set_to_check(a_pod("lone")) is None


def test_a_daemon_set_pod_is_refused_unless_daemon_sets_are_ignored() -> None:
    assert filter_pod(daemon_pod(), DrainOptions(), DS_FOUND) == PodDeleteStatus(
        delete=False, reason="Error", message=DAEMON_SET_FATAL
    )
    assert filter_pod(daemon_pod(), DrainOptions(ignore_daemonsets=True), DS_FOUND) == PodDeleteStatus(
        delete=False, reason="Warning", message=DAEMON_SET_WARNING
    )


def test_a_pod_of_a_deleted_daemon_set_goes_only_with_force() -> None:
    gone = 'daemonsets.apps "agent" not found'
    assert filter_pod(daemon_pod(), DrainOptions(), DS_GONE) == PodDeleteStatus(delete=False, reason="Error", message=gone)
    assert filter_pod(daemon_pod(), DrainOptions(force=True), DS_GONE) == PodDeleteStatus(
        delete=True, reason="Warning", message=gone
    )


def test_a_mirror_pod_is_skipped() -> None:
    mirror = a_pod("static-node-1", annotations={MIRROR_ANNOTATION: "abc"})
    assert filter_pod(mirror, DrainOptions(force=True), None) == PodDeleteStatus(delete=False, reason="Skip")


def test_local_storage_needs_delete_emptydir_data_unless_the_pod_finished() -> None:
    pod = with_empty_dir(managed_pod())
    assert filter_pod(pod, DrainOptions(), None) == PodDeleteStatus(delete=False, reason="Error", message=LOCAL_STORAGE_FATAL)
    assert filter_pod(pod, DrainOptions(delete_emptydir_data=True), None) == PodDeleteStatus(
        delete=True, reason="Warning", message=LOCAL_STORAGE_WARNING
    )
    assert filter_pod(finished(pod), DrainOptions(), None) == PodDeleteStatus(delete=True)


def test_a_pod_without_a_controller_needs_force_and_its_warning_is_the_last() -> None:
    lone = with_empty_dir(a_pod("lone"))
    assert filter_pod(lone, DrainOptions(delete_emptydir_data=True), None) == PodDeleteStatus(
        delete=False, reason="Error", message=UNMANAGED_FATAL
    )
    assert filter_pod(lone, DrainOptions(delete_emptydir_data=True, force=True), None) == PodDeleteStatus(
        delete=True, reason="Warning", message=UNMANAGED_WARNING
    )


def test_pods_for_deletion_groups_the_pods_of_each_message_in_kubectls_words() -> None:
    web, lone, other, agent = managed_pod(), a_pod("lone"), a_pod("other"), daemon_pod()
    options = DrainOptions(ignore_daemonsets=True)
    found = pods_for_deletion(
        [
            (web, filter_pod(web, options, None)),
            (agent, filter_pod(agent, options, DS_FOUND)),
            (lone, filter_pod(lone, options, None)),
            (other, filter_pod(other, options, None)),
        ]
    )
    assert found == PodsForDeletion(
        pods=(web,),
        warnings=("ignoring DaemonSet-managed Pods: default/agent-x",),
        errors=("cannot delete Pods that declare no controller (use --force to override): default/lone, default/other",),
    )
    refused = pods_for_deletion([(with_empty_dir(web), filter_pod(with_empty_dir(web), options, None))])
    assert refused.errors == ("cannot delete Pods with local storage (use --delete-emptydir-data to override): default/web-x",)


def test_aggregate_brackets_several_errors() -> None:
    assert aggregate(["one"]) == "one"
    assert aggregate(["one", "two"]) == "[one, two]"

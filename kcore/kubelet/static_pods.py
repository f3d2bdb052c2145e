"""Static pods: pods a node runs from its own manifest directory, and their API mirrors.

Owns `static_pods` (the node's manifests -> the pods it must run), `mirror_pod` (the
read-only copy the kubelet creates in the API so the cluster can see a static pod),
`is_static_pod`, `is_mirror_pod` and the config annotations.

Rules:
- Every manifest file is loaded with `kcore.api.manifest.load_manifests` (so it is
  decoded and defaulted as the apiserver would), then each Pod gets upstream's
  applyDefaults: uid = the md5 of its canonical JSON plus "host:<node>" and
  "file:<file name>" (the config hash), name "<name>-<node>", namespace "default" when
  empty, spec.nodeName = the node, annotations config.hash / config.source=file (and
  config.seen when the caller says when it first read the files), a toleration of every
  NoExecute taint (so node problems never evict them), phase Pending.
- Then upstream's pod validation (the apiserver's own create rules). A file that does not
  parse, a document that is not a Pod, an invalid pod or a second pod with the same
  namespace/name gives an error string naming the file (and the field path), never a
  crash; the other pods still run.
- Output pods are sorted by (namespace, name); errors keep file order.
- A mirror pod is the static pod with annotation config.mirror=<hash>, controlled by the
  Node, and no uid, resourceVersion or status (the apiserver assigns them).

Must not know: the file system (the shell reads the directory into
`KubeletConfig.static_manifests`), the kubelet component, the runtime.

Mirrors pkg/kubelet/config/common.go (applyDefaults, tryDecodeSinglePod),
pkg/kubelet/config/file.go, pkg/kubelet/config/config.go (filterInvalidPods,
config.seen), pkg/kubelet/pod/mirror_client.go (CreateMirrorPod) and
pkg/kubelet/types/pod_update.go (IsStaticPod, IsMirrorPod).
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

import attrs

from kcore.api.codec import format_time, to_dict
from kcore.api.core import Node
from kcore.api.manifest import ManifestError, load_manifests
from kcore.api.meta import ObjectMeta, OwnerReference, Time
from kcore.api.pod import Pod, PodPhase, PodStatus, TaintEffect, Toleration, TolerationOperator
from kcore.api.validation import validate
from kcore.kubelet.config import KubeletConfig

CONFIG_SOURCE: Final = "kubernetes.io/config.source"
CONFIG_HASH: Final = "kubernetes.io/config.hash"
CONFIG_SEEN: Final = "kubernetes.io/config.seen"
CONFIG_MIRROR: Final = "kubernetes.io/config.mirror"
FILE_SOURCE: Final = "file"
API_SOURCE: Final = "api"
DEFAULT_NAMESPACE: Final = "default"
TOLERATE_NO_EXECUTE: Final = Toleration(
    operator=TolerationOperator.EXISTS, effect=TaintEffect.NO_EXECUTE
)


def static_pods(
    config: KubeletConfig, *, seen: Time | None = None
) -> tuple[tuple[Pod, ...], tuple[str, ...]]:
    """The pods of the node's manifest files, sorted by (namespace, name), and an error
    string for each file, document or pod that cannot run.

    `seen` (optional) is when the kubelet first read the files: the config.seen annotation.
    """
    pods: dict[tuple[str, str], Pod] = {}
    errors: list[str] = []
    for file_name, text in config.static_manifests:
        for pod_or_error in _file_pods(file_name, text, config.node_name):
            if isinstance(pod_or_error, str):
                errors.append(pod_or_error)
                continue
            m = pod_or_error.metadata
            if (m.namespace, m.name) in pods:
                errors.append(
                    f"{file_name}: pod {m.namespace}/{m.name} duplicates another static pod "
                    "with the same name"
                )
                continue
            if seen is not None:
                annotations = m.annotations.set(CONFIG_SEEN, format_time(seen))
                pod_or_error = attrs.evolve(
                    pod_or_error, metadata=attrs.evolve(m, annotations=annotations)
                )
            pods[(m.namespace, m.name)] = pod_or_error
    return tuple(pods[k] for k in sorted(pods)), tuple(errors)


def _file_pods(file_name: str, text: str, node: str) -> list[Pod | str]:
    try:
        loaded = load_manifests(text, source=file_name)
    except ManifestError as e:
        return [str(e)]
    out: list[Pod | str] = []
    for item in loaded:
        obj = item.obj
        if not isinstance(obj, Pod):
            out.append(
                f"{file_name}: document {item.index + 1}: {obj.KIND.value} "
                f"{obj.metadata.name!r}: kind: a static pod manifest must hold Pods"
            )
            continue
        pod = apply_static_defaults(obj, file_name, node)
        errs = validate(pod, None)
        if errs:
            detail = "; ".join(str(e) for e in errs)
            out.append(f"{file_name}: pod {obj.metadata.name!r}: invalid pod: {detail}")
            continue
        out.append(pod)
    return out


def config_hash(pod: Pod, file_name: str, node: str) -> str:
    """The static pod's uid: md5 over the pod as written, then its host and file."""
    h = hashlib.md5(usedforsecurity=False)
    h.update(json.dumps(to_dict(pod), sort_keys=True, separators=(",", ":")).encode())
    h.update(f"host:{node}".encode())
    h.update(f"file:{file_name}".encode())
    return h.hexdigest()


def apply_static_defaults(pod: Pod, file_name: str, node: str) -> Pod:
    """applyDefaults for a file source: uid, name, namespace, node, annotations,
    the NoExecute toleration, phase Pending."""
    m = pod.metadata
    uid = m.uid or config_hash(pod, file_name, node)
    meta = attrs.evolve(
        m,
        uid=uid,
        name=f"{m.name}-{node.lower()}",
        namespace=m.namespace or DEFAULT_NAMESPACE,
        annotations=m.annotations.set(CONFIG_HASH, uid).set(CONFIG_SOURCE, FILE_SOURCE),
    )
    tolerations = pod.spec.tolerations
    if TOLERATE_NO_EXECUTE not in tolerations:
        tolerations = (*tolerations, TOLERATE_NO_EXECUTE)
    spec = attrs.evolve(pod.spec, node_name=node, tolerations=tolerations)
    return attrs.evolve(
        pod, metadata=meta, spec=spec, status=attrs.evolve(pod.status, phase=PodPhase.PENDING)
    )


def mirror_pod(static: Pod, node: Node) -> Pod:
    """The mirror the kubelet creates for `static` (controlled by `node`, which must carry
    its uid): annotation config.mirror=<config hash>, no uid, version or status."""
    m = static.metadata
    owner = OwnerReference(
        api_version="v1",
        kind="Node",
        name=node.metadata.name,
        uid=node.metadata.uid,
        controller=True,
    )
    meta = ObjectMeta(
        name=m.name,
        namespace=m.namespace,
        labels=m.labels,
        annotations=m.annotations.set(CONFIG_MIRROR, m.annotations.get(CONFIG_HASH, m.uid)),
        owner_references=(owner,),
        finalizers=m.finalizers,
    )
    return attrs.evolve(static, metadata=meta, status=PodStatus())


def is_static_pod(pod: Pod) -> bool:
    """IsStaticPod: its config source is not the apiserver."""
    source = pod.metadata.annotations.get(CONFIG_SOURCE)
    return source is not None and source != API_SOURCE


def is_mirror_pod(pod: Pod) -> bool:
    """IsMirrorPod: it carries the config.mirror annotation."""
    return CONFIG_MIRROR in pod.metadata.annotations

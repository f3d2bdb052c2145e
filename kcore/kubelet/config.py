"""The kubelet's configuration: one value per node, fixed for the kubelet's life.

Owns `KubeletConfig` with upstream's defaults (KubeletConfiguration v1beta1). The shell
builds it (reading the node's static pod manifest directory into `static_manifests`, the
only I/O involved); everything in `kcore.kubelet` reads it and nothing changes it.
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.network.resolvconf import CLUSTER_DOMAIN

KUBELET: Final = "kubelet"
"""The per-node component prefix: the kubelet of node `n` is the component `kubelet/n`."""


@attrs.frozen(kw_only=True)
class KubeletConfig:
    node_name: str
    # node status and lease (pkg/kubelet/apis/config/v1beta1/defaults.go)
    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 300.0
    node_lease_duration_seconds: int = 40
    # restarts and pulls (pkg/kubelet/kubelet.go: backOffPeriod, MaxContainerBackOff)
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset_after: float = 600.0  # a container that ran this long starts over at 10s
    # static pods: (file name, manifest text) of the node's manifest directory
    static_manifests: tuple[tuple[str, str], ...] = ()
    # DNS written into every pod's resolv.conf (clusterDNS, clusterDomain); kubeadm sets
    # clusterDNS to the 10th address of the service CIDR. Empty: pods get the node's own.
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = CLUSTER_DOMAIN

    @property
    def component_name(self) -> str:
        return f"{KUBELET}/{self.node_name}"

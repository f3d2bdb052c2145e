"""CoreDNS, the cluster's DNS server add-on: a component whose output is its own records.

Owns `CoreDNS` (the add-on "coredns"), its state `CoreDNSState` (the informer view and
the `kcore.network.dns.Zone` it serves), and `coredns_objects`, the objects kubeadm's
CoreDNS add-on creates: ServiceAccount `coredns`, ConfigMap `coredns` (the Corefile),
Deployment `coredns` and Service `kube-dns`, all in kube-system.

Theory of operation: CoreDNS's kubernetes plugin keeps informers on Services,
EndpointSlices, Namespaces (and Pods, here only its own, to know whether one of its pods
is Ready, which is what its readiness probe and kube-proxy's routing to it amount to). The
component folds each watch event into its view and into the zone (`dns.absorb`, at the
cost of what the event touches); `Started` keeps the zone its `init` built from the LIST,
`Resynced` rebuilds it from the fresh LIST. It writes nothing and asks for nothing: every
step returns no effects. A question is answered by the pure `dns.resolve(state.zone, ...)`.

Watch filter (`wants`): a Pod event passes only for the server's own pods (label
k8s-app=kube-dns in kube-system, before or after the change): no other pod changes a
record (`pods insecure` answers from the name alone). Every Service, EndpointSlice and
Namespace event passes.

The objects follow kubeadm's manifests (2 replicas, image registry.k8s.io/coredns/coredns:
v1.11.3, ports 53/UDP dns, 53/TCP dns-tcp, 9153/TCP metrics, liveness on :8080/health,
readiness on :8181/ready, dnsPolicy Default, system-cluster-critical), with the Service at
the 10th address of the service CIDR. kubeadm's ClusterRole and ClusterRoleBinding
`system:coredns` are not among them: kcore components read the informer view directly.

Must not know: the driver, the command line, how a pod's resolver picks names.
Mirrors coredns/coredns plugin/kubernetes (controller.go: the informers) and kubernetes
cmd/kubeadm/app/phases/addons/dns (manifests.go, dns.go).
"""

from __future__ import annotations

from typing import Final

import attrs

from kcore.api.codec import from_dict
from kcore.api.core import EventSource
from kcore.api.kinds import Kind
from kcore.api.meta import ApiObject, Time
from kcore.api.watch import WatchEvent
from kcore.component.effects import Effect
from kcore.component.events import (
    ApiAnswered,
    Event,
    Resynced,
    RuntimeAnswered,
    RuntimeNotified,
    Started,
    TimerFired,
    WatchDelivered,
)
from kcore.component.informer import follow
from kcore.network.dns import (
    DNS_APP,
    DNS_APP_LABEL,
    DNS_NAMESPACE,
    DNS_SERVICE,
    TTL,
    Zone,
    absorb,
    is_server_pod,
    zone_from,
)
from kcore.network.resolvconf import CLUSTER_DOMAIN, cluster_dns_ip
from kcore.state import ClusterConfig, ClusterState

NAME: Final = "coredns"
IMAGE: Final = "registry.k8s.io/coredns/coredns:v1.11.3"
REPLICAS: Final = 2
CONFIG_MAP: Final = "coredns"


def corefile(domain: str = CLUSTER_DOMAIN) -> str:
    """kubeadm's Corefile for cluster domain `domain`."""
    return f"""\
.:53 {{
    errors
    health {{
       lameduck 5s
    }}
    ready
    kubernetes {domain} in-addr.arpa ip6.arpa {{
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl {TTL}
    }}
    prometheus :9153
    forward . /etc/resolv.conf {{
       max_concurrent 1000
    }}
    cache 30 {{
       disable success {domain}
       disable denial {domain}
    }}
    loop
    reload
    loadbalance
}}
"""


@attrs.frozen(kw_only=True)
class CoreDNSState:
    view: ClusterState
    zone: Zone


@attrs.frozen
class CoreDNS:
    name: str = NAME
    event_source: EventSource = EventSource(component=NAME)  # records no events
    watches: frozenset[Kind] = frozenset({Kind.SERVICE, Kind.ENDPOINT_SLICE, Kind.POD, Kind.NAMESPACE})
    domain: str = CLUSTER_DOMAIN

    def init(self, view: ClusterState, now: Time) -> tuple[CoreDNSState, tuple[Effect, ...]]:
        return CoreDNSState(view=view, zone=zone_from(view, self.domain)), ()

    def wants(self, event: WatchEvent, old: ApiObject | None = None) -> bool:
        """Every event but those of pods that are not the server's own."""
        if event.obj.KIND is not Kind.POD:
            return True
        return is_server_pod(event.obj) or (old is not None and is_server_pod(old))

    def step(self, s: CoreDNSState, ev: Event) -> tuple[CoreDNSState, tuple[Effect, ...]]:
        match ev:
            case Started():
                return s, ()
            case Resynced(view=view):
                return CoreDNSState(view=view, zone=zone_from(view, self.domain)), ()
            case WatchDelivered(event=w):
                return CoreDNSState(view=follow(s.view, ev), zone=absorb(s.zone, w)), ()
            case ApiAnswered() | TimerFired() | RuntimeAnswered() | RuntimeNotified():
                return s, ()


def coredns_objects(config: ClusterConfig, domain: str = CLUSTER_DOMAIN) -> tuple[ApiObject, ...]:
    """kubeadm's CoreDNS add-on objects, in creation order: ServiceAccount, ConfigMap,
    Deployment, Service (clusterIP the 10th address of `config.service_cidr`)."""
    labels = {DNS_APP_LABEL: DNS_APP}
    meta = {"namespace": DNS_NAMESPACE}
    docs: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": NAME, **meta}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, **meta},
            "data": {"Corefile": corefile(domain)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "labels": labels, **meta},
            "spec": {
                "replicas": REPLICAS,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": _pod_spec()},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": DNS_SERVICE,
                "labels": {**labels, "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"},
                "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
                **meta,
            },
            "spec": {
                "selector": labels,
                "clusterIP": cluster_dns_ip(config.service_cidr),
                "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                    {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
                ],
            },
        },
    ]
    return tuple(from_dict(d).obj for d in docs)


def _pod_spec() -> dict[str, object]:
    """The pod template's spec of kubeadm's CoreDNS Deployment."""
    return {
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": NAME,
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {
                                "matchExpressions": [{"key": DNS_APP_LABEL, "operator": "In", "values": [DNS_APP]}]
                            },
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        },
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "containers": [
            {
                "name": NAME,
                "image": IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                "args": ["-conf", "/etc/coredns/Corefile"],
                "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
                "ports": [
                    {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                    {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                    {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                ],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                    "readOnlyRootFilesystem": True,
                },
                "livenessProbe": {
                    "httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                    "initialDelaySeconds": 60,
                    "timeoutSeconds": 5,
                    "successThreshold": 1,
                    "failureThreshold": 5,
                },
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"}},
            }
        ],
        "dnsPolicy": "Default",
        "volumes": [
            {"name": "config-volume", "configMap": {"name": CONFIG_MAP, "items": [{"key": "Corefile", "path": "Corefile"}]}}
        ],
    }

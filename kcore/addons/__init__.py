"""Cluster add-ons: components a cluster runs beside the control plane, not part of it.

`metricsserver`: the metrics server (sigs.k8s.io/metrics-server), the PodMetrics the
horizontal pod autoscaler reads. Each is a pure component as a controller is (`init`/
`step`, see `kcore.component.protocol`), writing only through apiserver requests.
"""

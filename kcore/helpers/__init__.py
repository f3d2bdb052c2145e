"""Helpers several components share, below all of them (upstream's k8s.io/component-helpers).

`scheduling`: taint tolerations and node affinity matching, which the scheduler's
plugins, the kubelet's admission, the DaemonSet controller and the node lifecycle
controller's taint eviction all read the same way.
"""

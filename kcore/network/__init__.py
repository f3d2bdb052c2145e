"""The cluster network: address management now; kube-proxy rules, routing and DNS later.

`kcore.network.ipam` hands out node podCIDRs and pod IPs.
"""

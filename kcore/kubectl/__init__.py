"""kubectl's client logic, pure: what the `kcore` commands compute before they send a request.

As upstream keeps it in k8s.io/kubectl rather than in the apiserver or the controllers:
`apply` (`kubectl apply`: the last-applied annotation and the three-way merge) and
`rollback` (`kubectl rollout undo`: the patch that restores a Deployment's revision).
Each function reads values (a `ClusterState`, the live object and the manifest) and
returns a request, an object to send, or the `Status` kubectl would print; the shell
sends it.
"""

"""kubectl's client logic, pure: what the `kcore` commands compute before they send a request.

As upstream keeps it in k8s.io/kubectl rather than in the apiserver or the controllers:
`rollback` (`kubectl rollout undo`: the patch that restores a Deployment's revision).
Each function reads a `ClusterState` and returns a request (or the `Status` kubectl
would print); the shell sends it.
"""

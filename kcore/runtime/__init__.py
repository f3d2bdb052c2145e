"""The simulated container runtime: CRI-shaped calls applied to a per-node value.

`kcore.runtime.cri` holds the calls, their results and the runtime's callback events;
`kcore.runtime.runtime` holds `RuntimeState` and `apply`, the pure function that
performs a call. docs/runtime.md documents the pod annotations that script behaviour.
"""

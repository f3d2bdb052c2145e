"""The component protocol: what every controller, the scheduler and the kubelet speak.

Below the components and below the driver, as client-go's `tools/cache` and `rest` sit
below kube-controller-manager: `protocol` (the `Component` and `Selective` protocols),
`events` (what the driver delivers), `effects` (what a component asks for), `requests`
(the apiserver requests and responses inside `CallApi` and `ApiAnswered`), `informer`
(how a component keeps its view), `workqueue` (a controller's work queue as a value:
wakes per key, rate-limited requeues) and `inflight` (one sync in flight per key). It imports only the API model, the state and the
runtime's call vocabulary; the driver imports it, never the other way round.
"""

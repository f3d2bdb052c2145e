"""The kubelet: one pure component per node (pod lifecycle through the simulated container
runtime, probes, restarts, graceful stop, static pods, node status and Lease heartbeats)."""

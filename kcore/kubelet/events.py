"""The reasons of the kubelet's Events, named once as upstream names them.

Owns the reason constants the kubelet records with (`RecordEvent.reason`); its Events
come from `kubelet` on the node's host (`Kubelet.event_source`). Several upstream names
share one reason string ("Failed", "BackOff"), as `kubectl describe pod` shows them.

Mirrors pkg/kubelet/events/event.go.
"""

from __future__ import annotations

from typing import Final

# Container event reason list
CREATED_CONTAINER: Final = "Created"
STARTED_CONTAINER: Final = "Started"
FAILED_TO_CREATE_CONTAINER: Final = "Failed"
FAILED_TO_START_CONTAINER: Final = "Failed"
KILLING_CONTAINER: Final = "Killing"
BACK_OFF_START_CONTAINER: Final = "BackOff"

# Image event reason list
PULLING_IMAGE: Final = "Pulling"
PULLED_IMAGE: Final = "Pulled"
FAILED_TO_PULL_IMAGE: Final = "Failed"
ERR_IMAGE_NEVER_PULL_POLICY: Final = "ErrImageNeverPull"
BACK_OFF_PULL_IMAGE: Final = "BackOff"

# Sandbox and probe event reason list
FAILED_CREATE_POD_SANDBOX: Final = "FailedCreatePodSandBox"
CONTAINER_UNHEALTHY: Final = "Unhealthy"

# kcore's own: a `kcore.io/*` runtime script annotation the simulated runtime ignored
INVALID_SCRIPT: Final = "InvalidScript"

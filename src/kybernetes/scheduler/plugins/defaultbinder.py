"""DefaultBinder (Bind): POST a v1 Binding of the pod to the node through the injected binder.

The binder is the framework's `binder` callable (a coroutine function taking
the Binding object); the scheduler process wires it to the pods/binding
subresource. An exception from it becomes an Error status, which sends the
pod back to the queue with back-off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.status import Status, as_status
from kybernetes.scheduler.framework.types import PodInfo
from kybernetes.scheduler.plugins.names import DEFAULT_BINDER


def binding_for(pod: PodInfo, node_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid},
        "target": {"kind": "Node", "name": node_name},
    }


class DefaultBinder:
    """Implements BindPlugin."""

    name = DEFAULT_BINDER

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        binder = getattr(self.handle, "binder", None)
        if binder is None:
            return as_status("no binder configured")
        try:
            await binder(binding_for(pod, node_name))
        except Exception as err:  # any failure of the API call is this pod's Error
            return as_status(err)
        return None


def new(args: Mapping[str, Any] | None, handle: Any) -> DefaultBinder:
    return DefaultBinder(handle)

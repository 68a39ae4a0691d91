"""The DefaultTolerationSeconds admission plug-in (plugin/pkg/admission/defaulttolerationseconds).

Every pod written (CREATE or UPDATE, not subresources) that does not already tolerate
the `node.kubernetes.io/not-ready` or `node.kubernetes.io/unreachable` NoExecute taint
gets a toleration for it with `tolerationSeconds: 300`: when its node stops reporting,
the taint-eviction controller deletes it five minutes later instead of at once. A
toleration with an empty key (all taints) or an empty effect (all effects) counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.apiserver.admission import AdmissionRequest, Operation

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300


def _tolerates(tolerations: list[Mapping[str, Any]], key: str) -> bool:
    return any(t.get("key", "") in (key, "") and t.get("effect", "") in ("NoExecute", "")
               for t in tolerations)


def add_default_tolerations(pod: dict[str, Any], seconds: int = DEFAULT_TOLERATION_SECONDS
                            ) -> None:
    spec = pod.setdefault("spec", {})
    tolerations = spec.get("tolerations") or []
    added = [{"key": key, "operator": "Exists", "effect": "NoExecute",
              "tolerationSeconds": seconds}
             for key in (NOT_READY, UNREACHABLE) if not _tolerates(tolerations, key)]
    if added:
        spec["tolerations"] = [*tolerations, *added]


class DefaultTolerationSeconds:
    """Implements `MutatingPlugin`."""

    def __init__(self, seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
        self.seconds = seconds

    async def admit(self, req: AdmissionRequest) -> None:
        if (req.group, req.resource) != ("", "pods") or req.subresource or req.obj is None:
            return
        if req.operation in (Operation.CREATE, Operation.UPDATE):
            add_default_tolerations(req.obj, self.seconds)

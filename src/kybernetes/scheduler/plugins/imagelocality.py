"""ImageLocality (Score): prefer nodes that already have the pod's images.

Each image present on the node adds size * (nodes with it / all nodes), so an
image everywhere does not pull pods to one node; the sum is clamped to
[23 MiB, 1000 MiB * containers] and scaled to 0-100. Image names without a
tag are compared as ":latest".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, Handle
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import ImageStateSummary, NodeInfo, PodInfo
from kybernetes.scheduler.plugins.names import IMAGE_LOCALITY

_PRE_SCORE_KEY = "PreScore" + IMAGE_LOCALITY
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def _images(pod: PodInfo) -> list[str]:
    containers = [*(pod.spec.get("initContainers") or ()), *(pod.spec.get("containers") or ())]
    return [normalized_image_name(c.get("image") or "") for c in containers]


def normalized_image_name(name: str) -> str:
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    return name


def scaled_image_score(state: ImageStateSummary, total_nodes: int) -> int:
    return int(state.size * (state.num_nodes / total_nodes))


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    sum_scores = max(MIN_THRESHOLD, min(sum_scores, max_threshold))
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality:
    """Implements PreScorePlugin and ScorePlugin."""

    name = IMAGE_LOCALITY

    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    def pre_score(self, state: CycleState, pod: PodInfo,
                  nodes: Sequence[NodeInfo]) -> Status | None:
        state.write(_PRE_SCORE_KEY, _images(pod))
        return None

    def score(self, state: CycleState, pod: PodInfo,
              node_info: NodeInfo) -> tuple[int, Status | None]:
        total_nodes = self.handle.snapshot.num_nodes or 1
        images = state.read(_PRE_SCORE_KEY)
        if images is None:
            images = _images(pod)
        total = 0
        states = node_info.image_states
        for name in images:
            image = states.get(name)
            if image is not None:
                total += scaled_image_score(image, total_nodes)
        return calculate_priority(total, len(images)), None

    def score_extensions(self) -> None:
        return None


def new(args: Mapping[str, Any] | None, handle: Handle) -> ImageLocality:
    return ImageLocality(handle)

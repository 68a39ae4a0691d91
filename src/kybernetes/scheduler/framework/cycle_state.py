"""CycleState: scratch space shared by the plug-ins of one scheduling cycle.

Each plug-in writes what its PreFilter or PreScore computed under its own key
and reads it back in Filter or Score. Preemption evaluates every candidate
node on a `clone()`, so a value that AddPod/RemovePod mutates must implement
`clone()`; values without it are shared between clones (they must then be
read-only, which is what upstream's `Clone() { return s }` means).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class StateData(Protocol):
    def clone(self) -> Any: ...


class CycleState:
    """Keyed plug-in state for one pod's scheduling cycle. Not thread-safe (no threads here)."""

    __slots__ = ("_storage", "skip_filter_plugins", "skip_score_plugins")

    def __init__(self) -> None:
        self._storage: dict[str, Any] = {}
        # Plug-ins whose PreFilter (PreScore) returned Skip: their Filter (Score) is not run.
        self.skip_filter_plugins: frozenset[str] = frozenset()
        self.skip_score_plugins: frozenset[str] = frozenset()

    def read(self, key: str) -> Any:
        """The value stored under `key`, or None when nothing was written."""
        return self._storage.get(key)

    def write(self, key: str, value: Any) -> None:
        self._storage[key] = value

    def delete(self, key: str) -> None:
        self._storage.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._storage

    def clone(self) -> CycleState:
        out = CycleState()
        for key, value in self._storage.items():
            clone = getattr(value, "clone", None)
            out._storage[key] = clone() if clone is not None else value
        out.skip_filter_plugins = self.skip_filter_plugins
        out.skip_score_plugins = self.skip_score_plugins
        return out

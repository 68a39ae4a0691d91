"""Framework: one profile's plug-ins, run at each extension point in upstream's order.

Built from a (defaulted) `config.Profile` and a registry of plug-in
factories, as `runtime.NewFramework`: every plug-in named anywhere in the
profile is instantiated once with its args; each extension point gets the
plug-ins enabled for it, then multiPoint plug-ins are expanded into every
extension point they implement (explicit per-point entries win and come
first; a per-point `disabled` removes a multiPoint plug-in there). Exactly
one QueueSort and at least one Bind plug-in are required. A Score plug-in's
weight is its per-point weight, else its multiPoint weight, else 1.

The framework is also the plug-ins' `Handle`: they read `snapshot` (set by
`schedule_one` for each cycle) and `nominator`, and preemption calls back
into `run_filter_plugins_with_nominated_pods`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.config import EXTENSION_POINTS, Plugins, Profile
from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.diagnosis import NodeToStatus
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
)
from kybernetes.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    MAX_PERMIT_TIMEOUT,
    MAX_TOTAL_SCORE,
    MIN_NODE_SCORE,
    MODE_NOOP,
    BindPlugin,
    EnqueueExtensions,
    FilterPlugin,
    NodePluginScores,
    NodeScore,
    PermitPlugin,
    Plugin,
    PodNominator,
    PostBindPlugin,
    PostFilterPlugin,
    PostFilterResult,
    PreBindPlugin,
    PreEnqueuePlugin,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    QueueSortPlugin,
    ReservePlugin,
    ScorePlugin,
    merge_pre_filter_results,
)
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import (
    Code,
    Status,
    as_status,
    new_status,
)
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo, QueuedPodInfo

PluginFactory = Callable[[Mapping[str, Any] | None, "Framework"], Plugin]
Registry = Mapping[str, PluginFactory]
# Receives a v1 Binding object; the process wires it to the pods/binding subresource.
Binder = Callable[[Mapping[str, Any]], Awaitable[None]]

_PROTOCOLS: dict[str, tuple[type, str]] = {
    "preEnqueue": (PreEnqueuePlugin, "PreEnqueuePlugin"),
    "queueSort": (QueueSortPlugin, "QueueSortPlugin"),
    "preFilter": (PreFilterPlugin, "PreFilterPlugin"),
    "filter": (FilterPlugin, "FilterPlugin"),
    "postFilter": (PostFilterPlugin, "PostFilterPlugin"),
    "preScore": (PreScorePlugin, "PreScorePlugin"),
    "score": (ScorePlugin, "ScorePlugin"),
    "reserve": (ReservePlugin, "ReservePlugin"),
    "permit": (PermitPlugin, "PermitPlugin"),
    "preBind": (PreBindPlugin, "PreBindPlugin"),
    "bind": (BindPlugin, "BindPlugin"),
    "postBind": (PostBindPlugin, "PostBindPlugin"),
}
# Plug-ins at these points can reject a pod, so the queue must know their events.
_REJECTING_POINTS = ("preEnqueue", "preFilter", "filter", "reserve", "permit")
_ALL_EVENTS = [ClusterEventWithHint(ClusterEvent("*", ActionType.ALL))]


@dataclass(slots=True)
class NodeCursor:
    """Where the next cycle starts walking the node list (round robin), shared by profiles."""

    index: int = 0


class Framework:
    """The plug-ins of one profile and the code that runs them."""

    def __init__(
        self,
        profile: Profile,
        registry: Registry,
        *,
        percentage_of_nodes_to_score: int | None = None,
        binder: Binder | None = None,
        rng: random.Random | None = None,
        cursor: NodeCursor | None = None,
        nominator: PodNominator | None = None,
    ) -> None:
        self.profile_name = profile.scheduler_name
        pct = profile.percentage_of_nodes_to_score
        self.percentage_of_nodes_to_score: int = (
            pct if pct is not None else (percentage_of_nodes_to_score or 0))
        self.binder = binder
        self.rng = rng or random.Random()
        self.cursor = cursor or NodeCursor()
        self.nominator = nominator
        self.snapshot = Snapshot()
        self.waiting_pods: dict[str, WaitingPod] = {}
        self.plugins: dict[str, Plugin] = {}
        self._build(profile, registry)

    # --- construction -----------------------------------------------------------------------

    def _build(self, profile: Profile, registry: Registry) -> None:
        plugins = profile.plugins
        for name in _needed(plugins):
            factory = registry.get(name)
            if factory is None:
                raise ConfigError([f"plugin {name!r} does not exist"])
            self.plugins[name] = factory(profile.plugin_config.get(name), self)
        self._points: dict[str, list[Any]] = {}
        for point in EXTENSION_POINTS:
            self._points[point] = self._explicit(point, plugins)
        if plugins.multi_point.enabled:
            self._expand_multi_point(plugins)
        p = self._points
        self.pre_enqueue_plugins: list[PreEnqueuePlugin] = p["preEnqueue"]
        self.queue_sort_plugins: list[QueueSortPlugin] = p["queueSort"]
        self.pre_filter_plugins: list[PreFilterPlugin] = p["preFilter"]
        self.filter_plugins: list[FilterPlugin] = p["filter"]
        self.post_filter_plugins: list[PostFilterPlugin] = p["postFilter"]
        self.pre_score_plugins: list[PreScorePlugin] = p["preScore"]
        self.score_plugins: list[ScorePlugin] = p["score"]
        self.reserve_plugins: list[ReservePlugin] = p["reserve"]
        self.permit_plugins: list[PermitPlugin] = p["permit"]
        self.pre_bind_plugins: list[PreBindPlugin] = p["preBind"]
        self.bind_plugins: list[BindPlugin] = p["bind"]
        self.post_bind_plugins: list[PostBindPlugin] = p["postBind"]
        if len(self.queue_sort_plugins) != 1:
            raise ConfigError([
                f"only one queue sort plugin required for profile with scheduler name "
                f"{self.profile_name!r}, but got {len(self.queue_sort_plugins)}"])
        if not self.bind_plugins:
            raise ConfigError([f"at least one bind plugin is needed for profile with scheduler "
                               f"name {self.profile_name!r}"])
        self.score_weights = self._score_weights(
            list(plugins.score.enabled) + list(plugins.multi_point.enabled))

    def _explicit(self, point: str, plugins: Plugins) -> list[Any]:
        protocol, type_name = _PROTOCOLS[point]
        out: list[Any] = []
        for ref in plugins.get(point).enabled:
            plugin = self.plugins[ref.name]
            if not isinstance(plugin, protocol):
                raise ConfigError([f"plugin {ref.name!r} does not extend {type_name} plugin"])
            if plugin in out:
                raise ConfigError([f"plugin {ref.name!r} already registered as {type_name!r}"])
            out.append(plugin)
        return out

    def _expand_multi_point(self, plugins: Plugins) -> None:
        for point in EXTENSION_POINTS:
            protocol, type_name = _PROTOCOLS[point]
            explicit = [pl.name for pl in self._points[point]]
            disabled = plugins.get(point).disabled_names()
            if "*" in disabled:
                continue
            multi: list[str] = []
            overrides: list[str] = []
            for ref in plugins.multi_point.enabled:
                plugin = self.plugins[ref.name]
                if not isinstance(plugin, protocol) or ref.name in disabled:
                    continue
                if ref.name in explicit:
                    overrides.append(ref.name)
                    continue
                if ref.name in multi:
                    raise ConfigError([f"plugin {ref.name!r} already registered as "
                                       f"{type_name!r}"])
                multi.append(ref.name)
            # Upstream's order: overridden ones, then multiPoint ones, then other explicit ones.
            order = [n for n in explicit if n in overrides] + multi
            order += [n for n in explicit if n not in overrides]
            self._points[point] = [self.plugins[n] for n in order]

    def _score_weights(self, refs: list[Any]) -> dict[str, int]:
        weights: dict[str, int] = {}
        total = 0
        for ref in refs:
            plugin = self.plugins.get(ref.name)
            if not isinstance(plugin, ScorePlugin) or ref.name in weights:
                continue
            weights[ref.name] = ref.weight or 1
            if weights[ref.name] * MAX_NODE_SCORE > MAX_TOTAL_SCORE - total:
                raise ConfigError(["total score of Score plugins could overflow"])
            total += weights[ref.name] * MAX_NODE_SCORE
        return weights

    # --- introspection ----------------------------------------------------------------------

    def list_plugins(self) -> dict[str, list[str]]:
        """Extension point -> plug-in names in run order (only non-empty points)."""
        return {point: [pl.name for pl in pls] for point, pls in self._points.items() if pls}

    def has_filter_plugins(self) -> bool:
        return bool(self.filter_plugins)

    def has_post_filter_plugins(self) -> bool:
        return bool(self.post_filter_plugins)

    def has_score_plugins(self) -> bool:
        return bool(self.score_plugins)

    def queue_sort_less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        return self.queue_sort_plugins[0].less(a, b)

    def events_to_register(self) -> dict[str, list[ClusterEventWithHint]]:
        """Plug-in name -> events that may resolve its rejections (all events if undeclared)."""
        out: dict[str, list[ClusterEventWithHint]] = {}
        for point in _REJECTING_POINTS:
            for plugin in self._points[point]:
                if plugin.name in out:
                    continue
                if isinstance(plugin, EnqueueExtensions):
                    out[plugin.name] = list(plugin.events_to_register())
                else:
                    out[plugin.name] = list(_ALL_EVENTS)
        return out

    # --- PreFilter / Filter -----------------------------------------------------------------

    def run_pre_filter_plugins(
        self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo] | None = None,
    ) -> tuple[PreFilterResult | None, Status | None, set[str]]:
        """Run PreFilter; returns (narrowed nodes, failure status, plug-ins that narrowed)."""
        if nodes is None:
            nodes = self.snapshot.node_infos
        skip: set[str] = set()
        result: PreFilterResult | None = None
        narrowing: set[str] = set()
        returned: Status | None = None
        try:
            for pl in self.pre_filter_plugins:
                r, s = pl.pre_filter(state, pod, nodes)
                if s is not None and s.code == Code.SKIP:
                    skip.add(pl.name)
                    continue
                if s is not None and s.code != Code.SUCCESS:
                    s = s.with_plugin(pl.name)
                    if s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                        return None, s, set()
                    if s.code == Code.UNSCHEDULABLE:
                        # Keep running the others: preemption needs their state (#119770).
                        returned = s
                        continue
                    err = as_status(f'running PreFilter plugin "{pl.name}": {s.message}')
                    return None, err.with_plugin(pl.name), set()
                if r is not None and not r.all_nodes():
                    narrowing.add(pl.name)
                result = merge_pre_filter_results(result, r)
                if result is not None and not result.node_names:
                    names = sorted(narrowing)
                    msg = (f"node(s) didn't satisfy plugin {names[0]}" if len(names) == 1 else
                           f"node(s) didn't satisfy plugin(s) [{' '.join(names)}] simultaneously")
                    return result, new_status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, msg), narrowing
            return result, returned, narrowing
        finally:
            state.skip_filter_plugins = frozenset(skip)

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod: PodInfo,
                                         pod_to_add: PodInfo, node_info: NodeInfo
                                         ) -> Status | None:
        return self._run_extension("AddPod", state, pod, pod_to_add, node_info)

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod: PodInfo,
                                            pod_to_remove: PodInfo, node_info: NodeInfo
                                            ) -> Status | None:
        return self._run_extension("RemovePod", state, pod, pod_to_remove, node_info)

    def _run_extension(self, op: str, state: CycleState, pod: PodInfo, other: PodInfo,
                       node_info: NodeInfo) -> Status | None:
        for pl in self.pre_filter_plugins:
            ext = pl.pre_filter_extensions()
            if ext is None or pl.name in state.skip_filter_plugins:
                continue
            fn = ext.add_pod if op == "AddPod" else ext.remove_pod
            s = fn(state, pod, other, node_info)
            if s is not None and s.code != Code.SUCCESS:
                return as_status(f'running {op} on PreFilter plugin "{pl.name}": {s.message}')
        return None

    def run_filter_plugins(self, state: CycleState, pod: PodInfo,
                           node_info: NodeInfo) -> Status | None:
        """None if every Filter plug-in accepts the node, else the first rejection."""
        skip = state.skip_filter_plugins
        for pl in self.filter_plugins:
            if skip and pl.name in skip:
                continue
            s = pl.filter(state, pod, node_info)
            if s is not None and s.code != Code.SUCCESS:
                if not s.is_rejected():
                    s = as_status(f'running "{pl.name}" filter plugin: {s.message}')
                return s.with_plugin(pl.name)
        return None

    def run_filter_plugins_with_nominated_pods(self, state: CycleState, pod: PodInfo,
                                               node_info: NodeInfo) -> Status | None:
        """Filter twice when higher/equal-priority pods are nominated here: with them
        (resources, anti-affinity) and without them (affinity); both must pass."""
        status: Status | None = None
        added, state_with, info_with = self._add_nominated_pods(state, pod, node_info)
        if isinstance(added, Status):
            return added
        status = self.run_filter_plugins(state_with, pod, info_with)
        if status is not None and not status.is_rejected():
            return status
        if added and status is None:
            status = self.run_filter_plugins(state, pod, node_info)
        return status

    def _add_nominated_pods(self, state: CycleState, pod: PodInfo, node_info: NodeInfo
                            ) -> tuple[bool | Status, CycleState, NodeInfo]:
        if self.nominator is None:
            return False, state, node_info
        nominated = self.nominator.nominated_pods_for_node(node_info.name)
        if not nominated:
            return False, state, node_info
        info_out = node_info.clone()
        state_out = state.clone()
        added = False
        for other in nominated:
            if other.priority >= pod.priority and other.key != pod.key:
                info_out.add_pod(other)
                s = self.run_pre_filter_extension_add_pod(state_out, pod, other, info_out)
                if s is not None:
                    return s, state, node_info
                added = True
        return added, state_out, info_out

    def run_post_filter_plugins(self, state: CycleState, pod: PodInfo, statuses: NodeToStatus
                                ) -> tuple[PostFilterResult | None, Status]:
        """Run PostFilter until one succeeds or fails for good; collect the rejections."""
        result: PostFilterResult | None = None
        reasons: list[str] = []
        rejector = ""
        for pl in self.post_filter_plugins:
            r, s = pl.post_filter(state, pod, statuses)
            if s is None or s.code == Code.SUCCESS:
                return r, s or new_status(Code.SUCCESS)
            if s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return r, s.with_plugin(pl.name)
            if not s.is_rejected():
                return None, as_status(s.message).with_plugin(pl.name)
            if r is not None and r.nominating_info is not None and (
                    r.nominating_info.mode != MODE_NOOP):
                result = r
            reasons += s.reasons
            rejector = rejector or pl.name
        return result, new_status(Code.UNSCHEDULABLE, *reasons).with_plugin(rejector)

    # --- PreScore / Score -------------------------------------------------------------------

    def run_pre_score_plugins(self, state: CycleState, pod: PodInfo,
                              nodes: Sequence[NodeInfo]) -> Status | None:
        skip: set[str] = set()
        try:
            for pl in self.pre_score_plugins:
                s = pl.pre_score(state, pod, nodes)
                if s is not None and s.code == Code.SKIP:
                    skip.add(pl.name)
                elif s is not None and s.code != Code.SUCCESS:
                    return as_status(f'running PreScore plugin "{pl.name}": {s.message}')
            return None
        finally:
            state.skip_score_plugins = frozenset(skip)

    def run_score_plugins(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]
                          ) -> tuple[list[NodePluginScores], Status | None]:
        """Score, normalize and weight; every weighted score is in [0, 100 * weight]."""
        plugins = [pl for pl in self.score_plugins if pl.name not in state.skip_score_plugins]
        per_plugin: list[list[NodeScore]] = []
        for pl in plugins:
            scores: list[NodeScore] = []
            for ni in nodes:
                value, s = pl.score(state, pod, ni)
                if s is not None and s.code != Code.SUCCESS:
                    return [], as_status(f'running Score plugins: plugin "{pl.name}" failed '
                                         f"with: {s.message}")
                scores.append(NodeScore(ni.name, value))
            ext = pl.score_extensions()
            if ext is not None:
                s = ext.normalize_score(state, pod, scores)
                if s is not None and s.code != Code.SUCCESS:
                    return [], as_status(f'running Normalize on Score plugins: plugin '
                                         f'"{pl.name}" failed with: {s.message}')
            per_plugin.append(scores)
        out = [NodePluginScores(ni.name) for ni in nodes]
        for pl, scores in zip(plugins, per_plugin, strict=True):
            weight = self.score_weights.get(pl.name, 1)
            for node_scores, ns in zip(out, scores, strict=True):
                if not MIN_NODE_SCORE <= ns.score <= MAX_NODE_SCORE:
                    return [], as_status(
                        f'applying score defaultWeights on Score plugins: plugin "{pl.name}" '
                        f"returns an invalid score {ns.score}, it should in the range of "
                        f"[{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing")
                weighted = ns.score * weight
                node_scores.scores.append((pl.name, weighted))
                node_scores.total_score += weighted
        return out, None

    # --- Reserve / Permit -------------------------------------------------------------------

    def run_reserve_plugins_reserve(self, state: CycleState, pod: PodInfo,
                                    node_name: str) -> Status | None:
        for pl in self.reserve_plugins:
            s = pl.reserve(state, pod, node_name)
            if s is not None and s.code != Code.SUCCESS:
                if s.is_rejected():
                    return s.with_plugin(pl.name)
                return as_status(f'running Reserve plugin "{pl.name}": {s.message}'
                                 ).with_plugin(pl.name)
        return None

    def run_reserve_plugins_unreserve(self, state: CycleState, pod: PodInfo,
                                      node_name: str) -> None:
        """Unreserve in reverse order; must be idempotent and cannot fail."""
        for pl in reversed(self.reserve_plugins):
            pl.unreserve(state, pod, node_name)

    def run_permit_plugins(self, state: CycleState, pod: PodInfo,
                           node_name: str) -> Status | None:
        """None (go on), a rejection, or Wait: the pod then waits in `waiting_pods`."""
        waits: dict[str, float] = {}
        for pl in self.permit_plugins:
            s, timeout = pl.permit(state, pod, node_name)
            if s is None or s.code == Code.SUCCESS:
                continue
            if s.is_rejected():
                return s.with_plugin(pl.name)
            if s.code == Code.WAIT:
                waits[pl.name] = min(timeout, MAX_PERMIT_TIMEOUT)
                continue
            return as_status(f'running Permit plugin "{pl.name}": {s.message}'
                             ).with_plugin(pl.name)
        if waits:
            self.waiting_pods[pod.uid or pod.key] = WaitingPod(pod, waits)
            return new_status(Code.WAIT, "one or more plugins asked to wait and no plugin "
                                         f'rejected pod "{pod.name}"')
        return None

    def get_waiting_pod(self, uid: str) -> WaitingPod | None:
        return self.waiting_pods.get(uid)

    # --- binding cycle (coroutines: they talk to the API) -----------------------------------

    async def wait_on_permit(self, pod: PodInfo) -> Status | None:
        waiting = self.waiting_pods.get(pod.uid or pod.key)
        if waiting is None:
            return None
        try:
            s = await waiting.wait()
        finally:
            self.waiting_pods.pop(pod.uid or pod.key, None)
        if s is None or s.is_rejected():
            return s
        return as_status(f"waiting on permit for pod: {s.message}").with_plugin(s.plugin)

    async def run_pre_bind_plugins(self, state: CycleState, pod: PodInfo,
                                   node_name: str) -> Status | None:
        for pl in self.pre_bind_plugins:
            s = await pl.pre_bind(state, pod, node_name)
            if s is not None and s.code != Code.SUCCESS:
                if s.is_rejected():
                    return s.with_plugin(pl.name)
                return as_status(f'running PreBind plugin "{pl.name}": {s.message}')
        return None

    async def run_bind_plugins(self, state: CycleState, pod: PodInfo,
                               node_name: str) -> Status | None:
        """The first bind plug-in that does not Skip decides; Skip if all skipped."""
        status: Status | None = new_status(Code.SKIP)
        for pl in self.bind_plugins:
            status = await pl.bind(state, pod, node_name)
            if status is not None and status.code == Code.SKIP:
                continue
            if status is not None and status.code != Code.SUCCESS:
                if status.is_rejected():
                    return status.with_plugin(pl.name)
                return as_status(f'running Bind plugin "{pl.name}": {status.message}')
            return status
        return status

    async def run_post_bind_plugins(self, state: CycleState, pod: PodInfo,
                                    node_name: str) -> None:
        for pl in self.post_bind_plugins:
            await pl.post_bind(state, pod, node_name)


class WaitingPod:
    """A pod held at Permit until every waiting plug-in allows it, one rejects, or time is up."""

    def __init__(self, pod: PodInfo, waits: Mapping[str, float]) -> None:
        self.pod = pod
        self.pending: dict[str, float] = dict(waits)
        self._result: Status | None = None
        self._done = False
        self._event: asyncio.Event | None = None

    def allow(self, plugin: str) -> None:
        self.pending.pop(plugin, None)
        if not self.pending:
            self._finish(None)

    def reject(self, plugin: str, message: str) -> None:
        self._finish(new_status(Code.UNSCHEDULABLE, message).with_plugin(plugin))

    def _finish(self, status: Status | None) -> None:
        if self._done:
            return
        self._done = True
        self._result = status
        if self._event is not None:
            self._event.set()

    async def wait(self) -> Status | None:
        """Wait for the verdict; each plug-in's timeout rejects on its behalf."""
        if self._done:
            return self._result
        self._event = asyncio.Event()
        loop = asyncio.get_running_loop()
        timers = [loop.call_later(seconds, self.reject, plugin,
                                  f"rejected due to timeout after waiting {_go_duration(seconds)} "
                                  f"at plugin {plugin}")
                  for plugin, seconds in self.pending.items()]
        try:
            await self._event.wait()
        finally:
            for timer in timers:
                timer.cancel()
        return self._result


def _go_duration(seconds: float) -> str:
    """time.Duration.String() for the durations Permit uses ("10ms", "30s", "15m0s")."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    whole, fraction = divmod(seconds, 1)
    minutes, secs = divmod(int(whole), 60)
    hours, minutes = divmod(minutes, 60)
    sec_text = f"{secs + fraction:g}s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    if minutes:
        return f"{minutes}m{sec_text}"
    return sec_text


def _needed(plugins: Plugins) -> list[str]:
    names: list[str] = []
    for point in (*EXTENSION_POINTS, "multiPoint"):
        for ref in plugins.get(point).enabled:
            if ref.name not in names:
                names.append(ref.name)
    return names

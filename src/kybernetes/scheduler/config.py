"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): parsing, defaults, validation.

    cfg = load_config(yaml_text_or_dict)        # parsed, defaulted, validated
    frameworks = build_frameworks(cfg, binder=...)   # kybernetes.scheduler.profiles

Defaulting follows `apis/config/v1/defaults.go`: with no profiles there is
one named "default-scheduler"; every profile's plug-ins are the default
set (all enabled through multiPoint, with score weights TaintToleration 3,
NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1,
NodeResourcesBalancedAllocation 1, ImageLocality 1) merged with what the
profile enables and disables per extension point; plug-ins with arguments
get their default args unless `pluginConfig` names them.

`validate()` fills those defaults and rejects nonsense with `ConfigError`,
whose message lists every problem with its field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import yaml

from kybernetes.scheduler.errors import ConfigError

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# Extension points in config order; the framework's attribute is the snake_case name.
EXTENSION_POINTS = (
    "preEnqueue", "queueSort", "preFilter", "filter", "postFilter", "preScore", "score",
    "reserve", "permit", "preBind", "bind", "postBind",
)

# getDefaultPlugins (apis/config/v1/default_plugins.go) for the plug-ins kybernetes has.
# The volume plug-ins (VolumeRestrictions, NodeVolumeLimits, VolumeBinding, VolumeZone)
# and DynamicResources are not implemented yet and left out.
DEFAULT_MULTI_POINT: tuple[tuple[str, int], ...] = (
    ("SchedulingGates", 0),
    ("PrioritySort", 0),
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    ("DefaultBinder", 0),
)


@dataclass(frozen=True, kw_only=True)
class PluginRef:
    """A plug-in named in a plugin set; weight 0 means "not set" (Score weight defaults to 1)."""

    name: str
    weight: int = 0


@dataclass(frozen=True, kw_only=True)
class PluginSet:
    enabled: tuple[PluginRef, ...] = ()
    disabled: tuple[PluginRef, ...] = ()

    def enabled_names(self) -> list[str]:
        return [p.name for p in self.enabled]

    def disabled_names(self) -> set[str]:
        return {p.name for p in self.disabled}


def _set() -> PluginSet:
    return PluginSet()


@dataclass(frozen=True, kw_only=True)
class Plugins:
    """Plugin sets per extension point (config field names, snake_cased)."""

    pre_enqueue: PluginSet = field(default_factory=_set)
    queue_sort: PluginSet = field(default_factory=_set)
    pre_filter: PluginSet = field(default_factory=_set)
    filter: PluginSet = field(default_factory=_set)
    post_filter: PluginSet = field(default_factory=_set)
    pre_score: PluginSet = field(default_factory=_set)
    score: PluginSet = field(default_factory=_set)
    reserve: PluginSet = field(default_factory=_set)
    permit: PluginSet = field(default_factory=_set)
    pre_bind: PluginSet = field(default_factory=_set)
    bind: PluginSet = field(default_factory=_set)
    post_bind: PluginSet = field(default_factory=_set)
    multi_point: PluginSet = field(default_factory=_set)

    def get(self, extension_point: str) -> PluginSet:
        """The set for a config name ("preFilter") or attribute name ("pre_filter")."""
        result: PluginSet = getattr(self, _snake(extension_point))
        return result


@dataclass(frozen=True, kw_only=True)
class Profile:
    scheduler_name: str = ""
    plugins: Plugins = field(default_factory=Plugins)
    plugin_config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    percentage_of_nodes_to_score: int | None = None


@dataclass(frozen=True, kw_only=True)
class SchedulerConfiguration:
    """The scheduler's configuration; `validate()` returns a defaulted copy or raises."""

    profiles: tuple[Profile, ...] = ()
    percentage_of_nodes_to_score: int | None = None  # None/0: adaptive
    pod_initial_backoff_seconds: float = 1
    pod_max_backoff_seconds: float = 10
    parallelism: int = 16

    def validate(self) -> SchedulerConfiguration:
        cfg = _defaulted(self)
        errors = _validate(cfg)
        if errors:
            raise ConfigError(errors)
        return cfg


def load_config(source: str | bytes | Mapping[str, Any] | None) -> SchedulerConfiguration:
    """Parse a KubeSchedulerConfiguration from YAML/JSON text or a dict; defaulted, validated."""
    if isinstance(source, str | bytes):
        try:
            data = yaml.safe_load(source) or {}
        except yaml.YAMLError as err:
            raise ConfigError([f"invalid YAML: {err}"]) from err
    else:
        data = dict(source or {})
    if not isinstance(data, Mapping):
        raise ConfigError(["configuration must be a mapping"])
    errors: list[str] = []
    api_version = data.get("apiVersion", API_VERSION)
    kind = data.get("kind", KIND)
    if api_version != API_VERSION:
        errors.append(f"apiVersion: Unsupported value: {api_version!r}: "
                      f"supported values: {API_VERSION!r}")
    if kind != KIND:
        errors.append(f"kind: Unsupported value: {kind!r}: supported values: {KIND!r}")
    _unknown_fields(data, _TOP_LEVEL_FIELDS, "", errors)
    if errors:
        raise ConfigError(errors)
    cfg = SchedulerConfiguration(
        profiles=tuple(_profile(p, f"profiles[{i}]", errors)
                       for i, p in enumerate(data.get("profiles") or ())),
        percentage_of_nodes_to_score=data.get("percentageOfNodesToScore"),
        pod_initial_backoff_seconds=data.get("podInitialBackoffSeconds", 1),
        pod_max_backoff_seconds=data.get("podMaxBackoffSeconds", 10),
        parallelism=data.get("parallelism", 16),
    )
    if errors:
        raise ConfigError(errors)
    return cfg.validate()


# --- parsing ----------------------------------------------------------------------------------

# Fields we accept; the others that upstream knows (leaderElection, clientConnection, ...)
# belong to the process and are ignored here rather than rejected.
_TOP_LEVEL_FIELDS = frozenset({
    "apiVersion", "kind", "profiles", "percentageOfNodesToScore", "podInitialBackoffSeconds",
    "podMaxBackoffSeconds", "parallelism", "leaderElection", "clientConnection",
    "healthzBindAddress", "metricsBindAddress", "enableProfiling", "enableContentionProfiling",
    "extenders", "delayCacheUntilActive"})
_PROFILE_FIELDS = frozenset({"schedulerName", "plugins", "pluginConfig",
                             "percentageOfNodesToScore"})


def _unknown_fields(data: Mapping[str, Any], known: frozenset[str], path: str,
                    errors: list[str]) -> None:
    """Strict decoding, as upstream: a misspelt field is an error, not a silent default."""
    for key in data:
        if key not in known:
            errors.append(f'strict decoding error: unknown field "{path}{key}"')


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _plugin_refs(items: Any, path: str, errors: list[str]) -> tuple[PluginRef, ...]:
    out = []
    for i, item in enumerate(items or ()):
        if not isinstance(item, Mapping) or not item.get("name"):
            errors.append(f"{path}[{i}].name: Required value")
            continue
        weight = item.get("weight") or 0
        if not isinstance(weight, int) or isinstance(weight, bool):
            errors.append(f"{path}[{i}].weight: Invalid value: {weight!r}: must be an integer")
            weight = 0
        out.append(PluginRef(name=str(item["name"]), weight=weight))
    return tuple(out)


def _plugins(data: Any, path: str, errors: list[str]) -> Plugins:
    sets: dict[str, PluginSet] = {}
    for key, value in (data or {}).items():
        if key not in (*EXTENSION_POINTS, "multiPoint"):
            errors.append(f"{path}.{key}: unknown extension point")
            continue
        sets[_snake(key)] = PluginSet(
            enabled=_plugin_refs((value or {}).get("enabled"), f"{path}.{key}.enabled", errors),
            disabled=_plugin_refs((value or {}).get("disabled"), f"{path}.{key}.disabled",
                                  errors))
    return Plugins(**sets)


def _profile(data: Any, path: str, errors: list[str]) -> Profile:
    data = data or {}
    _unknown_fields(data, _PROFILE_FIELDS, f"{path}.", errors)
    plugin_config: dict[str, Mapping[str, Any]] = {}
    for i, item in enumerate(data.get("pluginConfig") or ()):
        name = (item or {}).get("name")
        if not name:
            errors.append(f"{path}.pluginConfig[{i}].name: Required value")
        elif name in plugin_config:
            errors.append(f"{path}.pluginConfig[{i}]: Duplicate value: {name!r}")
        else:
            args = dict(item.get("args") or {})
            args.pop("apiVersion", None)
            args.pop("kind", None)
            plugin_config[name] = args
    return Profile(
        scheduler_name=data.get("schedulerName") or "",
        plugins=_plugins(data.get("plugins"), f"{path}.plugins", errors),
        plugin_config=plugin_config,
        percentage_of_nodes_to_score=data.get("percentageOfNodesToScore"),
    )


# --- defaults ---------------------------------------------------------------------------------


def default_plugins() -> Plugins:
    return Plugins(multi_point=PluginSet(enabled=tuple(
        PluginRef(name=n, weight=w) for n, w in DEFAULT_MULTI_POINT)))


def merge_plugin_set(default: PluginSet, custom: PluginSet) -> PluginSet:
    """`mergePluginSet`: defaults minus disabled ("*" disables all), re-configured in place,
    then the custom plug-ins that replaced nothing, in their order."""
    disabled = custom.disabled + default.disabled
    disabled_names = {p.name for p in disabled}
    custom_by_name = {p.name: i for i, p in enumerate(custom.enabled)}
    replaced: set[int] = set()
    enabled: list[PluginRef] = []
    if "*" not in disabled_names:
        for plugin in default.enabled:
            if plugin.name in disabled_names:
                continue
            if plugin.name in custom_by_name:
                index = custom_by_name[plugin.name]
                plugin = custom.enabled[index]
                replaced.add(index)
            enabled.append(plugin)
    enabled += [p for i, p in enumerate(custom.enabled) if i not in replaced]
    return PluginSet(enabled=tuple(enabled), disabled=tuple(disabled))


def merge_plugins(default: Plugins, custom: Plugins) -> Plugins:
    return Plugins(**{f.name: merge_plugin_set(getattr(default, f.name), getattr(custom, f.name))
                      for f in fields(Plugins)})


_DEFAULT_RESOURCES = ({"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1})


def _weighted_resources(resources: Any) -> list[dict[str, Any]]:
    out = [dict(r) for r in resources or _DEFAULT_RESOURCES]
    for r in out:
        if not r.get("weight"):
            r["weight"] = 1
    return out


def default_plugin_args(name: str, args: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The `<Name>Args` defaults of in-tree plug-ins; None for plug-ins without args."""
    out = dict(args or {})
    if name == "DefaultPreemption":
        out.setdefault("minCandidateNodesPercentage", 10)
        out.setdefault("minCandidateNodesAbsolute", 100)
    elif name == "InterPodAffinity":
        out.setdefault("hardPodAffinityWeight", 1)
        out.setdefault("ignorePreferredTermsOfExistingPods", False)
    elif name == "NodeResourcesFit":
        strategy = dict(out.get("scoringStrategy") or {"type": "LeastAllocated"})
        strategy.setdefault("type", "LeastAllocated")
        strategy["resources"] = _weighted_resources(strategy.get("resources"))
        out["scoringStrategy"] = strategy
        out.setdefault("ignoredResources", [])
        out.setdefault("ignoredResourceGroups", [])
    elif name == "NodeResourcesBalancedAllocation":
        out["resources"] = _weighted_resources(out.get("resources"))
    elif name == "PodTopologySpread":
        out.setdefault("defaultingType", "System")
        out.setdefault("defaultConstraints", [])
    elif name == "NodeAffinity":
        out.setdefault("addedAffinity", None)
    elif not out:
        return None
    return out


def _plugin_names(plugins: Plugins) -> list[str]:
    seen: list[str] = []
    for f in fields(Plugins):
        for p in getattr(plugins, f.name).enabled:
            if p.name not in seen:
                seen.append(p.name)
    return seen


def _defaulted_profile(profile: Profile, only_one: bool) -> Profile:
    name = profile.scheduler_name or (DEFAULT_SCHEDULER_NAME if only_one else "")
    plugins = merge_plugins(default_plugins(), profile.plugins)
    plugin_config: dict[str, Mapping[str, Any]] = {}
    for plugin_name, args in profile.plugin_config.items():
        plugin_config[plugin_name] = default_plugin_args(plugin_name, args) or {}
    for plugin_name in _plugin_names(plugins):
        if plugin_name not in plugin_config:
            args = default_plugin_args(plugin_name, None)
            if args is not None:
                plugin_config[plugin_name] = args
    return replace(profile, scheduler_name=name, plugins=plugins, plugin_config=plugin_config)


def _defaulted(cfg: SchedulerConfiguration) -> SchedulerConfiguration:
    profiles = cfg.profiles or (Profile(),)
    return replace(cfg, profiles=tuple(_defaulted_profile(p, len(profiles) == 1)
                                       for p in profiles))


# --- validation -------------------------------------------------------------------------------


def _validate(cfg: SchedulerConfiguration) -> list[str]:
    errors: list[str] = []
    _percentage(cfg.percentage_of_nodes_to_score, "percentageOfNodesToScore", errors)
    if cfg.parallelism <= 0:
        errors.append(f"parallelism: Invalid value: {cfg.parallelism}: "
                      "should be an integer value greater than zero")
    if cfg.pod_initial_backoff_seconds <= 0:
        errors.append(f"podInitialBackoffSeconds: Invalid value: "
                      f"{cfg.pod_initial_backoff_seconds}: must be greater than 0")
    if cfg.pod_max_backoff_seconds < cfg.pod_initial_backoff_seconds:
        errors.append(f"podMaxBackoffSeconds: Invalid value: {cfg.pod_max_backoff_seconds}: "
                      "must be greater than or equal to PodInitialBackoffSeconds")
    names: set[str] = set()
    first_queue_sort: list[str] | None = None
    for i, profile in enumerate(cfg.profiles):
        path = f"profiles[{i}]"
        if not profile.scheduler_name:
            errors.append(f"{path}.schedulerName: Required value")
        elif profile.scheduler_name in names:
            errors.append(f"{path}.schedulerName: Duplicate value: {profile.scheduler_name!r}")
        names.add(profile.scheduler_name)
        _percentage(profile.percentage_of_nodes_to_score, f"{path}.percentageOfNodesToScore",
                    errors)
        for name, args in profile.plugin_config.items():
            errors += [f"{path}.pluginConfig[{name}].args.{e}" for e in _validate_args(name, args)]
        queue_sort = _effective_queue_sort(profile.plugins)
        if first_queue_sort is None:
            first_queue_sort = queue_sort
        elif queue_sort != first_queue_sort:
            errors.append(f"{path}.plugins.queueSort: Invalid value: {queue_sort}: "
                          "must be the same for all profiles")
    return errors


def _effective_queue_sort(plugins: Plugins) -> list[str]:
    explicit = plugins.queue_sort.enabled_names()
    if explicit:
        return explicit
    disabled = plugins.queue_sort.disabled_names()
    return [n for n in plugins.multi_point.enabled_names()
            if n == "PrioritySort" and n not in disabled and "*" not in disabled]


def _percentage(value: Any, path: str, errors: list[str]) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        errors.append(f"{path}: Invalid value: {value!r}: not in valid range [0-100]")


_STRATEGIES = ("LeastAllocated", "MostAllocated", "RequestedToCapacityRatio")


def _validate_resources(resources: Any, path: str) -> list[str]:
    errors = []
    for i, r in enumerate(resources or ()):
        weight = r.get("weight")
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            errors.append(f"{path}[{i}].weight: Invalid value: {weight!r}: "
                          "resource weight of {} not in valid range [1, 100]".format(
                              r.get("name")))
    return errors


def _validate_args(name: str, args: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    if name == "DefaultPreemption":
        pct = args.get("minCandidateNodesPercentage")
        absolute = args.get("minCandidateNodesAbsolute")
        if not isinstance(pct, int) or not 0 <= pct <= 100:
            errors.append(f"minCandidateNodesPercentage: Invalid value: {pct!r}: "
                          "not in valid range [0, 100]")
        if not isinstance(absolute, int) or absolute < 0:
            errors.append(f"minCandidateNodesAbsolute: Invalid value: {absolute!r}: "
                          "not in valid range [0, inf)")
        if pct == 0 and absolute == 0:
            errors.append("minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the "
                          "same time as minCandidateNodesAbsolute")
    elif name == "InterPodAffinity":
        weight = args.get("hardPodAffinityWeight")
        if not isinstance(weight, int) or not 0 <= weight <= 100:
            errors.append(f"hardPodAffinityWeight: Invalid value: {weight!r}: "
                          "not in valid range [0, 100]")
    elif name == "NodeResourcesFit":
        strategy = args.get("scoringStrategy") or {}
        kind = strategy.get("type")
        if kind not in _STRATEGIES:
            errors.append(f"scoringStrategy.type: Unsupported value: {kind!r}: supported "
                          f"values: {', '.join(repr(s) for s in _STRATEGIES)}")
        errors += _validate_resources(strategy.get("resources"), "scoringStrategy.resources")
        if kind == "RequestedToCapacityRatio":
            shape = (strategy.get("requestedToCapacityRatio") or {}).get("shape") or []
            errors += [f"scoringStrategy.requestedToCapacityRatio.{e}" for e in _shape(shape)]
    elif name == "NodeResourcesBalancedAllocation":
        errors += _validate_resources(args.get("resources"), "resources")
    elif name == "PodTopologySpread":
        errors += _validate_spread_args(args)
    return errors


def _shape(shape: list[Any]) -> list[str]:
    if not shape:
        return ["shape: Required value: at least one point must be specified"]
    errors = []
    for i, point in enumerate(shape):
        utilization, score = point.get("utilization"), point.get("score")
        if not isinstance(utilization, int) or not 0 <= utilization <= 100:
            errors.append(f"shape[{i}].utilization: Invalid value: {utilization!r}: "
                          "not in valid range [0, 100]")
        elif i > 0 and utilization <= (shape[i - 1].get("utilization") or 0):
            errors.append(f"shape[{i}].utilization: Invalid value: {utilization}: "
                          "utilization values must be sorted in increasing order")
        if not isinstance(score, int) or not 0 <= score <= 10:
            errors.append(f"shape[{i}].score: Invalid value: {score!r}: "
                          "not in valid range [0, 10]")
    return errors


def _validate_spread_args(args: Mapping[str, Any]) -> list[str]:
    errors = []
    defaulting = args.get("defaultingType")
    constraints = args.get("defaultConstraints") or []
    if defaulting not in ("System", "List"):
        errors.append(f"defaultingType: Unsupported value: {defaulting!r}: "
                      "supported values: \"List\", \"System\"")
    if defaulting == "System" and constraints:
        errors.append("defaultingType: Invalid value: \"System\": when .defaultConstraints "
                      "are not empty")
    seen = set()
    for i, c in enumerate(constraints):
        path = f"defaultConstraints[{i}]"
        if not isinstance(c.get("maxSkew"), int) or c["maxSkew"] <= 0:
            errors.append(f"{path}.maxSkew: Invalid value: {c.get('maxSkew')!r}: "
                          "must be greater than zero")
        if not c.get("topologyKey"):
            errors.append(f"{path}.topologyKey: Required value: can not be empty")
        action = c.get("whenUnsatisfiable")
        if action not in ("DoNotSchedule", "ScheduleAnyway"):
            errors.append(f"{path}.whenUnsatisfiable: Unsupported value: {action!r}: supported "
                          "values: \"DoNotSchedule\", \"ScheduleAnyway\"")
        if (c.get("topologyKey"), action) in seen:
            errors.append(f"{path}: Duplicate value: {{{c.get('topologyKey')!r}, {action!r}}}")
        seen.add((c.get("topologyKey"), action))
        if c.get("labelSelector") is not None:
            errors.append(f"{path}.labelSelector: Forbidden: constraint must not define a "
                          "selector, as they deduced for each pod")
    return errors

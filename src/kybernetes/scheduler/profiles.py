"""Frameworks from configuration: one per profile, keyed by schedulerName.

    cfg = load_config(text)
    frameworks = build_frameworks(cfg, binder=post_binding)
    framework = frameworks[pod["spec"].get("schedulerName") or "default-scheduler"]

All frameworks share one RNG and one round-robin node cursor, as upstream's
profiles share the scheduler's. Extra (out-of-tree) plug-ins are merged into
the in-tree registry with `registry=`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from kybernetes.scheduler.config import SchedulerConfiguration
from kybernetes.scheduler.errors import ConfigError
from kybernetes.scheduler.framework.interface import PodNominator
from kybernetes.scheduler.framework.runtime import Binder, Framework, NodeCursor, PluginFactory
from kybernetes.scheduler.plugins import in_tree_registry


def build_frameworks(
    config: SchedulerConfiguration,
    *,
    registry: Mapping[str, PluginFactory] | None = None,
    binder: Binder | None = None,
    nominator: PodNominator | None = None,
    rng: random.Random | None = None,
) -> dict[str, Framework]:
    """A Framework per profile of a validated configuration (see `config.load_config`)."""
    plugins = in_tree_registry()
    plugins.update(registry or {})
    rng = rng or random.Random()
    cursor = NodeCursor()
    out: dict[str, Framework] = {}
    for profile in config.profiles:
        if profile.scheduler_name in out:
            raise ConfigError([f"duplicate profile with scheduler name "
                               f"{profile.scheduler_name!r}"])
        out[profile.scheduler_name] = Framework(
            profile, plugins,
            percentage_of_nodes_to_score=config.percentage_of_nodes_to_score,
            binder=binder, rng=rng, cursor=cursor, nominator=nominator)
    return out

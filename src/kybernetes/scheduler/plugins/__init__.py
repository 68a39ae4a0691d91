"""In-tree plug-ins, one small module each, and the registry that names them.

    module                  plug-in                          extension points
    prioritysort            PrioritySort                     QueueSort
    schedulinggates         SchedulingGates                  PreEnqueue
    nodeunschedulable       NodeUnschedulable                Filter
    nodename                NodeName                         Filter
    nodeports               NodePorts                        PreFilter, Filter
    noderesources_fit       NodeResourcesFit                 PreFilter, Filter, PreScore, Score
    balanced_allocation     NodeResourcesBalancedAllocation  PreScore, Score
    tainttoleration         TaintToleration                  Filter, PreScore, Score
    nodeaffinity            NodeAffinity                     PreFilter, Filter, PreScore, Score
    interpodaffinity        InterPodAffinity                 PreFilter, Filter, PreScore, Score
    podtopologyspread       PodTopologySpread                PreFilter, Filter, PreScore, Score
    imagelocality           ImageLocality                    Score
    defaultpreemption       DefaultPreemption                PostFilter
    defaultbinder           DefaultBinder                    Bind

Each module has a `new(args, handle)` factory: `args` is the plug-in's
(defaulted) pluginConfig args as a dict, `handle` the framework.
"""

from __future__ import annotations

from kybernetes.scheduler.framework.runtime import PluginFactory
from kybernetes.scheduler.plugins import (
    balanced_allocation,
    defaultbinder,
    defaultpreemption,
    imagelocality,
    interpodaffinity,
    names,
    nodeaffinity,
    nodename,
    nodeports,
    noderesources_fit,
    nodeunschedulable,
    podtopologyspread,
    prioritysort,
    schedulinggates,
    tainttoleration,
)


def in_tree_registry() -> dict[str, PluginFactory]:
    """Plug-in name -> factory for every in-tree plug-in (`plugins.NewInTreeRegistry`)."""
    return {
        names.PRIORITY_SORT: prioritysort.new,
        names.SCHEDULING_GATES: schedulinggates.new,
        names.NODE_UNSCHEDULABLE: nodeunschedulable.new,
        names.NODE_NAME: nodename.new,
        names.NODE_PORTS: nodeports.new,
        names.NODE_RESOURCES_FIT: noderesources_fit.new,
        names.NODE_RESOURCES_BALANCED_ALLOCATION: balanced_allocation.new,
        names.TAINT_TOLERATION: tainttoleration.new,
        names.NODE_AFFINITY: nodeaffinity.new,
        names.INTER_POD_AFFINITY: interpodaffinity.new,
        names.POD_TOPOLOGY_SPREAD: podtopologyspread.new,
        names.IMAGE_LOCALITY: imagelocality.new,
        names.DEFAULT_PREEMPTION: defaultpreemption.new,
        names.DEFAULT_BINDER: defaultbinder.new,
    }


__all__ = ["in_tree_registry", "names"]

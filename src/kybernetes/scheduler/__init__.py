"""kybernetes.scheduler: kube-scheduler (queue, framework, in-tree plug-ins, binding).

The pure core, no I/O; a scheduler process wires it to informers and the API:

    cfg = load_config(yaml_text)                       # KubeSchedulerConfiguration v1
    frameworks = build_frameworks(cfg, binder=bind)    # schedulerName -> Framework
    queue = SchedulingQueue.from_frameworks(frameworks, clock=time.monotonic,
                                            initial_backoff=cfg.pod_initial_backoff_seconds,
                                            max_backoff=cfg.pod_max_backoff_seconds)
    queue.add(pod)                                     # informer: unscheduled pod added
    queue.on_node_add(node) / on_assigned_pod_delete(pod) / ...   # cluster events
    queue.flush()                                      # about once a second

    qpi = queue.pop()
    fw = frameworks[qpi.pod_info.spec.get("schedulerName") or "default-scheduler"]
    result = schedule_one(qpi.pod_info, Snapshot.from_objects(nodes, pods), fw)
    if isinstance(result, FitError):
        qpi.unschedulable_plugins = frozenset(result.diagnosis.unschedulable_plugins)
        queue.add_unschedulable_if_not_present(qpi)
        queue.add_nominated_pod(qpi.pod_info, result.nominating_info)
        # PodScheduled=False, reason Unschedulable, message result.message;
        # delete result.post_filter_result.victims; set status.nominatedNodeName
    else:
        # assume the pod on result.suggested_host, then reserve_and_permit(...)
        # and run_binding_cycle(...) in a task

Modules: `framework` (interfaces and runtime), `plugins` (in-tree plug-ins),
`queue` (SchedulingQueue), `schedule_one` (the algorithm), `config`
(KubeSchedulerConfiguration), `profiles` (frameworks from config),
`errors` (exception tree).

The process around that core (imported from its modules, not from here, so the
core stays free of I/O):

    from kybernetes.scheduler.app import run_scheduler
    await run_scheduler(client, config=cfg, leader_elect=True, metrics_port=None)

`app` (SchedulerApp: informers, Lease kube-system/kube-scheduler, HTTP endpoint;
what `kyb scheduler` runs), `scheduler` (Scheduler: the loop, binding cycle,
failure handling, preemption's API calls; ClusterAPI/ClientAPI), `eventhandlers`
(informer events -> cache and queue), `cache` (SchedulerCache: nodes, pods,
assumed pods, snapshots), `metrics` (Prometheus metrics, /metrics and /healthz).
"""

from kybernetes.scheduler.config import SchedulerConfiguration, load_config
from kybernetes.scheduler.errors import ConfigError, SchedulerError, SchedulingError
from kybernetes.scheduler.framework import FitError, Framework, PodInfo, Snapshot, Status
from kybernetes.scheduler.profiles import build_frameworks
from kybernetes.scheduler.queue import SchedulingQueue
from kybernetes.scheduler.schedule_one import (
    ScheduleResult,
    reserve_and_permit,
    run_binding_cycle,
    schedule_one,
)

__all__ = [
    "ConfigError", "FitError", "Framework", "PodInfo", "ScheduleResult", "SchedulerConfiguration",
    "SchedulerError", "SchedulingError", "SchedulingQueue", "Snapshot", "Status",
    "build_frameworks", "load_config", "reserve_and_permit", "run_binding_cycle", "schedule_one",
]

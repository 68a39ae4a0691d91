"""The DaemonSet controller: one pod on every eligible node (upstream
pkg/controller/daemon, v1.32).

A node is eligible when the DaemonSet's pod would fit it: `spec.nodeName`
(if set), nodeSelector and required node affinity, and every NoSchedule or
NoExecute taint tolerated, counting the tolerations every daemon pod gets
(not-ready and unreachable NoExecute; disk-, memory-, pid-pressure and
unschedulable NoSchedule; network-unavailable for hostNetwork pods). A pod
already on a node whose NoSchedule taints it does not tolerate keeps
running; an untolerated NoExecute taint removes it.

Pods are not bound by the controller: each is pinned to its node by a
required node affinity term `matchFields metadata.name In [<node>]` (replacing
any required terms of the template) and the scheduler binds it. An unbound
pod whose node is gone is deleted here; a bound one is the pod GC's.

A sync (`reconcile`): adopt pods and ControllerRevisions; find or create the
revision of the current template (its hash is the pods'
`controller-revision-hash` label); per node create the missing pod or delete
failed (with back-off), surplus and misplaced ones; then, if no creation or
deletion is still in flight, roll out: RollingUpdate with maxUnavailable
(delete old pods, the next sync creates new ones) or with maxSurge (create the
new pod first, delete the old once the new is available); OnDelete waits for
the user. Old revisions beyond revisionHistoryLimit that no pod uses go.
Last, the status counts.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.client import (
    WARNING,
    is_already_exists,
    is_not_found,
    meta_namespace_key,
    object_of,
)
from kybernetes.controllers._nodes import (
    add_or_update_toleration,
    required_affinity_matches,
    untolerated_taint,
)
from kybernetes.controllers._workloads import (
    DAEMONSETS,
    NODES,
    POD_CONTROLLER_INDEX,
    PODS,
    REVISIONS,
    Expectations,
    PodControl,
    claim,
    controller_ref,
    controller_uid,
    deleting,
    labels,
    meta,
    new_controller_ref,
    owner_key,
    parse_time,
    phase,
    pod_available,
    pod_from_template,
    pod_ready,
    recheck_owner,
    scaled_value,
    uid,
    update_status,
)
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.controller_utils import compute_hash
from kybernetes.controllers.history import sort_revisions, template_patch
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
BURST_REPLICAS = 250
FAILED_POD_BACKOFF_INITIAL = 1.0
FAILED_POD_BACKOFF_MAX = 15 * 60.0

# AddOrUpdateDaemonPodTolerations: daemons survive node trouble and cordons.
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
NETWORK_UNAVAILABLE_TOLERATION = {"key": "node.kubernetes.io/network-unavailable",
                                  "operator": "Exists", "effect": "NoSchedule"}


# --- pure: eligibility -----------------------------------------------------------------


def add_daemon_tolerations(pod_spec: Obj) -> None:
    for toleration in DAEMON_TOLERATIONS:
        add_or_update_toleration(pod_spec, toleration)
    if pod_spec.get("hostNetwork"):
        add_or_update_toleration(pod_spec, NETWORK_UNAVAILABLE_TOLERATION)


def daemon_pod_spec(ds: Obj) -> Obj:
    """The spec of the pod the DaemonSet would run (NewPod): template + tolerations."""
    spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    add_daemon_tolerations(spec)
    return spec


def node_should_run(node: Obj, ds: Obj, pod_spec: Obj | None = None) -> tuple[bool, bool]:
    """NodeShouldRunDaemonPod: (should a daemon pod be created on the node, may one
    already there keep running)."""
    spec = daemon_pod_spec(ds) if pod_spec is None else pod_spec
    name = (node.get("metadata") or {}).get("name") or ""
    if spec.get("nodeName") and spec["nodeName"] != name:
        return False, False
    if not required_affinity_matches(spec, node):
        return False, False
    taints = list((node.get("spec") or {}).get("taints") or ())
    tolerations = list(spec.get("tolerations") or ())
    if untolerated_taint(taints, tolerations,
                         lambda t: t.get("effect") in ("NoSchedule", "NoExecute")) is None:
        return True, True
    no_execute = untolerated_taint(taints, tolerations, lambda t: t.get("effect") == "NoExecute")
    return False, no_execute is None


def target_node_name(pod: Obj) -> str | None:
    """util.GetTargetNodeName: spec.nodeName, else the node the affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for req in term.get("matchFields") or ():
            values = req.get("values") or ()
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(
                    values) == 1:
                return str(values[0])
    return None


def pin_to_node(affinity: Obj | None, node_name: str) -> Obj:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes the
    one term `metadata.name In [node]`; preferred terms and pod (anti-)affinity stay."""
    affinity = copy.deepcopy(affinity) if affinity else {}
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    return affinity


def template_generation(ds: Obj) -> str | None:
    value = (meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    return str(value) if value is not None else None


def pod_updated(pod: Obj, hash_: str, generation: str | None) -> bool:
    """util.IsPodUpdated: the pod carries the current hash (or template generation)."""
    pod_labels = labels(pod)
    return bool(hash_ and pod_labels.get(REVISION_HASH_LABEL) == hash_) or (
        generation is not None and pod_labels.get(TEMPLATE_GENERATION_LABEL) == generation)


def creation_order(pod: Obj) -> tuple[int, float, str]:
    """podByCreationTimestampAndPhase: scheduled first, then oldest, then by name."""
    created = parse_time(meta(pod).get("creationTimestamp"))
    return (0 if (pod.get("spec") or {}).get("nodeName") else 1,
            created.timestamp() if created else 0.0, meta(pod).get("name") or "")


# --- pure: what to do on one node ------------------------------------------------------


@dataclass
class NodePlan:
    create: bool = False
    delete: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)  # to delete unless backing off


def plan_node(node: Obj, pods: list[Obj] | None, ds: Obj, hash_: str, now: datetime,
              pod_spec: Obj | None = None) -> NodePlan:
    """podsShouldBeOnNode, without the failed-pod back-off (the caller's)."""
    should_run, should_continue = node_should_run(node, ds, pod_spec)
    plan = NodePlan()
    if should_run and pods is None:
        plan.create = True
    elif should_continue:
        running = []
        for pod in pods or ():
            if deleting(pod):
                continue
            if phase(pod) == "Failed":
                plan.failed.append(pod)
            elif phase(pod) == "Succeeded":
                plan.delete.append(pod)
            else:
                running.append(pod)
        _prune(plan, running, ds, hash_, now, should_run)
    elif pods:
        plan.delete = [p for p in pods if not deleting(p)]
    return plan


def allows_surge(ds: Obj) -> bool:
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return False
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge")
    return scaled_value(surge, 1, round_up=True) > 0 if surge is not None else False


def _prune(plan: NodePlan, running: list[Obj], ds: Obj, hash_: str, now: datetime,
           should_run: bool) -> None:
    """Surplus pods: without surge keep the oldest; with surge keep the oldest new pod
    and the oldest old pod while the new one is not available yet."""
    running.sort(key=creation_order)
    if not allows_surge(ds):
        plan.delete += running[1:]
        return
    if len(running) <= 1:
        plan.create = plan.create or (not running and should_run)
        return
    generation = template_generation(ds)
    oldest_new = oldest_old = None
    for pod in running:
        if pod_updated(pod, hash_, generation):
            if oldest_new is None:
                oldest_new = pod
                continue
        elif oldest_old is None:
            oldest_old = pod
            continue
        plan.delete.append(pod)
    if oldest_new is not None and oldest_old is not None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if not pod_ready(oldest_old) or pod_available(oldest_new, min_ready, now):
            plan.delete.append(oldest_old)


# --- pure: rolling update --------------------------------------------------------------


def updated_and_old(pods: list[Obj], hash_: str, generation: str | None
                    ) -> tuple[Obj | None, Obj | None, bool]:
    """findUpdatedPodsOnNode: at most one new and one old pod (not being deleted);
    False when there are more (the manage loop prunes them first)."""
    new = old = None
    for pod in pods:
        if deleting(pod):
            continue
        if pod_updated(pod, hash_, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def max_surge_and_unavailable(ds: Obj, desired: int) -> tuple[int, int]:
    ru = (((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})
    surge = scaled_value(ru.get("maxSurge", 0), desired, round_up=True)
    unavailable = scaled_value(ru.get("maxUnavailable", 1), desired, round_up=True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1  # an impossible configuration falls back to one at a time
    return surge, unavailable


def rolling_update_unavailable(by_node: dict[str, list[Obj]], ds: Obj, hash_: str,
                               max_unavailable: int, now: datetime) -> list[Obj]:
    """Without surge: old pods to delete while staying within maxUnavailable (the
    manage loop then creates their replacements)."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    unavailable, replace, candidates = 0, [], []
    for node_name in sorted(by_node):
        new, old, ok = updated_and_old(by_node[node_name], hash_, generation)
        if not ok or (new is None) == (old is None):
            unavailable += 1  # nothing yet, or both: the manage loop's business
        elif new is not None:
            unavailable += 0 if pod_available(new, min_ready, now) else 1
        elif not pod_available(old, min_ready, now):  # type: ignore[arg-type]
            replace.append(old)
            unavailable += 1
        elif unavailable < max_unavailable:
            candidates.append(old)
    room = max(0, min(max_unavailable - unavailable, len(candidates)))
    return replace + candidates[:room]


def rolling_update_surge(by_node: dict[str, list[Obj]], nodes: dict[str, Obj], ds: Obj,
                         hash_: str, max_surge: int, desired: int, now: datetime
                         ) -> tuple[list[Obj], list[str]]:
    """With surge: (old pods to delete, nodes to create a new pod on). A new pod
    starts beside an old one (at most maxSurge at a time, at once where the old one
    is unavailable); the old one goes when the new is available."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    to_delete, not_run_delete, candidates, allowed = [], [], [], []
    surging = available = 0
    for node_name in sorted(by_node):
        new, old, ok = updated_and_old(by_node[node_name], hash_, generation)
        if not ok:
            surging += 1
            continue
        current = old if old is not None else new
        if current is not None and pod_available(current, min_ready, now):
            available += 1
        node = nodes.get(node_name)
        should_run = node is not None and node_should_run(node, ds)[0]
        if old is None:
            continue
        if new is None:
            if not pod_available(old, min_ready, now):
                if should_run:
                    allowed.append(node_name)  # replace an unavailable pod at once
                else:
                    to_delete.append(old)
            elif not should_run:
                not_run_delete.append(old)
            elif surging < max_surge:
                candidates.append(node_name)
        elif not pod_available(new, min_ready, now):
            surging += 1
        else:
            to_delete.append(old)
    # Only delete pods on nodes that no longer qualify as new pods become available.
    spare = max(0, min(available - desired, len(not_run_delete)))
    to_delete += not_run_delete[:spare]
    room = max(0, min(max_surge - surging, len(candidates)))
    return to_delete, allowed + candidates[:room]


# --- pure: status ----------------------------------------------------------------------


def daemonset_status(ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]], hash_: str,
                     now: datetime) -> Obj:
    """The counters of updateDaemonSetStatus."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    spec = daemon_pod_spec(ds)
    desired = current = misscheduled = ready = updated = available = 0
    for node in nodes:
        pods = by_node.get(meta(node).get("name") or "") or []
        if node_should_run(node, ds, spec)[0]:
            desired += 1
            if not pods:
                continue
            current += 1
            pod = sorted(pods, key=creation_order)[0]
            if pod_ready(pod):
                ready += 1
                available += 1 if pod_available(pod, min_ready, now) else 0
            updated += 1 if pod_updated(pod, hash_, generation) else 0
        elif pods:
            misscheduled += 1
    return {"desiredNumberScheduled": desired, "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled, "numberReady": ready,
            "updatedNumberScheduled": updated, "numberAvailable": available,
            "numberUnavailable": desired - available}


class _Backoff:
    """flowcontrol.Backoff for failed daemon pods, keyed `<ds uid>/<node>`."""

    def __init__(self, initial: float, cap: float) -> None:
        self.initial, self.cap = initial, cap
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (delay, last update)

    def in_backoff(self, key: str, now: float) -> bool:
        entry = self._entries.get(key)
        return entry is not None and now - entry[1] < entry[0]

    def delay(self, key: str) -> float:
        return self._entries.get(key, (0.0, 0.0))[0]

    def next(self, key: str, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or now - entry[1] > 2 * self.cap:
            self._entries[key] = (self.initial, now)
        else:
            self._entries[key] = (min(entry[0] * 2, self.cap), now)


# --- the controller --------------------------------------------------------------------


@register("daemonset")
class DaemonSetController(ReconcileController):
    name = "daemonset"
    workers = 2  # upstream's --concurrent-daemonset-syncs default

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.pods = ctx.informers.informer(PODS, indexers={POD_CONTROLLER_INDEX: controller_uid})
        self.nodes = ctx.informers.informer(NODES)
        self.daemonsets = ctx.informers.informer(DAEMONSETS)
        self.revisions = ctx.informers.informer(REVISIONS)
        self.expectations = Expectations(ctx.clock.now)
        self.failed_backoff = _Backoff(FAILED_POD_BACKOFF_INITIAL, FAILED_POD_BACKOFF_MAX)
        self.pod_control = PodControl(self.client, self.recorder)
        self.daemonsets.add_event_handler(**self.handlers())
        self.revisions.add_event_handler(**self.handlers(lambda r: owner_key(r, "DaemonSet")))
        self.pods.add_event_handler(on_add=self._pod_added, on_update=self._pod_updated,
                                    on_delete=self._pod_deleted)
        self.nodes.add_event_handler(on_add=self._node_added, on_update=self._node_updated,
                                     on_delete=lambda obj: self._enqueue_all())

    def _now(self) -> datetime:
        return self.ctx.clock.wall()

    # --- handlers ----------------------------------------------------------------------------

    def _enqueue_all(self) -> None:
        for ds in self.daemonsets.store.list():
            self.enqueue(ds)

    def _owner(self, pod: Obj) -> Obj | None:
        key = owner_key(pod, "DaemonSet")
        ds = self.daemonsets.store.get(key) if key else None
        ref = controller_ref(pod)
        return ds if ds is not None and ref is not None and ref.get("uid") == uid(ds) else None

    def _selecting(self, pod: Obj) -> list[Obj]:
        out = []
        for ds in self.daemonsets.store.list_namespace(meta(pod).get("namespace") or ""):
            try:
                if label_selector_from_dict((ds.get("spec") or {}).get("selector")).matches(
                        labels(pod)):
                    out.append(ds)
            except Exception:
                continue
        return out

    def _pod_added(self, pod: Obj) -> None:
        if deleting(pod):
            self._pod_deleted(pod)
            return
        ds = self._owner(pod)
        if ds is not None:
            self.expectations.creation_observed(meta_namespace_key(ds))
            self.enqueue(ds)
        elif controller_ref(pod) is None:
            for ds in self._selecting(pod):
                self.enqueue(ds)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        if controller_ref(old) != controller_ref(new) and (prev := self._owner(old)):
            self.enqueue(prev)
        ds = self._owner(new)
        if ds is not None:
            self.enqueue(ds)
        elif controller_ref(new) is None and (labels(old) != labels(new)
                                              or controller_ref(old) is not None):
            for ds in self._selecting(new):
                self.enqueue(ds)

    def _pod_deleted(self, obj: Any) -> None:
        pod = object_of(obj)
        ds = self._owner(pod)
        if ds is not None:
            self.expectations.deletion_observed(meta_namespace_key(ds))
            self.enqueue(ds)

    def _node_added(self, node: Obj) -> None:
        for ds in self.daemonsets.store.list():
            if node_should_run(node, ds)[0]:
                self.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _same_node(old, new):
            return
        for ds in self.daemonsets.store.list():
            if node_should_run(old, ds) != node_should_run(new, ds):
                self.enqueue(ds)

    # --- reconcile ---------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        ds = self.daemonsets.store.get(key)
        if ds is None:
            self.expectations.forget(key)
            return
        if (ds.get("spec") or {}).get("selector") == {}:
            self.recorder.event(ds, WARNING, "SelectingAll", "This daemon set is selecting all "
                                "pods. A non-empty selector is required.")
            return
        if deleting(ds):
            return  # its history may be half gone: the status cannot be trusted
        nodes = self.nodes.store.list()
        current, old = await self._construct_history(ds)
        hash_ = labels(current).get(REVISION_HASH_LABEL, "")
        if not self.expectations.satisfied(key):
            await self._update_status(ds, nodes, hash_, observe_generation=False)
            return
        error: Exception | None = None
        try:
            await self._update(ds, nodes, hash_, old)
        except Exception as err:
            error = err
        await self._update_status(ds, nodes, hash_, observe_generation=True)
        if error is not None:
            raise error

    async def _daemon_pods(self, ds: Obj) -> list[Obj]:
        selector = label_selector_from_dict((ds.get("spec") or {}).get("selector"))
        return await claim(self.client, PODS, ds, new_controller_ref(ds, "apps/v1", "DaemonSet"),
                           selector, self.pods.store.list_namespace(meta(ds).get("namespace")),
                           can_adopt=recheck_owner(self.client, DAEMONSETS, ds))

    async def _pods_by_node(self, ds: Obj, *, include_deleted_terminal: bool = False
                            ) -> dict[str, list[Obj]]:
        """getNodesToDaemonPods: the claimed pods by target node."""
        out: dict[str, list[Obj]] = {}
        for pod in await self._daemon_pods(ds):
            if not include_deleted_terminal and deleting(pod) and phase(pod) in (
                    "Succeeded", "Failed"):
                continue
            node = target_node_name(pod)
            if node is not None:
                out.setdefault(node, []).append(pod)
        return out

    async def _update(self, ds: Obj, nodes: list[Obj], hash_: str, old: list[Obj]) -> None:
        key = meta_namespace_key(ds)
        await self._manage(ds, nodes, hash_)
        if self.expectations.satisfied(key):
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get(
                "type", "RollingUpdate")
            if strategy == "RollingUpdate":
                await self._rolling_update(ds, nodes, hash_)
        await self._cleanup_history(ds, old)

    async def _manage(self, ds: Obj, nodes: list[Obj], hash_: str) -> None:
        by_node = await self._pods_by_node(ds)
        spec = daemon_pod_spec(ds)
        now, mono = self._now(), self.ctx.clock.now()
        create: list[str] = []
        delete: list[Obj] = []
        for node in nodes:
            name = meta(node).get("name") or ""
            plan = plan_node(node, by_node.get(name), ds, hash_, now, spec)
            if plan.create:
                create.append(name)
            delete += plan.delete
            delete += self._failed_to_delete(ds, name, plan.failed, mono)
        existing = {meta(n).get("name") for n in nodes}
        for name, pods in by_node.items():
            if name not in existing:  # never scheduled, so the pod GC will not see them
                delete += [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
        await self._sync_nodes(ds, delete, create, hash_)

    def _failed_to_delete(self, ds: Obj, node: str, failed: list[Obj], mono: float
                          ) -> list[Obj]:
        out = []
        key = f"{uid(ds)}/{node}"
        for pod in failed:
            # The kubelet may be rejecting the pod over and over: back off.
            if self.failed_backoff.in_backoff(key, mono):
                self.enqueue_after(ds, self.failed_backoff.delay(key))
                continue
            self.failed_backoff.next(key, mono)
            self.recorder.event(ds, WARNING, "FailedDaemonPod",
                                f"Found failed daemon pod {meta(pod).get('namespace')}/"
                                f"{meta(pod).get('name')} on node {node}, will try to kill it")
            out.append(pod)
        return out

    async def _sync_nodes(self, ds: Obj, delete: list[Obj], create: list[str], hash_: str
                          ) -> None:
        """syncNodes: set expectations, create (slow start) and delete in parallel."""
        key = meta_namespace_key(ds)
        create, delete = create[:BURST_REPLICAS], delete[:BURST_REPLICAS]
        self.expectations.expect(key, adds=len(create), dels=len(delete))
        template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
        add_daemon_tolerations(template.setdefault("spec", {}))
        tlabels = template.setdefault("metadata", {}).setdefault("labels", {})
        if (generation := template_generation(ds)) is not None:
            tlabels[TEMPLATE_GENERATION_LABEL] = generation
        if hash_:
            tlabels[REVISION_HASH_LABEL] = hash_
        errors = await self._create_on(ds, template, create)
        errors += await self._delete_pods(ds, delete)
        if errors:
            raise errors[0]

    async def _create_on(self, ds: Obj, template: Obj, node_names: list[str]) -> list[Exception]:
        key = meta_namespace_key(ds)
        ref = new_controller_ref(ds, "apps/v1", "DaemonSet")
        errors: list[Exception] = []
        batch, todo = 1, list(node_names)
        while todo:
            chunk, todo = todo[:batch], todo[batch:]

            async def one(node_name: str) -> None:
                tmpl = copy.deepcopy(template)
                tmpl["spec"]["affinity"] = pin_to_node(tmpl["spec"].get("affinity"), node_name)
                await self.pod_control.create(ds, pod_from_template(tmpl, ds, ref))

            results = await asyncio.gather(*(one(n) for n in chunk), return_exceptions=True)
            failed = [r for r in results if isinstance(r, Exception)]
            for _ in failed:
                self.expectations.creation_observed(key)
            errors += failed
            if failed:
                for _ in todo:  # skipped: not expected
                    self.expectations.creation_observed(key)
                break
            batch *= 2
        return errors

    async def _delete_pods(self, ds: Obj, pods: list[Obj]) -> list[Exception]:
        key = meta_namespace_key(ds)
        results = await asyncio.gather(*(self.pod_control.delete(ds, p) for p in pods),
                                       return_exceptions=True)
        errors = []
        for result in results:
            if isinstance(result, Exception) or result is False:
                self.expectations.deletion_observed(key)
            if isinstance(result, Exception) and not is_not_found(result):
                errors.append(result)
        return errors

    async def _rolling_update(self, ds: Obj, nodes: list[Obj], hash_: str) -> None:
        by_node = await self._pods_by_node(ds)
        spec = daemon_pod_spec(ds)
        desired = 0
        for node in nodes:
            if node_should_run(node, ds, spec)[0]:
                desired += 1
                by_node.setdefault(meta(node).get("name") or "", [])
        surge, unavailable = max_surge_and_unavailable(ds, desired)
        now = self._now()
        if surge == 0:
            delete = rolling_update_unavailable(by_node, ds, hash_, unavailable, now)
            await self._sync_nodes(ds, delete, [], hash_)
            return
        by_name = {meta(n).get("name") or "": n for n in nodes}
        delete, create = rolling_update_surge(by_node, by_name, ds, hash_, surge, desired, now)
        await self._sync_nodes(ds, delete, create, hash_)

    # --- history -----------------------------------------------------------------------------

    async def _construct_history(self, ds: Obj) -> tuple[Obj, list[Obj]]:
        """constructHistory: (the revision of the current template, the others)."""
        selector = label_selector_from_dict((ds.get("spec") or {}).get("selector"))
        revisions = await claim(self.client, REVISIONS, ds,
                                new_controller_ref(ds, "apps/v1", "DaemonSet"), selector,
                                self.revisions.store.list_namespace(meta(ds).get("namespace")),
                                can_adopt=recheck_owner(self.client, DAEMONSETS, ds))
        want = template_patch(ds)
        current, old = [], []
        for rev in revisions:
            if REVISION_HASH_LABEL not in labels(rev):
                rev = copy.deepcopy(rev)
                rev["metadata"].setdefault("labels", {})[REVISION_HASH_LABEL] = meta(rev)["name"]
                rev = await self.client.update(REVISIONS, rev)
            (current if (rev.get("data") or {}) == want else old).append(rev)
        number = max((int(r.get("revision") or 0) for r in old), default=0) + 1
        if not current:
            return await self._snapshot(ds, number), old
        cur = await self._dedup(ds, current)
        if int(cur.get("revision") or 0) < number:
            cur = copy.deepcopy(cur)
            cur["revision"] = number
            cur = await self.client.update(REVISIONS, cur)
        return cur, old

    async def _snapshot(self, ds: Obj, number: int) -> Obj:
        collision = (ds.get("status") or {}).get("collisionCount")
        hash_ = compute_hash((ds.get("spec") or {}).get("template") or {}, collision)
        tmpl_labels = dict((((ds.get("spec") or {}).get("template") or {}).get("metadata")
                            or {}).get("labels") or {})
        tmpl_labels[REVISION_HASH_LABEL] = hash_
        rev_meta: Obj = {"name": f"{meta(ds)['name']}-{hash_}",
                         "namespace": meta(ds).get("namespace"), "labels": tmpl_labels,
                         "ownerReferences": [new_controller_ref(ds, "apps/v1", "DaemonSet")]}
        if meta(ds).get("annotations"):
            rev_meta["annotations"] = dict(meta(ds)["annotations"])
        body = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
                "data": template_patch(ds), "revision": number}
        try:
            return await self.client.create(REVISIONS, body)
        except Exception as err:
            if not is_already_exists(err):
                raise
            existing = await self.client.get(REVISIONS, rev_meta["name"],
                                             namespace=rev_meta["namespace"])
            if (existing.get("data") or {}) == body["data"]:
                return existing
            await self._bump_collision_count(ds)
            raise

    async def _bump_collision_count(self, ds: Obj) -> None:
        fresh = await self.client.get(DAEMONSETS, meta(ds)["name"],
                                      namespace=meta(ds).get("namespace"))
        seen = (ds.get("status") or {}).get("collisionCount")
        if (fresh.get("status") or {}).get("collisionCount") != seen:
            return  # ours was stale: the retry uses the fresh count
        fresh.setdefault("status", {})["collisionCount"] = int(seen or 0) + 1
        await self.client.update(DAEMONSETS, fresh, subresource="status")

    async def _dedup(self, ds: Obj, current: list[Obj]) -> Obj:
        """dedupCurHistories: keep the highest revision, relabel pods, delete the rest."""
        keep = sort_revisions(current)[-1]
        keep_hash = labels(keep).get(REVISION_HASH_LABEL)
        for rev in current:
            if meta(rev)["name"] == meta(keep)["name"]:
                continue
            for pod in await self._daemon_pods(ds):
                if labels(pod).get(REVISION_HASH_LABEL) != keep_hash:
                    await self.client.patch(PODS, meta(pod)["name"],
                                            {"metadata": {"labels": {
                                                REVISION_HASH_LABEL: keep_hash}}},
                                            namespace=meta(pod).get("namespace"),
                                            patch_type="strategic")
            await self.client.delete(REVISIONS, meta(rev)["name"],
                                     namespace=meta(rev).get("namespace"))
        return keep

    async def _cleanup_history(self, ds: Obj, old: list[Obj]) -> None:
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
        excess = len(old) - limit
        if excess <= 0:
            return
        by_node = await self._pods_by_node(ds, include_deleted_terminal=True)
        live = {labels(p).get(REVISION_HASH_LABEL) for pods in by_node.values() for p in pods}
        for rev in sort_revisions(old):
            if excess <= 0:
                break
            if labels(rev).get(REVISION_HASH_LABEL) in live:
                continue
            try:
                await self.client.delete(REVISIONS, meta(rev)["name"],
                                         namespace=meta(rev).get("namespace"))
            except Exception as err:
                if not is_not_found(err):
                    raise
            excess -= 1

    # --- status ------------------------------------------------------------------------------

    async def _update_status(self, ds: Obj, nodes: list[Obj], hash_: str, *,
                             observe_generation: bool) -> None:
        by_node = await self._pods_by_node(ds)
        counts = daemonset_status(ds, nodes, by_node, hash_, self._now())
        status = dict(ds.get("status") or {})
        wanted = {**status, **counts}
        if observe_generation:
            wanted["observedGeneration"] = meta(ds).get("generation")
        for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if not wanted.get(key):
                wanted.pop(key, None)
        if wanted != status:
            await update_status(self.client, DAEMONSETS, ds, wanted)
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and counts["numberReady"] != counts["numberAvailable"]:
            self.enqueue_after(ds, min_ready)


def _same_node(old: Obj, new: Obj) -> bool:
    """shouldIgnoreNodeUpdate: only heartbeats (condition times, resourceVersion) differ."""

    def strip(node: Obj) -> Obj:
        node = copy.deepcopy(node)
        node.get("metadata", {}).pop("resourceVersion", None)
        node.get("metadata", {}).pop("managedFields", None)
        conds = (node.get("status") or {}).pop("conditions", None) or []
        node.setdefault("status", {})["conditions"] = sorted(
            (c.get("type"), c.get("status")) for c in conds)
        return node

    return strip(old) == strip(new)


__all__ = ["DAEMON_TOLERATIONS", "DaemonSetController", "daemonset_status", "node_should_run",
           "pin_to_node", "plan_node", "rolling_update_surge", "rolling_update_unavailable",
           "target_node_name"]

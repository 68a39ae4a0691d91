"""The Priority admission plug-in (plugin/pkg/admission/priority) and the system classes.

Mutating, pods: on CREATE `spec.priorityClassName` is resolved to `spec.priority` (and
the class's `preemptionPolicy`); without a name the globalDefault class applies (the one
with the lowest value if several), and without one priority is 0 and the policy
PreemptLowerPriority. An unknown class, or a `spec.priority`/`preemptionPolicy` that
disagrees with the class, is 403. On UPDATE a missing priority is carried over.

Validating, priorityclasses: only one class may be globalDefault; the built-in system
classes cannot be deleted (upstream refuses that in the priorityclasses registry).

`ensure_system_priority_classes` creates system-node-critical and
system-cluster-critical at apiserver start when missing (upstream's
`scheduling/bootstrap-system-priority-classes` post-start hook).
"""

from __future__ import annotations

from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.registry import Registry
from kybernetes.apiserver.admission import AdmissionRequest, Operation, admission_forbidden
from kybernetes.apiserver.cachelister import CacheLister
from kybernetes.apiserver.rest import RestStorage, WriteOptions
from kybernetes.apiserver.watchcache import WatchCache

Obj = dict[str, Any]

GROUP = "scheduling.k8s.io"
DEFAULT_PRIORITY = 0
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
SYSTEM_CLUSTER_CRITICAL = 2_000_000_000
SYSTEM_PRIORITY_CLASSES: tuple[Obj, ...] = (
    {"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-node-critical"}, "value": SYSTEM_CLUSTER_CRITICAL + 1000,
     "description": "Used for system critical pods that must not be moved from their "
                    "current node."},
    {"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-cluster-critical"}, "value": SYSTEM_CLUSTER_CRITICAL,
     "description": "Used for system critical pods that must run in the cluster, but can "
                    "be moved to another node if necessary."},
)
_SYSTEM_NAMES = frozenset(pc["metadata"]["name"] for pc in SYSTEM_PRIORITY_CLASSES)


def default_class(classes: list[Obj]) -> Obj | None:
    """The globalDefault class; the lowest value wins if a race made several."""
    defaults = [pc for pc in classes if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: pc.get("value") or 0) if defaults else None


class Priority:
    """Implements `MutatingPlugin` (pods) and `ValidatingPlugin` (priorityclasses)."""

    def __init__(self, cache: WatchCache, registry: Registry) -> None:
        info = registry.get(GROUP, "v1", "priorityclasses")
        assert info is not None
        self.classes = CacheLister(cache, info.key_prefix())

    async def admit(self, req: AdmissionRequest) -> None:
        if (req.group, req.resource) != ("", "pods") or req.subresource or req.obj is None:
            return
        spec = req.obj.setdefault("spec", {})
        if req.operation is Operation.UPDATE and req.old_obj is not None:
            old = req.old_obj.get("spec") or {}
            for field in ("priority", "preemptionPolicy"):
                if spec.get(field) is None and old.get(field) is not None:
                    spec[field] = old[field]
        elif req.operation is Operation.CREATE:
            await self._resolve(req, spec)

    async def _resolve(self, req: AdmissionRequest, spec: Obj) -> None:
        name = spec.get("priorityClassName") or ""
        if not name:
            pc = default_class(self.classes.cached())
            if pc is not None:
                spec["priorityClassName"] = pc["metadata"]["name"]
            priority = pc.get("value", 0) if pc else DEFAULT_PRIORITY
            policy = pc.get("preemptionPolicy") if pc else PREEMPT_LOWER_PRIORITY
        else:
            pc = await self._lookup(name)
            if pc is None:
                raise admission_forbidden(req, f"no PriorityClass with name {name} was found")
            priority, policy = pc.get("value", 0), pc.get("preemptionPolicy")
        given = spec.get("priority")
        if given is not None and given != priority:
            raise admission_forbidden(req, f"the integer value of priority ({given}) must not "
                                      "be provided in pod spec; priority admission controller "
                                      f"computed {priority} from the given PriorityClass name")
        spec["priority"] = priority
        if policy:
            given_policy = spec.get("preemptionPolicy")
            if given_policy and given_policy != policy:
                raise admission_forbidden(
                    req, f"the string value of PreemptionPolicy ({given_policy}) must not be "
                    f"provided in pod spec; priority admission controller computed {policy} "
                    "from the given PriorityClass name")
            spec["preemptionPolicy"] = policy

    async def _lookup(self, name: str) -> Obj | None:
        pc = self.classes.get(name)
        if pc is None:  # created a moment ago? read what the store has
            await self.classes.sync()
            pc = self.classes.get(name)
        return pc

    async def validate(self, req: AdmissionRequest) -> None:
        if (req.group, req.resource) != (GROUP, "priorityclasses") or req.subresource:
            return
        if req.operation is Operation.DELETE:
            if req.name in _SYSTEM_NAMES:
                raise admission_forbidden(req, "this is a system priority class and cannot "
                                          "be deleted")
            return
        if req.obj is None or not req.obj.get("globalDefault"):
            return
        current = default_class(self.classes.cached())
        if current is None:
            return
        if req.operation is Operation.CREATE or current["metadata"]["name"] != req.name:
            raise admission_forbidden(req, f"PriorityClass {current['metadata']['name']} is "
                                      "already marked as default. Only one default can exist")


async def ensure_system_priority_classes(rest: RestStorage, registry: Registry,
                                         opts: WriteOptions) -> None:
    """Create the built-in classes that do not exist yet (existing ones are left alone)."""
    info = registry.get(GROUP, "v1", "priorityclasses")
    assert info is not None
    for pc in SYSTEM_PRIORITY_CLASSES:
        try:
            await rest.get(info, "", pc["metadata"]["name"])
            continue
        except StatusError as err:
            if err.code != 404:
                raise
        try:
            await rest.create(info, "", {**pc, "metadata": dict(pc["metadata"])}, opts)
        except StatusError as err:
            if err.code != 409:
                raise

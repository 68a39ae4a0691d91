"""The `pods/NAME/eviction` subresource: a delete that respects PodDisruptionBudgets.

As upstream's eviction REST: a pod that already finished or is already being
deleted is deleted without consulting any budget. Otherwise the one PDB selecting the
pod must allow a disruption: then `status.disruptionsAllowed` is decremented and
the pod recorded in `status.disruptedPods` (one write, with optimistic
concurrency, so two evictions cannot both spend the last allowance), and the
pod is deleted. No budget left is 429 TooManyRequests, which `kubectl drain`
retries. Several PDBs on one pod is a 500, as upstream.
"""

from __future__ import annotations

from typing import Any

from kybernetes.api.errors import Cause, StatusError, bad_request, not_found
from kybernetes.api.registry import Registry
from kybernetes.api.selectors import label_selector_from_dict
from kybernetes.apiserver.rest import RestStorage, WriteOptions
from kybernetes.apiserver.strategy import now_rfc3339
from kybernetes.apiserver.watchcache import Filter

Obj = dict[str, Any]

_VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


async def evict(rest: RestStorage, registry: Registry, namespace: str, name: str,
                eviction: Obj, opts: WriteOptions) -> None:
    """Evict pod `namespace/name` per the Eviction object; raises StatusError."""
    pods = registry.get("", "v1", "pods")
    pdbs = registry.get("policy", "v1", "poddisruptionbudgets")
    assert pods is not None and pdbs is not None
    body_name = (eviction.get("metadata") or {}).get("name")
    if body_name and body_name != name:
        raise bad_request("name in URL does not match name in Eviction object")
    delete_options = eviction.get("deleteOptions") or {}
    pod = await rest.get(pods, namespace, name)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed") or (pod.get("metadata") or {}).get("deletionTimestamp"):
        await rest.delete(pods, namespace, name, delete_options, opts)
        return
    labels = (pod.get("metadata") or {}).get("labels") or {}
    page = await rest.list(pdbs, Filter(namespace=namespace))
    matching = []
    for o in page.items:
        sel = (o.obj.get("spec") or {}).get("selector")
        if sel is None:
            continue
        if label_selector_from_dict(sel).matches(labels):
            matching.append(o.obj)
    if len(matching) > 1:
        raise StatusError(500, "InternalError", "This pod has more than one "
                          "PodDisruptionBudget, which the eviction subresource does not "
                          "support.")
    if matching:
        await _spend_budget(rest, pdbs, namespace, matching[0], name, opts)
    await rest.delete(pods, namespace, name, delete_options, opts)


async def _spend_budget(rest: RestStorage, pdbs: Any, namespace: str, pdb: Obj, pod: str,
                        opts: WriteOptions) -> None:
    pdb_name = pdb["metadata"]["name"]

    def mutate(old: Obj | None) -> Obj:
        if old is None:
            raise not_found("poddisruptionbudgets", pdb_name, "policy")
        status = old.setdefault("status", {})
        generation = (old.get("metadata") or {}).get("generation") or 0
        if (status.get("observedGeneration") or 0) < generation:
            raise _too_many(f"The disruption budget {pdb_name} is still being processed by "
                            "the server.", pdb_name)
        allowed = status.get("disruptionsAllowed") or 0
        if allowed <= 0:
            healthy = status.get("currentHealthy") or 0
            desired = status.get("desiredHealthy") or 0
            raise _too_many(f"The disruption budget {pdb_name} needs {desired} healthy pods "
                            f"and has {healthy} currently", pdb_name)
        status["disruptionsAllowed"] = allowed - 1
        status.setdefault("disruptedPods", {})[pod] = now_rfc3339()
        return old

    await rest._guaranteed_update(pdbs, namespace, pdb_name, mutate, opts,
                                  precondition_rv="", subresource="status")


def _too_many(detail: str, pdb_name: str) -> StatusError:
    # No Retry-After (upstream's NewTooManyRequests(msg, 0)): client-go would otherwise
    # retry the POST itself, past `kubectl drain --timeout`; drain retries every 5 s.
    return StatusError(429, "TooManyRequests", _VIOLATION, group="policy",
                       kind="poddisruptionbudgets", name=pdb_name,
                       causes=[Cause("DisruptionBudget", detail)])

"""The LimitRanger admission plug-in (plugin/pkg/admission/limitranger).

Mutating (pods, CREATE): each container and init container gets the namespace's
LimitRange `default` (limits) and `defaultRequest` (requests) for every resource it does
not set, and the pod is annotated `kubernetes.io/limit-ranger` with what was set.

Validating (pods on CREATE, PersistentVolumeClaims on CREATE and UPDATE): every
LimitRange item's `min`, `max` and `maxLimitRequestRatio` hold, per Container, per Pod
(the pod's effective requests and limits) and per PersistentVolumeClaim (its storage
request). The first LimitRange violated rejects the request with 403 and all of its
violations, in upstream's words.

Objects being deleted (an old object with deletionTimestamp) and subresources are not
checked. Pod updates are not either: containers cannot change on update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.api.quota import Quantity, ResourceList, parse_list, pod_resources
from kybernetes.apiserver.admission import AdmissionRequest, Operation, admission_forbidden
from kybernetes.apiserver.cachelister import CacheLister
from kybernetes.apiserver.watchcache import WatchCache

Obj = dict[str, Any]

ANNOTATION = "kubernetes.io/limit-ranger"
# resource.MaxMilliValue: beyond it upstream compares whole units.
_MAX_MILLI = (2**63 - 1) // 1000


class LimitRanger:
    """Implements `MutatingPlugin` (defaults) and `ValidatingPlugin` (constraints)."""

    def __init__(self, cache: WatchCache) -> None:
        self.ranges = CacheLister(cache, "/registry/limitranges/")

    async def admit(self, req: AdmissionRequest) -> None:
        if not _applies(req) or req.resource != "pods":
            return
        assert req.obj is not None
        for lr in await self.ranges.list(req.namespace):
            requests, limits = default_requirements(lr)
            merge_pod_defaults(req.obj, requests, limits)

    async def validate(self, req: AdmissionRequest) -> None:
        if not _applies(req):
            return
        assert req.obj is not None
        check = pod_violations if req.resource == "pods" else pvc_violations
        for lr in await self.ranges.list(req.namespace):
            errors = check(lr, req.obj)
            if errors:
                raise admission_forbidden(req, aggregate(errors))


def _applies(req: AdmissionRequest) -> bool:
    if req.subresource or req.obj is None or req.group != "":
        return False
    if req.old_obj is not None and (req.old_obj.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if req.resource == "pods":
        return req.operation is Operation.CREATE
    return req.resource == "persistentvolumeclaims" and req.operation in (
        Operation.CREATE, Operation.UPDATE)


def aggregate(messages: list[str]) -> str:
    """`utilerrors.NewAggregate(errs).Error()`: one message as is, several in brackets;
    duplicates once."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# --- defaults ----------------------------------------------------------------------------


def _items(lr: Mapping[str, Any], kind: str) -> list[Obj]:
    return [i for i in (lr.get("spec") or {}).get("limits") or () if i.get("type") == kind]


def default_requirements(lr: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(requests, limits) a container gets by default from `lr`'s Container items."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for item in _items(lr, "Container"):
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    return requests, limits


def _merge_container(c: Obj, requests: dict[str, str], limits: dict[str, str],
                     what: str) -> list[str]:
    res = c.setdefault("resources", {})
    set_limits = [k for k in limits if k not in (res.get("limits") or {})]
    set_requests = [k for k in requests if k not in (res.get("requests") or {})]
    if set_limits:
        res.setdefault("limits", {}).update({k: limits[k] for k in set_limits})
    if set_requests:
        res.setdefault("requests", {}).update({k: requests[k] for k in set_requests})
    notes = []
    if set_requests:
        notes.append(f"{', '.join(sorted(set_requests))} request for {what} {c.get('name')}")
    if set_limits:
        notes.append(f"{', '.join(sorted(set_limits))} limit for {what} {c.get('name')}")
    return notes


def merge_pod_defaults(pod: Obj, requests: dict[str, str], limits: dict[str, str]) -> None:
    """`mergePodResourceRequirements`: fill unset requests/limits, annotate what was set."""
    spec = pod.setdefault("spec", {})
    notes: list[str] = []
    for key, what in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(key) or ():
            notes += _merge_container(c, requests, limits, what)
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


# --- constraints -------------------------------------------------------------------------


def _values(request: Quantity | None, limit: Quantity | None, enforced: Quantity
            ) -> tuple[int, int, int]:
    """`requestLimitEnforcedValues`: milli-units when none overflows, else units."""
    zero = Quantity.of(0)
    qs = (request or zero, limit or zero, enforced)
    if all(q.value <= _MAX_MILLI for q in qs):
        return qs[0].milli(), qs[1].milli(), qs[2].milli()
    return tuple(-(-q.value // 1) for q in qs)  # type: ignore[return-value]


def min_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, value = _values(req, lim, enforced)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_req < value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and observed_lim < value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def max_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                   limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, value = _values(req, lim, enforced)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if observed_lim > value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and observed_req > value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def max_request_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList
                           ) -> str | None:
    """The max of a kind that has no limits (claims): checked against the request."""
    req = requests.get(name)
    observed_req, _, value = _values(req, None, enforced)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if observed_req > value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def ratio_constraint(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                     limits: ResourceList) -> str | None:
    req, lim = requests.get(name), limits.get(name)
    observed_req, observed_lim, _ = _values(req, lim, enforced)
    prefix = f"{name} max limit to request ratio per {kind} is {enforced}"
    if req is None or observed_req == 0:
        return f"{prefix}, but no request is specified or request is 0"
    if lim is None or observed_lim == 0:
        return f"{prefix}, but no limit is specified or limit is 0"
    ratio = observed_lim / observed_req
    observed, allowed = ratio, float(-(-enforced.value // 1))
    if enforced.value <= _MAX_MILLI:
        observed, allowed = ratio * 1000, float(enforced.milli())
    if observed > allowed:
        return f"{prefix}, but provided ratio is {ratio:f}"
    return None


def _check(item: Mapping[str, Any], kind: str, requests: ResourceList, limits: ResourceList
           ) -> list[str]:
    out = []
    for field, fn in (("min", min_constraint), ("max", max_constraint),
                      ("maxLimitRequestRatio", ratio_constraint)):
        for name, enforced in sorted(parse_list(item.get(field)).items()):
            msg = fn(kind, name, enforced, requests, limits)
            if msg:
                out.append(msg)
    return out


def _resources(c: Mapping[str, Any], field: str) -> ResourceList:
    return parse_list((c.get("resources") or {}).get(field))


def pod_violations(lr: Mapping[str, Any], pod: Mapping[str, Any]) -> list[str]:
    """`PodValidateLimitFunc`: every Container item against each (init) container, every
    Pod item against the pod's effective requests and limits."""
    spec = pod.get("spec") or {}
    out: list[str] = []
    for item in (lr.get("spec") or {}).get("limits") or ():
        if item.get("type") == "Container":
            for c in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
                out += _check(item, "Container", _resources(c, "requests"),
                              _resources(c, "limits"))
        elif item.get("type") == "Pod":
            out += _check(item, "Pod", pod_resources(spec, "requests", overhead=False),
                          pod_resources(spec, "limits", overhead=False))
    return out


def pvc_violations(lr: Mapping[str, Any], pvc: Mapping[str, Any]) -> list[str]:
    """`PersistentVolumeClaimValidateLimitFunc`: storage requests within min and max."""
    requests = parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    out = []
    for item in _items(lr, "PersistentVolumeClaim"):
        for name, enforced in sorted(parse_list(item.get("min")).items()):
            msg = min_constraint("PersistentVolumeClaim", name, enforced, requests, {})
            if msg:
                out.append(msg)
        for name, enforced in sorted(parse_list(item.get("max")).items()):
            msg = max_request_constraint("PersistentVolumeClaim", name, enforced, requests)
            if msg:
                out.append(msg)
    return out

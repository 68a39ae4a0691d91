"""Per-kind write rules the registry applies around defaulting and validation.

Upstream's `rest.RESTCreateStrategy` / `RESTUpdateStrategy` for the built-in
kinds, as pure functions over object dicts with the time and uid passed in:
what a create resets (status), what an update keeps from the stored object
(immutable metadata, status, or spec for status writes), when `generation`
moves, and the Scale subresource view of scalable kinds.
"""

from __future__ import annotations

import copy
import random
import secrets
import time
from datetime import datetime
from typing import Any

from kybernetes.api import crd
from kybernetes.api.registry import ResourceInfo
from kybernetes.api.tables import selector_string

Obj = dict[str, Any]

# Kinds whose metadata.generation upstream maintains (strategies that set it).
_NO_GENERATION = frozenset({
    ("", "Pod"), ("", "Namespace"), ("", "Node"), ("", "Service"), ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"), ("", "Endpoints"), ("", "ConfigMap"), ("", "Secret"),
    ("", "ServiceAccount"), ("", "Event"), ("events.k8s.io", "Event"),
    ("coordination.k8s.io", "Lease"), ("", "LimitRange"), ("", "ResourceQuota"),
    ("", "PodTemplate"), ("discovery.k8s.io", "EndpointSlice"),
})

# Kinds whose create keeps the status the client sent (upstream: nodes, events...).
_KEEP_STATUS_ON_CREATE = frozenset({("", "Node"), ("", "PersistentVolume"),
                                    ("", "PersistentVolumeClaim"), ("", "Service")})

# Metadata the client cannot change through an update.
_SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "generation", "selfLink")

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


_uid_random = random.Random(secrets.randbits(128))


def new_uid() -> str:
    """A random (version 4) UUID. Drawn from a PRNG seeded from the OS once: uids must
    be unique, not secret, and os.urandom per object is a syscall on every create.
    Formatted by hand: `str(uuid.UUID(int=n, version=4))` costs twice as much."""
    n = _uid_random.getrandbits(128)
    n = (n & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)  # RFC 4122 v4
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_clock_cache: tuple[int, str] = (0, "")


def now_rfc3339(now: datetime | None = None) -> str:
    """RFC 3339 UTC to the second, as metav1.Time serializes. The current time's text
    is cached per second (strftime showed up in create profiles)."""
    global _clock_cache
    if now is not None:
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    second = int(time.time())
    if _clock_cache[0] != second:
        _clock_cache = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _clock_cache[1]


def generate_name(prefix: str) -> str:
    """Upstream's SimpleNameGenerator: the prefix (cut to fit 63) + 5 random characters."""
    prefix = prefix[: 63 - 5]
    return prefix + "".join(secrets.choice(_NAME_CHARS) for _ in range(5))


def has_generation(info: ResourceInfo) -> bool:
    return (info.group, info.kind) not in _NO_GENERATION


def has_status(info: ResourceInfo) -> bool:
    return info.subresource("status") is not None


def prepare_create(info: ResourceInfo, obj: Obj, *, uid: str, now: str) -> None:
    """Fill system metadata and reset what a create may not set, in place."""
    meta = obj.setdefault("metadata", {})
    meta["uid"] = uid
    meta["creationTimestamp"] = now
    for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
        meta.pop(k, None)
    if not info.namespaced:
        meta.pop("namespace", None)
    if has_generation(info):
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    key = (info.group, info.kind)
    if has_status(info) and key not in _KEEP_STATUS_ON_CREATE:
        obj.pop("status", None)
    if key == ("", "Pod"):
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif key == ("", "Namespace"):
        spec = obj.setdefault("spec", {})
        if spec.get("finalizers") is None:
            spec["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
    elif key == ("", "Secret") and not obj.get("type"):
        obj["type"] = "Opaque"
    elif crd.is_crd(info):
        crd.prepare_create(obj)


def prepare_named(info: ResourceInfo, obj: Obj) -> None:
    """What a create fills in once the object's name is final (after generateName)."""
    if (info.group, info.kind) == ("batch", "Job") and not (
            obj.get("spec") or {}).get("manualSelector"):
        generate_job_selector(obj)


# Labels a generated Job selector puts on the pod template (upstream batch/v1 types.go);
# the unprefixed pair is kept for old clients.
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")


def generate_job_selector(job: Obj) -> None:
    """Upstream's job strategy `generateSelector`: label the template with the job's
    name and uid (keeping labels the user set) and select on the uid label. Then, as
    upstream's SetDefaults_Job does whenever the object is decoded, a Job without
    labels takes its template's."""
    meta = job["metadata"]
    spec = job.setdefault("spec", {})
    template = spec.setdefault("template", {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    for label in JOB_NAME_LABELS:
        labels.setdefault(label, meta.get("name") or "")
    for label in JOB_UID_LABELS:
        labels.setdefault(label, meta["uid"])
    selector = spec.get("selector") or {}
    spec["selector"] = selector
    selector.setdefault("matchLabels", {}).setdefault(JOB_UID_LABELS[0], meta["uid"])
    if not meta.get("labels"):
        meta["labels"] = dict(labels)


def prepare_update(info: ResourceInfo, obj: Obj, old: Obj) -> None:
    """Carry over what the client may not change; bump generation on spec change."""
    meta = obj.setdefault("metadata", {})
    old_meta = old.get("metadata") or {}
    for k in _SYSTEM_META:
        if k in old_meta:
            meta[k] = old_meta[k]
        else:
            meta.pop(k, None)
    if not info.namespaced:
        meta.pop("namespace", None)
    key = (info.group, info.kind)
    if has_status(info) and key != ("", "Node"):
        # The main resource cannot write status (it has its own subresource).
        if "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        else:
            obj.pop("status", None)
    if key == ("", "Namespace"):
        # Finalizers of a namespace change only through /finalize.
        old_fin = (old.get("spec") or {}).get("finalizers")
        spec = obj.setdefault("spec", {})
        if old_fin is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = copy.deepcopy(old_fin)
    if crd.is_crd(info):
        crd.prepare_update(obj, old)
    if has_generation(info) and _spec_changed(obj, old):
        meta["generation"] = int(old_meta.get("generation") or 0) + 1


def prepare_status_update(info: ResourceInfo, obj: Obj, old: Obj) -> Obj:
    """The object a status write stores: `old` with `obj`'s status."""
    out = copy.deepcopy(old)
    if "status" in obj:
        out["status"] = obj["status"]
    else:
        out.pop("status", None)
    new_meta = obj.get("metadata") or {}
    if "resourceVersion" in new_meta:
        out["metadata"]["resourceVersion"] = new_meta["resourceVersion"]
    carry_managed_fields(out, new_meta)
    if (info.group, info.kind) == ("apps", "Deployment"):
        # deploymentStatusStrategy resets only spec and labels: the deployment controller
        # writes the revision annotation together with status (UpdateStatus).
        if new_meta.get("annotations"):
            out["metadata"]["annotations"] = copy.deepcopy(new_meta["annotations"])
        else:
            out["metadata"].pop("annotations", None)
    if (info.group, info.kind) == ("", "Namespace"):
        # Namespace phase is the controller's; keep it when the client omits it.
        pass
    return out


def prepare_finalize(obj: Obj, old: Obj) -> Obj:
    """namespaces/NAME/finalize: only spec.finalizers comes from the request."""
    out = copy.deepcopy(old)
    fin = (obj.get("spec") or {}).get("finalizers")
    out.setdefault("spec", {})["finalizers"] = fin or []
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    if rv:
        out["metadata"]["resourceVersion"] = rv
    carry_managed_fields(out, obj.get("metadata") or {})
    return out


def carry_managed_fields(out: Obj, new_meta: Obj) -> None:
    """A subresource write keeps the stored object but not its managedFields: the field
    manager computed the request object's for this write (apiserver.fieldmanager)."""
    if "managedFields" in new_meta:
        out["metadata"]["managedFields"] = new_meta["managedFields"]
    else:
        out["metadata"].pop("managedFields", None)


def _spec_changed(obj: Obj, old: Obj) -> bool:
    ignore = ("metadata", "status", "apiVersion", "kind")
    a = {k: v for k, v in obj.items() if k not in ignore}
    b = {k: v for k, v in old.items() if k not in ignore}
    return a != b


def qos_class(spec: Obj) -> str:
    """Guaranteed / Burstable / BestEffort from the containers' requests and limits."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    requests_seen = limits_seen = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        req = {k: v for k, v in req.items() if k in ("cpu", "memory")}
        lim = {k: v for k, v in lim.items() if k in ("cpu", "memory")}
        if req:
            requests_seen = True
        if lim:
            limits_seen = True
        if set(lim) != {"cpu", "memory"}:
            guaranteed = False
        for k, v in req.items():
            if str(lim.get(k)) != str(v):
                guaranteed = False
    if not requests_seen and not limits_seen:
        return "BestEffort"
    return "Guaranteed" if guaranteed and limits_seen else "Burstable"


# --- deletion -------------------------------------------------------------------------


def pod_deletes_gracefully(pod: Obj) -> bool:
    """Upstream's CheckGracefulDelete: a pod on a node that has not finished waits for
    its kubelet; an unscheduled or terminated pod goes at once."""
    if not (pod.get("spec") or {}).get("nodeName"):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def pod_grace_period(pod: Obj, requested: int | None) -> int:
    if requested is not None:
        return max(requested, 0)
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return int(value) if isinstance(value, int) else 30


# --- scale ----------------------------------------------------------------------------


def set_scale_replicas(info: ResourceInfo, obj: Obj, replicas: int) -> None:
    """Write a Scale's spec.replicas into the scaled object (a CRD's specReplicasPath)."""
    if info.custom is not None:
        info.custom.set_replicas(obj, replicas)
    else:
        obj.setdefault("spec", {})["replicas"] = replicas


def scale_of(info: ResourceInfo, obj: Obj) -> Obj:
    """The autoscaling/v1 Scale view of a scalable object."""
    if info.custom is not None:
        return info.custom.scale_of(obj)
    meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = spec.get("selector")
    if info.kind == "ReplicationController":
        sel = ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))
    else:
        sel = selector_string(selector) or ""
    scale_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp") if k in meta}
    out: Obj = {
        "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
        "spec": {"replicas": int(spec.get("replicas") or 0)},
        "status": {"replicas": int(status.get("replicas") or 0)},
    }
    if sel:
        out["status"]["selector"] = sel
    return out

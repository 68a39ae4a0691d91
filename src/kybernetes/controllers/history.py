"""ControllerRevisions: the history of a DaemonSet's or StatefulSet's pod template.

Upstream's `pkg/controller/history`. A revision holds a patch that restores
the owner's template (`{"spec": {"template": {..., "$patch": "replace"}}}`),
a monotonically increasing `revision` number and, in its name and the
`controller.kubernetes.io/hash` label, a hash of that data. Two revisions are
equal when their data is. A name clash between different data is resolved by
the owner's `status.collisionCount`, which is mixed into the hash.

The hashes are FNV over the canonical JSON of the data, encoded with
upstream's "safe" alphabet: stable across processes and restarts, though not
bit-for-bit the hashes a Go controller computes from Go structs.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kybernetes.client import Client, is_already_exists
from kybernetes.controllers._workloads import REVISIONS, meta, new_controller_ref, parse_time

Obj = dict[str, Any]

CONTROLLER_REVISION_HASH_LABEL = "controller.kubernetes.io/hash"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_MAX_PREFIX = 223  # 253 - the longest hash and its dash


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: map each character into an alphabet with no vowels, so
    that hashes never spell words."""
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in text)


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no spaces, HTML characters escaped: Go's json.Marshal of a map."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def _fnv32(data: bytes) -> int:
    """FNV-1 (not 1a), 32 bits: Go's hash/fnv New32, which HashControllerRevision uses."""
    h = 0x811C9DC5
    for byte in data:
        h = ((h * 0x01000193) & 0xFFFFFFFF) ^ byte
    return h


def hash_revision(data: Any, collision_count: int | None) -> str:
    """history.HashControllerRevision: FNV-1 of the data (and the collision count)."""
    raw = canonical_json(data)
    if collision_count is not None:
        raw += str(collision_count).encode()
    return safe_encode(str(_fnv32(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    """history.ControllerRevisionName."""
    return f"{prefix[:_MAX_PREFIX]}-{hash_}"


def template_patch(owner: Obj) -> Obj:
    """The data of a revision of `owner`: a patch that replaces its pod template."""
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision restores."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {})
                             .get("template") or {})
    template.pop("$patch", None)
    return template


def new_revision(owner: Obj, *, api_version: str, kind: str, revision: int,
                 collision_count: int | None, data: Obj | None = None) -> Obj:
    """history.NewControllerRevision: labels from the template plus the hash label,
    the owner's annotations, a ControllerRef, the name `<owner>-<hash>`."""
    data = template_patch(owner) if data is None else data
    tmpl_labels = dict((((owner.get("spec") or {}).get("template") or {})
                        .get("metadata") or {}).get("labels") or {})
    hash_ = hash_revision(data, collision_count)
    tmpl_labels[CONTROLLER_REVISION_HASH_LABEL] = hash_
    rev_meta: Obj = {"name": revision_name(meta(owner).get("name", ""), hash_),
                     "namespace": meta(owner).get("namespace"), "labels": tmpl_labels,
                     "ownerReferences": [new_controller_ref(owner, api_version, kind)]}
    if meta(owner).get("annotations"):
        rev_meta["annotations"] = dict(meta(owner)["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": data, "revision": revision}


def equal_revision(a: Obj | None, b: Obj | None) -> bool:
    """history.EqualRevision: the same data."""
    if a is None or b is None:
        return a is b
    return (a.get("data") or {}) == (b.get("data") or {})


def find_equal(revisions: list[Obj], needle: Obj) -> list[Obj]:
    return [r for r in revisions if equal_revision(r, needle)]


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    """history.SortControllerRevisions: by revision, then creation time, then name."""

    def key(r: Obj) -> tuple[int, float, str]:
        created = parse_time(meta(r).get("creationTimestamp"))
        return (int(r.get("revision") or 0), created.timestamp() if created else 0.0,
                str(meta(r).get("name") or ""))

    return sorted(revisions, key=key)


def next_revision(revisions: list[Obj]) -> int:
    """One more than the highest revision of a sorted list (1 for none)."""
    return int(revisions[-1].get("revision") or 0) + 1 if revisions else 1


async def create_revision(client: Client, revision: Obj, *, collision_count: int
                          ) -> tuple[Obj, int]:
    """history.CreateControllerRevision: create `revision`; on a name clash with
    different data, bump the collision count and try the next name. Returns the
    revision stored (possibly one that already existed with the same data) and the
    collision count used."""
    while True:
        data = revision.get("data") or {}
        hash_ = hash_revision(data, collision_count)
        body = copy.deepcopy(revision)
        prefix = str(meta(revision)["ownerReferences"][0]["name"])
        body["metadata"]["name"] = revision_name(prefix, hash_)
        body["metadata"].setdefault("labels", {})[CONTROLLER_REVISION_HASH_LABEL] = hash_
        namespace = meta(revision).get("namespace")
        try:
            return await client.create(REVISIONS, body, namespace=namespace), collision_count
        except Exception as err:
            if not is_already_exists(err):
                raise
        existing = await client.get(REVISIONS, body["metadata"]["name"], namespace=namespace)
        if equal_revision(existing, body):
            return existing, collision_count
        collision_count += 1


async def update_revision_number(client: Client, revision: Obj, number: int) -> Obj:
    """history.UpdateControllerRevision: give an existing revision a new number
    (a roll back to an old template makes it the newest again)."""
    if int(revision.get("revision") or 0) == number:
        return revision
    body = copy.deepcopy(revision)
    body["revision"] = number
    return await client.update(REVISIONS, body, namespace=meta(revision).get("namespace"))

"""Which nodes a pod may run on: required node affinity, nodeSelector and taints.

Upstream's component-helpers `scheduling/corev1/nodeaffinity` and the taint
helpers of `pkg/apis/core/v1/helper`, as the DaemonSet controller uses them
(it decides per node, without the scheduler). Pure functions over dicts.

Node selector terms are ORed; the requirements within a term are ANDed. A
term with no requirements, or with an invalid one, matches no node.
`matchFields` knows only `metadata.name`. A toleration with an empty key and
operator Exists tolerates every taint (of its effect, or of any effect).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def requirement_matches(req: Obj, values: dict[str, str]) -> bool | None:
    """One NodeSelectorRequirement against a map; None when the requirement is invalid."""
    key, op, want = req.get("key") or "", req.get("operator"), list(req.get("values") or ())
    present, have = key in values, values.get(key, "")
    if op == "In":
        return present and have in want if want else None
    if op == "NotIn":
        return not present or have not in want if want else None
    if op == "Exists":
        return present if not want else None
    if op == "DoesNotExist":
        return (not present) if not want else None
    if op in ("Gt", "Lt"):
        bound = _int(want[0]) if len(want) == 1 else None
        number = _int(have) if present else None
        if bound is None:
            return None
        if number is None:
            return False
        return number > bound if op == "Gt" else number < bound
    return None


def _term_matches(term: Obj, node_labels: dict[str, str], node_fields: dict[str, str]) -> bool:
    expressions = list(term.get("matchExpressions") or ())
    fields = list(term.get("matchFields") or ())
    if not expressions and not fields:
        return False
    for req in expressions:
        if not requirement_matches(req, node_labels):
            return False
    for req in fields:
        if req.get("key") != "metadata.name" or req.get("operator") not in ("In", "NotIn"):
            return False
        if len(req.get("values") or ()) != 1:
            return False  # a field requirement takes exactly one value
        if not requirement_matches(req, node_fields):
            return False
    return True


def node_selector_matches(selector: Obj, node: Obj) -> bool:
    """A NodeSelector (ORed terms) against a node."""
    meta = node.get("metadata") or {}
    node_labels = meta.get("labels") or {}
    node_fields = {"metadata.name": meta.get("name") or ""}
    return any(_term_matches(t, node_labels, node_fields)
               for t in selector.get("nodeSelectorTerms") or ())


def required_affinity_matches(pod_spec: Obj, node: Obj) -> bool:
    """nodeaffinity.GetRequiredNodeAffinity(pod).Match(node): nodeSelector and the
    required node affinity."""
    node_labels = (node.get("metadata") or {}).get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if node_labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return required is None or node_selector_matches(required, node)


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(taints: Iterable[Obj], tolerations: list[Obj],
                      effects: Callable[[Obj], bool]) -> Obj | None:
    """FindMatchingUntoleratedTaint: the first taint selected by `effects` that no
    toleration tolerates."""
    for taint in taints:
        if effects(taint) and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def add_or_update_toleration(spec: Obj, toleration: Obj) -> bool:
    """v1helper.AddOrUpdateTolerationInPodSpec: replace an equivalent toleration
    (same key, operator, value, effect) or append. True if the spec changed."""
    tolerations = list(spec.get("tolerations") or ())
    ident = ("key", "operator", "value", "effect")
    for i, existing in enumerate(tolerations):
        if all((existing.get(k) or "") == (toleration.get(k) or "") for k in ident):
            if existing == toleration:
                return False
            tolerations[i] = dict(toleration)
            spec["tolerations"] = tolerations
            return True
    tolerations.append(dict(toleration))
    spec["tolerations"] = tolerations
    return True

"""Helpers shared by in-tree plug-ins: taints and tolerations, node affinity, score scaling.

Taints (`v1helper` in component-helpers): a toleration tolerates a taint if
its effect is empty or equal, its key is empty or equal, and its operator is
Exists, or Equal/"" with the same value. An empty key with Exists tolerates
everything.

Node affinity (`component-helpers/scheduling/corev1/nodeaffinity`): the
required part is the pod's nodeSelector AND any one of the required
nodeSelectorTerms; a term is the AND of its matchExpressions (on labels) and
matchFields (only metadata.name, In/NotIn with one value); an empty term
matches nothing, a term that does not parse matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    LabelSelector,
    label_selector_from_dict,
    label_selector_from_set,
    new_requirement,
)
from kybernetes.scheduler.framework.interface import NodeScore
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo

Obj = Mapping[str, Any]

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"


# --- taints -----------------------------------------------------------------------------------


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """`Toleration.ToleratesTaint`."""
    effect = toleration.get("effect") or ""
    if effect and effect != (taint.get("effect") or ""):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    operator = toleration.get("operator") or ""
    if operator in ("", "Equal"):
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return operator == "Exists"


def tolerations_tolerate_taint(tolerations: Iterable[Obj], taint: Obj) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def do_not_schedule_taint(taint: Obj) -> bool:
    """NoSchedule and NoExecute taints keep pods off a node (`DoNotScheduleTaintsFilterFunc`)."""
    return taint.get("effect") in (NO_SCHEDULE, NO_EXECUTE)


def find_untolerated_taint(taints: Iterable[Obj], tolerations: Sequence[Obj],
                           inclusion: Callable[[Obj], bool] = do_not_schedule_taint
                           ) -> Obj | None:
    """The first taint selected by `inclusion` that no toleration tolerates, else None."""
    for taint in taints:
        if inclusion(taint) and not tolerations_tolerate_taint(tolerations, taint):
            return taint
    return None


# --- node affinity ----------------------------------------------------------------------------

_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
              "Gt": GREATER_THAN, "Lt": LESS_THAN}
OBJECT_NAME_FIELD = "metadata.name"


class _Term:
    """One NodeSelectorTerm: labels AND fields. `valid` is False if it did not parse."""

    __slots__ = ("fields", "labels", "valid")

    def __init__(self, term: Obj) -> None:
        self.valid = True
        self.labels: LabelSelector | None = None
        self.fields: list[tuple[bool, str]] = []  # (must equal, value) on metadata.name
        try:
            reqs = []
            for expr in term.get("matchExpressions") or ():
                op = _OPERATORS.get(expr.get("operator") or "")
                if op is None:
                    raise ValueError(expr.get("operator"))
                reqs.append(new_requirement(expr.get("key") or "", op, expr.get("values") or []))
            if reqs:
                self.labels = LabelSelector(reqs)
            for expr in term.get("matchFields") or ():
                values = expr.get("values") or []
                op = expr.get("operator")
                if expr.get("key") != OBJECT_NAME_FIELD or op not in ("In", "NotIn") or len(
                        values) != 1:
                    raise ValueError(expr.get("key"))
                self.fields.append((op == "In", values[0]))
        except (StatusError, ValueError):
            self.valid = False

    def matches(self, node_name: str, labels: Mapping[str, str]) -> bool:
        if not self.valid:
            return False
        if self.labels is not None and not self.labels.matches(labels):
            return False
        return all((node_name == value) == equal for equal, value in self.fields)


def _is_empty_term(term: Obj) -> bool:
    return not term.get("matchExpressions") and not term.get("matchFields")


class NodeSelector:
    """Required NodeSelectorTerms, ORed; empty terms are skipped (they match nothing)."""

    __slots__ = ("_terms",)

    def __init__(self, node_selector: Obj) -> None:
        self._terms = [_Term(t) for t in node_selector.get("nodeSelectorTerms") or ()
                       if not _is_empty_term(t)]

    def matches(self, node_name: str, labels: Mapping[str, str]) -> bool:
        return any(t.matches(node_name, labels) for t in self._terms)


class RequiredNodeAffinity:
    """The pod's spec.nodeSelector AND its required node affinity (`GetRequiredNodeAffinity`)."""

    __slots__ = ("_labels", "_selector")

    def __init__(self, pod: PodInfo | Obj) -> None:
        spec = pod.spec if isinstance(pod, PodInfo) else (pod.get("spec") or {})
        node_selector = spec.get("nodeSelector")
        self._labels = label_selector_from_set(node_selector) if node_selector else None
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        self._selector = NodeSelector(required) if required is not None else None

    def matches(self, node: NodeInfo) -> bool:
        return self.matches_node(node.name, node.labels)

    def matches_node(self, name: str, labels: Mapping[str, str]) -> bool:
        if self._labels is not None and not self._labels.matches(labels):
            return False
        return self._selector is None or self._selector.matches(name, labels)


class PreferredSchedulingTerms:
    """Weighted preferred node affinity terms; the score is the sum of matching weights."""

    __slots__ = ("_terms",)

    def __init__(self, terms: Iterable[Obj]) -> None:
        self._terms = [(int(t.get("weight") or 0), _Term(t.get("preference") or {}))
                       for t in terms
                       if t.get("weight") and not _is_empty_term(t.get("preference") or {})]

    def __bool__(self) -> bool:
        return bool(self._terms)

    def score(self, node: NodeInfo) -> int:
        return sum(w for w, term in self._terms if term.matches(node.name, node.labels))


# --- scores -----------------------------------------------------------------------------------


def go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def default_normalize_score(max_priority: int, reverse: bool, scores: list[NodeScore]) -> None:
    """Scale scores to [0, max_priority] by the highest; reverse flips them."""
    max_count = max((s.score for s in scores), default=0)
    if max_count <= 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return
    for s in scores:
        score = go_div(max_priority * s.score, max_count)
        s.score = max_priority - score if reverse else score


# --- default spreading selector ---------------------------------------------------------------


def default_selector(pod: PodInfo, services: Iterable[Obj], replica_sets: Iterable[Obj],
                     stateful_sets: Iterable[Obj],
                     replication_controllers: Iterable[Obj]) -> LabelSelector:
    """`helper.DefaultSelector`: the selectors of the Services selecting the pod and of its
    controlling ReplicationController, ReplicaSet or StatefulSet, merged."""
    merged: dict[str, str] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        selector = (svc.get("spec") or {}).get("selector")
        if meta.get("namespace") != pod.namespace or not selector:
            continue
        if label_selector_from_set(selector).matches(pod.labels):
            merged.update(selector)
    owner = next((o for o in (pod.pod.get("metadata") or {}).get("ownerReferences") or ()
                  if o.get("controller")), None)
    extra: list[Any] = []
    if owner is not None:
        kind, group = owner.get("kind"), (owner.get("apiVersion") or "").rpartition("/")[0]
        for items, want_kind, want_group in ((replication_controllers, "ReplicationController",
                                              ""), (replica_sets, "ReplicaSet", "apps"),
                                             (stateful_sets, "StatefulSet", "apps")):
            if kind != want_kind or group != want_group:
                continue
            for obj in items:
                meta = obj.get("metadata") or {}
                if meta.get("namespace") != pod.namespace or meta.get("name") != owner.get(
                        "name"):
                    continue
                sel = (obj.get("spec") or {}).get("selector")
                if want_kind == "ReplicationController":
                    merged.update(sel or {})
                else:
                    try:
                        extra += label_selector_from_dict(sel).requirements
                    except StatusError:
                        pass
    base = label_selector_from_set(merged)
    if not extra:
        return base
    return LabelSelector([*base.requirements, *extra])

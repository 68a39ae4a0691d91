"""CEL for admission: matchConditions, policy validations, variables, messages.

Builds the activation upstream's admission CEL environment defines and evaluates
compiled `api.cel` programs against it:

    object, oldObject   the objects in the matched version (null when absent)
    request             admission_review.cel_request (kind, resource, userInfo, ...)
    params              the policy's parameter object, or null
    namespaceObject     the request's Namespace (name, labels, annotations, uid,
                        creationTimestamp, spec, status), or null if cluster-scoped
    variables           the policy's variables, each evaluated once, in order
    authorizer          bound, but without its methods (see below)

Errors read as upstream's filter reports them: `expression '<expr>' resulted in
error: <detail>`.

Known gap: upstream's `authorizer` library (`authorizer.group(..).resource(..)
.check(verb).allowed()`) needs custom functions that `api.cel` does not take, so
an expression that calls it fails with an evaluation error (and the policy's or
webhook's failurePolicy decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api import cel

Obj = dict[str, Any]

VARIABLES = "variables"


class ExpressionError(Exception):
    """An expression failed to compile or evaluate; str() is upstream's message."""


@dataclass(frozen=True)
class Expression:
    """A compiled expression, or the reason it does not compile."""

    text: str
    program: cel.Program | None
    compile_error: str = ""

    @classmethod
    def of(cls, text: str) -> Expression:
        try:
            return cls(text, cel.compile(text))
        except cel.CelCompileError as exc:
            return cls(text, None, str(exc))

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """The JSON value of the expression; raises ExpressionError."""
        if self.program is None:
            raise ExpressionError(f"compilation failed: {self.compile_error}")
        try:
            return cel.evaluate(self.program, activation)
        except cel.CelEvalError as exc:
            raise ExpressionError(f"expression '{self.text}' resulted in error: {exc}"
                                  ) from None


def namespace_object(ns: Obj | None) -> Obj | None:
    """upstream cel.CreateNamespaceObject: the fields policies may look at."""
    if ns is None:
        return None
    meta = ns.get("metadata") or {}
    keep = {k: meta[k] for k in ("name", "generateName", "namespace", "labels", "annotations",
                                 "uid", "creationTimestamp", "deletionTimestamp",
                                 "deletionGracePeriodSeconds") if k in meta}
    out: Obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": keep}
    for key in ("spec", "status"):
        if key in ns:
            out[key] = ns[key]
    return out


@dataclass
class Activation:
    """The variables of one evaluation. `variables` are added with `bind_variables`."""

    object: Obj | None
    old_object: Obj | None
    request: Obj
    params: Obj | None = None
    namespace_object: Obj | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    # Variables whose evaluation failed: name -> error (reported if an expression uses it).
    failed: dict[str, str] = field(default_factory=dict)

    def as_mapping(self) -> dict[str, Any]:
        return {"object": self.object, "oldObject": self.old_object, "request": self.request,
                "params": self.params, "namespaceObject": self.namespace_object,
                VARIABLES: self.variables, "authorizer": {}}

    def bind_variables(self, variables: list[tuple[str, Expression]]) -> None:
        """Evaluate the policy's variables in order (each may use the ones before).

        Upstream evaluates them lazily; here a failing variable is left out and its
        error is reported by any expression that reads it (see `evaluate`).
        """
        for name, expr in variables:
            try:
                self.variables[name] = expr.evaluate(self.as_mapping())
            except ExpressionError as exc:
                self.failed[name] = str(exc)

    def evaluate(self, expr: Expression) -> Any:
        try:
            return expr.evaluate(self.as_mapping())
        except ExpressionError as exc:
            for name, error in self.failed.items():
                if f"no such key: {name}" in str(exc) and f"{VARIABLES}.{name}" in expr.text:
                    raise ExpressionError(error) from None
            raise


def match_conditions(conditions: list[tuple[str, Expression]], act: Activation,
                     ) -> tuple[bool, list[str]]:
    """Upstream matchconditions.Matcher: (matches, errors). Any condition that is
    false means no match whatever the errors; otherwise errors decide with the
    failurePolicy, which is the caller's business."""
    errors: list[str] = []
    for _name, expr in conditions:
        try:
            value = act.evaluate(expr)
        except ExpressionError as exc:
            errors.append(str(exc))
            continue
        if value is False:
            return False, []
        if value is not True:
            errors.append(f"expression '{expr.text}' resulted in a non-boolean value")
    return True, errors


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error()."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"

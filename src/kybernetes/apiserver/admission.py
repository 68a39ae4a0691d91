"""Admission: the chain of plug-ins a write passes through, and NamespaceLifecycle.

Owns `AdmissionRequest`, the `MutatingPlugin` / `ValidatingPlugin` seams, the
`AdmissionChain` that runs them, and the NamespaceLifecycle plug-in.

Order (as upstream's handlers and registry): the decoded object is defaulted; mutating
plug-ins run in list order and may change ``req.obj`` in place (a plug-in that patches
re-defaults what it changed); then the create/update strategy and validation run; then
validating plug-ins run in list order and must not change the object (they may add
client warnings to ``req.warnings``). DELETE runs both lists with ``obj`` None. A plug-in
rejects a request by raising `StatusError`; the first rejection ends the request and
nothing is written.

The chain the server assembles ends as upstream's does: MutatingAdmissionWebhook
(`webhooks`), ValidatingAdmissionPolicy (`policies`), ValidatingAdmissionWebhook.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kybernetes.api.errors import Cause, StatusError, forbidden, not_found
from kybernetes.apiserver.authn import UserInfo


class Operation(enum.StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


@dataclass(kw_only=True)
class AdmissionRequest:
    """One write as admission sees it (upstream's `admission.Attributes`).

    `obj` is the object being written (None for DELETE and most CONNECTs), `old_obj` the
    stored object for UPDATE and DELETE. `name` may be empty on CREATE with generateName.
    `options` is the request's CreateOptions/UpdateOptions/DeleteOptions body when the
    caller has one (None: plug-ins derive it from `dry_run`). `warnings` is the request's
    list of client warnings (Warning headers): plug-ins append to it.
    """

    operation: Operation
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    user: UserInfo
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    obj: dict[str, Any] | None = None
    old_obj: dict[str, Any] | None = None
    dry_run: bool = False
    options: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def qualified_resource(self) -> str:
        """``resource.group`` (just ``resource`` for the core group), as in messages."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def object_name(self) -> str:
        """`name`, or the name in `obj` when the request did not carry one."""
        if self.name:
            return self.name
        if self.obj is not None:
            return str(self.obj.get("metadata", {}).get("name") or "")
        return ""


class MutatingPlugin(Protocol):
    async def admit(self, req: AdmissionRequest) -> None:
        """May change ``req.obj`` in place; raises StatusError to reject."""


class ValidatingPlugin(Protocol):
    async def validate(self, req: AdmissionRequest) -> None:
        """Raises StatusError to reject; must not change the request."""


class AdmissionChain:
    """Runs mutating then (separately, after validation) validating plug-ins in order."""

    def __init__(
        self,
        *,
        mutating: Iterable[MutatingPlugin] = (),
        validating: Iterable[ValidatingPlugin] = (),
    ) -> None:
        self.mutating = list(mutating)
        self.validating = list(validating)

    async def run_mutating(self, req: AdmissionRequest) -> None:
        for plugin in self.mutating:
            await plugin.admit(req)

    async def run_validating(self, req: AdmissionRequest) -> None:
        for plugin in self.validating:
            await plugin.validate(req)


def admission_forbidden(req: AdmissionRequest, detail: str) -> StatusError:
    """Upstream's `admission.NewForbidden`: `<resource> "<name>" is forbidden: <detail>`."""
    name = req.object_name()
    if name:
        message = f'{req.qualified_resource} "{name}" is forbidden: {detail}'
    else:
        message = f"{req.qualified_resource} is forbidden: {detail}"
    err = forbidden(message)
    err.group, err.kind, err.name = req.group, req.resource, name
    return err


# --------------------------------------------------------------------------- NamespaceLifecycle

NamespaceLookup = Callable[[str], Awaitable[dict[str, Any] | None]]

# Upstream's immortalNamespaces (plugin/pkg/admission/namespace/lifecycle).
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def namespace_terminating(ns: dict[str, Any]) -> bool:
    return (
        ns.get("status", {}).get("phase") == "Terminating"
        or bool(ns.get("metadata", {}).get("deletionTimestamp"))
    )


class NamespaceLifecycle:
    """No new objects in missing or terminating namespaces; system namespaces stay.

    Implements `ValidatingPlugin` (and `MutatingPlugin`, doing the same checks, so it
    may sit in either list as upstream's does). `namespace_lookup(name)` returns the
    Namespace object or None; it is only called for CREATE of namespaced objects.
    """

    def __init__(self, namespace_lookup: NamespaceLookup) -> None:
        self._lookup = namespace_lookup

    async def admit(self, req: AdmissionRequest) -> None:
        await self.validate(req)

    async def validate(self, req: AdmissionRequest) -> None:
        if _is_namespace(req):
            if req.operation is Operation.DELETE and req.name in IMMORTAL_NAMESPACES:
                raise admission_forbidden(req, "this namespace may not be deleted")
            return
        if not req.namespaced or not req.namespace:
            return
        # Access reviews are answered for terminating namespaces too (upstream isAccessReview).
        if req.group == "authorization.k8s.io" and req.resource == "localsubjectaccessreviews":
            return
        # Updates and deletes (status writes, finalizer removal) go on while the namespace
        # terminates: the namespace controller itself needs them to empty it. CREATE of a
        # subresource (binding, eviction, token) is refused like upstream; kubectl drain
        # relies on the NamespaceTerminating cause to fall back from eviction to delete.
        if req.operation is not Operation.CREATE:
            return
        ns = await self._lookup(req.namespace)
        if ns is None:
            raise not_found("namespaces", req.namespace)
        if namespace_terminating(ns):
            err = admission_forbidden(
                req,
                f"unable to create new content in namespace {req.namespace} "
                "because it is being terminated",
            )
            err.causes.append(
                Cause(
                    NAMESPACE_TERMINATING_CAUSE,
                    f"namespace {req.namespace} is being terminated",
                    "metadata.namespace",
                )
            )
            raise err


def _is_namespace(req: AdmissionRequest) -> bool:
    return req.group == "" and (req.resource == "namespaces" or req.kind == "Namespace")

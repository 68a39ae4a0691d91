"""The service account controller: a `default` ServiceAccount in every active namespace.

Upstream pkg/controller/serviceaccount/serviceaccounts_controller.go (v1.32): a
namespace that is added or updated is synced; so is the namespace of a deleted
ServiceAccount, so a deleted `default` comes back. The sync creates each
account to ensure that the cache does not show; a namespace that is not Active
(terminating) gets nothing.
"""

from __future__ import annotations

from typing import Any

from kybernetes.client import StatusError, is_already_exists, object_of
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

SERVICE_ACCOUNTS = ("v1", "ServiceAccount")
NAMESPACES = ("v1", "Namespace")
# upstream DefaultServiceAccountsControllerOptions: just "default".
ACCOUNTS_TO_ENSURE = ("default",)
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def namespace_terminating(err: BaseException) -> bool:
    """A create refused because the namespace is being deleted (no use retrying)."""
    return isinstance(err, StatusError) and any(
        c.type == NAMESPACE_TERMINATING_CAUSE for c in err.causes)


def is_active(ns: Obj) -> bool:
    """Phase Active (the apiserver's default; a terminating namespace is not)."""
    phase = (ns.get("status") or {}).get("phase")
    return phase == "Active" or (not phase and not ns["metadata"].get("deletionTimestamp"))


@register("serviceaccount")
class ServiceAccountsController(ReconcileController):
    name = "serviceaccount"
    workers = 1  # as kube-controller-manager runs it

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.accounts = ctx.informers.informer(SERVICE_ACCOUNTS)
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.accounts.add_event_handler(on_delete=self._account_deleted)
        self.namespaces.add_event_handler(on_add=self.enqueue,
                                          on_update=lambda _old, new: self.enqueue(new))

    def _account_deleted(self, obj: Any) -> None:
        sa = object_of(obj)
        if sa["metadata"].get("name") in ACCOUNTS_TO_ENSURE:
            self.queue.add(sa["metadata"]["namespace"])

    async def reconcile(self, key: str) -> None:
        ns = self.namespaces.store.get(key)
        if ns is None or not is_active(ns):
            return
        errors: list[Exception] = []
        for name in ACCOUNTS_TO_ENSURE:
            if f"{key}/{name}" in self.accounts.store:
                continue
            sa = {"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": {"name": name, "namespace": key}}
            try:
                await self.client.create(SERVICE_ACCOUNTS, sa, namespace=key)
            except Exception as err:
                if not is_already_exists(err) and not namespace_terminating(err):
                    errors.append(err)
        if errors:
            raise errors[0]

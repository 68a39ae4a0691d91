"""The root CA certificate publisher: a `kube-root-ca.crt` ConfigMap in every namespace.

Upstream pkg/controller/certificates/rootcacertpublisher/publisher.go (v1.32).
The ConfigMap holds the cluster CA under `ca.crt` (from the manager's client
config, or the `root_ca_file` option as --root-ca-file) and a
`kubernetes.io/description` annotation; it is created in each namespace and put
back whenever someone changes or deletes it. Namespaces are synced when added
or updated while Active.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kybernetes.client import StatusError, is_not_found, object_of
from kybernetes.controllers.base import ControllerContext, ReconcileController
from kybernetes.controllers.manager import register

Obj = dict[str, Any]

CONFIGMAPS = ("v1", "ConfigMap")
NAMESPACES = ("v1", "Namespace")
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def desired_configmap(current: Obj | None, namespace: str, root_ca: str) -> Obj | None:
    """The ConfigMap to write (a new one when `current` is None), or None when
    `current` already has the CA as its only data and a description."""
    data = {"ca.crt": root_ca}
    if current is None:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace,
                             "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                "data": data}
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if current.get("data") == data and annotations.get(DESCRIPTION_ANNOTATION):
        return None
    meta = dict(current["metadata"])
    meta["annotations"] = {DESCRIPTION_ANNOTATION: DESCRIPTION, **annotations}
    return {**current, "metadata": meta, "data": data}


@register("root-ca-cert-publisher")
class RootCACertPublisher(ReconcileController):
    name = "root-ca-cert-publisher"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        ca_file = ctx.options.get("root_ca_file")
        if ca_file:
            self.root_ca = Path(ca_file).read_text()
        else:
            self.root_ca = (ctx.client.config.ca_data or b"").decode()
        self.configmaps = ctx.informers.informer(CONFIGMAPS)
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.configmaps.add_event_handler(on_update=lambda _old, new: self._configmap(new),
                                          on_delete=self._configmap)
        self.namespaces.add_event_handler(on_add=self.enqueue, on_update=self._namespace_updated)

    def _configmap(self, obj: Any) -> None:
        cm = object_of(obj)
        if cm["metadata"].get("name") == ROOT_CA_CONFIGMAP:
            self.queue.add(cm["metadata"]["namespace"])

    def _namespace_updated(self, _old: Obj, new: Obj) -> None:
        if (new.get("status") or {}).get("phase") in (None, "Active"):
            self.enqueue(new)

    async def reconcile(self, key: str) -> None:
        current = self.configmaps.store.get(f"{key}/{ROOT_CA_CONFIGMAP}")
        cm = desired_configmap(current, key, self.root_ca)
        if cm is None:
            return
        if current is not None:
            await self.client.update(CONFIGMAPS, cm, namespace=key)
            return
        try:
            await self.client.create(CONFIGMAPS, cm, namespace=key)
        except Exception as err:
            # Not for a namespace that is gone or terminating: every retry would fail.
            if is_not_found(err) or (isinstance(err, StatusError) and any(
                    c.type == NAMESPACE_TERMINATING_CAUSE for c in err.causes)):
                return
            raise

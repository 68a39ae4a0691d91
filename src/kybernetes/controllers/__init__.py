"""kybernetes.controllers: kube-controller-manager.

One module per controller, each a level-triggered reconcile loop over shared
informers (see `base.ReconcileController`); `manager.ControllerManager` starts
the enabled ones under one leader election. Controllers talk to the cluster
only through `kybernetes.client`.
"""

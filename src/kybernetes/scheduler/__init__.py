"""kybernetes.scheduler: kube-scheduler (queue, framework, in-tree plug-ins, binding)."""

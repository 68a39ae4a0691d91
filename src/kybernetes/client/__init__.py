"""kybernetes.client: what client-go is to Kubernetes.

Async REST client (kubeconfig, TLS, tokens, retries, watch), shared informers,
rate-limited work queues, leader election on Leases and an event recorder.
Every component other than the apiserver talks to the cluster only through it.
"""

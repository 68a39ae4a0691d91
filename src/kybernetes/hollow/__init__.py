"""kybernetes.hollow: simulated nodes for scale tests (as kwok): registration, Lease
heartbeats, node status and a pod lifecycle without containers."""

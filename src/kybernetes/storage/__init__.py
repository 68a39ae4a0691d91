"""Storage: the revisioned key-value `Store` (etcd v3 shaped) and its backends."""

"""kube-apiserver: HTTP(S), discovery, REST verbs, watch cache, authn/authz/admission."""

"""Request path parsing, as upstream's RequestInfoFactory."""

from __future__ import annotations

import pytest

from kybernetes.apiserver.paths import parse

CASES = [
    # id, method, path, query, (verb, group, version, namespace, resource, name, subresource)
    ("core-list", "GET", "/api/v1/pods", {}, ("list", "", "v1", "", "pods", "", "")),
    ("ns-list", "GET", "/api/v1/namespaces/ns/pods", {},
     ("list", "", "v1", "ns", "pods", "", "")),
    ("get", "GET", "/api/v1/namespaces/ns/pods/p", {}, ("get", "", "v1", "ns", "pods", "p", "")),
    ("watch-param", "GET", "/api/v1/namespaces/ns/pods", {"watch": "true"},
     ("watch", "", "v1", "ns", "pods", "", "")),
    ("watch-legacy", "GET", "/api/v1/watch/namespaces/ns/pods", {},
     ("watch", "", "v1", "ns", "pods", "", "")),
    ("watch-legacy-name", "GET", "/api/v1/watch/namespaces/ns/pods/p", {},
     ("watch", "", "v1", "ns", "pods", "p", "")),
    ("group", "POST", "/apis/apps/v1/namespaces/ns/deployments", {},
     ("create", "apps", "v1", "ns", "deployments", "", "")),
    ("scale", "PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {},
     ("patch", "apps", "v1", "ns", "deployments", "d", "scale")),
    ("namespace-get", "GET", "/api/v1/namespaces/foo", {},
     ("get", "", "v1", "foo", "namespaces", "foo", "")),
    ("namespace-status", "PUT", "/api/v1/namespaces/foo/status", {},
     ("update", "", "v1", "foo", "namespaces", "foo", "status")),
    ("namespace-finalize", "PUT", "/api/v1/namespaces/foo/finalize", {},
     ("update", "", "v1", "foo", "namespaces", "foo", "finalize")),
    ("delete", "DELETE", "/api/v1/namespaces/ns/configmaps/c", {},
     ("delete", "", "v1", "ns", "configmaps", "c", "")),
    ("deletecollection", "DELETE", "/api/v1/namespaces/ns/configmaps", {},
     ("deletecollection", "", "v1", "ns", "configmaps", "", "")),
    ("cluster", "PUT", "/apis/rbac.authorization.k8s.io/v1/clusterroles/r", {},
     ("update", "rbac.authorization.k8s.io", "v1", "", "clusterroles", "r", "")),
]


@pytest.mark.parametrize(("method", "path", "query", "want"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_resource_requests(method: str, path: str, query: dict[str, str],
                           want: tuple[str, ...]) -> None:
    ri = parse(path, method, query)
    assert ri.resource_request
    assert (ri.verb, ri.group, ri.version, ri.namespace, ri.resource, ri.name,
            ri.subresource) == want


@pytest.mark.parametrize("path", ["/", "/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1",
                                  "/version", "/healthz", "/openapi/v3/api/v1"])
def test_non_resource_requests(path: str) -> None:
    ri = parse(path, "GET", {})
    assert not ri.resource_request
    assert ri.verb == "get"


def test_subresource_tail_is_kept() -> None:
    ri = parse("/api/v1/namespaces/ns/pods/p/proxy/a/b", "GET", {})
    assert (ri.subresource, ri.rest) == ("proxy", ("a", "b"))

"""Authentication, authorization and NamespaceLifecycle admission, without sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from kybernetes.api.errors import StatusError
from kybernetes.apiserver import certs
from kybernetes.apiserver.admission import (
    AdmissionChain,
    AdmissionRequest,
    NamespaceLifecycle,
    Operation,
)
from kybernetes.apiserver.authn import (
    ANONYMOUS,
    AuthenticatorChain,
    TokenAuthenticator,
    UserInfo,
    X509Authenticator,
    is_public_path,
    parse_token_csv,
)
from kybernetes.apiserver.authz import (
    ALLOW,
    DENY,
    NO_OPINION,
    AlwaysAllowAuthenticated,
    Attributes,
    AuthorizerChain,
    Decision,
    PublicInfoAuthorizer,
    SystemMastersAuthorizer,
    Verdict,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------- token file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t1,alice,1\n", {"t1": UserInfo("alice", "1")}),
        ('t1,alice,1,"a,b"\n', {"t1": UserInfo("alice", "1", ("a", "b"))}),
        ("t1,alice,1,single\n", {"t1": UserInfo("alice", "1", ("single",))}),
        ('t1, alice, 1, "g1,g2"\n', {"t1": UserInfo("alice", "1", ("g1", "g2"))}),
        ("\nt1,alice,1\n\nt2,bob,2,\n", {"t1": UserInfo("alice", "1"), "t2": UserInfo("bob", "2")}),
        (",nobody,0\nt1,alice,1\n", {"t1": UserInfo("alice", "1")}),
        ("t1,alice,1\nt1,bob,2\n", {"t1": UserInfo("bob", "2")}),
        ("", {}),
    ],
    ids=["three-columns", "quoted-groups", "one-group", "spaces", "blank-lines",
         "empty-token-skipped", "duplicate-last-wins", "empty-file"],
)
def test_parse_token_csv(text: str, expected: dict[str, UserInfo]) -> None:
    assert parse_token_csv(text) == expected


def test_parse_token_csv_rejects_short_records() -> None:
    with pytest.raises(ValueError, match="at least 3 columns"):
        parse_token_csv("t1,alice\n")


def test_token_authenticator_from_csv_and_added_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text('abc,alice,1,"devs"\n')
    auth = TokenAuthenticator.from_csv(path)
    auth.add_token("xyz", UserInfo("bob"))

    def req(header: str | None):  # type: ignore[no-untyped-def]
        headers = {"Authorization": header} if header is not None else {}
        return make_mocked_request("GET", "/api", headers=headers)

    assert run(auth.authenticate(req("Bearer abc"))) == UserInfo("alice", "1", ("devs",))
    assert run(auth.authenticate(req("bearer xyz"))) == UserInfo("bob")
    assert run(auth.authenticate(req(None))) is None
    assert run(auth.authenticate(req("Basic Zm9vOmJhcg=="))) is None
    with pytest.raises(StatusError) as err:
        run(auth.authenticate(req("Bearer nope")))
    assert (err.value.code, err.value.reason) == (401, "Unauthorized")


def test_token_verifier_hook() -> None:
    class Prefix:
        async def verify(self, token: str) -> UserInfo | None:
            if not token.startswith("sa."):
                return None
            if token == "sa.revoked":
                raise StatusError(401, "Unauthorized", "Unauthorized")
            return UserInfo("system:serviceaccount:default:" + token[3:])

    auth = TokenAuthenticator(verifiers=[Prefix()])
    assert run(auth.verify("sa.builder")).name == "system:serviceaccount:default:builder"
    for bad in ("sa.revoked", "other"):
        with pytest.raises(StatusError):
            run(auth.verify(bad))


# --------------------------------------------------------------------------- chain


@pytest.mark.parametrize(
    ("path", "public"),
    [("/healthz", True), ("/livez/ping", True), ("/readyz", True), ("/version", True),
     ("/version/", True), ("/healthzx", False), ("/api", False), ("/", False)],
    ids=lambda v: str(v),
)
def test_is_public_path(path: str, public: bool) -> None:
    assert is_public_path(path) is public


def test_chain_adds_authenticated_group_and_handles_anonymous() -> None:
    chain = AuthenticatorChain([TokenAuthenticator({"t": UserInfo("alice", groups=("g",))})])
    user = run(chain.authenticate(make_mocked_request(
        "GET", "/api", headers={"Authorization": "Bearer t"})))
    assert user.groups == ("g", "system:authenticated")
    assert run(chain.authenticate(make_mocked_request("GET", "/healthz"))) == ANONYMOUS
    with pytest.raises(StatusError) as err:
        run(chain.authenticate(make_mocked_request("GET", "/api/v1/pods")))
    assert err.value.to_status()["code"] == 401
    # Bad credentials are a 401 even on public paths.
    with pytest.raises(StatusError):
        run(chain.authenticate(make_mocked_request(
            "GET", "/healthz", headers={"Authorization": "Bearer bad"})))


def test_x509_authenticator(tmp_path: Path) -> None:
    pki = certs.ensure_pki(tmp_path / "ours")
    other = certs.ensure_pki(tmp_path / "theirs")
    auth = X509Authenticator(pki.ca_pem)
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    def der(p: certs.Pki, cn: str, orgs: list[str]) -> bytes:
        pem, _ = certs.issue_client_cert(p, cn, orgs)
        return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)

    user = auth.user_for(der(pki, "jane", ["devs", "ops"]))
    assert user == UserInfo("jane", groups=("devs", "ops", "system:authenticated"))
    with pytest.raises(StatusError):
        auth.user_for(der(other, "mallory", ["system:masters"]))
    # No TLS at all: not this authenticator's business.
    assert run(auth.authenticate(make_mocked_request("GET", "/api"))) is None


# --------------------------------------------------------------------------- authz

ALICE = UserInfo("alice", groups=("system:authenticated",))


@pytest.mark.parametrize(
    ("attrs", "message", "details"),
    [
        (
            Attributes(user=ALICE, verb="list", resource_request=True, api_version="v1",
                       resource="pods", namespace="default"),
            'pods is forbidden: User "alice" cannot list resource "pods" in API group ""'
            ' in the namespace "default"',
            {"kind": "pods"},
        ),
        (
            Attributes(user=ALICE, verb="get", resource_request=True, api_group="apps",
                       api_version="v1", resource="deployments", namespace="prod", name="web"),
            'deployments.apps "web" is forbidden: User "alice" cannot get resource'
            ' "deployments" in API group "apps" in the namespace "prod"',
            {"kind": "deployments", "group": "apps", "name": "web"},
        ),
        (
            Attributes(user=ALICE, verb="list", resource_request=True, api_version="v1",
                       resource="nodes"),
            'nodes is forbidden: User "alice" cannot list resource "nodes" in API group ""'
            " at the cluster scope",
            {"kind": "nodes"},
        ),
        (
            Attributes(user=ALICE, verb="create", resource_request=True, api_version="v1",
                       resource="pods", subresource="exec", namespace="ns", name="p"),
            'pods "p" is forbidden: User "alice" cannot create resource "pods/exec" in API'
            ' group "" in the namespace "ns"',
            {"kind": "pods", "name": "p"},
        ),
        (
            Attributes(user=UserInfo("x"), verb="get", resource_request=False, path="/foo"),
            'forbidden: User "x" cannot get path "/foo"',
            {},
        ),
    ],
    ids=["namespaced-list", "named-in-group", "cluster-scope", "subresource", "non-resource"],
)
def test_chain_denial_messages(attrs: Attributes, message: str, details: dict[str, str]) -> None:
    chain = AuthorizerChain([SystemMastersAuthorizer()])  # nobody here is a master
    with pytest.raises(StatusError) as err:
        run(chain.authorize(attrs))
    status = err.value.to_status()
    assert (status["code"], status["reason"], status["message"]) == (403, "Forbidden", message)
    assert status.get("details", {}) == details


class Fixed:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.calls = 0

    async def authorize(self, attrs: Attributes) -> Decision:
        self.calls += 1
        return self.decision


POD_LIST = Attributes(user=ALICE, verb="list", resource_request=True, resource="pods",
                      namespace="default")


@pytest.mark.parametrize(
    ("decisions", "allowed"),
    [
        ([ALLOW], True),
        ([NO_OPINION, ALLOW], True),
        ([DENY, ALLOW], False),
        ([NO_OPINION, NO_OPINION], False),
        ([], False),
    ],
    ids=["allow", "no-opinion-then-allow", "deny-wins-first", "all-no-opinion", "empty"],
)
def test_chain_first_decision_wins(decisions: list[Decision], allowed: bool) -> None:
    chain = AuthorizerChain([Fixed(d) for d in decisions])
    assert run(chain.decide(POD_LIST)).allowed is allowed


def test_chain_stops_at_first_decision_and_appends_reason() -> None:
    later = Fixed(ALLOW)
    chain = AuthorizerChain([Fixed(Decision(Verdict.DENY, "RBAC: role missing")), later])
    with pytest.raises(StatusError) as err:
        run(chain.authorize(POD_LIST))
    assert later.calls == 0
    assert err.value.message.endswith('in the namespace "default": RBAC: role missing')


@pytest.mark.parametrize(
    ("user", "path", "allowed"),
    [
        (UserInfo("root", groups=("system:masters",)), "", True),
        (ALICE, "", True),
        (ANONYMOUS, "", False),
        (ANONYMOUS, "/healthz", True),
        (ANONYMOUS, "/version", True),
        (ANONYMOUS, "/metrics", False),
    ],
    ids=["master", "authenticated", "anonymous-resource", "anonymous-healthz",
         "anonymous-version", "anonymous-metrics"],
)
def test_builtin_authorizers(user: UserInfo, path: str, allowed: bool) -> None:
    chain = AuthorizerChain(
        [SystemMastersAuthorizer(), PublicInfoAuthorizer(), AlwaysAllowAuthenticated()]
    )
    if path:
        attrs = Attributes(user=user, verb="get", resource_request=False, path=path)
    else:
        attrs = Attributes(user=user, verb="get", resource_request=True, resource="pods",
                           namespace="default", name="p")
    assert run(chain.decide(attrs)).allowed is allowed


# --------------------------------------------------------------------------- admission

NAMESPACES: dict[str, dict[str, Any]] = {
    "default": {"metadata": {"name": "default"}, "status": {"phase": "Active"}},
    "live": {"metadata": {"name": "live"}, "status": {"phase": "Active"}},
    "dying": {"metadata": {"name": "dying"}, "status": {"phase": "Terminating"}},
    "doomed": {"metadata": {"name": "doomed", "deletionTimestamp": "2024-01-01T00:00:00Z"},
               "status": {"phase": "Active"}},
}


async def lookup(name: str) -> dict[str, Any] | None:
    return NAMESPACES.get(name)


def make_req(
    op: str = "CREATE",
    *,
    resource: str = "pods",
    kind: str = "Pod",
    group: str = "",
    namespace: str = "live",
    name: str = "p",
    subresource: str = "",
    namespaced: bool = True,
    obj_name: str | None = None,
) -> AdmissionRequest:
    obj = {"metadata": {"name": obj_name}} if obj_name is not None else None
    return AdmissionRequest(
        operation=Operation(op), group=group, version="v1", resource=resource, kind=kind,
        namespaced=namespaced, namespace=namespace, name=name, subresource=subresource,
        obj=obj, user=ALICE,
    )


TERMINATING = "unable to create new content in namespace {} because it is being terminated"


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (make_req(), None),
        (make_req(namespace="missing"), (404, "NotFound", 'namespaces "missing" not found')),
        (make_req(namespace="dying"),
         (403, "Forbidden", 'pods "p" is forbidden: ' + TERMINATING.format("dying"))),
        (make_req(namespace="doomed", resource="deployments", kind="Deployment", group="apps",
                  name="web"),
         (403, "Forbidden",
          'deployments.apps "web" is forbidden: ' + TERMINATING.format("doomed"))),
        (make_req(namespace="dying", name="", obj_name="gen-x1"),
         (403, "Forbidden", 'pods "gen-x1" is forbidden: ' + TERMINATING.format("dying"))),
        (make_req(namespace="dying", subresource="eviction"),
         (403, "Forbidden", 'pods "p" is forbidden: ' + TERMINATING.format("dying"))),
        (make_req("UPDATE", namespace="dying", subresource="status"), None),
        (make_req("UPDATE", namespace="dying"), None),
        (make_req("DELETE", namespace="dying"), None),
        (make_req("UPDATE", namespace="missing"), None),
        (make_req(resource="nodes", kind="Node", namespace="", namespaced=False), None),
        (make_req(resource="namespaces", kind="Namespace", namespace="", name="new",
                  namespaced=False), None),
        (make_req("DELETE", resource="namespaces", kind="Namespace", namespace="",
                  name="default", namespaced=False),
         (403, "Forbidden",
          'namespaces "default" is forbidden: this namespace may not be deleted')),
        (make_req("DELETE", resource="namespaces", kind="Namespace", namespace="",
                  name="kube-system", namespaced=False),
         (403, "Forbidden",
          'namespaces "kube-system" is forbidden: this namespace may not be deleted')),
        (make_req("DELETE", resource="namespaces", kind="Namespace", namespace="",
                  name="live", namespaced=False), None),
        (make_req(resource="localsubjectaccessreviews", kind="LocalSubjectAccessReview",
                  group="authorization.k8s.io", namespace="dying"), None),
    ],
    ids=["create-live", "create-missing", "create-terminating-phase",
         "create-deletion-timestamp", "create-generate-name", "create-subresource-terminating",
         "update-status-terminating", "update-terminating", "delete-terminating",
         "update-missing-not-checked", "cluster-scoped", "create-namespace",
         "delete-default", "delete-kube-system", "delete-ordinary-namespace",
         "access-review-terminating"],
)
def test_namespace_lifecycle(
    req: AdmissionRequest, expected: tuple[int, str, str] | None
) -> None:
    chain = AdmissionChain(validating=[NamespaceLifecycle(lookup)])
    if expected is None:
        run(chain.run_validating(req))
        return
    with pytest.raises(StatusError) as err:
        run(chain.run_validating(req))
    assert (err.value.code, err.value.reason, err.value.message) == expected


def test_namespace_lifecycle_details() -> None:
    plugin = NamespaceLifecycle(lookup)
    with pytest.raises(StatusError) as err:
        run(plugin.validate(make_req(namespace="missing")))
    assert err.value.to_status()["details"] == {"kind": "namespaces", "name": "missing"}
    with pytest.raises(StatusError) as err:
        run(plugin.validate(make_req(namespace="dying")))
    assert err.value.to_status()["details"] == {
        "kind": "pods",
        "name": "p",
        "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                    "message": "namespace dying is being terminated"}],
    }


def test_admission_chain_runs_mutating_in_order() -> None:
    class Label:
        def __init__(self, key: str) -> None:
            self.key = key

        async def admit(self, req: AdmissionRequest) -> None:
            assert req.obj is not None
            labels = req.obj["metadata"].setdefault("labels", {})
            labels[self.key] = str(len(labels))

    req = make_req(obj_name="p")
    run(AdmissionChain(mutating=[Label("a"), Label("b")]).run_mutating(req))
    assert req.obj == {"metadata": {"name": "p", "labels": {"a": "0", "b": "1"}}}

"""Admission webhooks and ValidatingAdmissionPolicy, through the real kubectl.

The test serves its own webhooks over HTTPS on 127.0.0.1 (aiohttp in a thread,
a certificate from a CA made here, the CA in each configuration's caBundle) and
registers them with kubectl. Every configuration is scoped to the test's own
namespace (namespaceSelector on `kubernetes.io/metadata.name`) so the tests of
this module share one server and run in any order. A configuration applies once
the server's watch cache has it: the tests poll for that (a server-side dry run
is harmless to repeat) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]
DEADLINE_SECONDS = 30.0
SERVICE_NAMESPACE = "webhook-system"
SERVICE_NAME = "kyb-webhook"
SLOW_SECONDS = 3.0


# --- a CA and a serving certificate ----------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certificates(tmp: Path) -> tuple[bytes, Path, Path]:
    """(CA PEM, server cert file, server key file); the server certificate is valid for
    127.0.0.1 and for the test Service's DNS name."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("kyb-test-ca"))
          .issuer_name(_name("kyb-test-ca")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            x509.DNSName(f"{SERVICE_NAME}.{SERVICE_NAMESPACE}.svc")]
    cert = (x509.CertificateBuilder().subject_name(_name("kyb-webhook"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = tmp / "webhook.crt", tmp / "webhook.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM), cert_path, key_path


def make_certificates_ca_only() -> bytes:
    """The PEM of a CA that signed nothing the webhook server presents."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateBuilder().subject_name(_name("other-ca"))
            .issuer_name(_name("other-ca")).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())).public_bytes(serialization.Encoding.PEM)


# --- the webhook server ------------------------------------------------------------------


def _patch(ops: list[Obj]) -> str:
    return base64.b64encode(json.dumps(ops).encode()).decode()


def mutate(request: Obj) -> Obj:
    """Label the object `mutated-by: kyb-webhook` (a JSON patch) and say so."""
    labels = ((request.get("object") or {}).get("metadata") or {}).get("labels")
    ops: list[Obj] = [] if labels is not None else [
        {"op": "add", "path": "/metadata/labels", "value": {}}]
    ops.append({"op": "add", "path": "/metadata/labels/mutated-by", "value": "kyb-webhook"})
    return {"allowed": True, "patchType": "JSONPatch", "patch": _patch(ops),
            "warnings": ["labelled by the test webhook"]}


def validate(request: Obj) -> Obj:
    """Refuse objects labelled `deny: "true"`, with a 403 of the webhook's own."""
    labels = ((request.get("object") or {}).get("metadata") or {}).get("labels") or {}
    if labels.get("deny") == "true":
        return {"allowed": False, "status": {
            "code": 403, "reason": "Forbidden",
            "message": "objects labelled deny=true are not welcome here"}}
    return {"allowed": True}


class WebhookServer:
    """Serves /mutate and /validate over HTTPS on 127.0.0.1 from a thread of its own and
    records every AdmissionReview request it gets, by path."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(cert, key)
        self.port = 0
        self.requests: dict[str, list[Obj]] = {"/mutate": [], "/validate": [], "/slow": []}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/mutate", self._handler(mutate))
        app.router.add_post("/validate", self._handler(validate))
        app.router.add_post("/slow", self._handler(validate, delay=SLOW_SECONDS))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _handler(self, answer: Callable[[Obj], Obj], delay: float = 0.0) -> Any:
        async def handle(request: web.Request) -> web.Response:
            review = await request.json()
            self.requests[request.path].append(review["request"])
            if delay:  # a webhook slower than its configured timeout
                await asyncio.sleep(delay)
            response = {"uid": review["request"]["uid"], **answer(review["request"])}
            return web.json_response({"apiVersion": review["apiVersion"],
                                      "kind": "AdmissionReview", "response": response})
        return handle

    def start(self) -> WebhookServer:
        self._thread.start()
        assert self._ready.wait(10), "webhook server did not start"
        return self

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def seen(self, path: str, namespace: str) -> list[Obj]:
        return [r for r in list(self.requests[path]) if r.get("namespace") == namespace]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("webhook-certs"))


@pytest.fixture(scope="module")
def hooks(certs: tuple[bytes, Path, Path]) -> Iterator[WebhookServer]:
    _, cert, key = certs
    server = WebhookServer(cert, key).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ca_bundle(certs: tuple[bytes, Path, Path]) -> str:
    return base64.b64encode(certs[0]).decode()


# --- helpers ---------------------------------------------------------------------------------


def eventually(check: Callable[[], Any], what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    """Poll `check` until it returns something truthy, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def apply(kyb: ServerProcess, *objs: Obj) -> None:
    kyb.kubectl("create", "-f", "-", input=yaml.safe_dump_all(objs))


def only_in(ns: str) -> Obj:
    return {"matchLabels": {"kubernetes.io/metadata.name": ns}}


def webhook(name: str, client_config: Obj, ns: str, **extra: Any) -> Obj:
    return {"name": name, "clientConfig": client_config, "sideEffects": "None",
            "admissionReviewVersions": ["v1"], "namespaceSelector": only_in(ns),
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""],
                       "apiVersions": ["v1"], "resources": ["configmaps"]}], **extra}


def configuration(kind: str, name: str, *hooks: Obj) -> Obj:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
            "metadata": {"name": name}, "webhooks": list(hooks)}


def create_cm(kyb: ServerProcess, ns: str, name: str, *flags: str,
              labels: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`kubectl create` of a ConfigMap (labelled through a manifest), without check."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": name, "namespace": ns, "labels": labels or {}}}
    return kyb.kubectl("create", "-f", "-", *flags, input=json.dumps(cm), check=False)


def dry_run_cm(kyb: ServerProcess, ns: str, labels: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return create_cm(kyb, ns, "probe", "--dry-run=server", "-o", "json", labels=labels)


# --- mutating and validating webhooks -----------------------------------------------------------


def test_mutating_webhook_labels_the_object_with_a_json_patch(
        kyb: ServerProcess, ns: str, hooks: WebhookServer, ca_bundle: str) -> None:
    apply(kyb, configuration("MutatingWebhookConfiguration", f"{ns}-mutate", webhook(
        "mutate.kyb.test", {"url": hooks.url("/mutate"), "caBundle": ca_bundle}, ns)))
    eventually(lambda: "mutated-by" in dry_run_cm(kyb, ns).stdout, "the mutating webhook")

    res = create_cm(kyb, ns, "settings")
    assert res.returncode == 0, res.stderr
    assert "Warning: labelled by the test webhook" in res.stderr
    label = kyb.kubectl("get", "configmap", "settings", "-n", ns, "-o",
                        "jsonpath={.metadata.labels.mutated-by}").stdout
    assert label == "kyb-webhook"

    # The webhook saw an upstream-shaped AdmissionReview.
    seen = next(r for r in hooks.seen("/mutate", ns) if r.get("name") == "settings")
    assert seen["operation"] == "CREATE" and seen["dryRun"] is False
    assert seen["kind"] == seen["requestKind"] == {"group": "", "version": "v1",
                                                   "kind": "ConfigMap"}
    assert seen["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert seen["userInfo"]["username"] and seen["options"]["kind"] == "CreateOptions"
    assert seen["object"]["metadata"]["name"] == "settings" and seen["oldObject"] is None


def test_validating_webhook_denies_with_its_own_message(
        kyb: ServerProcess, ns: str, hooks: WebhookServer, ca_bundle: str) -> None:
    apply(kyb, configuration("ValidatingWebhookConfiguration", f"{ns}-validate", webhook(
        "deny.kyb.test", {"url": hooks.url("/validate"), "caBundle": ca_bundle}, ns,
        matchConditions=[{"name": "not-skipped",
                          "expression": "!('skip' in object.metadata.labels)"}])))
    eventually(lambda: dry_run_cm(kyb, ns, {"deny": "true"}).returncode != 0,
               "the validating webhook")

    res = create_cm(kyb, ns, "unwelcome", labels={"deny": "true"})
    assert res.returncode != 0
    assert ('Error from server (Forbidden): error when creating "STDIN": admission webhook '
            '"deny.kyb.test" denied the request: objects labelled deny=true are not welcome '
            'here') in res.stderr
    assert create_cm(kyb, ns, "welcome").returncode == 0
    # A false matchCondition skips the webhook.
    assert create_cm(kyb, ns, "skipped", labels={"deny": "true", "skip": "yes"}
                     ).returncode == 0
    assert all(r["name"] != "skipped" for r in hooks.seen("/validate", ns))


def test_failure_policy_fail_rejects_and_ignore_admits_when_the_webhook_is_down(
        kyb: ServerProcess, ns: str, ca_bundle: str) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    name = f"{ns}-down"
    apply(kyb, configuration("ValidatingWebhookConfiguration", name, webhook(
        "down.kyb.test", {"url": f"https://127.0.0.1:{port}/validate", "caBundle": ca_bundle},
        ns, failurePolicy="Fail")))
    eventually(lambda: dry_run_cm(kyb, ns).returncode != 0, "the failing webhook")
    res = create_cm(kyb, ns, "blocked")
    assert res.returncode != 0
    assert ('Error from server (InternalError): error when creating "STDIN": Internal error '
            'occurred: failed calling webhook "down.kyb.test": failed to call webhook: Post '
            f'"https://127.0.0.1:{port}/validate?timeout=10s": dial tcp 127.0.0.1:{port}: '
            'connect: connection refused') in res.stderr

    kyb.kubectl("patch", "validatingwebhookconfiguration", name, "--type=json", "-p",
                '[{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}]')
    eventually(lambda: dry_run_cm(kyb, ns).returncode == 0, "failurePolicy Ignore")
    assert create_cm(kyb, ns, "admitted").returncode == 0


def test_untrusted_certificate_and_timeout_are_call_failures(
        kyb: ServerProcess, ns: str, hooks: WebhookServer, ca_bundle: str) -> None:
    other_ca = base64.b64encode(make_certificates_ca_only()).decode()
    apply(kyb, configuration(
        "ValidatingWebhookConfiguration", f"{ns}-failing",
        webhook("untrusted.kyb.test", {"url": hooks.url("/validate"), "caBundle": other_ca},
                ns, objectSelector={"matchLabels": {"hook": "untrusted"}}),
        webhook("slow.kyb.test", {"url": hooks.url("/slow"), "caBundle": ca_bundle}, ns,
                timeoutSeconds=1, objectSelector={"matchLabels": {"hook": "slow"}})))
    res = eventually(lambda: (r := dry_run_cm(kyb, ns, {"hook": "untrusted"})).returncode
                     and r, "the webhook with the wrong CA")
    assert ('Internal error occurred: failed calling webhook "untrusted.kyb.test": failed to '
            f'call webhook: Post "{hooks.url("/validate")}?timeout=10s": tls: failed to '
            "verify certificate: x509: certificate signed by unknown authority") in res.stderr
    res = eventually(lambda: (r := dry_run_cm(kyb, ns, {"hook": "slow"})).returncode and r,
                     "the slow webhook")
    assert ('Internal error occurred: failed calling webhook "slow.kyb.test": failed to call '
            f'webhook: Post "{hooks.url("/slow")}?timeout=1s": context deadline exceeded'
            ) in res.stderr


def test_dry_run_calls_side_effect_free_webhooks_and_stores_nothing(
        kyb: ServerProcess, ns: str, hooks: WebhookServer, ca_bundle: str) -> None:
    apply(kyb, configuration("MutatingWebhookConfiguration", f"{ns}-dry", webhook(
        "dry.kyb.test", {"url": hooks.url("/mutate"), "caBundle": ca_bundle}, ns)))
    out = eventually(lambda: (r := dry_run_cm(kyb, ns)).returncode == 0
                     and "mutated-by" in r.stdout and r.stdout, "the webhook on dry runs")
    assert json.loads(out)["metadata"]["labels"] == {"mutated-by": "kyb-webhook"}
    seen = hooks.seen("/mutate", ns)[-1]
    assert seen["dryRun"] is True and seen["options"]["dryRun"] == ["All"]
    res = kyb.kubectl("get", "configmap", "probe", "-n", ns, check=False)
    assert res.returncode != 0 and "NotFound" in res.stderr


def test_service_client_config_resolves_through_endpoints(
        kyb: ServerProcess, ns: str, hooks: WebhookServer, ca_bundle: str) -> None:
    if kyb.kubectl("get", "namespace", SERVICE_NAMESPACE, check=False).returncode != 0:
        kyb.kubectl("create", "namespace", SERVICE_NAMESPACE)
    apply(kyb, {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE},
                "spec": {"ports": [{"name": "https", "port": 443,
                                    "targetPort": hooks.port}]}},
          {"apiVersion": "v1", "kind": "Endpoints",
           "metadata": {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE},
           "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                        "ports": [{"name": "https", "port": hooks.port}]}]})
    service = {"name": SERVICE_NAME, "namespace": SERVICE_NAMESPACE, "path": "/validate"}
    apply(kyb, configuration("ValidatingWebhookConfiguration", f"{ns}-svc", webhook(
        "svc.kyb.test", {"service": service, "caBundle": ca_bundle}, ns)))
    eventually(lambda: dry_run_cm(kyb, ns, {"deny": "true"}).returncode != 0,
               "the webhook behind a Service")
    res = create_cm(kyb, ns, "unwelcome", labels={"deny": "true"})
    assert 'admission webhook "svc.kyb.test" denied the request' in res.stderr


def test_invalid_configuration_is_rejected(kyb: ServerProcess, ns: str) -> None:
    bad = configuration("ValidatingWebhookConfiguration", f"{ns}-bad", {
        "name": "short", "clientConfig": {"url": "http://127.0.0.1/x"},
        "admissionReviewVersions": ["v1"]})
    res = kyb.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert res.returncode != 0
    assert "webhooks[0].name: Invalid value: \"short\": should be a domain with at least " \
           "three segments separated by dots" in res.stderr
    assert "webhooks[0].sideEffects: Required value" in res.stderr
    assert "webhooks[0].clientConfig.url: Invalid value: \"http://127.0.0.1/x\": 'https' " \
           "is the only allowed URL scheme" in res.stderr


# --- ValidatingAdmissionPolicy ----------------------------------------------------------------


def policy(name: str, ns: str, *validations: Obj, **spec: Any) -> Obj:
    return {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy", "metadata": {"name": name},
            "spec": {"failurePolicy": "Fail", "matchConstraints": {
                "namespaceSelector": only_in(ns),
                "resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                                   "operations": ["CREATE", "UPDATE"],
                                   "resources": ["deployments"]}]},
                     "validations": list(validations), **spec}}


def binding(name: str, policy_name: str, *actions: str, **spec: Any) -> Obj:
    return {"apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
            "spec": {"policyName": policy_name, "validationActions": list(actions), **spec}}


def deploy(kyb: ServerProcess, ns: str, name: str, replicas: int, *flags: str
           ) -> subprocess.CompletedProcess[str]:
    return kyb.kubectl("create", "deployment", name, "--image=nginx", f"--replicas={replicas}",
                       "-n", ns, *flags, check=False)


def test_policy_denies_deployments_with_more_than_five_replicas(
        kyb: ServerProcess, ns: str) -> None:
    apply(kyb, policy(f"{ns}-replicas", ns, {"expression": "object.spec.replicas <= 5"}),
          binding(f"{ns}-replicas-binding", f"{ns}-replicas", "Deny"))
    eventually(lambda: deploy(kyb, ns, "big", 6, "--dry-run=server").returncode != 0,
               "the policy")
    res = deploy(kyb, ns, "big", 6)
    assert res.returncode != 0
    assert (f'error: failed to create deployment: deployments.apps "big" is forbidden: '
            f"ValidatingAdmissionPolicy '{ns}-replicas' with binding '{ns}-replicas-binding' "
            "denied request: failed expression: object.spec.replicas <= 5") in res.stderr
    assert deploy(kyb, ns, "small", 5).returncode == 0
    # Updates are checked too.
    res = kyb.kubectl("patch", "deployment", "small", "-n", ns, "--type=merge", "-p",
                      '{"spec": {"replicas": 7}}', check=False)
    assert "denied request: failed expression" in res.stderr


def test_policy_message_expression_params_and_variables(
        kyb: ServerProcess, ns: str) -> None:
    kyb.kubectl("create", "configmap", "limits", "-n", ns, "--from-literal=maxReplicas=3")
    apply(kyb, policy(
        f"{ns}-limits", ns,
        {"expression": "variables.replicas <= int(params.data.maxReplicas)",
         "messageExpression": "'replicas ' + string(variables.replicas) + ' exceed ' + "
                              "params.data.maxReplicas",
         "reason": "Forbidden"},
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        variables=[{"name": "replicas", "expression": "object.spec.replicas"}]),
        binding(f"{ns}-limits-binding", f"{ns}-limits", "Deny",
                paramRef={"name": "limits", "namespace": ns,
                          "parameterNotFoundAction": "Deny"}))
    eventually(lambda: deploy(kyb, ns, "four", 4, "--dry-run=server").returncode != 0,
               "the parameterised policy")
    res = deploy(kyb, ns, "four", 4)
    assert f"binding '{ns}-limits-binding' denied request: replicas 4 exceed 3" in res.stderr
    assert "(Forbidden)" in res.stderr or "is forbidden" in res.stderr
    assert deploy(kyb, ns, "three", 3).returncode == 0


def test_policy_warn_action_sends_a_warning(kyb: ServerProcess, ns: str) -> None:
    apply(kyb, policy(f"{ns}-warn", ns, {"expression": "object.spec.replicas <= 5",
                                         "message": "more than five replicas"}),
          binding(f"{ns}-warn-binding", f"{ns}-warn", "Warn", "Audit"))
    warning = (f"Warning: Validation failed for ValidatingAdmissionPolicy '{ns}-warn' with "
               f"binding '{ns}-warn-binding': more than five replicas")
    eventually(lambda: warning in deploy(kyb, ns, "big", 6, "--dry-run=server").stderr,
               "the warning policy")
    res = deploy(kyb, ns, "big", 6)
    assert res.returncode == 0 and warning in res.stderr

"""CustomResourceDefinitions end to end: the real kubectl and the Python client.

A CRD applied with kubectl becomes served within a second or so (polled, never
slept on): discovery, OpenAPI (`kubectl explain`), Tables with its printer
columns, schema defaults, pruning, validation with CEL rules, the status and
scale subresources, several versions, and deletion behind the cleanup
finalizer. Each test works in a namespace or an API group of its own, so the
module's one server serves them in any order and in parallel.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

from kybernetes.testing.server import ServerProcess

Obj = dict[str, Any]

DEADLINE_SECONDS = 20.0
GROUP = "stable.example.com"
_ids = itertools.count()


# --- helpers ----------------------------------------------------------------------------


def poll(check: Callable[[], Any], what: str) -> Any:
    """`check()`'s first truthy result; fails after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rows(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines() if line.strip()]


def columns(stdout: str) -> list[dict[str, str]]:
    """kubectl's table output as one dict per row, cut at the header's column starts
    (so that empty cells stay empty)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    heads = lines[0].split()
    out = []
    for line in lines[1:]:
        cuts = [*starts[1:], len(line) + 1]
        out.append({h: line[a:b].strip() for h, a, b in zip(heads, starts, cuts, strict=True)})
    return out


def apply(kyb: ServerProcess, obj: Obj, *args: str) -> str:
    return kyb.kubectl("apply", "-f", "-", *args, input=yaml.safe_dump(obj)).stdout


def get_json(kyb: ServerProcess, *args: str) -> Obj:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def crd(group: str, kind: str, plural: str, *, versions: list[Obj] | None = None,
        scope: str = "Namespaced", short_names: tuple[str, ...] = (),
        categories: tuple[str, ...] = ()) -> Obj:
    names: Obj = {"plural": plural, "singular": kind.lower(), "kind": kind}
    if short_names:
        names["shortNames"] = list(short_names)
    if categories:
        names["categories"] = list(categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": scope, "names": names,
                 "versions": versions or [version("v1")]},
    }


def version(name: str, *, storage: bool = True, schema: Obj | None = None, **extra: Any) -> Obj:
    return {"name": name, "served": True, "storage": storage,
            "schema": {"openAPIV3Schema": schema or {
                "type": "object", "properties": {"spec": {
                    "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
            **extra}


CRONTAB_SCHEMA: Obj = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "description": "CronTabSpec is the desired state of a cron tab.",
            "x-kubernetes-validations": [{
                "rule": "self.replicas <= self.maxReplicas",
                "message": "replicas must not exceed maxReplicas"}],
            "properties": {
                "cronSpec": {"type": "string", "description": "When to run, in cron format.",
                             "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"},
                "image": {"type": "string", "description": "The image to run."},
                "replicas": {"type": "integer", "minimum": 0, "default": 1},
                "maxReplicas": {"type": "integer", "default": 10},
                "mode": {"type": "string", "enum": ["Once", "Repeat"], "default": "Repeat"},
            },
        },
        "status": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "labelSelector": {"type": "string"},
                "conditions": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}},
            },
        },
    },
}

CRONTAB_CRD = crd(GROUP, "CronTab", "crontabs", short_names=("ct",), categories=("all",),
                  versions=[version(
                      "v1", schema=CRONTAB_SCHEMA,
                      subresources={"status": {}, "scale": {
                          "specReplicasPath": ".spec.replicas",
                          "statusReplicasPath": ".status.replicas",
                          "labelSelectorPath": ".status.labelSelector"}},
                      additionalPrinterColumns=[
                          {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                          {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                          {"name": "Ready", "type": "string",
                           "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                          {"name": "Image", "type": "string", "jsonPath": ".spec.image",
                           "priority": 1},
                          {"name": "Age", "type": "date",
                           "jsonPath": ".metadata.creationTimestamp"},
                      ])])


def crontab(name: str, **spec: Any) -> Obj:
    return {"apiVersion": f"{GROUP}/v1", "kind": "CronTab", "metadata": {"name": name},
            "spec": {"cronSpec": "* * * * */5", "image": "my-image", **spec}}


def wait_served(kyb: ServerProcess, group: str, plural: str) -> None:
    def served() -> bool:
        out = kyb.kubectl("api-resources", f"--api-group={group}", "--cached=false",
                          check=False).stdout
        return any(r and r[0] == plural for r in rows(out))
    poll(served, f"{plural}.{group} in api-resources")


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crontabs(kyb: ServerProcess) -> str:
    """The CronTab CRD, applied once per server and served."""
    apply(kyb, CRONTAB_CRD)
    wait_served(kyb, GROUP, "crontabs")
    return "crontabs"


@pytest.fixture(scope="module")
def api(kyb: ServerProcess) -> Iterator[client.ApiClient]:
    c = config.new_client_from_config(config_file=str(kyb.kubeconfig))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def group() -> str:
    """An API group of the test's own, for CRDs no other test sees."""
    return f"g{next(_ids)}-{int(time.time() * 1000) % 100000}.example.com"


# --- the CRD itself -------------------------------------------------------------------------


def test_crd_is_established_with_accepted_names(kyb: ServerProcess, crontabs: str) -> None:
    obj = get_json(kyb, "crd", f"crontabs.{GROUP}")
    status = obj["status"]
    assert status["acceptedNames"]["kind"] == "CronTab"
    assert status["acceptedNames"]["shortNames"] == ["ct"]
    assert status["storedVersions"] == ["v1"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["NamesAccepted"]["status"] == "True"
    assert conditions["Established"]["status"] == "True"
    assert conditions["Established"]["reason"] == "InitialNamesAccepted"
    out = kyb.kubectl("get", "crds").stdout
    assert rows(out)[0] == ["NAME", "CREATED AT"]


def test_api_resources_and_discovery(kyb: ServerProcess, crontabs: str,
                                     api: client.ApiClient) -> None:
    out = kyb.kubectl("api-resources", f"--api-group={GROUP}").stdout
    assert rows(out)[1] == ["crontabs", "ct", f"{GROUP}/v1", "true", "CronTab"]
    legacy = json.loads(kyb.kubectl("get", "--raw", f"/apis/{GROUP}/v1").stdout)
    names = {r["name"]: r for r in legacy["resources"]}
    assert set(names) == {"crontabs", "crontabs/status", "crontabs/scale"}
    assert names["crontabs"]["categories"] == ["all"]
    assert names["crontabs/scale"]["group"] == "autoscaling"
    raw = api.rest_client.pool_manager.request(
        "GET", api.configuration.host + "/apis", headers={
            "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
    doc = json.loads(raw.data)
    item = next(i for i in doc["items"] if i["metadata"]["name"] == GROUP)
    resource = item["versions"][0]["resources"][0]
    assert resource["responseKind"] == {"group": GROUP, "version": "v1", "kind": "CronTab"}
    assert resource["scope"] == "Namespaced"
    assert resource["singularResource"] == "crontab"


def test_invalid_crd_is_rejected(kyb: ServerProcess, group: str) -> None:
    bad = crd(group, "Thing", "things", versions=[version("v1"), version("v2")])
    bad["metadata"]["name"] = "wrong.name"
    res = kyb.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert res.returncode != 0
    assert 'metadata.name: Invalid value: "wrong.name": must be spec.names.plural+"."+' \
           "spec.group" in res.stderr
    assert "must have exactly one version marked as storage version" in res.stderr
    nonstructural = crd(group, "Thing", "things", versions=[version("v1", schema={
        "type": "object", "properties": {"spec": {"properties": {"a": {"type": "string"}}}}})])
    res = kyb.kubectl("apply", "-f", "-", input=yaml.safe_dump(nonstructural), check=False)
    assert ("spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: "
            "must not be empty for specified object fields") in res.stderr


def test_name_conflict_is_not_accepted(kyb: ServerProcess, group: str) -> None:
    apply(kyb, crd(group, "Gadget", "gadgets", short_names=("gd",)))
    wait_served(kyb, group, "gadgets")
    apply(kyb, crd(group, "Gizmo", "gizmos", short_names=("gd",)))

    def condition() -> Obj | None:
        obj = get_json(kyb, "crd", f"gizmos.{group}")
        found = [c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == "NamesAccepted"]
        return found[0] if found else None

    cond = poll(condition, "NamesAccepted on the conflicting CRD")
    assert cond["status"] == "False"
    assert cond["reason"] == "ShortNamesConflict"
    assert cond["message"] == '"gd" is already in use'
    obj = get_json(kyb, "crd", f"gizmos.{group}")
    established = [c for c in obj["status"]["conditions"] if c["type"] == "Established"]
    assert established[0]["status"] == "False"
    res = kyb.kubectl("get", "--raw", f"/apis/{group}/v1/gizmos", check=False)
    assert res.returncode != 0 and "NotFound" in res.stderr


# --- custom resources with kubectl -------------------------------------------------------------


def test_create_get_with_printer_columns_and_defaults(kyb: ServerProcess, crontabs: str,
                                                      ns: str) -> None:
    apply(kyb, crontab("my-cron"), "-n", ns)
    out = rows(kyb.kubectl("get", "ct", "-n", ns).stdout)
    assert out[0] == ["NAME", "SPEC", "REPLICAS", "READY", "AGE"]
    assert out[1][:3] == ["my-cron", "* * * * */5", "1"]
    wide = kyb.kubectl("get", "crontab", "my-cron", "-n", ns, "-o", "wide").stdout
    assert wide.split("\n")[0].split() == ["NAME", "SPEC", "REPLICAS", "READY", "IMAGE", "AGE"]
    row = columns(wide)[0]
    assert (row["READY"], row["IMAGE"]) == ("", "my-image")
    obj = get_json(kyb, "crontabs.stable.example.com", "my-cron", "-n", ns)
    assert obj["spec"]["replicas"] == 1
    assert obj["spec"]["maxReplicas"] == 10
    assert obj["spec"]["mode"] == "Repeat"
    assert obj["metadata"]["generation"] == 1
    names = kyb.kubectl("get", "all", "-n", ns, "-o", "name").stdout.split()
    assert f"crontab.{GROUP}/my-cron" in names


def test_cel_rule_rejects_with_its_message(kyb: ServerProcess, crontabs: str, ns: str) -> None:
    res = kyb.kubectl("apply", "-n", ns, "-f", "-", check=False,
                      input=yaml.safe_dump(crontab("too-many", replicas=20, maxReplicas=5)))
    assert res.returncode != 0
    assert ('The CronTab "too-many" is invalid: spec: Invalid value: "object": replicas must '
            "not exceed maxReplicas") in res.stderr
    apply(kyb, crontab("c1"), "-n", ns)
    res = kyb.kubectl("patch", "ct", "c1", "-n", ns, "--type=merge", "-p",
                      '{"spec":{"replicas":11}}', check=False)
    assert "replicas must not exceed maxReplicas" in res.stderr


def test_schema_validation_errors(kyb: ServerProcess, crontabs: str, ns: str) -> None:
    bad = crontab("bad", replicas="three", mode="Sometimes", cronSpec="never")
    res = kyb.kubectl("create", "-n", ns, "-f", "-", check=False, input=yaml.safe_dump(bad))
    assert res.returncode != 0
    err = res.stderr
    assert ('spec.replicas: Invalid value: "string": spec.replicas in body must be of type '
            'integer: "string"') in err
    assert 'spec.mode: Unsupported value: "Sometimes": supported values: "Once", "Repeat"' in err
    assert "spec.cronSpec in body should match" in err
    res = kyb.kubectl("create", "-n", ns, "-f", "-", check=False,
                      input=yaml.safe_dump(crontab("neg", replicas=-1)))
    assert ("spec.replicas: Invalid value: -1: spec.replicas in body should be greater than "
            "or equal to 0") in res.stderr


def test_unknown_fields_strict_warn_and_pruned(kyb: ServerProcess, crontabs: str,
                                               ns: str) -> None:
    obj = crontab("extra", bogus=1)
    obj["metadata"]["junk"] = "x"
    res = kyb.kubectl("create", "-n", ns, "-f", "-", check=False, input=yaml.safe_dump(obj))
    assert res.returncode != 0
    assert ('CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: '
            'unknown field "spec.bogus"') in res.stderr
    res = kyb.kubectl("create", "-n", ns, "--validate=warn", "-f", "-", input=yaml.safe_dump(obj))
    assert 'unknown field "spec.bogus"' in res.stderr
    assert 'unknown field "metadata.junk"' in res.stderr
    stored = get_json(kyb, "ct", "extra", "-n", ns)
    assert "bogus" not in stored["spec"]
    assert "junk" not in stored["metadata"]


def test_strategic_merge_patch_is_unsupported(kyb: ServerProcess, crontabs: str, ns: str) -> None:
    apply(kyb, crontab("smp"), "-n", ns)
    res = kyb.kubectl("patch", "ct", "smp", "-n", ns, "-p", '{"spec":{"replicas":2}}',
                      check=False)
    assert res.returncode != 0
    assert ("application/strategic-merge-patch+json is not supported by "
            f"{GROUP}/v1, Kind=CronTab") in res.stderr


def test_json_and_merge_patch_bump_generation(kyb: ServerProcess, crontabs: str,
                                              ns: str) -> None:
    apply(kyb, crontab("gen"), "-n", ns)
    kyb.kubectl("patch", "ct", "gen", "-n", ns, "--type=json", "-p",
                '[{"op":"replace","path":"/spec/image","value":"other"}]')
    kyb.kubectl("patch", "ct", "gen", "-n", ns, "--type=merge", "-p",
                '{"metadata":{"labels":{"a":"b"}}}')
    obj = get_json(kyb, "ct", "gen", "-n", ns)
    assert obj["spec"]["image"] == "other"
    assert obj["metadata"]["labels"] == {"a": "b"}
    assert obj["metadata"]["generation"] == 2
    apply(kyb, {**crontab("gen"), "spec": {**crontab("gen")["spec"], "image": "third"}},
          "-n", ns)
    assert get_json(kyb, "ct", "gen", "-n", ns)["spec"]["image"] == "third"


def test_scale_and_status_subresources(kyb: ServerProcess, crontabs: str, ns: str) -> None:
    apply(kyb, crontab("scaled"), "-n", ns)
    kyb.kubectl("scale", "ct", "scaled", "-n", ns, "--replicas=3")
    kyb.kubectl("patch", "ct", "scaled", "-n", ns, "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {
                    "replicas": 2, "labelSelector": "app=cron",
                    "conditions": [{"type": "Ready", "status": "True"}]}}))
    obj = get_json(kyb, "ct", "scaled", "-n", ns)
    assert obj["spec"]["replicas"] == 3
    assert obj["status"]["replicas"] == 2
    assert obj["metadata"]["generation"] == 2  # the scale changed spec; status did not count
    scale = json.loads(kyb.kubectl(
        "get", "--raw", f"/apis/{GROUP}/v1/namespaces/{ns}/crontabs/scaled/scale").stdout)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 2, "selector": "app=cron"}
    out = rows(kyb.kubectl("get", "ct", "scaled", "-n", ns).stdout)
    assert out[1][2:4] == ["3", "True"]
    # The main resource ignores status; the status subresource ignores spec.
    kyb.kubectl("patch", "ct", "scaled", "-n", ns, "--type=merge", "-p",
                '{"status":{"replicas":9}}')
    assert get_json(kyb, "ct", "scaled", "-n", ns)["status"]["replicas"] == 2
    res = kyb.kubectl("scale", "ct", "scaled", "-n", ns, "--replicas=20", check=False)
    assert "replicas must not exceed maxReplicas" in res.stderr


def test_explain_custom_resource(kyb: ServerProcess, crontabs: str) -> None:
    def explained() -> str:
        res = kyb.kubectl("explain", "crontab.spec", check=False)
        return res.stdout if res.returncode == 0 else ""

    out = poll(explained, "kubectl explain crontab.spec")
    assert "KIND:       CronTab" in out
    assert "CronTabSpec is the desired state of a cron tab." in out
    assert re.search(r"image\s+<string>\s+The image to run\.", out)
    out = kyb.kubectl("explain", "crontab.spec.cronSpec").stdout
    assert "When to run, in cron format." in out


def test_several_versions_share_storage(kyb: ServerProcess, group: str, ns: str) -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "size": {"type": "integer"}}}}}
    apply(kyb, crd(group, "Box", "boxes", versions=[
        version("v1beta1", storage=False, schema=schema),
        version("v1", schema=schema)]))
    wait_served(kyb, group, "boxes")
    kyb.kubectl("create", "-n", ns, "-f", "-", input=yaml.safe_dump({
        "apiVersion": f"{group}/v1beta1", "kind": "Box", "metadata": {"name": "b"},
        "spec": {"size": 2}}))
    v1 = json.loads(kyb.kubectl("get", "--raw",
                                f"/apis/{group}/v1/namespaces/{ns}/boxes/b").stdout)
    assert v1["apiVersion"] == f"{group}/v1" and v1["spec"] == {"size": 2}
    listed = json.loads(kyb.kubectl("get", "--raw",
                                    f"/apis/{group}/v1beta1/namespaces/{ns}/boxes").stdout)
    assert [i["apiVersion"] for i in listed["items"]] == [f"{group}/v1beta1"]
    obj = get_json(kyb, "crd", f"boxes.{group}")
    assert obj["status"]["storedVersions"] == ["v1"]
    groups = json.loads(kyb.kubectl("get", "--raw", f"/apis/{group}").stdout)
    assert groups["preferredVersion"]["version"] == "v1"


def test_cluster_scoped_custom_resource(kyb: ServerProcess, group: str) -> None:
    apply(kyb, crd(group, "Region", "regions", scope="Cluster"))
    wait_served(kyb, group, "regions")
    kyb.kubectl("create", "-f", "-", input=yaml.safe_dump({
        "apiVersion": f"{group}/v1", "kind": "Region", "metadata": {"name": "eu"},
        "spec": {"anything": {"goes": [1, 2]}}}))
    obj = get_json(kyb, f"regions.{group}", "eu")
    assert obj["spec"] == {"anything": {"goes": [1, 2]}}
    assert "namespace" not in obj["metadata"]
    assert rows(kyb.kubectl("get", f"regions.{group}").stdout)[0] == ["NAME", "AGE"]


def test_delete_crd_deletes_objects_then_endpoints(kyb: ServerProcess, group: str,
                                                   ns: str) -> None:
    apply(kyb, crd(group, "Widget", "widgets"))
    wait_served(kyb, group, "widgets")
    for name in ("w1", "w2"):
        kyb.kubectl("create", "-n", ns, "-f", "-", input=yaml.safe_dump({
            "apiVersion": f"{group}/v1", "kind": "Widget",
            "metadata": {"name": name, "finalizers": ["example.com/hold"] if name == "w2"
                         else []}}))
    kyb.kubectl("delete", "crd", f"widgets.{group}", "--wait=false")
    path = f"/apis/{group}/v1/namespaces/{ns}/widgets"

    def held() -> Obj | None:
        items = json.loads(kyb.kubectl("get", "--raw", path).stdout)["items"]
        names = [i["metadata"]["name"] for i in items]
        return items[0] if names == ["w2"] and items[0]["metadata"].get(
            "deletionTimestamp") else None

    poll(held, "w1 deleted and w2 terminating")
    crd_obj = get_json(kyb, "crd", f"widgets.{group}")
    assert "customresourcecleanup.apiextensions.k8s.io" in crd_obj["metadata"]["finalizers"]
    terminating = [c for c in crd_obj["status"]["conditions"] if c["type"] == "Terminating"]
    assert terminating and terminating[0]["status"] == "True"
    res = kyb.kubectl("create", "-n", ns, "-f", "-", check=False, input=yaml.safe_dump({
        "apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w3"}}))
    assert "create not allowed while custom resource definition is terminating" in res.stderr
    kyb.kubectl("patch", f"widgets.{group}", "w2", "-n", ns, "--type=merge", "-p",
                '{"metadata":{"finalizers":null}}')

    def gone() -> bool:
        crds = kyb.kubectl("get", "crd", "-o", "name").stdout.split()
        res = kyb.kubectl("get", "--raw", path, check=False)
        return f"customresourcedefinition.apiextensions.k8s.io/widgets.{group}" not in crds \
            and res.returncode != 0 and "NotFound" in res.stderr

    poll(gone, "the CRD and its endpoints to go")


def test_updating_the_crd_updates_what_is_served(kyb: ServerProcess, group: str,
                                                 ns: str) -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "size": {"type": "integer"}}}}}
    definition = crd(group, "Crate", "crates", versions=[version("v1", schema=schema)])
    apply(kyb, definition)
    wait_served(kyb, group, "crates")
    kyb.kubectl("create", "-n", ns, "-f", "-", input=yaml.safe_dump({
        "apiVersion": f"{group}/v1", "kind": "Crate", "metadata": {"name": "c"},
        "spec": {"size": 3}}))
    definition["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]
    apply(kyb, definition)
    assert get_json(kyb, "crd", f"crates.{group}")["metadata"]["generation"] == 2

    def sized() -> list[dict[str, str]]:
        out = kyb.kubectl("get", f"crates.{group}", "-n", ns).stdout
        return columns(out) if "SIZE" in out else []

    assert poll(sized, "the new printer column")[0]["SIZE"] == "3"


def test_custom_resources_are_served_after_a_restart(tmp_path: Any) -> None:
    server = ServerProcess(tmp_path / "kyb").start()
    try:
        apply(server, CRONTAB_CRD)
        wait_served(server, GROUP, "crontabs")
        apply(server, crontab("kept"), "-n", "default")
        assert server.stop() == 0
        server.start()
        # Served before the server reported ready: no polling needed.
        obj = get_json(server, "ct", "kept", "-n", "default")
        assert obj["spec"]["replicas"] == 1
        server.kubectl("scale", "ct", "kept", "--replicas=2", "-n", "default")
    finally:
        assert server.stop() == 0
        assert "Traceback" not in server.log_path.read_text()


# --- the Python client ---------------------------------------------------------------------


def test_custom_objects_api(api: client.ApiClient, crontabs: str, ns: str) -> None:
    co = client.CustomObjectsApi(api)
    created = co.create_namespaced_custom_object(GROUP, "v1", ns, "crontabs", crontab("py"))
    assert created["spec"]["replicas"] == 1
    w = watch.Watch()
    events = w.stream(co.list_namespaced_custom_object, GROUP, "v1", ns, "crontabs",
                      timeout_seconds=10)
    first = next(events)
    w.stop()
    assert first["type"] == "ADDED" and first["object"]["metadata"]["name"] == "py"
    got = co.get_namespaced_custom_object(GROUP, "v1", ns, "crontabs", "py")
    assert got["metadata"]["uid"] == created["metadata"]["uid"]
    patched = co.patch_namespaced_custom_object(GROUP, "v1", ns, "crontabs", "py",
                                                {"spec": {"image": "new"}})
    assert patched["spec"]["image"] == "new" and patched["metadata"]["generation"] == 2
    status = co.patch_namespaced_custom_object_status(GROUP, "v1", ns, "crontabs", "py",
                                                      {"status": {"replicas": 1}})
    assert status["status"] == {"replicas": 1}
    scale = co.get_namespaced_custom_object_scale(GROUP, "v1", ns, "crontabs", "py")
    assert scale["spec"]["replicas"] == 1
    co.patch_namespaced_custom_object_scale(GROUP, "v1", ns, "crontabs", "py",
                                            {"spec": {"replicas": 4}})
    listed = co.list_namespaced_custom_object(GROUP, "v1", ns, "crontabs")
    assert [i["spec"]["replicas"] for i in listed["items"]] == [4]
    with pytest.raises(ApiException) as err:
        co.create_namespaced_custom_object(GROUP, "v1", ns, "crontabs",
                                           crontab("bad", replicas=30))
    assert err.value.status == 422
    body = json.loads(err.value.body)
    assert body["details"]["causes"][0] == {
        "reason": "FieldValueInvalid", "field": "spec",
        "message": 'Invalid value: "object": replicas must not exceed maxReplicas'}
    co.delete_namespaced_custom_object(GROUP, "v1", ns, "crontabs", "py")
    co.create_namespaced_custom_object(GROUP, "v1", ns, "crontabs", crontab("a"))
    co.create_namespaced_custom_object(GROUP, "v1", ns, "crontabs", crontab("b"))
    co.delete_collection_namespaced_custom_object(GROUP, "v1", ns, "crontabs")
    assert co.list_namespaced_custom_object(GROUP, "v1", ns, "crontabs")["items"] == []


def test_python_apiextensions_client(api: client.ApiClient, group: str, ns: str) -> None:
    ext = client.ApiextensionsV1Api(api)
    created = ext.create_custom_resource_definition(crd(group, "Note", "notes"))
    assert created.status.stored_versions == ["v1"]

    def established() -> Any:
        got = ext.read_custom_resource_definition(f"notes.{group}")
        return got if any(c.type == "Established" and c.status == "True"
                          for c in got.status.conditions or []) else None

    got = poll(established, "the CRD to be established")
    assert got.status.accepted_names.plural == "notes"
    assert got.spec.versions[0].schema.open_apiv3_schema.type == "object"
    names = [c.metadata.name for c in ext.list_custom_resource_definition().items]
    assert f"notes.{group}" in names
    co = client.CustomObjectsApi(api)
    poll(lambda: _creates(co, group, ns), "notes to be served")
    ext.delete_custom_resource_definition(f"notes.{group}")

    def gone() -> bool:
        try:
            ext.read_custom_resource_definition(f"notes.{group}")
        except ApiException as exc:
            return exc.status == 404
        return False

    poll(gone, "the CRD to go")


def _creates(co: client.CustomObjectsApi, group: str, ns: str) -> bool:
    try:
        co.create_namespaced_custom_object(group, "v1", ns, "notes", {
            "apiVersion": f"{group}/v1", "kind": "Note", "metadata": {"name": "n"}})
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def test_dynamic_client(api: client.ApiClient, crontabs: str, ns: str) -> None:
    dyn = dynamic.DynamicClient(api)
    res = dyn.resources.get(api_version=f"{GROUP}/v1", kind="CronTab")
    assert res.namespaced and res.name == "crontabs"
    res.create(body=crontab("dyn"), namespace=ns)
    got = res.get(name="dyn", namespace=ns)
    assert got.spec.maxReplicas == 10
    res.patch(name="dyn", namespace=ns, body={"spec": {"replicas": 2}},
              content_type="application/merge-patch+json")
    items = res.get(namespace=ns, label_selector="").items
    assert [(i.metadata.name, i.spec.replicas) for i in items] == [("dyn", 2)]
    res.delete(name="dyn", namespace=ns)
    assert res.get(namespace=ns).items == []

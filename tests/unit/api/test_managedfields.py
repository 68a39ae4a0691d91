"""Field management: apply merges, conflicts, ownership transfer, Update tracking."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api import managedfields as mf
from kybernetes.api import typed
from kybernetes.api.fieldpath import FieldSet

Obj = dict[str, Any]

NODE = typed.for_kind("apps", "v1", "Deployment")
STATUS = FieldSet.of(("f:status",))
REPLICAS = ("f:spec", "f:replicas")
CONTAINER = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"c"}')


def deployment(*, replicas: int | None = None, labels: dict[str, str] | None = None,
               image: str | None = "nginx", env: list[str] | None = None) -> Obj:
    """An apply configuration (or object) for Deployment `d`."""
    container: Obj = {"name": "c"}
    if image is not None:
        container["image"] = image
    if env is not None:
        container["env"] = [{"name": n, "value": "1"} for n in env]
    spec: Obj = {"selector": {"matchLabels": {"app": "d"}}, "template": {
        "metadata": {"labels": {"app": "d"}}, "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    meta: Obj = {"name": "d", "namespace": "ns"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


class Cluster:
    """One object and its managed fields, changed the way the apiserver changes them."""

    def __init__(self) -> None:
        self.obj: Obj = {}
        self.clock = 0

    def now(self) -> str:
        self.clock += 1
        return f"2024-01-01T00:00:{self.clock:02d}Z"

    @property
    def managed(self) -> mf.Managed:
        return mf.decode(self.obj.get("metadata", {}).get("managedFields"))

    def apply(self, manager: str, config: Obj, *, force: bool = False) -> mf.ApplyResult:
        live = self.obj or {}
        result = mf.apply(live, config, self.managed, manager=manager, subresource="",
                          api_version="apps/v1", node=NODE, ignored=STATUS, force=force,
                          now=self.now())
        mf.set_on(result.obj, result.managed)
        self.obj = result.obj
        return result

    def update(self, manager: str, new: Obj) -> None:
        old = self.obj or None
        managed = mf.track_update(old, new, self.managed, manager=manager,
                                  api_version="apps/v1", subresource="", node=NODE,
                                  ignored=STATUS, now=self.now(),
                                  zero=mf.zero_object("apps", "v1", "Deployment"))
        self.obj = copy.deepcopy(new)
        mf.set_on(self.obj, managed)

    def owners(self, path: tuple[str, ...]) -> list[str]:
        out = []
        for e in self.obj["metadata"].get("managedFields") or []:
            if FieldSet.from_fields_v1(e["fieldsV1"]).has(path):
                out.append(f"{e['manager']}/{e['operation']}")
        return sorted(out)

    def conflicts(self, manager: str, config: Obj) -> list[tuple[str, str]]:
        with pytest.raises(mf.ApplyConflicts) as exc:
            self.apply(manager, config)
        return [(mf.describe_manager(m), "".join(p)) for m, p in exc.value.conflicts]


# --- apply ---------------------------------------------------------------------------------

def test_apply_creates_and_owns_what_it_sets() -> None:
    c = Cluster()
    result = c.apply("a", deployment(replicas=2))
    assert result.changed
    entries = c.obj["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"], e["apiVersion"]) for e in entries] == [
        ("a", "Apply", "apps/v1")]
    assert c.owners(REPLICAS) == ["a/Apply"]
    assert c.owners((*CONTAINER, "f:image")) == ["a/Apply"]
    assert "f:metadata" not in entries[0]["fieldsV1"]  # name and namespace are nobody's


def test_reapplying_the_same_configuration_changes_nothing() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=2))
    before = copy.deepcopy(c.obj)
    result = c.apply("a", deployment(replicas=2))
    assert not result.changed
    assert c.obj == before


@pytest.mark.parametrize(("second", "conflict"), [
    (deployment(replicas=3), True),
    (deployment(replicas=2), False),
    (deployment(), False),
], ids=["other-value", "same-value-shares", "not-set"])
def test_second_applier(second: Obj, conflict: bool) -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=2))
    if conflict:
        assert c.conflicts("b", second) == [('"a"', "f:specf:replicas")]
        assert c.obj["spec"]["replicas"] == 2
    else:
        c.apply("b", second)
        want = ["a/Apply", "b/Apply"] if "replicas" in second["spec"] else ["a/Apply"]
        assert c.owners(REPLICAS) == want


def test_force_takes_the_field_over() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=2))
    c.apply("b", deployment(replicas=3), force=True)
    assert c.obj["spec"]["replicas"] == 3
    assert c.owners(REPLICAS) == ["b/Apply"]
    assert c.owners((*CONTAINER, "f:image")) == ["a/Apply", "b/Apply"]
    # a no longer owns replicas: dropping it from a's configuration keeps the value
    c.apply("a", deployment())
    assert c.obj["spec"]["replicas"] == 3


@pytest.mark.parametrize(("first", "second", "check"), [
    (deployment(labels={"a": "1", "b": "2"}), deployment(labels={"a": "1"}),
     lambda o: o["metadata"]["labels"] == {"a": "1"}),
    (deployment(replicas=2), deployment(), lambda o: "replicas" not in o["spec"]),
    (deployment(env=["X", "Y"]), deployment(env=["Y"]),
     lambda o: [e["name"] for e in o["spec"]["template"]["spec"]["containers"][0]["env"]]
     == ["Y"]),
    (deployment(env=["X"]), deployment(),
     lambda o: "env" not in o["spec"]["template"]["spec"]["containers"][0]),
], ids=["map-key", "scalar", "list-map-item", "whole-list"])
def test_removing_a_field_from_the_configuration_removes_it(first: Obj, second: Obj,
                                                           check: Any) -> None:
    c = Cluster()
    c.apply("a", first)
    c.apply("a", second)
    assert check(c.obj)


def test_removed_field_stays_when_someone_else_owns_it() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=2, labels={"x": "1"}))
    c.apply("b", deployment(labels={"x": "1"}))
    live = copy.deepcopy(c.obj)
    live["spec"]["replicas"] = 2
    c.update("kubectl-edit", live)  # no change: nobody takes replicas
    c.apply("a", deployment())
    assert c.obj["metadata"]["labels"] == {"x": "1"}  # b co-owns it
    assert "replicas" not in c.obj["spec"]


def test_removed_field_stays_when_an_updater_took_it() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=2))
    edited = copy.deepcopy(c.obj)
    edited["spec"]["replicas"] = 5
    c.update("kubectl-edit", edited)
    assert c.owners(REPLICAS) == ["kubectl-edit/Update"]
    c.apply("a", deployment())
    assert c.obj["spec"]["replicas"] == 5


def test_update_manager_conflicts_with_a_later_apply() -> None:
    c = Cluster()
    c.update("kubectl-client-side-apply", deployment(replicas=1))
    assert c.conflicts("ssa", deployment(replicas=2)) == [
        ('"kubectl-client-side-apply" using apps/v1', "f:specf:replicas")]


def test_objects_without_managed_fields_start_with_before_first_apply() -> None:
    c = Cluster()
    c.obj = deployment(replicas=1)
    assert c.conflicts("a", deployment(replicas=2)) == [
        ('"before-first-apply" using apps/v1', "f:specf:replicas")]
    c.apply("a", deployment(replicas=1, labels={"x": "y"}))
    assert c.owners(REPLICAS) == ["a/Apply", "before-first-apply/Update"]


def test_status_is_not_owned_through_the_main_resource() -> None:
    c = Cluster()
    cfg = deployment(replicas=1)
    cfg["status"] = {"replicas": 3}
    c.apply("a", cfg)
    assert "f:status" not in c.obj["metadata"]["managedFields"][0]["fieldsV1"]


# --- kubectl's client-side apply annotation ------------------------------------------------

def client_side_applied(config: Obj) -> Cluster:
    c = Cluster()
    obj = copy.deepcopy(config)
    obj["metadata"]["annotations"] = {mf.LAST_APPLIED: json.dumps(config)}
    c.update("kubectl-client-side-apply", obj)
    return c


def test_kubectl_may_take_over_what_client_side_apply_claimed() -> None:
    c = client_side_applied(deployment(replicas=1))
    c.apply("kubectl", deployment(replicas=3))
    assert c.obj["spec"]["replicas"] == 3
    assert c.owners(REPLICAS) == ["kubectl/Apply"]
    annotation = json.loads(c.obj["metadata"]["annotations"][mf.LAST_APPLIED])
    assert annotation["spec"]["replicas"] == 3


def test_other_managers_still_conflict_with_client_side_apply() -> None:
    c = client_side_applied(deployment(replicas=1))
    assert c.conflicts("other", deployment(replicas=3)) == [
        ('"kubectl-client-side-apply" using apps/v1', "f:specf:replicas")]


def test_last_applied_value_of_a_configuration() -> None:
    cfg = {"kind": "X", "metadata": {"annotations": {mf.LAST_APPLIED: "old", "a": "<b>"}}}
    assert mf.last_applied_of(cfg) == (
        '{"kind":"X","metadata":{"annotations":{"a":"\\u003cb\\u003e"}}}\n')


# --- update tracking -----------------------------------------------------------------------

def test_create_owns_everything_the_request_set_below_spec() -> None:
    c = Cluster()
    obj = deployment(replicas=1)
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    c.update("kubectl-create", obj)
    (entry,) = c.obj["metadata"]["managedFields"]
    fields = entry["fieldsV1"]
    assert entry["operation"] == "Update" and entry["manager"] == "kubectl-create"
    assert "." not in fields["f:spec"]  # the zero object already has spec and strategy
    assert "." not in fields["f:spec"]["f:strategy"]
    assert "." in fields["f:spec"]["f:strategy"]["f:rollingUpdate"]
    assert "f:metadata" not in fields  # name and namespace are nobody's


def test_an_update_takes_the_fields_it_changes() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=1, image="x"))
    new = copy.deepcopy(c.obj)
    new["spec"]["replicas"] = 4
    c.update("kubectl-scale", new)
    assert c.owners(REPLICAS) == ["kubectl-scale/Update"]
    assert c.owners((*CONTAINER, "f:image")) == ["a/Apply"]
    times = {e["manager"]: e["time"] for e in c.obj["metadata"]["managedFields"]}
    assert times["kubectl-scale"] > times["a"]


def test_an_update_that_changes_nothing_keeps_managed_fields() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=1))
    before = copy.deepcopy(c.obj["metadata"]["managedFields"])
    c.update("other", copy.deepcopy(c.obj))
    assert c.obj["metadata"]["managedFields"] == before


def test_removed_fields_leave_their_owners() -> None:
    c = Cluster()
    c.apply("a", deployment(replicas=1, labels={"x": "1"}))
    new = copy.deepcopy(c.obj)
    del new["metadata"]["labels"]
    c.update("kubectl-edit", new)
    assert c.owners(("f:metadata", "f:labels", "f:x")) == []
    assert not any(e["manager"] == "kubectl-edit" for e in c.obj["metadata"]["managedFields"])


def test_update_managers_are_capped() -> None:
    c = Cluster()
    c.apply("owner", deployment(replicas=0))
    for i in range(mf.MAX_UPDATE_MANAGERS * 3):
        new = copy.deepcopy(c.obj)
        new["metadata"].setdefault("labels", {})[f"l{i}"] = "v"
        c.update(f"m{i}", new)
    entries = c.obj["metadata"]["managedFields"]
    updaters = [e["manager"] for e in entries if e["operation"] == "Update"]
    assert len(updaters) == mf.MAX_UPDATE_MANAGERS
    assert "ancient-changes" in updaters
    assert c.owners(("f:metadata", "f:labels", "f:l0")) == ["ancient-changes/Update"]


# --- wire formats --------------------------------------------------------------------------

def entry(**kw: Any) -> Obj:
    base = {"manager": "m", "operation": "Update", "apiVersion": "v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("entries", [
    "x", [1], [entry(operation="Patch")], [entry(apiVersion=None)],
    [entry(fieldsType=None)], [entry(fieldsType="FieldsV2")],
    [entry(fieldsV1={"bogus": {}})],
], ids=["not-a-list", "not-an-object", "operation", "api-version", "no-fields-type",
        "fields-type", "fields-v1"])
def test_decode_rejects_garbage(entries: Any) -> None:
    with pytest.raises(mf.ManagedFieldsError):
        mf.decode(entries)


def test_encode_sorts_like_upstream() -> None:
    managed = mf.decode([
        entry(manager="b", time="2024-01-01T00:00:02Z"),
        entry(manager="z", operation="Apply", time="2024-01-01T00:00:09Z"),
        entry(manager="a", time="2024-01-01T00:00:02Z"),
        entry(manager="c", time="2024-01-01T00:00:01Z", subresource="status"),
    ])
    assert [(e["manager"], e["operation"]) for e in mf.encode(managed) or []] == [
        ("z", "Apply"), ("c", "Update"), ("a", "Update"), ("b", "Update")]
    assert (mf.encode(managed) or [])[1]["subresource"] == "status"


@pytest.mark.parametrize(("entries", "reset"), [
    ([], True), ([{}], True), (None, False), ([entry()], False), ([{}, {}], False)])
def test_is_reset(entries: Any, reset: bool) -> None:
    assert mf.is_reset(entries) is reset


@pytest.mark.parametrize(("ua", "manager"), [
    ("kubectl/v1.32.4 (linux/amd64) kubernetes/abc", "kubectl"),
    ("OpenAPI-Generator/31.0.0/python", "OpenAPI-Generator"),
    ("kube-controller-manager/v1.32.0 (linux/amd64)", "kube-controller-manager"),
    ("a\x00b\tc/x", "abc"),
    ("x" * 200, "x" * 128),
    ("", ""),
])
def test_manager_from_user_agent(ua: str, manager: str) -> None:
    assert mf.manager_from_user_agent(ua) == manager


def test_identifiers_and_descriptions() -> None:
    apply_id = mf.identifier("kubectl", mf.APPLY, "apps/v1")
    update_id = mf.identifier("k", mf.UPDATE, "apps/v1", "status")
    assert apply_id == '{"manager":"kubectl","operation":"Apply"}'
    assert update_id == ('{"manager":"k","operation":"Update","apiVersion":"apps/v1",'
                         '"subresource":"status"}')
    assert mf.describe_manager(apply_id) == '"kubectl"'
    assert mf.describe_manager(update_id) == '"k" with subresource "status" using apps/v1'


def test_conflict_errors() -> None:
    a = mf.identifier("a", mf.APPLY)
    b = mf.identifier("kubectl-client-side-apply", mf.UPDATE, "apps/v1")
    one = mf.conflict_error([(b, REPLICAS)])
    assert (one.code, one.reason) == (409, "Conflict")
    assert one.message == ('Apply failed with 1 conflict: conflict with '
                           '"kubectl-client-side-apply" using apps/v1: .spec.replicas')
    assert [c.to_dict() for c in one.causes] == [{
        "reason": "FieldManagerConflict",
        "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
        "field": ".spec.replicas"}]
    many = mf.conflict_error([(b, REPLICAS), (a, (*CONTAINER, "f:image")), (a, REPLICAS)])
    assert many.message == (
        'Apply failed with 3 conflicts: conflicts with "a":\n'
        '- .spec.replicas\n'
        '- .spec.template.spec.containers[name="c"].image\n'
        'conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        '- .spec.replicas')

"""Label and field selectors: parsing, canonical form, matching, field labels per kind."""

from __future__ import annotations

import pytest

from kybernetes.api.errors import StatusError
from kybernetes.api.selectors import (
    EVERYTHING,
    NOTHING,
    FieldRequirement,
    check_field_selector,
    convert_field_selector,
    label_selector_from_dict,
    label_selector_from_set,
    object_fields,
    parse_field_selector,
    parse_label_selector,
)

WEB = {"app": "web", "tier": "frontend", "version": "3"}
DB = {"app": "db", "tier": "backend"}
BARE: dict[str, str] = {}

LABEL_CASES = [
    # text, canonical, matches WEB, matches DB, matches BARE
    pytest.param("app=web", "app=web", True, False, False, id="equals"),
    pytest.param("app==web", "app==web", True, False, False, id="double-equals"),
    pytest.param("app!=web", "app!=web", False, True, True, id="not-equals"),
    pytest.param("tier in (frontend, backend)", "tier in (backend,frontend)", True, True, False,
                 id="in"),
    pytest.param("tier notin (backend)", "tier notin (backend)", True, False, True, id="notin"),
    pytest.param("version", "version", True, False, False, id="exists"),
    pytest.param("!version", "!version", False, True, True, id="does-not-exist"),
    pytest.param(" app = web ,  tier in(frontend) ", "app=web,tier in (frontend)", True, False,
                 False, id="whitespace"),
    pytest.param("tier,app=db", "app=db,tier", False, True, False, id="sorted-by-key"),
    pytest.param("version>2", "version>2", True, False, False, id="greater-than"),
    pytest.param("version<3", "version<3", False, False, False, id="less-than"),
    pytest.param("app=", "app=", False, False, False, id="empty-value"),
    pytest.param("x in (in)", "x in (in)", False, False, False, id="keyword-as-value"),
    pytest.param("", "", True, True, True, id="empty-is-everything"),
    pytest.param("example.com/role notin (a,b)", "example.com/role notin (a,b)", True, True,
                 True, id="prefixed-key"),
]


@pytest.mark.parametrize(("text", "canonical", "web", "db", "bare"), LABEL_CASES)
def test_parse_label_selector(text: str, canonical: str, web: bool, db: bool, bare: bool) -> None:
    selector = parse_label_selector(text)
    assert str(selector) == canonical
    assert (selector.matches(WEB), selector.matches(DB), selector.matches(BARE)) == (web, db, bare)
    assert parse_label_selector(str(selector)) == selector


def test_canonical_string_round_trips() -> None:
    selector = parse_label_selector("z notin (b,a),!y,x in (foo,,baz)")
    assert str(selector) == "x in (,baz,foo),!y,z notin (a,b)"
    assert parse_label_selector(str(selector)) == selector


LABEL_ERRORS = [
    pytest.param("a@b=c", "unable to parse requirement: <nil>: Invalid value: \"a@b\": name part "
                 "must consist of alphanumeric characters", id="bad-key"),
    pytest.param("k=v@", "unable to parse requirement: values[0][k]: Invalid value: \"v@\": a "
                 "valid label must be an empty string", id="bad-value"),
    pytest.param("a in", "unable to parse requirement: found '' expected: '('", id="in-no-paren"),
    pytest.param("a in (b", "unable to parse requirement: found '', expected: ',' or ')'",
                 id="unclosed"),
    pytest.param("a=b c", "found 'c', expected: ',' or 'end of string'", id="missing-comma"),
    pytest.param(",a", "found ',', expected: !, identifier, or 'end of string'", id="lead-comma"),
    pytest.param("a,", "found '', expected: identifier after ','", id="trailing-comma"),
    pytest.param("a>b", "for 'Gt', 'Lt' operators, the value must be an integer", id="gt-not-int"),
    pytest.param("a (b)", "found '(', expected: in, notin, =, ==, !=, gt, lt", id="bad-operator"),
    pytest.param("x/y/z", "a qualified name must consist of", id="two-slashes"),
    pytest.param("Bad_Prefix/x", "prefix part a lowercase RFC 1123 subdomain", id="bad-prefix"),
]


@pytest.mark.parametrize(("text", "message"), LABEL_ERRORS)
def test_parse_label_selector_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        parse_label_selector(text)
    assert (err.value.code, err.value.reason) == (400, "BadRequest")
    assert message in err.value.message


DICT_CASES = [
    pytest.param(None, "", False, False, False, id="nil-is-nothing"),
    pytest.param({}, "", True, True, True, id="empty-is-everything"),
    pytest.param({"matchLabels": {}, "matchExpressions": []}, "", True, True, True,
                 id="no-terms-is-everything"),
    pytest.param({"matchLabels": {"app": "web"}}, "app=web", True, False, False, id="matchLabels"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "In",
                                        "values": ["backend", "frontend"]}]},
                 "tier in (backend,frontend)", True, True, False, id="In"),
    pytest.param({"matchExpressions": [{"key": "tier", "operator": "NotIn",
                                        "values": ["backend"]}]},
                 "tier notin (backend)", True, False, True, id="NotIn"),
    pytest.param({"matchLabels": {"app": "db"},
                  "matchExpressions": [{"key": "version", "operator": "DoesNotExist"}]},
                 "app=db,!version", False, True, False, id="labels-and-DoesNotExist"),
    pytest.param({"matchExpressions": [{"key": "version", "operator": "Exists"}]},
                 "version", True, False, False, id="Exists"),
]


@pytest.mark.parametrize(("sel", "canonical", "web", "db", "bare"), DICT_CASES)
def test_label_selector_from_dict(sel, canonical: str, web: bool, db: bool, bare: bool) -> None:
    selector = label_selector_from_dict(sel)
    assert str(selector) == canonical
    assert (selector.matches(WEB), selector.matches(DB), selector.matches(BARE)) == (web, db, bare)


def test_nothing_and_everything() -> None:
    assert label_selector_from_dict(None) is NOTHING and NOTHING.matches_nothing
    assert not NOTHING.empty and EVERYTHING.empty
    assert label_selector_from_set(None) is EVERYTHING
    assert label_selector_from_set({"app": "web"}).matches(WEB)
    assert parse_label_selector("app=web,tier in (x)").requires_exact_match("app") == "web"


DICT_ERRORS = [
    pytest.param({"matchExpressions": [{"key": "a", "operator": "Bogus"}]},
                 '"Bogus" is not a valid label selector operator', id="bad-operator"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
                 "values: Invalid value: []string{}: for 'in', 'notin' operators, values set "
                 "can't be empty", id="in-without-values"),
    pytest.param({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
                 'values: Invalid value: []string{"x"}: values set must be empty',
                 id="exists-with-values"),
    pytest.param({"matchLabels": {"bad key": "v"}}, 'key: Invalid value: "bad key"', id="bad-key"),
]


@pytest.mark.parametrize(("sel", "message"), DICT_ERRORS)
def test_label_selector_from_dict_errors(sel: dict, message: str) -> None:
    with pytest.raises(StatusError) as err:
        label_selector_from_dict(sel)
    assert err.value.code == 400
    assert message in err.value.message


# --- field selectors --------------------------------------------------------------------------

FIELD_CASES = [
    pytest.param("metadata.name=web", [("metadata.name", "=", "web")], "metadata.name=web",
                 id="equals"),
    pytest.param("metadata.name==web", [("metadata.name", "=", "web")], "metadata.name=web",
                 id="double-equals"),
    pytest.param("status.phase!=Running,spec.nodeName=n1",
                 [("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Running")],
                 "spec.nodeName=n1,status.phase!=Running", id="sorted-terms"),
    pytest.param(r"metadata.name=a\,b\=c\\d", [("metadata.name", "=", "a,b=c\\d")],
                 r"metadata.name=a\,b\=c\\d", id="escapes"),
    pytest.param("spec.nodeName=", [("spec.nodeName", "=", "")], "spec.nodeName=",
                 id="empty-value"),
    pytest.param("", [], "", id="empty"),
    pytest.param("a=b,", [("a", "=", "b")], "a=b", id="trailing-comma"),
]


@pytest.mark.parametrize(("text", "reqs", "canonical"), FIELD_CASES)
def test_parse_field_selector(text: str, reqs: list, canonical: str) -> None:
    selector = parse_field_selector(text)
    assert selector.requirements == [FieldRequirement(*r) for r in reqs]
    assert str(selector) == canonical
    assert selector.empty == (not reqs)
    assert parse_field_selector(str(selector)) == selector


FIELD_ERRORS = [
    pytest.param(r"a=b\x", r"invalid field selector: invalid escape sequence: \x", id="bad-escape"),
    pytest.param("a=b\\", "invalid field selector: invalid escape sequence: \\", id="dangling"),
    pytest.param("a=b=c", "invalid field selector: unescaped character in value: =",
                 id="unescaped-equals"),
    pytest.param("nonsense", "invalid selector: 'nonsense'; can't understand 'nonsense'",
                 id="no-operator"),
]


@pytest.mark.parametrize(("text", "message"), FIELD_ERRORS)
def test_parse_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        parse_field_selector(text)
    assert (err.value.code, err.value.message) == (400, message)


def make_pod(*, node: str = "", phase: str = "Pending", host_network: bool = False,
             ip: str = "") -> dict:
    status: dict = {"phase": phase}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    spec: dict = {"containers": [{"name": "c", "image": "x"}], "restartPolicy": "Always",
                  "schedulerName": "default-scheduler", "serviceAccountName": "default"}
    if node:
        spec["nodeName"] = node
    if host_network:
        spec["hostNetwork"] = True
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p1", "namespace": "ns"}, "spec": spec, "status": status}


def test_pod_fields() -> None:
    fields = object_fields("", "Pod", make_pod(node="n1", phase="Running", ip="10.0.0.5"))
    assert fields == {
        "metadata.name": "p1", "metadata.namespace": "ns", "spec.nodeName": "n1",
        "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default", "spec.hostNetwork": "false",
        "status.phase": "Running", "status.podIP": "10.0.0.5", "status.nominatedNodeName": "",
    }
    assert object_fields("", "Pod", make_pod(host_network=True))["spec.hostNetwork"] == "true"


POD_MATCH_CASES = [
    pytest.param("spec.nodeName=n1", make_pod(node="n1"), True, id="on-node"),
    pytest.param("spec.nodeName=", make_pod(), True, id="unscheduled"),
    pytest.param("spec.nodeName=", make_pod(node="n1"), False, id="scheduled"),
    pytest.param("spec.host=n1", make_pod(node="n1"), True, id="legacy-spec-host"),
    pytest.param("status.phase!=Succeeded,status.phase!=Failed", make_pod(phase="Running"), True,
                 id="not-terminal"),
    pytest.param("metadata.namespace=ns,metadata.name=p1", make_pod(), True, id="meta"),
]


@pytest.mark.parametrize(("text", "pod", "expected"), POD_MATCH_CASES)
def test_pod_field_selector_matches(text: str, pod: dict, expected: bool) -> None:
    selector = convert_field_selector("", "Pod", parse_field_selector(text))
    assert selector.matches(object_fields("", "Pod", pod)) is expected


def test_event_fields() -> None:
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "p1.17", "namespace": "ns"},
        "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p1", "uid": "u1",
                           "apiVersion": "v1", "resourceVersion": "42",
                           "fieldPath": "spec.containers{c}"},
        "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"},
        "reportingComponent": "default-scheduler",
    }
    fields = object_fields("", "Event", event)
    assert fields["involvedObject.kind"] == "Pod"
    assert fields["involvedObject.fieldPath"] == "spec.containers{c}"
    assert fields["involvedObject.uid"] == "u1"
    assert fields["source"] == "default-scheduler"
    assert fields["reason"] == "Scheduled" and fields["type"] == "Normal"
    selector = parse_field_selector("involvedObject.name=p1,involvedObject.kind=Pod,type=Normal")
    assert convert_field_selector("", "Event", selector).matches(fields)


def test_events_k8s_io_labels_map_to_core_names() -> None:
    event = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
             "metadata": {"name": "e", "namespace": "ns"},
             "regarding": {"kind": "Pod", "name": "p1"}, "reportingController": "kubelet",
             "reason": "Pulled", "type": "Normal"}
    selector = convert_field_selector(
        "events.k8s.io", "Event",
        parse_field_selector("regarding.name=p1,reportingController=kubelet"))
    assert str(selector) == "involvedObject.name=p1,reportingComponent=kubelet"
    assert selector.matches(object_fields("events.k8s.io", "Event", event))


OTHER_KIND_FIELDS = [
    pytest.param("", "Node", {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}},
                 {"metadata.name": "n1", "spec.unschedulable": "true"}, id="node"),
    pytest.param("", "Namespace", {"metadata": {"name": "ns"}, "status": {"phase": "Active"}},
                 {"metadata.name": "ns", "status.phase": "Active", "name": "ns"}, id="namespace"),
    pytest.param("", "Secret", {"metadata": {"name": "s", "namespace": "ns"},
                                "type": "kubernetes.io/tls"},
                 {"metadata.name": "s", "metadata.namespace": "ns", "type": "kubernetes.io/tls"},
                 id="secret"),
    pytest.param("apps", "ReplicaSet", {"metadata": {"name": "rs", "namespace": "ns"}},
                 {"metadata.name": "rs", "metadata.namespace": "ns", "status.replicas": "0"},
                 id="replicaset"),
    pytest.param("batch", "Job", {"metadata": {"name": "j", "namespace": "ns"},
                                  "status": {"succeeded": 3}},
                 {"metadata.name": "j", "metadata.namespace": "ns", "status.successful": "3"},
                 id="job"),
    pytest.param("", "ConfigMap", {"metadata": {"name": "c", "namespace": "ns"}},
                 {"metadata.name": "c", "metadata.namespace": "ns"}, id="default-namespaced"),
    pytest.param("rbac.authorization.k8s.io", "ClusterRole", {"metadata": {"name": "r"}},
                 {"metadata.name": "r"}, id="default-cluster-scoped"),
]


@pytest.mark.parametrize(("group", "kind", "obj", "expected"), OTHER_KIND_FIELDS)
def test_object_fields_other_kinds(group: str, kind: str, obj: dict, expected: dict) -> None:
    assert object_fields(group, kind, obj) == expected


UNSUPPORTED = [
    pytest.param("", "Pod", "spec.foo", "field label not supported: spec.foo", id="pod"),
    pytest.param("", "Node", "metadata.namespace", "field label not supported: metadata.namespace",
                 id="node-namespace"),
    pytest.param("", "ConfigMap", "data.x",
                 '"data.x" is not a known field selector: only "metadata.name", '
                 '"metadata.namespace"', id="default-kind"),
    pytest.param("example.com", "Widget", "spec.size",
                 '"spec.size" is not a known field selector: only "metadata.name", '
                 '"metadata.namespace"', id="custom-resource"),
]


@pytest.mark.parametrize(("group", "kind", "label", "message"), UNSUPPORTED)
def test_unsupported_field_label(group: str, kind: str, label: str, message: str) -> None:
    with pytest.raises(StatusError) as err:
        check_field_selector(group, kind, parse_field_selector(f"{label}=x"))
    assert (err.value.code, err.value.reason, err.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize(("group", "kind", "text"), [
    pytest.param("", "Pod", "spec.nodeName=n1,status.phase=Running", id="pod"),
    pytest.param("", "Secret", "type=Opaque", id="secret"),
    pytest.param("", "ConfigMap", "metadata.name=c", id="default"),
    pytest.param("", "Service", "spec.clusterIP=None", id="service"),
])
def test_supported_field_labels(group: str, kind: str, text: str) -> None:
    check_field_selector(group, kind, parse_field_selector(text))

"""OpenAPI documents of the served API: `/openapi/v3` (per group-version) and `/openapi/v2`.

What kubectl 1.32 reads from them (kubectl-wire.md §1.3):
- `GET /openapi/v3` lists one document per group-version with a
  `serverRelativeURL` carrying a content hash (`?hash=`, upper-case hex
  SHA-512 as upstream), so clients may cache each document for good.
- In a group-version document, a PATCH operation whose
  `x-kubernetes-group-version-kind` matches and that lists the query
  parameter `fieldValidation` makes kubectl send `fieldValidation=Strict`
  and skip client-side validation.
- `kubectl explain` and client-side `apply` (strategic merge patch metadata)
  read `components.schemas`: definition names, `x-kubernetes-group-version-kind`
  on top-level kinds, `x-kubernetes-patch-merge-key`/`-strategy`, list types.

Paths and operation ids follow the apiserver's installer
(`apiserver/pkg/endpoints/installer.go`) and `openapi.GetOperationIDAndTags`:
`<verb><Group><Version>[Namespaced]<Kind>[<Subresource>][suffix]`, e.g.
`readCoreV1NamespacedPod`, `deleteAppsV1CollectionNamespacedDeployment`,
`listCoreV1PodForAllNamespaces`, `connectCoreV1GetNamespacedPodExec`.

Schemas come from `kybernetes.api.schema` (JSON Schema) converted back to
OpenAPI form: nullable type lists collapse, `$ref`s point into
`#/components/schemas/` (v3, with siblings wrapped in `allOf` as upstream)
or `#/definitions/` (v2), the `enum` the JSON Schema package adds to
`apiVersion`/`kind` is dropped, IntOrString and Quantity are strings.

Contract: pure and deterministic; every function returns a fresh document
built from cached immutable parts, so the caller may compute once per
registry generation and serve with an ETag. Resources whose kind has no
upstream schema (CRDs) get an open object schema.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from kybernetes.api import schema
from kybernetes.api.registry import Registry, ResourceInfo, Subresource

Doc = dict[str, Any]

KUBERNETES_VERSION = "v1.32.0"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# The JSON Schema package drops the descriptions of these two; upstream has them.
_SPECIAL: dict[str, dict[str, Any]] = {
    _INT_OR_STRING: {
        "description": "IntOrString holds an int32 or a string; in JSON and YAML it is "
                       "written as the inner type, so a field may take a name or a number.",
        "type": "string",
        "format": "int-or-string",
    },
    _QUANTITY: {
        "description": "Quantity is a fixed-point number with an optional suffix: binary "
                       "(Ki, Mi, Gi, Ti, Pi, Ei), decimal SI (m, k, M, G, T, P, E) or a "
                       "decimal exponent (e.g. 1e3). Examples: 100m, 1.5Gi, 2.",
        "type": "string",
    },
}

_JSON_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_STREAM_TYPES = (*_JSON_TYPES, "application/json;stream=watch",
                 "application/vnd.kubernetes.protobuf;stream=watch")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                "application/merge-patch+json", "application/strategic-merge-patch+json")
_CR_PATCH_TYPES = tuple(t for t in _PATCH_TYPES if "strategic" not in t)
_CONNECT_METHODS = {"get": "get", "create": "post", "delete": "delete", "patch": "patch",
                    "update": "put"}


# ---------------------------------------------------------------- schema conversion


def _convert(node: Any, ref_prefix: str, v3: bool, prop: str = "") -> Any:
    """A JSON Schema node in OpenAPI form (see module docstring)."""
    if isinstance(node, list):
        return [_convert(x, ref_prefix, v3) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            value = types[0] if len(types) == 1 else types
        elif key == "enum" and prop in ("apiVersion", "kind"):
            continue  # added by the JSON Schema package, absent upstream
        elif key == "properties" and isinstance(value, dict):
            value = {k: _convert(v, ref_prefix, v3, k) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            value = _convert(value, ref_prefix, v3)
        elif key in ("allOf", "oneOf", "anyOf") and isinstance(value, list):
            value = _convert(value, ref_prefix, v3)
        out[key] = value
    name = schema.ref_name(node)
    if name is None:
        return out
    target = {"$ref": ref_prefix + name}
    if not out:
        return target
    # OpenAPI 3.0 ignores siblings of $ref; upstream wraps the ref in allOf.
    return {"allOf": [target], **out} if v3 else {**target, **out}


@functools.cache
def _definition(name: str, v3: bool) -> dict[str, Any]:
    if name in _SPECIAL:
        return _SPECIAL[name]
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    return _convert(schema.definitions()[name], prefix, v3)


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


@functools.cache
def _closure(name: str) -> frozenset[str]:
    """All definitions reachable from `name` (itself included)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        found: set[str] = set()
        _refs(schema.definitions().get(current, {}), found)
        todo.extend(x for x in found if x in schema.definitions())
    return frozenset(seen)


def _schemas(names: Iterable[str], v3: bool, extra: dict[str, Any]) -> dict[str, Any]:
    wanted: set[str] = set()
    names = set(names)
    _refs(extra, names)  # custom resources' schemas point at ObjectMeta and ListMeta
    for name in names:
        if name in schema.definitions():
            wanted |= _closure(name)
    out = {n: _definition(n, v3) for n in wanted}
    out.update(extra)
    return dict(sorted(out.items()))


# ---------------------------------------------------------------- naming


def _id_part(text: str, capitalize: bool) -> str:
    """`ToValidOperationID`: letters kept, other runs start a capital."""
    out = []
    upper = capitalize
    for i, ch in enumerate(text):
        if ch.isalpha() or ch == "_" or (i and ch.isdigit()):
            out.append(ch.upper() if upper else ch)
            upper = False
        else:
            upper = True
    return "".join(out)


def _gv_id(group: str, version: str) -> str:
    """"CoreV1", "AppsV1", "RbacAuthorizationV1" (group without ".k8s.io")."""
    trimmed = group.removesuffix(".k8s.io") if group else "core"
    return _id_part(trimmed, True) + _id_part(version, True)


def _tag(group: str, version: str) -> str:
    trimmed = group.removesuffix(".k8s.io") if group else "core"
    return f"{_id_part(trimmed, False)}_{_id_part(version, False)}"


def _prefix(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _crd_name(group: str, version: str, kind: str) -> str:
    """Upstream's definition name for a kind with no built-in schema."""
    return ".".join([*reversed(group.split(".")), version, kind]) if group else \
        f"io.k8s.api.core.{version}.{kind}"


# ---------------------------------------------------------------- parameters


def _param(name: str, where: str, description: str, type_: str = "string",
           required: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": where, "description": description}
    if required:
        out["required"] = True
    out["schema"] = {"type": type_, "uniqueItems": True}
    return out


_P = {
    "name": _param("name", "path", "name of the object", required=True),
    "namespace": _param("namespace", "path",
                        "object name and auth scope, such as for teams and projects",
                        required=True),
    "path": _param("path", "path", "path to the resource", required=True),
    "pretty": _param("pretty", "query", "If 'true', then the output is pretty printed."),
    "dryRun": _param("dryRun", "query", "When present, indicates that modifications should not "
                     "be persisted. Valid value: All (process every stage, persist nothing)."),
    "fieldManager": _param("fieldManager", "query", "A name for the actor making these "
                           "changes, recorded in managedFields."),
    "fieldValidation": _param("fieldValidation", "query", "How the server treats unknown "
                              "or duplicate fields in the request: Ignore, Warn (the default) "
                              "or Strict (reject with 400 BadRequest)."),
    "force": _param("force", "query", "Force an apply request: take ownership of fields "
                    "owned by other managers. Only for apply patches.", "boolean"),
    "allowWatchBookmarks": _param("allowWatchBookmarks", "query", "Ask for BOOKMARK watch "
                                  "events; servers may ignore it.", "boolean"),
    "continue": _param("continue", "query", "The continue token of a previous paged list."),
    "fieldSelector": _param("fieldSelector", "query", "Restrict the list by object fields."),
    "labelSelector": _param("labelSelector", "query", "Restrict the list by object labels."),
    "limit": _param("limit", "query", "The maximum number of items in one response; more "
                    "come with a continue token.", "integer"),
    "resourceVersion": _param("resourceVersion", "query", "The resource version the "
                              "request is served at, per resourceVersionMatch."),
    "resourceVersionMatch": _param("resourceVersionMatch", "query", "How resourceVersion "
                                   "applies to list calls: Exact or NotOlderThan."),
    "sendInitialEvents": _param("sendInitialEvents", "query", "With watch=true, start with "
                                "synthetic events for the current state, then a bookmark.",
                                "boolean"),
    "timeoutSeconds": _param("timeoutSeconds", "query", "Timeout for the list or watch call.",
                             "integer"),
    "watch": _param("watch", "query", "Watch for changes and return them as a stream of "
                    "add, update and remove events.", "boolean"),
    "gracePeriodSeconds": _param("gracePeriodSeconds", "query", "Seconds before the object "
                                 "is deleted; zero means immediately.", "integer"),
    "ignoreStoreReadErrorWithClusterBreakingPotential": _param(
        "ignoreStoreReadErrorWithClusterBreakingPotential", "query",
        "Delete an object whose stored data cannot be read (unsafe).", "boolean"),
    "orphanDependents": _param("orphanDependents", "query", "Deprecated: use "
                               "propagationPolicy.", "boolean"),
    "propagationPolicy": _param("propagationPolicy", "query", "Garbage collection of "
                                "dependents: Orphan, Background or Foreground."),
    "container": _param("container", "query", "The container to use."),
    "command": _param("command", "query", "The command to run, one argument per value."),
    "stdin": _param("stdin", "query", "Attach standard input.", "boolean"),
    "stdout": _param("stdout", "query", "Attach standard output.", "boolean"),
    "stderr": _param("stderr", "query", "Attach standard error.", "boolean"),
    "tty": _param("tty", "query", "Allocate a terminal.", "boolean"),
    "ports": _param("ports", "query", "Ports to forward.", "integer"),
    "follow": _param("follow", "query", "Stream the log.", "boolean"),
    "previous": _param("previous", "query", "The log of the previous instance.", "boolean"),
    "sinceSeconds": _param("sinceSeconds", "query", "Only lines newer than this many "
                           "seconds.", "integer"),
    "tailLines": _param("tailLines", "query", "Only the last lines.", "integer"),
    "timestamps": _param("timestamps", "query", "Prefix each line with its time.", "boolean"),
    "limitBytes": _param("limitBytes", "query", "Stop after this many bytes.", "integer"),
    "insecureSkipTLSVerifyBackend": _param("insecureSkipTLSVerifyBackend", "query",
                                           "Do not verify the kubelet's certificate.",
                                           "boolean"),
    "stream": _param("stream", "query", "Which stream to return: All, Stdout or Stderr."),
}

_LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
         "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
         "watch")
_WRITE = ("dryRun", "fieldManager", "fieldValidation")
_PATCH = ("dryRun", "fieldManager", "fieldValidation", "force")
_DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
           "orphanDependents", "propagationPolicy")
_CONNECT_PARAMS = {
    "exec": ("command", "container", "stderr", "stdin", "stdout", "tty"),
    "attach": ("container", "stderr", "stdin", "stdout", "tty"),
    "portforward": ("ports",),
    "proxy": ("path",),
}
_LOG = ("container", "follow", "insecureSkipTLSVerifyBackend", "limitBytes", "previous",
        "sinceSeconds", "stream", "tailLines", "timestamps")


def _params(names: Iterable[str]) -> list[dict[str, Any]]:
    return [_P[n] for n in names]


# ---------------------------------------------------------------- operations (neutral form)
#
# Operations are first built in a neutral form and then rendered as v3 or v2:
# {"method", "id", "description", "action", "gvk", "params", "body": def|None,
#  "patch": bool, "responses": {code: def-name | "string" | None}, "stream": bool}


def _op(method: str, op_id: str, description: str, action: str, gvk: dict[str, str] | None,
        params: Iterable[str] = (), *, body: str | None = None, patch: bool = False,
        responses: dict[str, str | None], stream: bool = False,
        consumes_any: bool = False) -> dict[str, Any]:
    return {"method": method, "id": op_id, "description": description, "action": action,
            "gvk": gvk, "params": tuple(params), "body": body, "patch": patch,
            "responses": responses, "stream": stream, "consumes_any": consumes_any}


def _def(group: str, version: str, kind: str) -> str:
    return schema.definition_name(group, version, kind) or _crd_name(group, version, kind)


def _resource_paths(info: ResourceInfo) -> dict[str, dict[str, Any]]:
    """Neutral operations by path for one resource and its subresources."""
    g, v, kind = info.group, info.version, info.kind
    gv, base = _gv_id(g, v), _prefix(g, v)
    gvk = {"group": g, "kind": kind, "version": v}
    scope = "Namespaced" if info.namespaced else ""
    ns = "/namespaces/{namespace}" if info.namespaced else ""
    path_params = ("namespace",) if info.namespaced else ()
    obj, lst = _def(g, v, kind), _def(g, v, info.list_kind)
    status, delete_options = _META + "Status", _META + "DeleteOptions"
    watch_event = _META + "WatchEvent"
    verbs = set(info.verbs)
    out: dict[str, dict[str, Any]] = {}

    def add(path: str, params: tuple[str, ...], *ops: dict[str, Any]) -> None:
        if ops:
            entry = out.setdefault(path, {"params": (*params, "pretty"), "ops": []})
            entry["ops"].extend(ops)

    collection = f"{base}{ns}/{info.plural}"
    ops = []
    if "list" in verbs:
        ops.append(_op("get", f"list{gv}{scope}{kind}", f"list or watch objects of kind {kind}",
                       "list", gvk, _LIST, responses={"200": lst}, stream=True))
    if "create" in verbs:
        ops.append(_op("post", f"create{gv}{scope}{kind}", f"create {_article(kind)}", "post",
                       gvk, _WRITE, body=obj,
                       responses={"200": obj, "201": obj, "202": obj}))
    if "deletecollection" in verbs:
        ops.append(_op("delete", f"delete{gv}Collection{scope}{kind}",
                       f"delete collection of {kind}", "deletecollection", gvk,
                       (*_LIST[:-1], *_DELETE), body=delete_options,
                       responses={"200": status}))
    add(collection, path_params, *ops)

    item = f"{collection}/{{name}}"
    ops = []
    if "get" in verbs:
        ops.append(_op("get", f"read{gv}{scope}{kind}", f"read the specified {kind}", "get",
                       gvk, responses={"200": obj}))
    if "update" in verbs:
        ops.append(_op("put", f"replace{gv}{scope}{kind}", f"replace the specified {kind}",
                       "put", gvk, _WRITE, body=obj, responses={"200": obj, "201": obj}))
    if "delete" in verbs:
        ops.append(_op("delete", f"delete{gv}{scope}{kind}", f"delete {_article(kind)}",
                       "delete", gvk, _DELETE, body=delete_options,
                       responses={"200": status, "202": status}))
    if "patch" in verbs:
        ops.append(_op("patch", f"patch{gv}{scope}{kind}",
                       f"partially update the specified {kind}", "patch", gvk, _PATCH,
                       body=_META + "Patch", patch=True, responses={"200": obj, "201": obj}))
    add(item, (*path_params, "name"), *ops)

    if info.namespaced and "list" in verbs:
        add(f"{base}/{info.plural}", (), _op(
            "get", f"list{gv}{kind}ForAllNamespaces", f"list or watch objects of kind {kind}",
            "list", gvk, _LIST, responses={"200": lst}, stream=True))
    if "watch" in verbs:
        # Deprecated watch paths, still published upstream.
        add(f"{base}/watch{ns}/{info.plural}", path_params, _op(
            "get", f"watch{gv}{scope}{kind}List",
            f"watch individual changes to a list of {kind}", "watchlist", gvk, _LIST,
            responses={"200": watch_event}, stream=True))
        add(f"{base}/watch{ns}/{info.plural}/{{name}}", (*path_params, "name"), _op(
            "get", f"watch{gv}{scope}{kind}", f"watch changes to an object of kind {kind}",
            "watch", gvk, _LIST, responses={"200": watch_event}, stream=True))
        if info.namespaced:
            add(f"{base}/watch/{info.plural}", (), _op(
                "get", f"watch{gv}{kind}ListForAllNamespaces",
                f"watch individual changes to a list of {kind}", "watchlist", gvk, _LIST,
                responses={"200": watch_event}, stream=True))

    for sub in info.subresources:
        _subresource_paths(info, sub, item, (*path_params, "name"), out, add)
    if info.custom is not None:  # no strategic merge patch for custom resources
        for entry in out.values():
            for op in entry["ops"]:
                op["custom"] = True
    return out


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "AEIOU" else "a ") + kind


def _subresource_paths(info: ResourceInfo, sub: Subresource, item: str,
                       params: tuple[str, ...], out: dict[str, Any], add: Any) -> None:
    g, v = info.group, info.version
    gv = _gv_id(g, v)
    scope = "Namespaced" if info.namespaced else ""
    sg, sv = (sub.group, sub.version) if sub.version else (g, v)
    gvk = {"group": sg, "kind": sub.kind, "version": sv}
    name = f"{scope}{info.kind}{_title(sub.name)}"
    path = f"{item}/{sub.name}"
    verbs = set(sub.verbs)
    target = _def(sg, sv, sub.kind)
    if sub.kind.endswith("Options"):  # connect: exec, attach, portforward, proxy
        extra = _CONNECT_PARAMS.get(sub.name, ())
        for with_path in (False, True) if sub.name == "proxy" else (False,):
            ops = []
            for verb in sorted(verbs):
                method = _CONNECT_METHODS[verb]
                suffix = "WithPath" if with_path else ""
                query = () if with_path else extra
                ops.append(_op(method, f"connect{gv}{_title(method)}{name}{suffix}",
                               f"connect {method.upper()} requests to {sub.name} of {info.kind}",
                               "connect", gvk, query, responses={"200": "string"}))
            add(path + ("/{path}" if with_path else ""),
                (*params, "path") if with_path else params, *ops)
        return
    if sub.name == "log":
        add(path, params, _op("get", f"read{gv}{name}", f"read log of the specified {info.kind}",
                              "get", gvk, _LOG, responses={"200": "string"}))
        return
    ops = []
    if "get" in verbs:
        ops.append(_op("get", f"read{gv}{name}", f"read {sub.name} of the specified {info.kind}",
                       "get", gvk, responses={"200": target}))
    if "create" in verbs:
        ops.append(_op("post", f"create{gv}{name}", f"create {sub.name} of {_article(info.kind)}",
                       "post", gvk, _WRITE, body=target,
                       responses={"200": target, "201": target, "202": target}))
    if "update" in verbs:
        ops.append(_op("put", f"replace{gv}{name}",
                       f"replace {sub.name} of the specified {info.kind}", "put", gvk, _WRITE,
                       body=target, responses={"200": target, "201": target}))
    if "patch" in verbs:
        ops.append(_op("patch", f"patch{gv}{name}",
                       f"partially update {sub.name} of the specified {info.kind}", "patch",
                       gvk, _PATCH, body=_META + "Patch", patch=True,
                       responses={"200": target, "201": target}))
    add(path, params, *ops)


# ---------------------------------------------------------------- rendering


def _ref(name: str, v3: bool) -> dict[str, str]:
    return {"$ref": ("#/components/schemas/" if v3 else "#/definitions/") + name}


def _response_schema(target: str, v3: bool) -> dict[str, Any]:
    return {"type": "string"} if target == "string" else _ref(target, v3)


_STATUS_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


def _patch_types(op: dict[str, Any]) -> tuple[str, ...]:
    return _CR_PATCH_TYPES if op.get("custom") else _PATCH_TYPES


def _render_v3(op: dict[str, Any], tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": [tag], "description": op["description"],
                           "operationId": op["id"]}
    if op["params"]:
        out["parameters"] = _params(op["params"])
    if op["body"] is not None:
        types = _patch_types(op) if op["patch"] else ("*/*",)
        out["requestBody"] = {
            "content": {t: {"schema": _ref(op["body"], True)} for t in types},
            "required": not op["action"].startswith("delete"),
        }
    responses: dict[str, Any] = {}
    for code, target in op["responses"].items():
        if target == "string":
            types = ("*/*",)
        else:
            types = _STREAM_TYPES if op["stream"] else _JSON_TYPES
        responses[code] = {"description": _STATUS_TEXT[code], "content": {
            t: {"schema": _response_schema(target, True)} for t in types}}
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["x-kubernetes-action"] = op["action"]
    if op["gvk"] is not None:
        out["x-kubernetes-group-version-kind"] = op["gvk"]
    return out


def _render_v2(op: dict[str, Any], tag: str) -> dict[str, Any]:
    out: dict[str, Any] = {"description": op["description"]}
    if op["body"] is not None:
        out["consumes"] = list(_patch_types(op)) if op["patch"] else ["*/*"]
    else:
        out["consumes"] = ["*/*"]
    streams = any(t == "string" for t in op["responses"].values())
    out["produces"] = ["*/*"] if streams else list(_STREAM_TYPES if op["stream"]
                                                    else _JSON_TYPES)
    out["schemes"] = ["https"]
    out["tags"] = [tag]
    out["operationId"] = op["id"]
    params = _params(op["params"])
    v2_params = [{k: v for k, v in p.items() if k != "schema"} | p["schema"] for p in params]
    if op["body"] is not None:
        v2_params.insert(0, {"name": "body", "in": "body",
                             "required": not op["action"].startswith("delete"),
                             "schema": _ref(op["body"], False)})
    if v2_params:
        out["parameters"] = v2_params
    responses: dict[str, Any] = {
        code: {"description": _STATUS_TEXT[code], "schema": _response_schema(target, False)}
        for code, target in op["responses"].items()}
    responses["401"] = {"description": "Unauthorized"}
    out["responses"] = responses
    out["x-kubernetes-action"] = op["action"]
    if op["gvk"] is not None:
        out["x-kubernetes-group-version-kind"] = op["gvk"]
    return out


def _render_paths(neutral: dict[str, dict[str, Any]], tag: str, v3: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path in sorted(neutral):
        entry = neutral[path]
        item: dict[str, Any] = {}
        for op in entry["ops"]:
            item[op["method"]] = (_render_v3 if v3 else _render_v2)(op, tag)
        params = _params(entry["params"])
        if not v3:
            params = [{k: v for k, v in p.items() if k != "schema"} | p["schema"]
                      for p in params]
        item["parameters"] = params
        paths[path] = item
    return paths


def _used_definitions(neutral: dict[str, dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for entry in neutral.values():
        for op in entry["ops"]:
            if op["body"] is not None:
                names.add(op["body"])
            names.update(t for t in op["responses"].values() if t and t != "string")
    return names


def _open_schemas(infos: Iterable[ResourceInfo], v3: bool) -> dict[str, Any]:
    """Open object schemas for kinds without an upstream definition (CRDs)."""
    out: dict[str, Any] = {}
    for info in infos:
        if info.custom is not None:  # a CRD's schema (api.crd)
            out.update(info.custom.openapi_schemas(v3))
            continue
        for kind in (info.kind, info.list_kind):
            if schema.definition_name(info.group, info.version, kind) is not None:
                continue
            if kind == info.list_kind and "list" not in info.verbs:
                continue
            out[_crd_name(info.group, info.version, kind)] = {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "x-kubernetes-group-version-kind": [
                    {"group": info.group, "kind": kind, "version": info.version}],
            }
    return out


def _resources_root(group: str, version: str, v3: bool) -> dict[str, Any]:
    """`GET /api/v1/`: getCoreV1APIResources."""
    op = _op("get", f"get{_gv_id(group, version)}APIResources", "get available resources",
             "", None, responses={"200": _META + "APIResourceList"})
    rendered = (_render_v3 if v3 else _render_v2)(op, _tag(group, version))
    rendered.pop("x-kubernetes-action")
    return {f"{_prefix(group, version)}/": {"get": rendered}}


@functools.lru_cache(maxsize=256)
def _gv_document(infos: tuple[ResourceInfo, ...], group: str, version: str) -> bytes:
    neutral: dict[str, dict[str, Any]] = {}
    for info in infos:
        for path, entry in _resource_paths(info).items():
            neutral.setdefault(path, {"params": entry["params"], "ops": []})
            neutral[path]["ops"].extend(entry["ops"])
    tag = _tag(group, version)
    paths = _render_paths(neutral, tag, True) | _resources_root(group, version, True)
    names = _used_definitions(neutral) | {_META + "APIResourceList"}
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _schemas(names, True, _open_schemas(infos, True)),
            "securitySchemes": _SECURITY,
        },
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


_SECURITY = {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                             "name": "authorization", "in": "header"}}


def _infos(registry: Registry, group: str, version: str) -> tuple[ResourceInfo, ...]:
    return tuple(registry.resources(group, version))


def v3_group_version(registry: Registry, group: str, version: str) -> Doc:
    """The OpenAPI 3.0.0 document of one group-version (`/openapi/v3/apis/<g>/<v>`)."""
    return orjson.loads(v3_group_version_bytes(registry, group, version))


def v3_group_version_bytes(registry: Registry, group: str, version: str) -> bytes:
    """`v3_group_version` serialized (sorted keys); what the hash is computed over."""
    return _gv_document(_infos(registry, group, version), group, version)


def _simple_document(path: str, op_id: str, description: str, response: str) -> bytes:
    tag = path.strip("/").replace("/", "_") or "core"
    op = _op("get", op_id, description, "", None, responses={"200": response})
    rendered = _render_v3(op, tag)
    rendered.pop("x-kubernetes-action")
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": {path: {"get": rendered}},
        "components": {"schemas": _schemas([response], True, {}),
                       "securitySchemes": _SECURITY},
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


@functools.cache
def _discovery_document(key: str) -> bytes:
    if key == "api":
        return _simple_document("/api/", "getCoreAPIVersions", "get available API versions",
                                _META + "APIVersions")
    if key == "apis":
        return _simple_document("/apis/", "getAPIVersions", "get available API versions",
                                _META + "APIGroupList")
    if key == "version":
        return _simple_document("/version/", "getCodeVersion", "get the code version",
                                "io.k8s.apimachinery.pkg.version.Info")
    group = key.removeprefix("apis/")
    return _simple_document(f"/apis/{group}/", f"get{_id_part(group.removesuffix('.k8s.io'), True)}"
                            "APIGroup", "get information of a group", _META + "APIGroup")


def v3_document_bytes(registry: Registry, path: str) -> bytes | None:
    """The serialized v3 document at `/openapi/v3/<path>`, or None if there is none.

    `path` is a key of `v3_index()["paths"]`: "api/v1", "apis/apps/v1",
    "apis/apps", "api", "apis" or "version".
    """
    groups = dict(registry.groups())
    parts = path.strip("/").split("/")
    if parts == ["api", "v1"] and "v1" in groups.get("", []):
        return v3_group_version_bytes(registry, "", "v1")
    if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []) \
            and parts[1]:
        return v3_group_version_bytes(registry, parts[1], parts[2])
    if parts in (["api"], ["apis"], ["version"]):
        return _discovery_document(parts[0])
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups and parts[1]:
        return _discovery_document(path.strip("/"))
    return None


@functools.lru_cache(maxsize=512)
def content_hash(document: bytes) -> str:
    """Upstream's `?hash=`: upper-case hex SHA-512 of the served bytes."""
    return hashlib.sha512(document).hexdigest().upper()


def v3_index(registry: Registry) -> Doc:
    """`GET /openapi/v3`: every document with its hash-qualified URL."""
    keys: list[str] = []
    for group, versions in registry.groups():
        if group:
            keys.append(f"apis/{group}")
        keys.extend(f"apis/{group}/{v}" if group else f"api/{v}" for v in versions)
    keys.extend(["api", "apis", "version"])
    paths = {}
    for key in sorted(keys):
        body = v3_document_bytes(registry, key)
        if body is not None:
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={content_hash(body)}"}
    return {"paths": paths}


def v2(registry: Registry) -> Doc:
    """The Swagger 2.0 document of every served resource (`/openapi/v2`, JSON form)."""
    return orjson.loads(v2_bytes(registry))


def v2_bytes(registry: Registry) -> bytes:
    return _v2_document(tuple(sorted(registry, key=lambda i: (i.group, i.version, i.plural))))


@functools.lru_cache(maxsize=16)
def _v2_document(infos: tuple[ResourceInfo, ...]) -> bytes:
    paths: dict[str, Any] = {}
    names: set[str] = {_META + "APIResourceList"}
    by_gv: dict[tuple[str, str], list[ResourceInfo]] = {}
    for info in infos:
        by_gv.setdefault((info.group, info.version), []).append(info)
    for (group, version), members in by_gv.items():
        neutral: dict[str, dict[str, Any]] = {}
        for info in members:
            for path, entry in _resource_paths(info).items():
                neutral.setdefault(path, {"params": entry["params"], "ops": []})
                neutral[path]["ops"].extend(entry["ops"])
        paths |= _render_paths(neutral, _tag(group, version), False)
        paths |= _resources_root(group, version, False)
        names |= _used_definitions(neutral)
    doc = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": dict(sorted(paths.items())),
        "definitions": _schemas(names, False, _open_schemas(infos, False)),
        "securityDefinitions": _SECURITY,
        "security": [{"BearerToken": []}],
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)

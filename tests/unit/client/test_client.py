"""Client over an in-memory transport: paths, parameters, errors, retries, rate limit, watch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from kybernetes.client import (
    BOOKMARK,
    Client,
    FakeClock,
    HttpRequest,
    MockResponse,
    MockTransport,
    NoMatchError,
    StatusError,
    TransportError,
    builtin_resource,
    is_already_exists,
    is_conflict,
    is_gone,
    is_not_found,
)

from .support import config, discovery_answer, make_cm, path_of, run, status

Handler = Callable[[HttpRequest], Any]


def ok_handler(request: HttpRequest) -> MockResponse:
    answer = discovery_answer(request)
    if answer is not None:
        return answer
    return MockResponse.json({"kind": "Echo", "method": request.method})


def make_client(handler: Handler = ok_handler, *, clock: FakeClock | None = None,
                **cfg: Any) -> tuple[Client, MockTransport]:
    transport = MockTransport(handler)
    client = Client(config(**cfg), transport=transport,
                    clock=clock or FakeClock(auto_advance=True))
    return client, transport


def api_requests(transport: MockTransport) -> list[HttpRequest]:
    """The requests that were not discovery."""
    return [r for r in transport.requests if discovery_answer(r) is None]


CM = ("v1", "ConfigMap")
DEPLOY = ("apps/v1", "deployments")
NODES = builtin_resource("v1", "Node")


@pytest.mark.parametrize(("call", "method", "path", "query"), [
    (lambda c: c.get(CM, "a", namespace="ns"), "GET", "/api/v1/namespaces/ns/configmaps/a", {}),
    (lambda c: c.get(CM, "a"), "GET", "/api/v1/namespaces/default/configmaps/a", {}),
    (lambda c: c.get(DEPLOY, "d", namespace="ns", subresource="scale"), "GET",
     "/apis/apps/v1/namespaces/ns/deployments/d/scale", {}),
    (lambda c: c.get(NODES, "n1", namespace="ignored"), "GET", "/api/v1/nodes/n1", {}),
    (lambda c: c.get(("apps/v1", "deploy"), "d", namespace="ns", resource_version="0"), "GET",
     "/apis/apps/v1/namespaces/ns/deployments/d", {"resourceVersion": "0"}),
    (lambda c: c.list(CM), "GET", "/api/v1/configmaps", {}),
    (lambda c: c.list(CM, namespace="ns", label_selector={"b": "2", "a": "1"},
                      field_selector="metadata.name=x", limit=10, continue_token="tok"),
     "GET", "/api/v1/namespaces/ns/configmaps",
     {"labelSelector": "a=1,b=2", "fieldSelector": "metadata.name=x", "limit": "10",
      "continue": "tok"}),
    (lambda c: c.create(CM, make_cm("a", "ns2"), field_manager="me", dry_run=True), "POST",
     "/api/v1/namespaces/ns2/configmaps", {"fieldManager": "me", "dryRun": "All"}),
    (lambda c: c.update(CM, make_cm("a", "ns"), subresource="status"), "PUT",
     "/api/v1/namespaces/ns/configmaps/a/status", {}),
    (lambda c: c.patch(CM, "a", {"data": {}}, namespace="ns", patch_type="strategic",
                       field_validation="Strict"), "PATCH",
     "/api/v1/namespaces/ns/configmaps/a", {"fieldValidation": "Strict"}),
    (lambda c: c.apply(CM, make_cm("a"), field_manager="ctl", force=True), "PATCH",
     "/api/v1/namespaces/ns/configmaps/a", {"fieldManager": "ctl", "force": "true"}),
    (lambda c: c.delete(CM, "a", namespace="ns"), "DELETE",
     "/api/v1/namespaces/ns/configmaps/a", {}),
    (lambda c: c.delete_collection(CM, namespace="ns", label_selector="x in (1,2)"), "DELETE",
     "/api/v1/namespaces/ns/configmaps", {"labelSelector": "x in (1,2)"}),
    (lambda c: c.bind("ns", "p", "n1"), "POST", "/api/v1/namespaces/ns/pods/p/binding", {}),
    (lambda c: c.evict("ns", "p"), "POST", "/api/v1/namespaces/ns/pods/p/eviction", {}),
], ids=["get", "get-default-ns", "get-subresource", "get-cluster-scoped", "get-short-name",
        "list-all-namespaces", "list-selectors", "create", "update-status", "patch", "apply",
        "delete", "delete-collection", "bind", "evict"])
def test_verbs_build_paths_and_queries(call: Any, method: str, path: str,
                                       query: dict[str, str]) -> None:
    client, transport = make_client()
    run(call(client))
    (request,) = api_requests(transport)
    assert (request.method, path_of(request), request.query) == (method, path, query)


@pytest.mark.parametrize(("patch_type", "content_type"), [
    ("merge", "application/merge-patch+json"),
    ("strategic", "application/strategic-merge-patch+json"),
    ("json", "application/json-patch+json"),
    ("apply", "application/apply-patch+yaml"),
])
def test_patch_content_types(patch_type: str, content_type: str) -> None:
    client, transport = make_client()
    run(client.patch(CM, "a", {}, namespace="ns", patch_type=patch_type, field_manager="m"))
    assert api_requests(transport)[0].headers["Content-Type"] == content_type


def test_apply_without_field_manager_is_refused() -> None:
    client, _ = make_client()
    with pytest.raises(ValueError, match="field_manager"):
        run(client.patch(CM, "a", {}, patch_type="apply"))


def test_create_fills_api_version_and_kind_without_mutating_the_argument() -> None:
    client, transport = make_client()
    obj = {"metadata": {"name": "a"}}
    run(client.create(("apps/v1", "Deployment"), obj, namespace="ns"))
    body = orjson.loads(api_requests(transport)[0].body or b"")
    assert (body["apiVersion"], body["kind"]) == ("apps/v1", "Deployment")
    assert obj == {"metadata": {"name": "a"}}


def test_delete_options_body() -> None:
    client, transport = make_client()
    run(client.delete(CM, "a", namespace="ns", propagation_policy="Foreground",
                      grace_period_seconds=0, preconditions={"uid": "u1"}))
    body = orjson.loads(api_requests(transport)[0].body or b"")
    assert body == {"kind": "DeleteOptions", "apiVersion": "v1",
                    "propagationPolicy": "Foreground", "gracePeriodSeconds": 0,
                    "preconditions": {"uid": "u1"}}


def test_headers_carry_user_agent_accept_and_bearer_token() -> None:
    client, transport = make_client()
    run(client.get(NODES, "n"))
    headers = transport.requests[0].headers
    assert headers["User-Agent"] == "unit-test"
    assert headers["Accept"] == "application/json"
    assert headers["Authorization"] == "Bearer t0k3n"


def test_basic_auth_header() -> None:
    client, transport = make_client(token=None, username="u", password="p")
    run(client.get(NODES, "n"))
    assert transport.requests[0].headers["Authorization"] == "Basic dTpw"


def test_token_file_is_read_again_after_the_refresh_interval(tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    clock = FakeClock(auto_advance=True)
    client, transport = make_client(clock=clock, token=None, token_file=str(token_file),
                                    token_file_refresh_seconds=60)

    async def scenario() -> None:
        await client.get(NODES, "n")
        token_file.write_text("second")
        await client.get(NODES, "n")  # still cached
        await clock.sleep(60)
        await client.get(NODES, "n")

    run(scenario())
    assert [r.headers["Authorization"] for r in transport.requests] == [
        "Bearer first", "Bearer first", "Bearer second"]


def scripted(*answers: MockResponse | Exception) -> Handler:
    """Answer API requests with `answers` in order (then 200); discovery as usual."""
    queue = list(answers)

    def handler(request: HttpRequest) -> MockResponse:
        answer = discovery_answer(request)
        if answer is not None:
            return answer
        if queue:
            nxt = queue.pop(0)
            if isinstance(nxt, Exception):
                raise nxt
            return nxt
        return MockResponse.json({"kind": "ConfigMap", "metadata": {"name": "ok"}})

    return handler


def too_many(retry_after: str | None = None) -> MockResponse:
    resp = status(429, "TooManyRequests", "slow down")
    if retry_after is not None:
        resp.headers["Retry-After"] = retry_after
    return resp


# --- errors -------------------------------------------------------------------------------


def test_status_body_becomes_status_error() -> None:
    client, _ = make_client(scripted(status(
        409, "AlreadyExists", 'configmaps "a" already exists', name="a", kind="configmaps")))
    with pytest.raises(StatusError) as info:
        run(client.create(CM, make_cm("a")))
    err = info.value
    assert (err.code, err.reason, err.name, err.kind) == (409, "AlreadyExists", "a", "configmaps")
    assert is_already_exists(err) and not is_conflict(err)


def test_answer_without_status_body_gets_a_reason_from_its_code() -> None:
    client, _ = make_client(scripted(MockResponse(404, b"404 page not found")))
    with pytest.raises(StatusError) as info:
        run(client.get(NODES, "x"))
    assert (info.value.reason, info.value.message) == ("NotFound", "404 page not found")
    assert is_not_found(info.value)


def test_unknown_kind_raises_no_match() -> None:
    client, _ = make_client()
    with pytest.raises(NoMatchError, match='no matches for kind "Widget"'):
        run(client.get(("v1", "Widget"), "w"))
    with pytest.raises(NoMatchError, match="does not serve"):
        run(client.get(("example.com/v1", "Widget"), "w"))


# --- retries ------------------------------------------------------------------------------


@pytest.mark.parametrize(("verb", "answers", "attempts", "sleeps"), [
    ("POST", [too_many("2"), too_many("3")], 3, [2.0, 3.0]),
    ("POST", [too_many()], 2, [0.1]),
    ("GET", [status(503, "ServiceUnavailable"), status(500, "InternalError")], 3, [0.1, 0.2]),
    ("POST", [status(500, "InternalError")], 1, []),
    ("PATCH", [status(503, "ServiceUnavailable")], 1, []),
    ("GET", [status(501, "NotImplemented")], 1, []),
    ("POST", [TransportError("refused", maybe_sent=False)], 2, [0.1]),
    ("POST", [TransportError("reset", maybe_sent=True)], 1, []),
    ("GET", [TransportError("reset", maybe_sent=True)], 2, [0.1]),
], ids=["429-retry-after", "429-backoff", "5xx-get", "5xx-post-not-retried",
        "5xx-patch-not-retried", "501-not-retried", "refused-post-retried",
        "reset-post-not-retried", "reset-get-retried"])
def test_retry_policy(verb: str, answers: list[Any], attempts: int, sleeps: list[float]) -> None:
    clock = FakeClock(auto_advance=True)
    client, transport = make_client(scripted(*answers), clock=clock, qps=0,
                                    retry_backoff_seconds=0.1)
    call = {"GET": lambda: client.get(CM, "a", namespace="ns"),
            "POST": lambda: client.create(CM, make_cm("a")),
            "PATCH": lambda: client.patch(CM, "a", {}, namespace="ns")}[verb]
    try:
        run(call())
    except (StatusError, TransportError):
        pass
    assert len(api_requests(transport)) == attempts
    # Back-off sleeps carry up to 20% jitter; Retry-After is honoured exactly.
    assert len(clock.sleeps) == len(sleeps)
    for slept, expected in zip(clock.sleeps, sleeps, strict=True):
        assert expected <= slept <= expected * 1.2


def test_retries_give_up_after_max_retries() -> None:
    client, transport = make_client(scripted(*[too_many("1")] * 10), max_retries=3, qps=0)
    with pytest.raises(StatusError) as info:
        run(client.get(CM, "a", namespace="ns"))
    assert info.value.code == 429
    assert len(api_requests(transport)) == 4


def test_eviction_429_is_the_answer_not_retried() -> None:
    client, transport = make_client(scripted(too_many("10")))
    with pytest.raises(StatusError):
        run(client.evict("ns", "p"))
    assert len(api_requests(transport)) == 1


# --- client-side rate limit ---------------------------------------------------------------


def test_rate_limiter_makes_requests_beyond_the_burst_wait() -> None:
    clock = FakeClock(auto_advance=True)
    client, transport = make_client(clock=clock, qps=5, burst=2)

    async def scenario() -> None:
        for _ in range(6):
            await client.get(NODES, "n")

    run(scenario())
    assert len(transport.requests) == 6
    # Two go at once (the burst), then one every 1/5 s.
    assert clock.sleeps == pytest.approx([0.2, 0.2, 0.2, 0.2])
    assert clock.now() == pytest.approx(0.8)


def test_concurrent_requests_queue_behind_each_other() -> None:
    clock = FakeClock()
    client, transport = make_client(clock=clock, qps=10, burst=1)

    async def scenario() -> None:
        tasks = [asyncio.create_task(client.get(NODES, "n")) for _ in range(3)]
        await clock.advance(0)
        assert len(transport.requests) == 1
        await clock.advance(0.1)
        assert len(transport.requests) == 2
        await clock.advance(0.1)
        assert len(transport.requests) == 3
        await asyncio.gather(*tasks)

    run(scenario())


# --- list paging --------------------------------------------------------------------------


def test_list_all_follows_continue_tokens() -> None:
    pages = {
        "": {"metadata": {"resourceVersion": "7", "continue": "c1"},
             "items": [make_cm("a"), make_cm("b")]},
        "c1": {"metadata": {"resourceVersion": "7", "continue": "c2"}, "items": [make_cm("c")]},
        "c2": {"metadata": {"resourceVersion": "7"}, "items": [make_cm("d")]},
    }

    def handler(request: HttpRequest) -> MockResponse:
        return discovery_answer(request) or MockResponse.json(
            {"kind": "ConfigMapList", **pages[request.query.get("continue", "")]})

    client, transport = make_client(handler)
    merged = run(client.list_all(CM, namespace="ns", page_size=2))
    assert [i["metadata"]["name"] for i in merged["items"]] == ["a", "b", "c", "d"]
    assert merged["metadata"] == {"resourceVersion": "7"}
    assert [r.query.get("limit") for r in api_requests(transport)] == ["2", "2", "2"]


# --- watch --------------------------------------------------------------------------------


def watch_client(chunks: list[bytes] | AsyncIterator[bytes]) -> tuple[Client, MockTransport]:
    def handler(request: HttpRequest) -> MockResponse:
        return discovery_answer(request) or MockResponse(200, chunks=chunks)

    return make_client(handler)


def line(type_: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": type_, "object": obj}) + b"\n"


async def collect(stream: Any) -> list[tuple[str, str]]:
    return [(t, o["metadata"].get("name") or o["metadata"]["resourceVersion"])
            async for t, o in stream]


def test_watch_reframes_lines_split_across_chunks() -> None:
    data = line("ADDED", make_cm("a")) + line("MODIFIED", make_cm("b")) + line(
        BOOKMARK, {"metadata": {"resourceVersion": "9"}})
    chunks = [data[:5], data[5:40], data[40:41], data[41:]]
    client, transport = watch_client(chunks)
    events = run(collect(client.watch(CM, namespace="ns", resource_version="3",
                                      allow_bookmarks=True, timeout_seconds=30)))
    assert events == [("ADDED", "a"), ("MODIFIED", "b"), ("BOOKMARK", "9")]
    (request,) = api_requests(transport)
    assert request.query == {"resourceVersion": "3", "watch": "true",
                             "allowWatchBookmarks": "true", "timeoutSeconds": "30"}
    assert request.stream


def test_watch_by_name_is_a_field_selector() -> None:
    def handler(request: HttpRequest) -> MockResponse:
        return discovery_answer(request) or MockResponse.watch([("ADDED", make_cm("a"))])

    client, transport = make_client(handler)
    events = run(collect(client.watch(CM, namespace="ns", name="a", field_selector="x=y")))
    assert events == [("ADDED", "a")]
    assert api_requests(transport)[0].query["fieldSelector"] == "metadata.name=a,x=y"


def test_watch_error_event_raises_gone() -> None:
    expired = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
               "reason": "Expired", "message": "too old resource version: 1 (5)"}
    client, _ = watch_client([line("ADDED", make_cm("a")), line("ERROR", expired)])

    async def scenario() -> list[str]:
        seen = []
        with pytest.raises(StatusError) as info:
            async for _, obj in client.watch(CM, resource_version="1"):
                seen.append(obj["metadata"]["name"])
        assert is_gone(info.value) and info.value.reason == "Expired"
        return seen

    assert run(scenario()) == ["a"]


def test_watch_ends_cleanly_when_the_stream_is_cut() -> None:
    async def cut() -> AsyncIterator[bytes]:
        yield line("ADDED", make_cm("a"))
        raise TransportError("connection reset")

    client, _ = watch_client(cut())
    assert run(collect(client.watch(CM))) == [("ADDED", "a")]


def test_watch_ends_on_an_undecodable_event() -> None:
    client, _ = watch_client([line("ADDED", make_cm("a")), b"{not json\n",
                              line("ADDED", make_cm("b"))])
    assert run(collect(client.watch(CM))) == [("ADDED", "a")]


def test_watch_request_failure_raises() -> None:
    client, _ = make_client(scripted(status(403, "Forbidden", "no")))
    with pytest.raises(StatusError) as info:
        run(collect(client.watch(CM)))
    assert info.value.code == 403


def test_watch_closed_early_releases_the_response() -> None:
    responses: list[MockResponse] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield line("ADDED", make_cm("a"))
            await asyncio.sleep(0)

    def handler(request: HttpRequest) -> MockResponse:
        answer = discovery_answer(request)
        if answer is not None:
            return answer
        responses.append(MockResponse(200, chunks=endless()))
        return responses[-1]

    client, _ = make_client(handler)

    async def scenario() -> None:
        async with client.watch(CM) as stream:
            async for _ in stream:
                break

    run(scenario())
    assert responses[0].released


# --- discovery ----------------------------------------------------------------------------


def test_discovery_is_cached_and_fetched_once_for_concurrent_resolvers() -> None:
    client, transport = make_client()

    async def scenario() -> None:
        await asyncio.gather(*(client.resolve(("apps/v1", name))
                               for name in ("Deployment", "deployments", "deploy")))
        await client.resolve(("apps/v1", "deployment"))

    run(scenario())
    assert [path_of(r) for r in transport.requests] == ["/apis/apps/v1"]


def test_discovery_builds_resource_info_with_subresources() -> None:
    client, _ = make_client()
    info = run(client.resolve(("apps/v1", "Deployment")))
    assert (info.group, info.version, info.kind, info.plural, info.namespaced) == (
        "apps", "v1", "Deployment", "deployments", True)
    scale = info.subresource("scale")
    assert scale is not None and (scale.kind, scale.group, scale.version) == (
        "Scale", "autoscaling", "v1")
    assert info.short_names == ("deploy",)


def test_discovery_miss_refetches_at_most_once_per_interval() -> None:
    clock = FakeClock(auto_advance=True)
    client, transport = make_client(clock=clock)

    async def scenario() -> None:
        await client.resolve(CM)
        for _ in range(3):
            with pytest.raises(NoMatchError):
                await client.resolve(("v1", "Widget"))
        await clock.sleep(1.0)
        with pytest.raises(NoMatchError):
            await client.resolve(("v1", "Widget"))

    run(scenario())
    assert [path_of(r) for r in transport.requests] == ["/api/v1", "/api/v1"]


def test_request_returns_json_or_text() -> None:
    def handler(request: HttpRequest) -> MockResponse:
        if path_of(request) == "/readyz":
            return MockResponse(200, b"ok", headers={"Content-Type": "text/plain"})
        return MockResponse.json({"major": "1"})

    client, _ = make_client(handler)
    assert run(client.request("GET", "/readyz")) == "ok"
    assert run(client.request("GET", "/version")) == {"major": "1"}


AGG_CORE = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
    {"metadata": {"name": ""}, "versions": [{"version": "v1", "freshness": "Current",
     "resources": [{"resource": "pods", "responseKind": {"group": "", "version": "",
                                                         "kind": "Pod"},
                    "scope": "Namespaced", "singularResource": "pod", "verbs": ["get"],
                    "subresources": [{"subresource": "eviction", "verbs": ["create"],
                                      "responseKind": {"group": "policy", "version": "v1",
                                                       "kind": "Eviction"}}]}]}]}]}
AGG_GROUPS = {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "items": [
    {"metadata": {"name": "autoscaling"}, "versions": [
        {"version": "v2", "freshness": "Current", "resources": [
            {"resource": "horizontalpodautoscalers", "scope": "Namespaced",
             "responseKind": {"group": "", "version": "", "kind": "HorizontalPodAutoscaler"},
             "verbs": ["get"], "shortNames": ["hpa"]}]},
        {"version": "v1", "freshness": "Current", "resources": []}]},
    {"metadata": {"name": "metrics.k8s.io"}, "versions": [
        {"version": "v1beta1", "freshness": "Stale", "resources": []}]}]}
AGG_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def test_aggregated_discovery_answers_everything_in_two_requests() -> None:
    def handler(request: HttpRequest) -> MockResponse:
        assert "as=APIGroupDiscoveryList" in request.headers["Accept"]
        doc = {"/api": AGG_CORE, "/apis": AGG_GROUPS}[path_of(request)]
        return MockResponse(200, orjson.dumps(doc), headers={"Content-Type": AGG_TYPE})

    client, transport = make_client(handler)

    async def scenario() -> None:
        assert await client.discovery.groups() == [("", ["v1"]), ("autoscaling", ["v2", "v1"])]
        infos = await client.discovery.preferred_resources()
        assert [(i.group_version, i.plural, i.namespaced) for i in infos] == [
            ("v1", "pods", True), ("autoscaling/v2", "horizontalpodautoscalers", True)]
        eviction = infos[0].subresource("eviction")
        assert eviction is not None and (eviction.group, eviction.kind) == ("policy", "Eviction")
        assert (await client.resolve(("autoscaling/v2", "hpa"))).kind == (
            "HorizontalPodAutoscaler")

    run(scenario())
    assert [path_of(r) for r in transport.requests] == ["/api", "/apis"]


def test_legacy_discovery_fetches_each_preferred_group_version() -> None:
    def handler(request: HttpRequest) -> MockResponse:
        path = path_of(request)
        if path == "/api":
            return MockResponse.json({"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return MockResponse.json({"kind": "APIGroupList", "groups": [
                {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]})
        answer = discovery_answer(request)
        assert answer is not None
        return answer

    client, transport = make_client(handler)
    infos = run(client.discovery.preferred_resources())
    assert {i.plural for i in infos} >= {"configmaps", "pods", "deployments"}
    assert [path_of(r) for r in transport.requests] == ["/api", "/apis", "/api/v1",
                                                        "/apis/apps/v1"]


def test_list_items_get_api_version_and_kind() -> None:
    def handler(request: HttpRequest) -> MockResponse:
        return discovery_answer(request) or MockResponse.json(
            {"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
             "items": [{"metadata": {"name": "d"}}]})

    client, _ = make_client(handler)
    (item,) = run(client.list(DEPLOY))["items"]
    assert (item["apiVersion"], item["kind"]) == ("apps/v1", "Deployment")

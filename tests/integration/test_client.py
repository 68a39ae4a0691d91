"""kybernetes.client against a real `kyb server`: REST verbs, watch, informers (including a
re-list after a server restart), leader election, events, rate limiting, token auth, and the
example controller of the package docstring.

No sleeps: conditions are polled with a deadline (`eventually`); time-driven client logic
(rate limiter, informer back-off) runs on a `FakeClock` where the test needs to control it.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

import kybernetes.client
from kybernetes.client import (
    ADDED,
    DELETED,
    MODIFIED,
    Client,
    DeletedFinalStateUnknown,
    EventRecorder,
    FakeClock,
    LeaderElectionConfig,
    LeaderElector,
    LeaseLock,
    SharedInformerFactory,
    StatusError,
    builtin_resource,
    is_already_exists,
    is_conflict,
    is_gone,
    is_not_found,
    load_kubeconfig,
)
from kybernetes.testing.server import ServerProcess

CM = ("v1", "ConfigMap")
DEADLINE = 30.0


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def guarded() -> Any:
        return await asyncio.wait_for(coro, 120)

    return asyncio.run(guarded())


def client_for(server: ServerProcess, **overrides: Any) -> Client:
    return Client(load_kubeconfig(server.kubeconfig, **overrides))


async def eventually(check: Callable[[], Any], *, message: str = "",
                     step: Callable[[], Awaitable[None]] | None = None) -> Any:
    """Poll `check` (sync or async) until it returns something truthy, within DEADLINE."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {DEADLINE}s: {message}")
        if step is not None:
            await step()
        await asyncio.sleep(0.02)


def cm(name: str, namespace: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": dict(data)}


# --- REST ---------------------------------------------------------------------------------


def test_crud_and_errors(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            created = await client.create(CM, cm("a", ns, x="1"))
            assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
            with pytest.raises(StatusError) as info:
                await client.create(CM, cm("a", ns))
            assert is_already_exists(info.value)

            got = await client.get(CM, "a", namespace=ns)
            assert got["data"] == {"x": "1"}
            got["data"]["x"] = "2"
            updated = await client.update(CM, got)
            assert updated["data"] == {"x": "2"}
            with pytest.raises(StatusError) as info:
                await client.update(CM, got)  # stale resourceVersion
            assert is_conflict(info.value)

            await client.patch(CM, "a", {"data": {"m": "merge"}}, namespace=ns)
            await client.patch(CM, "a", {"data": {"s": "strategic"}}, namespace=ns,
                               patch_type="strategic")
            patched = await client.patch(CM, "a", [{"op": "remove", "path": "/data/x"}],
                                         namespace=ns, patch_type="json")
            assert patched["data"] == {"m": "merge", "s": "strategic"}

            await client.delete(CM, "a", namespace=ns)
            with pytest.raises(StatusError) as info:
                await client.get(CM, "a", namespace=ns)
            assert is_not_found(info.value) and info.value.name == "a"

    run(main())


def test_list_paging_and_selectors(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            for i in range(7):
                obj = cm(f"c{i}", ns)
                obj["metadata"]["labels"] = {"parity": "even" if i % 2 == 0 else "odd"}
                await client.create(CM, obj)
            first = await client.list(CM, namespace=ns, limit=3)
            assert len(first["items"]) == 3 and first["metadata"]["continue"]
            pages = [p async for p in client.list_pages(CM, namespace=ns, page_size=3)]
            assert [len(p["items"]) for p in pages] == [3, 3, 1]
            everything = await client.list_all(CM, namespace=ns, page_size=3)
            assert [i["metadata"]["name"] for i in everything["items"]] == [
                f"c{i}" for i in range(7)]
            odd = await client.list(CM, namespace=ns, label_selector={"parity": "odd"})
            assert [i["metadata"]["name"] for i in odd["items"]] == ["c1", "c3", "c5"]
            sets = await client.list(CM, namespace=ns,
                                     label_selector="parity in (odd, none),!missing")
            assert len(sets["items"]) == 3
            named = await client.list(CM, namespace=ns, field_selector="metadata.name=c4")
            assert [i["metadata"]["name"] for i in named["items"]] == ["c4"]
            await client.delete_collection(CM, namespace=ns, label_selector="parity=even")
            left = await client.list(CM, namespace=ns)
            assert [i["metadata"]["name"] for i in left["items"]] == ["c1", "c3", "c5"]

    run(main())


def test_subresources(kyb: ServerProcess, ns: str) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "namespace": ns},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}

    async def main() -> None:
        async with client_for(kyb) as client:
            await client.create(("apps/v1", "Deployment"), deploy)
            scale = await client.get(("apps/v1", "deployments"), "web", namespace=ns,
                                     subresource="scale")
            assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 1)
            await client.patch(("apps/v1", "deployments"), "web", {"spec": {"replicas": 3}},
                               namespace=ns, subresource="scale")
            status = await client.patch(("apps/v1", "deployments"), "web",
                                        {"status": {"observedGeneration": 2}}, namespace=ns,
                                        subresource="status")
            assert status["spec"]["replicas"] == 3
            assert status["status"]["observedGeneration"] == 2

            created = await client.create(("v1", "Pod"), pod)
            await client.bind(ns, "p", "node-1", uid=created["metadata"]["uid"])
            bound = await client.get(builtin_resource("v1", "Pod"), "p", namespace=ns)
            assert bound["spec"]["nodeName"] == "node-1"

            await client.create(("v1", "ServiceAccount"),
                                {"metadata": {"name": "robot", "namespace": ns}})
            token = await client.create(("v1", "serviceaccounts"), {"spec": {}}, namespace=ns,
                                        name="robot", subresource="token")
            assert token["status"]["token"].count(".") == 2

            await client.evict(ns, "p")
            await eventually(lambda: _absent(client, ("v1", "Pod"), "p", ns),
                             message="the evicted pod is deleted")

    run(main())


async def _absent(client: Client, ref: Any, name: str, ns: str) -> bool:
    try:
        obj = await client.get(ref, name, namespace=ns)
    except StatusError as err:
        return is_not_found(err)
    return bool(obj["metadata"].get("deletionTimestamp"))


def test_server_side_apply(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            try:
                applied = await client.apply(CM, cm("applied", ns, k="v"), field_manager="test")
            except StatusError as err:
                if err.code == 415:
                    pytest.skip("the apiserver does not implement server-side apply yet")
                raise
            assert applied["data"] == {"k": "v"}

    run(main())


def test_watch_from_a_list(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            await client.create(CM, cm("before", ns))
            listed = await client.list(CM, namespace=ns)
            rv = listed["metadata"]["resourceVersion"]
            await client.create(CM, cm("w", ns))
            await client.patch(CM, "w", {"data": {"a": "1"}}, namespace=ns)
            await client.delete(CM, "w", namespace=ns)
            seen = []
            async with client.watch(CM, namespace=ns, resource_version=rv,
                                    timeout_seconds=30) as events:
                async for type_, obj in events:
                    seen.append((type_, obj["metadata"]["name"]))
                    if type_ == DELETED:
                        break
            assert seen == [(ADDED, "w"), (MODIFIED, "w"), (DELETED, "w")]
            # The server ends a watch at timeoutSeconds: the iteration just stops.
            quiet = [e async for e in client.watch(CM, namespace=ns, name="none",
                                                   resource_version=rv, timeout_seconds=1)]
            assert quiet == []

    run(main())


def test_discovery_of_every_preferred_resource(kyb: ServerProcess) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            groups = dict(await client.discovery.groups())
            assert groups[""] == ["v1"] and groups["autoscaling"][0] == "v2"
            infos = {(i.group_version, i.plural): i
                     for i in await client.discovery.preferred_resources()}
            deployments = infos[("apps/v1", "deployments")]
            scale = deployments.subresource("scale")
            assert scale is not None and (scale.group, scale.kind) == ("autoscaling", "Scale")
            assert ("autoscaling/v2", "horizontalpodautoscalers") in infos
            assert not infos[("v1", "nodes")].namespaced
            # The aggregated answer filled the per-group-version cache as well.
            assert await client.resolve(("apps/v1", "deploy")) == deployments

    run(main())


def test_client_side_rate_limit_is_honoured(kyb: ServerProcess) -> None:
    clock = FakeClock(auto_advance=True)  # the limiter's waits are recorded, not slept

    async def main() -> None:
        client = Client(load_kubeconfig(kyb.kubeconfig, qps=5, burst=2), clock=clock)
        async with client:
            for _ in range(6):
                await client.get(("v1", "Namespace"), "default")

    run(main())
    # Discovery of v1 and six GETs: two go at once (the burst), the rest 1/5 s apart.
    assert clock.sleeps == pytest.approx([0.2] * 5)


def test_bearer_token_authentication(kyb: ServerProcess, ns: str, tmp_path: Path) -> None:
    async def main() -> None:
        async with client_for(kyb) as admin:
            await admin.create(("v1", "ServiceAccount"),
                               {"metadata": {"name": "reader", "namespace": ns}})
            issued = await admin.create(("v1", "serviceaccounts"), {"spec": {}}, namespace=ns,
                                        name="reader", subresource="token")
        token = issued["status"]["token"]
        base = load_kubeconfig(kyb.kubeconfig)
        (tmp_path / "token").write_text(token)
        for auth in ({"token": token}, {"token_file": str(tmp_path / "token")}):
            cfg = base.replace(client_cert_data=None, client_key_data=None, **auth)
            async with Client(cfg) as client:
                review = await client.create(
                    ("authentication.k8s.io/v1", "SelfSubjectReview"), {})
            assert review["status"]["userInfo"]["username"] == (
                f"system:serviceaccount:{ns}:reader")

    run(main())


# --- informers ----------------------------------------------------------------------------


class Seen:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", obj["metadata"]["name"]))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old["metadata"]["resourceVersion"] != new["metadata"]["resourceVersion"]:
            self.events.append(("update", new["metadata"]["name"]))

    def on_delete(self, obj: Any) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self.events.append(("tombstone", obj.key))
        else:
            self.events.append(("delete", obj["metadata"]["name"]))


def test_informer_sees_add_update_delete(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            await client.create(CM, cm("old", ns))
            factory = SharedInformerFactory(client, namespace=ns)
            informer = factory.informer(CM, indexers={
                "data-key": lambda o: list((o.get("data") or {}).keys())})
            assert factory.informer(("v1", "configmaps")) is informer  # shared
            seen = Seen()
            informer.add_event_handler(seen)
            factory.start()
            assert await factory.wait_for_sync(DEADLINE)
            assert seen.events == [("add", "old")]

            await client.create(CM, cm("new", ns, k="v"))
            await client.patch(CM, "old", {"data": {"k": "w"}}, namespace=ns)
            await client.delete(CM, "new", namespace=ns)
            await eventually(lambda: len(seen.events) == 4, message=str(seen.events))
            assert seen.events[1:] == [("add", "new"), ("update", "old"), ("delete", "new")]
            assert informer.store.keys() == [f"{ns}/old"]
            assert informer.store.index_keys("data-key", "k") == [f"{ns}/old"]
            await factory.shutdown()

    run(main())


def test_informer_relists_after_server_restart(tmp_path: Path) -> None:
    """Restarting the server starts its watch cache at the current revision, so the
    informer's last resourceVersion is too old: the re-watch gets 410 and it lists again,
    noticing a deletion it never saw as a tombstone. The informer's back-off runs on a
    FakeClock, so the test decides when it reconnects."""
    server = ServerProcess(tmp_path / "restart").start()
    clock = FakeClock()
    try:
        run(_restart_scenario(server, clock))
    finally:
        code = server.stop()
    assert code == 0
    assert "Traceback" not in server.log_path.read_text()


async def _restart_scenario(server: ServerProcess, clock: FakeClock) -> None:
    ns = "restart"
    admin = client_for(server)
    await admin.create(("v1", "Namespace"), {"metadata": {"name": ns}})
    for name in ("a", "b", "c"):
        await admin.create(CM, cm(name, ns))
    # The informer's own client fails fast (no retries): its informer then waits on `clock`.
    informer_client = client_for(server, max_retries=0)
    factory = SharedInformerFactory(informer_client, namespace=ns, clock=clock,
                                    backoff_initial=1.0, backoff_max=1.0)
    informer = factory.informer(CM)
    seen = Seen()
    informer.add_event_handler(seen)
    factory.start()
    assert await informer.wait_for_sync(DEADLINE)
    old_rv = informer.last_sync_resource_version
    # Writes elsewhere move the store's revision past the informer's.
    await admin.create(("v1", "Secret"), {"metadata": {"name": "s", "namespace": ns}})

    server.stop()
    sleeps = len(clock.sleeps)
    await eventually(lambda: len(clock.sleeps) > sleeps,
                     message="the informer backs off once the server is gone")
    server.start()
    await admin.close()
    admin = client_for(server)
    await admin.delete(CM, "b", namespace=ns)  # unseen: the informer is not watching
    await admin.patch(CM, "c", {"data": {"x": "1"}}, namespace=ns)
    with pytest.raises(StatusError) as info:
        async for _ in admin.watch(CM, namespace=ns, resource_version=old_rv):
            pass
    assert is_gone(info.value) and info.value.code == 410

    await eventually(lambda: informer.list_count == 2, step=lambda: clock.advance(1.0),
                     message="the informer lists again after 410")
    assert sorted(seen.events[3:]) == [("tombstone", f"{ns}/b"), ("update", "c")]
    await admin.create(CM, cm("d", ns))
    await eventually(lambda: ("add", "d") in seen.events, step=lambda: clock.advance(1.0),
                     message="watching again after the re-list")
    assert sorted(informer.store.keys()) == [f"{ns}/a", f"{ns}/c", f"{ns}/d"]
    await factory.shutdown()
    await informer_client.close()
    await admin.close()


# --- leader election ----------------------------------------------------------------------


class Leadership:
    """Who believes they lead, shared by all candidates; `overlaps` records any moment
    when two did at once (the one thing leader election must never allow)."""

    def __init__(self) -> None:
        self.current: set[str] = set()
        self.overlaps: list[str] = []

    def enter(self, identity: str) -> None:
        if self.current:
            self.overlaps.append(f"{identity} leads while {self.current} still does")
        self.current.add(identity)


class Candidate:
    def __init__(self, server: ServerProcess, ns: str, identity: str, leaders: Leadership, *,
                 release_on_cancel: bool = True) -> None:
        self.client = client_for(server)
        self.leading = asyncio.Event()
        self.stopped = False
        cfg = LeaderElectionConfig(lease_duration=3, renew_deadline=2.5, retry_period=0.2,
                                   release_on_cancel=release_on_cancel)

        async def lead() -> None:
            leaders.enter(identity)
            self.leading.set()
            await asyncio.Event().wait()

        def stopped() -> None:
            leaders.current.discard(identity)
            self.stopped = True

        self.elector = LeaderElector(
            LeaseLock(self.client, namespace=ns, name="controller", identity=identity), cfg,
            on_started_leading=lead, on_stopped_leading=stopped)
        self.task = asyncio.create_task(self.elector.run())

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self.client.close()


def test_leader_election_one_winner_then_takeover(kyb: ServerProcess, ns: str) -> None:
    async def holder(client: Client) -> dict[str, Any]:
        lease = await client.get(("coordination.k8s.io/v1", "Lease"), "controller",
                                 namespace=ns)
        return lease["spec"]

    async def main() -> None:
        leaders = Leadership()
        async with client_for(kyb) as admin:
            a = Candidate(kyb, ns, "a", leaders)
            await asyncio.wait_for(a.leading.wait(), DEADLINE)
            b = Candidate(kyb, ns, "b", leaders, release_on_cancel=False)
            await eventually(lambda: b.elector.get_leader() == "a", message="b sees a lead")

            await a.stop()  # releases: b takes over at its next try
            assert a.stopped and "a" not in leaders.current
            await asyncio.wait_for(b.leading.wait(), DEADLINE)
            spec = await holder(admin)
            assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] >= 1
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
                                spec["renewTime"])

            c = Candidate(kyb, ns, "c", leaders)
            await eventually(lambda: c.elector.get_leader() == "b", message="c sees b lead")
            transitions = (await holder(admin))["leaseTransitions"]
            await b.stop()  # a crash: no release, c waits for the lease to expire
            assert (await holder(admin))["holderIdentity"] == "b"
            await asyncio.wait_for(c.leading.wait(), DEADLINE)
            spec = await holder(admin)
            assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("c", transitions + 1)
            await c.stop()
            assert (await holder(admin))["holderIdentity"] == ""
            assert leaders.current == set() and leaders.overlaps == []

    run(main())


# --- events -------------------------------------------------------------------------------


def test_identical_events_are_aggregated_with_count_two(kyb: ServerProcess, ns: str) -> None:
    async def main() -> None:
        async with client_for(kyb) as client:
            target = await client.create(CM, cm("subject", ns))
            recorder = EventRecorder(client, "test-controller", "host-1")
            recorder.event(target, "Normal", "Synced", "configmap synced")
            await recorder.flush()
            recorder.event(target, "Normal", "Synced", "configmap synced")
            recorder.event(target, "Warning", "Failed", "something else")
            await recorder.close()
            events = await client.list(("v1", "Event"), namespace=ns,
                                       field_selector={"involvedObject.name": "subject"})
            by_reason = {e["reason"]: e for e in events["items"]}
            assert sorted(by_reason) == ["Failed", "Synced"]
            synced = by_reason["Synced"]
            assert synced["count"] == 2
            assert synced["firstTimestamp"] <= synced["lastTimestamp"]
            assert synced["involvedObject"]["uid"] == target["metadata"]["uid"]
            assert synced["source"] == {"component": "test-controller", "host": "host-1"}
            assert synced["reportingComponent"] == "test-controller"
            assert by_reason["Failed"]["count"] == 1

    run(main())


# --- the example in the package docstring -------------------------------------------------


def example_source() -> str:
    doc = kybernetes.client.__doc__ or ""
    body = doc.split("Example controller\n------------------\n", 1)[1]
    code = body[body.index("    import asyncio"):body.index("Run it with")]
    return textwrap.dedent(code)


def test_docstring_example_controller_labels_configmaps(kyb: ServerProcess, ns: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example_source(), "kybernetes.client example", "exec"), namespace)

    async def labelled(client: Client, name: str) -> bool:
        obj = await client.get(CM, name, namespace=ns)
        return (obj["metadata"].get("labels") or {}).get(namespace["LABEL"]) == "true"

    async def main() -> None:
        async with client_for(kyb) as client:
            await client.create(CM, cm("existing", ns))
            controller = asyncio.create_task(namespace["run_labeller"](client, namespace=ns))
            await client.create(CM, cm("fresh", ns))
            await eventually(lambda: labelled(client, "existing"), message="existing labelled")
            await eventually(lambda: labelled(client, "fresh"), message="fresh labelled")
            controller.cancel()
            try:
                await controller
            except asyncio.CancelledError:
                pass

    run(main())

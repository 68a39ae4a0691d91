"""Durability of acknowledged writes across a crash (SIGKILL) and a clean stop (SIGTERM).

A write the server answered with 201 must survive anything that happens to the
process afterwards: eight client threads create ConfigMaps as fast as they can,
the server is killed while requests are in flight, and a server restarted on
the same data directory must serve every acknowledged object, unchanged and at
the resourceVersion it was acknowledged with, and must never hand out a
resourceVersion it already acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from kybernetes.testing.server import ServerProcess

WRITERS = 8
# Stop the server once this many creates are acknowledged and writing has gone on for
# this long (whichever comes last), so that the database has seen many group commits.
ACKS_BEFORE_STOP = 200
WRITE_SECONDS = 2.0
NAMESPACE = "durability"


@dataclass(frozen=True)
class Ack:
    name: str
    resource_version: int
    data: dict[str, str]


@dataclass
class Acks:
    """Acknowledged creates, shared by the writer threads."""

    items: list[Ack] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    # Set just before the server is stopped: from then on, failed requests are expected.
    going_down: threading.Event = field(default_factory=threading.Event)

    def add(self, ack: Ack) -> None:
        with self.cond:
            self.items.append(ack)
            self.cond.notify_all()

    def fail(self, exc: BaseException) -> None:
        with self.cond:
            self.errors.append(exc)
            self.cond.notify_all()

    def wait_for(self, count: int, seconds: float, timeout: float) -> bool:
        """Wait until `count` acks and `seconds` since the first (or an error)."""
        with self.cond:
            started = time.monotonic()
            first_ack = self.cond.wait_for(lambda: self.items or self.errors, timeout)
            if not first_ack or self.errors:
                return False
            writing_since = time.monotonic()
            return self.cond.wait_for(
                lambda: bool(self.errors) or (
                    len(self.items) >= count and time.monotonic() - writing_since >= seconds),
                timeout - (time.monotonic() - started))


def new_client(srv: ServerProcess) -> client.ApiClient:
    """A client that never re-sends a request (a retried POST could double-create)."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(srv.kubeconfig), client_configuration=cfg)
    cfg.retries = False
    return client.ApiClient(cfg)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data").start()
    yield srv
    assert srv.stop() == 0
    assert "Traceback" not in srv.log_path.read_text()


def _writer(srv: ServerProcess, index: int, acks: Acks, stop: threading.Event) -> None:
    """Create ConfigMaps until told to stop or until the server goes away."""
    with new_client(srv) as api:
        core = client.CoreV1Api(api)
        i = 0
        while not stop.is_set():
            name = f"w{index}-{i}"
            data = {"writer": str(index), "seq": str(i), "payload": f"{name}-" + "x" * 200}
            try:
                out = core.create_namespaced_config_map(NAMESPACE, {
                    "metadata": {"name": name, "labels": {"writer": str(index)}},
                    "data": data}, _request_timeout=30)
            except Exception as exc:
                # Refused, reset or cut short is expected once the server goes down.
                if not acks.going_down.is_set():
                    acks.fail(exc)
                return
            acks.add(Ack(name, int(out.metadata.resource_version), data))
            i += 1


def _run_writers_until(srv: ServerProcess, how: str) -> list[Ack]:
    """Write concurrently; once enough writes are acknowledged, stop the server `how`."""
    acks = Acks()
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(srv, i, acks, stop), daemon=True)
               for i in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        assert acks.wait_for(ACKS_BEFORE_STOP, WRITE_SECONDS, timeout=120), (
            f"only {len(acks.items)} writes acknowledged; errors: {acks.errors[:3]}")
        # Writers are still going: requests are in flight while the server goes down.
        acks.going_down.set()
        if how == "SIGKILL":
            srv.kill()
        else:
            assert srv.stop() == 0, srv.log_path.read_text()[-4000:]
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert not acks.errors, acks.errors
    return list(acks.items)


def _create_namespace(srv: ServerProcess) -> None:
    with new_client(srv) as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})


def _all_configmaps(core: client.CoreV1Api) -> dict[str, Any]:
    out = {}
    token = None
    while True:
        page = core.list_namespaced_config_map(NAMESPACE, limit=500, _continue=token)
        out.update({cm.metadata.name: cm for cm in page.items})
        token = page.metadata._continue
        if not token:
            return out


def _check_acked_survived(srv: ServerProcess, acked: list[Ack]) -> None:
    assert len({a.name for a in acked}) == len(acked)
    assert len({a.resource_version for a in acked}) == len(acked), "a revision was reused"
    with new_client(srv) as api:
        core = client.CoreV1Api(api)
        stored = _all_configmaps(core)
        missing = [a.name for a in acked if a.name not in stored]
        assert missing == [], f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        for a in acked:
            cm = stored[a.name]
            assert cm.data == a.data, a.name
            assert int(cm.metadata.resource_version) == a.resource_version, a.name
        # Whatever else is there was a create in flight, complete and well-formed.
        for name, cm in stored.items():
            writer, seq = name[1:].split("-")
            assert cm.data["writer"] == writer and cm.data["seq"] == seq, name

        newest = max(a.resource_version for a in acked)
        listed_rv = int(core.list_namespaced_config_map(NAMESPACE, limit=1)
                        .metadata.resource_version)
        assert listed_rv >= newest
        after = core.create_namespaced_config_map(NAMESPACE, {
            "metadata": {"name": "after-restart"}, "data": {"k": "v"}})
        assert int(after.metadata.resource_version) > max(
            newest, *(int(cm.metadata.resource_version) for cm in stored.values()))
        # An update of an acknowledged object works and moves its revision forward.
        first = acked[0]
        updated = core.patch_namespaced_config_map(first.name, NAMESPACE,
                                                   {"data": {"seq": "updated"}})
        assert int(updated.metadata.resource_version) > int(after.metadata.resource_version)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_acknowledged_writes_survive_stop_during_concurrent_writes(
        server: ServerProcess, how: str) -> None:
    _create_namespace(server)
    acked = _run_writers_until(server, how)
    assert len(acked) >= ACKS_BEFORE_STOP
    server.start()
    _check_acked_survived(server, acked)


def test_sigterm_exits_cleanly_and_restart_keeps_all_data(server: ServerProcess) -> None:
    _create_namespace(server)
    with new_client(server) as api:
        core = client.CoreV1Api(api)
        apps = client.AppsV1Api(api)
        for i in range(20):
            core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": f"cm-{i}"},
                                                          "data": {"i": str(i)}})
        for i in range(0, 20, 2):
            core.patch_namespaced_config_map(f"cm-{i}", NAMESPACE, {"data": {"i": f"{i}!"}})
        for i in range(0, 20, 5):
            core.delete_namespaced_config_map(f"cm-{i}", NAMESPACE)
        dep = apps.create_namespaced_deployment(NAMESPACE, {
            "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
        apps.patch_namespaced_deployment_status("web", NAMESPACE, {"status": {"replicas": 3}})
        before = _all_configmaps(core)
        last_rv = int(core.list_namespaced_config_map(NAMESPACE).metadata.resource_version)

    assert server.stop() == 0
    assert "Traceback" not in server.log_path.read_text()
    server.start()

    with new_client(server) as api:
        core = client.CoreV1Api(api)
        apps = client.AppsV1Api(api)
        after = _all_configmaps(core)
        assert sorted(after) == sorted(before)
        assert sorted(after) == sorted(f"cm-{i}" for i in range(20) if i % 5)
        for name, cm in before.items():
            assert after[name].data == cm.data
            assert after[name].metadata.uid == cm.metadata.uid
            assert after[name].metadata.resource_version == cm.metadata.resource_version
        got = apps.read_namespaced_deployment("web", NAMESPACE)
        assert got.metadata.uid == dep.metadata.uid
        assert got.spec.replicas == 3
        assert got.status.replicas == 3
        # System namespaces are not created twice, and the namespace list is intact.
        names = [n.metadata.name for n in core.list_namespace().items]
        assert sorted(names) == sorted({"default", "kube-system", "kube-public",
                                        "kube-node-lease", NAMESPACE})
        new = core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "new"}})
        assert int(new.metadata.resource_version) > last_rv

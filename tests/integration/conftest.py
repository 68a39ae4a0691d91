"""Integration fixtures: one real `kyb server` per test module, driven by real clients.

Each module gets its own server in its own tmp dir (tmp_path_factory is per xdist
worker, so `-n auto` runs stay apart). Tests keep out of each other's way by working
in a namespace of their own (`ns`), created with kubectl like a user would.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import pytest

from kybernetes.testing.server import ServerProcess

_counter = itertools.count()


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running server for the whole module. At the end SIGTERM must stop it with exit
    code 0, and its log must hold no traceback (a 500 or a crashed handler that the
    client-side assertions may not have noticed)."""
    server = ServerProcess(tmp_path_factory.mktemp("kyb")).start()
    try:
        yield server
    finally:
        code = server.stop()
        log = server.log_path.read_text()
        assert code == 0, f"kyb server exited with {code} on SIGTERM:\n{log[-4000:]}"
        assert "Traceback" not in log, f"the server logged an exception:\n{log[-8000:]}"


@pytest.fixture
def ns(kyb: ServerProcess, request: pytest.FixtureRequest) -> str:
    """A fresh namespace named after the test, created with `kubectl create namespace`."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    name = f"{base[:50].rstrip('-')}-{next(_counter)}"
    kyb.kubectl("create", "namespace", name)
    return name

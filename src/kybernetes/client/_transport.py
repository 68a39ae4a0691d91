"""The HTTP seam: `Transport` sends one request and returns one response.

`AiohttpTransport` is the real one: a single `aiohttp.ClientSession` per client
(keep-alive, a connection limit, the config's TLS context), created lazily on
the running loop. aiohttp's exceptions stop here and become `TransportError`.

`MockTransport` answers from a function in memory (as httpx's mock transport),
so the REST client's retries, rate limiting, error decoding and watch framing
are tested without sockets.

Responses are read either whole (`read()`) or as a stream of byte chunks
(`chunks()`, for watches); either way `release()` must be called (the client
does it) so the connection returns to the pool.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from kybernetes.client._config import Config
from kybernetes.client._errors import TransportError


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request. `url` has no query; `params` are encoded by the transport."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # A watch: no total timeout (the server ends it), read incrementally.
    stream: bool = False
    timeout: float | None = None

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)


class HttpResponse(Protocol):
    status: int
    headers: CIMultiDictProxy[str] | CIMultiDict[str]

    async def read(self) -> bytes: ...

    def chunks(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


class Transport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- aiohttp


class _AiohttpResponse:
    __slots__ = ("_resp", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self._resp = resp
        self.status = resp.status
        self.headers = resp.headers

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransportError(f"reading the response: {_describe(exc)}") from exc
        finally:
            self._resp.release()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._resp.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransportError(f"reading the stream: {_describe(exc)}") from exc

    def release(self) -> None:
        # close(), not release(): a watch abandoned mid-stream must not hand a
        # connection with unread data back to the pool.
        if not self._resp.closed:
            self._resp.close()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class AiohttpTransport:
    """HTTP(S) over one aiohttp session, created on first use on the running loop."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._ssl = config.ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cfg = self._config
            connector = aiohttp.TCPConnector(
                limit=cfg.max_connections, ssl=self._ssl if self._ssl is not None else False,
                keepalive_timeout=90.0)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def send(self, request: HttpRequest) -> HttpResponse:
        session = self._session_for_loop()
        cfg = self._config
        if request.stream:
            timeout = aiohttp.ClientTimeout(total=None, connect=cfg.connect_timeout_seconds,
                                            sock_read=request.timeout)
        else:
            timeout = aiohttp.ClientTimeout(total=request.timeout or cfg.timeout_seconds,
                                            connect=cfg.connect_timeout_seconds)
        try:
            resp = await session.request(
                request.method, request.url, params=list(request.params) or None,
                headers=dict(request.headers), data=request.body, timeout=timeout,
                server_hostname=cfg.tls_server_name, allow_redirects=False)
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect to {cfg.server}: {_describe(exc)}",
                                 maybe_sent=False) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransportError(f"{request.method} {request.url}: {_describe(exc)}") from exc
        return _AiohttpResponse(resp)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# --------------------------------------------------------------------------- mock


class MockResponse:
    """A canned response: a whole `body`, or `chunks` delivered one by one (a watch).

    `chunks` may be an async iterator, to hold a stream open until the test
    feeds it; when it ends, the stream ends as a server closing it would.
    """

    def __init__(self, status: int = 200, body: bytes = b"", *,
                 headers: Mapping[str, str] | None = None,
                 chunks: Iterable[bytes] | AsyncIterator[bytes] | None = None) -> None:
        self.status = status
        self._body = body
        self._chunks = chunks
        self.headers: CIMultiDict[str] = CIMultiDict(headers or {})
        self.released = False

    @classmethod
    def json(cls, obj: Any, status: int = 200, *, headers: Mapping[str, str] | None = None
             ) -> MockResponse:
        return cls(status, orjson.dumps(obj),
                   headers={"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def watch(cls, events: Iterable[tuple[str, Any]] | AsyncIterator[bytes]) -> MockResponse:
        """A watch stream of (type, object) events, one JSON line each."""
        if isinstance(events, AsyncIterator):
            return cls(200, chunks=events)
        lines = [orjson.dumps({"type": t, "object": o}) + b"\n" for t, o in events]
        return cls(200, chunks=lines)

    async def read(self) -> bytes:
        self.released = True
        if self._chunks is not None:
            return b"".join([c async for c in self.chunks()])
        return self._body

    async def chunks(self) -> AsyncIterator[bytes]:
        source = self._chunks if self._chunks is not None else [self._body]
        if isinstance(source, AsyncIterator):
            async for chunk in source:
                yield chunk
        else:
            for chunk in source:
                yield chunk

    def release(self) -> None:
        self.released = True


Handler = Callable[[HttpRequest], "MockResponse | Awaitable[MockResponse]"]


class MockTransport:
    """A transport answering with `handler(request)`; every request is kept in `requests`.

    The handler may raise `TransportError` to simulate a connection failure.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []
        self.closed = False

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        result = self.handler(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def close(self) -> None:
        self.closed = True

"""A fault-injecting HTTP proxy in front of the moto server, for DynamoDB fault tests.

It forwards every request to moto unchanged, counts requests by `X-Amz-Target` operation, and
can answer chosen operations with DynamoDB's own throttling error instead of forwarding them
(the request then never reaches the table, exactly as when DynamoDB throttles). Runs under
uvicorn in a thread of its own, so the app under test talks to it over real HTTP.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

THROTTLING_BODY = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        "message": "Rate exceeded",
    }
).encode()
# Headers that describe one hop, not the message: httpx and uvicorn set their own.
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
_RESPONSE_SKIP = _HOP_HEADERS | {"content-encoding", "date", "server"}


def operation_of(target: str | None) -> str:
    """`DynamoDB_20120810.TransactWriteItems` -> `TransactWriteItems` ('' for non-API calls)."""
    return (target or "").rpartition(".")[2]


class FaultProxy:
    """`throttle(op, times)` makes the next `times` calls of `op` fail (None: all of them);
    `requests[op]` counts every call of `op` that arrived, throttled or not."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._faults: dict[str, int | None] = {}
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])],
            lifespan=self._lifespan,
        )
        config = uvicorn.Config(
            app, log_level="error", http="h11", ws="none", loop="asyncio", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._client: httpx.AsyncClient | None = None

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # The client belongs to the proxy thread's event loop.
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as client:
            self._client = client
            yield

    # control ----------------------------------------------------------------
    def throttle(self, operation: str, times: int | None = None) -> None:
        with self._lock:
            self._faults[operation] = times

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.throttled.clear()

    def _should_throttle(self, operation: str) -> bool:
        with self._lock:
            self.requests[operation] += 1
            if operation not in self._faults:
                return False
            left = self._faults[operation]
            if left is not None:
                if left <= 0:
                    return False
                self._faults[operation] = left - 1
            self.throttled[operation] += 1
            return True

    # serving ----------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        operation = operation_of(request.headers.get("x-amz-target"))
        if self._should_throttle(operation):
            return Response(
                THROTTLING_BODY, status_code=400, media_type="application/x-amz-json-1.0"
            )
        assert self._client is not None
        upstream = await self._client.request(
            request.method,
            request.url.path,
            params=str(request.query_params),
            headers=[(k, v) for k, v in request.headers.items() if k not in _HOP_HEADERS],
            content=await request.body(),
        )
        headers = {k: v for k, v in upstream.headers.items() if k not in _RESPONSE_SKIP}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    # lifecycle --------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fault proxy did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()

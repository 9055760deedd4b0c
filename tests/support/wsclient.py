"""A small GraphQL-over-WebSocket client for tests, speaking either protocol.

graphql-transport-ws: connection_init / subscribe / next / error / complete, ping/pong.
graphql-ws (legacy): connection_init / start / data / error / complete / stop, "ka".
Keep-alive messages are answered or skipped here, so tests only see operation messages.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.graphql import token as mint_token

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


class Closed(Exception):
    """The server closed the socket; `code` and `reason` say why."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class WSClient:
    """One WebSocket connection (use `open_ws`)."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self._ids = itertools.count(1)
        # Messages read while waiting for another operation's.
        self._pending: list[dict[str, Any]] = []
        self.pings = 0
        self.ack: dict[str, Any] | None = None

    @property
    def legacy(self) -> bool:
        return self.protocol == LEGACY_WS

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def init(self, sub: str | None = None, *, token: str | None = None) -> dict[str, Any]:
        """connection_init with a bearer token for `sub`; returns the connection_ack (once:
        a socket opened with `open_ws(..., sub=...)` is already initialised)."""
        if self.ack is not None:
            return self.ack
        bearer = token if token is not None else (mint_token(sub) if sub else None)
        payload = {"authorization": f"Bearer {bearer}"} if bearer is not None else {}
        await self.send({"type": "connection_init", "payload": payload})
        reply = await self.receive(timeout=10)
        if reply.get("type") == "connection_ack":
            self.ack = reply
        return reply

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, op_id: str | None = None
    ) -> str:
        op_id = op_id or str(next(self._ids))
        kind = "start" if self.legacy else "subscribe"
        payload = {"query": query, "variables": variables or {}}
        await self.send({"id": op_id, "type": kind, "payload": payload})
        return op_id

    async def stop(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "stop" if self.legacy else "complete"})

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next message that is not keep-alive; raises Closed when the socket closes."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    raw = await self.ws.recv()
                    message: dict[str, Any] = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        self.pings += 1
                        # The server may have closed meanwhile: that close is the answer.
                        await self.send({"type": "pong"})
                        continue
                except ConnectionClosed as exc:
                    rcvd = exc.rcvd
                    if rcvd is None:
                        raise Closed(None, f"no close frame received ({exc})") from exc
                    raise Closed(rcvd.code, rcvd.reason) from exc
                if kind in ("pong", "ka"):
                    self.pings += kind == "ka"
                    continue
                return message

    async def message_for(self, op_id: str, timeout: float = 5.0) -> dict[str, Any]:
        for i, message in enumerate(self._pending):
            if message.get("id") == op_id:
                return self._pending.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(timeout=timeout)
                if message.get("id") == op_id:
                    return message
                self._pending.append(message)

    async def next_data(self, op_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next result's data; fails on anything else (error, complete)."""
        message = await self.message_for(op_id, timeout)
        kind = message["type"]
        assert kind == ("data" if self.legacy else "next"), message
        assert not message["payload"].get("errors"), message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def next_error(self, op_id: str, timeout: float = 5.0) -> tuple[str, str]:
        """(code, message) of the error the operation ends with, and checks it completes."""
        message = await self.message_for(op_id, timeout)
        payload = message["payload"]
        if message["type"] == "error":
            error = payload[0] if isinstance(payload, list) else payload
        else:
            assert message["type"] in ("next", "data"), message
            error = payload["errors"][0]
            done = await self.message_for(op_id, timeout)
            assert done["type"] == "complete", done
        return error.get("extensions", {}).get("code", ""), error.get("message", "")

    async def closed(self, timeout: float = 5.0) -> Closed:
        """Waits for the server to close the socket (skipping anything else)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.receive(timeout=timeout)
        except Closed as closed:
            return closed
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.ws.close()

    async def __aenter__(self) -> WSClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def open_ws(
    url: str,
    protocol: str = TRANSPORT_WS,
    *,
    sub: str | None = None,
    origin: str | None = None,
    max_queue: int | None = 16,
    **kwargs: Any,
) -> WSClient:
    """A connected client; with `sub`, initialised at once (the server's init timeout runs
    from the handshake, so a test opening several sockets should init each right away)."""
    ws = await connect(
        url,
        subprotocols=[protocol],  # type: ignore[list-item]
        origin=origin,  # type: ignore[arg-type]
        compression=None,
        max_queue=max_queue,
        open_timeout=10,
        **kwargs,
    )
    client = WSClient(ws, protocol)
    if sub is not None:
        reply = await client.init(sub)
        assert reply["type"] == "connection_ack", reply
    return client

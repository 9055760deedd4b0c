"""Graceful shutdown: readiness fails at once, WebSockets close with 1012, requests finish.

On SIGTERM the server (graphql_api/__main__.py) calls `Drain.begin()` before uvicorn's own
shutdown: /readyz answers 503 "draining" so the load balancer stops routing here, new
WebSockets are refused, and every open GraphQL WebSocket is closed with 1012 ("service
restart") through its `LiveConnection`, which ends its operations and presence first. Clients
reconnect to another replica and `runUpdated(afterVersion)` replays what they missed. uvicorn
then stops accepting connections and waits (timeout_graceful_shutdown) for in-flight requests.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from graphql_api.subscriptions.connection import LiveConnection

log = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012


class Drain:
    """One app's shutdown state and its open WebSockets."""

    def __init__(self) -> None:
        self.draining = False
        # Scopes of open WebSockets by id(): the protocol handler hangs its LiveConnection on
        # the scope's state (subscriptions/connection.py), so nothing else needs to register.
        self._sockets: dict[int, Scope] = {}

    @property
    def open_websockets(self) -> int:
        return len(self._sockets)

    def begin(self) -> int:
        """Start draining (idempotent); returns how many WebSockets were asked to close."""
        first = not self.draining
        self.draining = True
        closing = 0
        for scope in list(self._sockets.values()):
            live = scope.get("state", {}).get("live_connection")
            if isinstance(live, LiveConnection):
                live.close_soon(CLOSE_SERVICE_RESTART, "Service restart")
                closing += 1
        if first:
            log.info("draining: readiness failing, %d WebSocket(s) closing with 1012", closing)
        return closing

    def track(self, app: ASGIApp) -> ASGIApp:
        """ASGI middleware: registers WebSockets, and refuses new ones while draining (the
        socket stays open for HTTP until uvicorn's shutdown closes it)."""

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "websocket":
                await app(scope, receive, send)
                return
            if self.draining:
                await receive()  # websocket.connect
                # Closing before accepting makes the server answer the handshake with 403.
                await send({"type": "websocket.close", "code": CLOSE_SERVICE_RESTART})
                return
            key = id(scope)
            self._sockets[key] = scope
            try:
                await app(scope, receive, send)
            finally:
                self._sockets.pop(key, None)

        return middleware

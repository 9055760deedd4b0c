"""What the server knows about one open WebSocket, shared by its operations.

The protocol handlers (handlers.py) create it; subscriptions register with it, presence
entries hang off it, and it closes the socket when a subscription overflows (slow consumer)
or when revocations leave nothing allowed on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket

from graphql_api.common.ids import new_id

log = logging.getLogger(__name__)

# Close codes (4xxx: application-defined, as graphql-ws uses them).
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW_CONSUMER = 4008
CLOSE_INIT_TIMEOUT = 4408
CLOSE_TOO_BIG = 1009
# How long the end of a connection waits for its close frame to get out.
CLOSE_WAIT_SECONDS = 10.0

Closer = Callable[[int, str], Coroutine[Any, Any, None]]
Cleanup = Callable[[], Awaitable[None]]


class LiveConnection:
    """One WebSocket connection: its id, open subscriptions and end-of-connection hooks."""

    def __init__(self, closer: Closer) -> None:
        self.id = new_id()
        self._closer = closer
        self._subscriptions = 0
        self._revoked = 0
        self._closing: asyncio.Task[None] | None = None
        self._cleanups: dict[object, Cleanup] = {}
        # When the client last sent a message (monotonic; the idle timeout reads it).
        self.last_received = time.monotonic()

    def touch(self) -> None:
        self.last_received = time.monotonic()

    @property
    def closing(self) -> bool:
        return self._closing is not None

    @property
    def subscriptions(self) -> int:
        return self._subscriptions

    def subscription_started(self) -> None:
        self._subscriptions += 1

    def subscription_ended(self, revoked: bool) -> None:
        self._subscriptions -= 1
        if revoked:
            self._revoked += 1

    def operation_finished(self) -> None:
        """Called by the handler once an operation's last frame was sent."""
        self.touch()  # the idle timeout runs from the end of the last operation
        if self._revoked and self._subscriptions == 0:
            self.close_soon(CLOSE_FORBIDDEN, "Access revoked")

    def slow_consumer(self) -> None:
        self.close_soon(CLOSE_SLOW_CONSUMER, "Slow consumer: too many undelivered messages")

    def close_soon(self, code: int, reason: str) -> None:
        """Close once (from a task of its own: callers may be operations it cancels)."""
        if self._closing is None:
            log.info("closing WebSocket %s: %d %s", self.id, code, reason)
            self._closing = asyncio.create_task(self._closer(code, reason))

    def on_close(self, key: object, cleanup: Cleanup) -> None:
        """Run `cleanup` when the connection ends (one per key; the latest wins)."""
        self._cleanups[key] = cleanup

    def discard_on_close(self, key: object) -> None:
        self._cleanups.pop(key, None)

    async def finished(self) -> None:
        """The socket is gone: run the cleanups (presence leaves at once)."""
        cleanups, self._cleanups = self._cleanups, {}
        for cleanup in cleanups.values():
            try:
                await cleanup()
            except Exception:
                log.exception("WebSocket cleanup failed")
        closing = self._closing
        if closing is not None and not closing.done():
            # The close frame may be stuck behind a client that stopped reading: give it the
            # time a close handshake gets, then let the server drop the connection.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(closing), CLOSE_WAIT_SECONDS)
            closing.cancel()


def attach_connection(websocket: WebSocket, connection: LiveConnection) -> None:
    websocket.state.live_connection = connection


def connection_of(ctx: Any) -> LiveConnection | None:
    """The connection an operation runs on (None over HTTP)."""
    request = getattr(ctx, "request", None)
    if isinstance(request, WebSocket):
        conn = getattr(request.state, "live_connection", None)
        return conn if isinstance(conn, LiveConnection) else None
    return None

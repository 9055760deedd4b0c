"""Every admitted WebSocket of this process, looked after by one task.

Admission (after connection_init authenticated the user) takes a lease in the connection
registry (realtime/connections.py): at most WS_MAX_CONNECTIONS_PER_USER per user across
replicas, refused with close code 4429. Then, every WS_KEEPALIVE_SECONDS, one task (not one
per socket) sends graphql-transport-ws pings, renews this replica's leases, and closes
connections idle for WS_IDLE_TIMEOUT_SECONDS: nothing running on them and nothing received
from the client (close 1000 "Idle timeout"; a client with subscriptions is never idle, and
graphql-ws clients reconnect lazily when they need the socket again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from graphql_api.realtime.connections import ConnectionRegistry
from graphql_api.subscriptions.connection import LiveConnection

log = logging.getLogger(__name__)

CLOSE_IDLE = 1000
CLOSE_TOO_MANY_CONNECTIONS = 4429
# Connections handled between two yields to the event loop during a sweep, so that pinging
# thousands of sockets does not hold deliveries up.
SWEEP_SLICE = 100


class Supervised(Protocol):
    """What the supervisor needs of a protocol handler."""

    live: LiveConnection

    @property
    def busy(self) -> bool:
        """Something runs on the connection (an operation, a subscription)."""

    async def keepalive(self) -> None:
        """Send the protocol's keep-alive, if it has one the server sends."""


class ConnectionSupervisor:
    def __init__(
        self,
        registry: ConnectionRegistry,
        *,
        max_per_user: int,
        interval: float,
        idle_timeout: float,
    ) -> None:
        self._registry = registry
        self._max_per_user = max_per_user
        self._interval = interval
        self._idle_timeout = idle_timeout
        self._members: dict[str, tuple[str, Supervised]] = {}
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._members)

    async def admit(self, handler: Supervised, user: str) -> bool:
        """Take a place for `user` (False: at the limit); the handler is then looked after
        until `leave`."""
        conn = handler.live
        if not await self._registry.admit(user, conn.id, self._max_per_user):
            return False
        self._members[conn.id] = (user, handler)
        conn.touch()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="websocket supervisor")
        return True

    async def leave(self, handler: Supervised) -> None:
        member = self._members.pop(handler.live.id, None)
        if member is not None:
            await self._registry.release(member[0], handler.live.id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._registry.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("WebSocket sweep failed")

    async def sweep(self) -> None:
        """One round: keep-alives, idle closes, lease renewals."""
        now = time.monotonic()
        members = list(self._members.values())
        for index, (_, handler) in enumerate(members, 1):
            conn = handler.live
            if conn.closing:
                continue
            if not handler.busy and now - conn.last_received >= self._idle_timeout:
                conn.close_soon(CLOSE_IDLE, "Idle timeout")
                continue
            with contextlib.suppress(Exception):
                await handler.keepalive()
            if index % SWEEP_SLICE == 0:
                await asyncio.sleep(0)
        await self._registry.renew(
            (user, handler.live.id) for user, handler in members if not handler.live.closing
        )

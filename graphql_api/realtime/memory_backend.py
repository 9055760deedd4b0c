"""In-process broadcast backend for the embedded mode (one process, no Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from broadcaster import Event

from graphql_api.realtime.broadcast import HubBackend


class MemoryBackend(HubBackend):
    """Same semantics as the Redis backend within one process; `ping` is always True."""

    def __init__(
        self, url: str = "memory://", *, max_pending: int = 10_000, publish_timeout: float = 5.0
    ) -> None:
        self._max_pending = max_pending
        self._publish_timeout = publish_timeout
        self._subscribed: set[str] = set()
        self._pending: asyncio.Queue[Event] | None = None

    async def connect(self) -> None:
        # broadcaster's MemoryBackend queues without bound; this one applies backpressure.
        self._pending = asyncio.Queue(self._max_pending)

    async def disconnect(self) -> None:
        self._pending = None
        self._subscribed.clear()

    async def subscribe(self, channel: str) -> None:
        # Takes effect at once, which is the confirmation the hub waits for.
        self._subscribed.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._subscribed.discard(channel)

    async def publish(self, channel: str, message: Any) -> None:
        pending = self._pending
        if pending is None:
            raise ConnectionError("memory broadcast backend is not connected")
        if channel not in self._subscribed:
            return  # like Redis: nobody in the process listens
        event = Event(channel, message)
        try:
            pending.put_nowait(event)
        except asyncio.QueueFull:
            # The hub's listener never blocks, so a full queue only means publishers outpace
            # the event loop: make them wait for it, bounded, rather than buffer more.
            async with asyncio.timeout(self._publish_timeout):
                await pending.put(event)

    async def next_published(self) -> Event:
        pending = self._pending
        if pending is None:
            raise ConnectionError("memory broadcast backend is not connected")
        while True:
            event = await pending.get()
            if event.channel in self._subscribed:
                return event

    async def ping(self) -> bool:
        return True

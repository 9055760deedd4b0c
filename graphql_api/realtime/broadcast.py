"""Process-wide pub/sub for real-time events (DESIGN.md, "Real time").

broadcaster 0.3.1's `BroadcastBackend` is the pluggable interface; `EventHub` takes the role of
its `Broadcast` class, whose fan-out cannot be reused as is: it buffers without bound
(`await queue.put` into unbounded queues), concurrent first subscribers to a channel overwrite
each other's queue set, and `disconnect()` leaves its listener task pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

from broadcaster import BroadcastBackend, Event

from graphql_api import tracing
from graphql_api.metrics import PUBLISH_FAILURES

log = logging.getLogger(__name__)

# A subscriber waits this long for the backend to confirm SUBSCRIBE (e.g. across a short Redis
# outage) before its subscription fails with TimeoutError.
SUBSCRIBE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Message:
    """One event delivered to a local subscriber."""

    channel: str
    data: str | None  # the JSON string published; None for a resync notice
    resync: bool = False  # the channel may have missed messages: re-read the source of truth


class SlowConsumer(Exception):
    """The subscriber fell a whole queue behind; it was detached from its channel."""


class ResyncEvent(Event):
    """Backend notice: the subscription to `channel` was re-established after a gap."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel, "")


class HubBackend(BroadcastBackend):
    """broadcaster's backend interface, with the guarantees `EventHub` relies on.

    - `subscribe` returns only once the subscription is confirmed; the hub calls it at most
      once per channel until the matching `unsubscribe`.
    - `unsubscribe` never raises.
    - `publish` raises on failure (the hub counts and swallows it).
    - `next_published` is only called by the hub's listener task; it may return `ResyncEvent`.
    - Nothing buffers without bound.
    """

    async def ping(self) -> bool:
        raise NotImplementedError


def create_backend(url: str) -> HubBackend:
    """The backend for `url`: "memory://" or "redis://host:port/db" (also "rediss://")."""
    scheme = urlparse(url).scheme
    # Imported lazily, as broadcaster does, so the memory mode never loads redis.
    if scheme in ("redis", "rediss"):
        from graphql_api.realtime.redis_backend import RedisBackend

        return RedisBackend(url)
    if scheme == "memory":
        from graphql_api.realtime.memory_backend import MemoryBackend

        return MemoryBackend(url)
    raise ValueError(f"unsupported broadcast URL scheme: {scheme!r}")


class _Subscriber:
    __slots__ = ("closed", "overflowed", "queue")

    def __init__(self, maxsize: int) -> None:
        # None is only a wake-up sentinel, put into an empty queue by close().
        self.queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize)
        self.overflowed = False
        self.closed = False

    def close(self) -> None:
        self.closed = True
        # A non-empty queue means the consumer is not blocked in get() and will see `closed`.
        if self.queue.empty():
            self.queue.put_nowait(None)


class _Subscription:
    """The async iterator handed to a subscriber (a class, not an async generator, so nothing
    is left for the loop to finalize when a consumer stops iterating early)."""

    __slots__ = ("_channel", "_sub")

    def __init__(self, channel: str, sub: _Subscriber) -> None:
        self._channel = channel
        self._sub = sub

    def __aiter__(self) -> _Subscription:
        return self

    async def __anext__(self) -> Message:
        sub = self._sub
        while True:
            # What was queued before the overflow or close is still delivered first.
            if sub.queue.empty():
                if sub.overflowed:
                    raise SlowConsumer(
                        f"subscriber of {self._channel!r} fell {sub.queue.maxsize} messages "
                        "behind and was dropped"
                    )
                if sub.closed:
                    raise StopAsyncIteration
            item = await sub.queue.get()
            if item is not None:
                return item


class _Channel:
    __slots__ = ("live", "lock", "subscribers", "users")

    def __init__(self) -> None:
        # Serializes backend subscribe/unsubscribe of this channel.
        self.lock = asyncio.Lock()
        # Fan-out targets; overflowed subscribers are removed at once.
        self.subscribers: set[_Subscriber] = set()
        # The backend subscription is confirmed.
        self.live = False
        # Subscribers attached or attaching; the backend subscription is kept while > 0.
        self.users = 0


class EventHub:
    """Process-wide pub/sub: one backend subscription per channel per process, fanned out to
    local subscribers through bounded queues."""

    def __init__(self, url: str, *, queue_size: int = 1000) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._backend = create_backend(url)
        self._system = "memory" if url.startswith("memory:") else "redis"  # for traces
        self._queue_size = queue_size
        self._channels: dict[str, _Channel] = {}
        self._listener: asyncio.Task[None] | None = None
        self._publish_failures = 0

    async def connect(self) -> None:
        if self._listener is not None:
            return
        await self._backend.connect()
        self._listener = asyncio.create_task(self._listen(), name="event-hub-listener")

    async def disconnect(self) -> None:
        """Stop delivery: open subscriptions end (after draining) and the backend closes."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.cancel()
        await asyncio.wait({listener})
        if not listener.cancelled() and listener.exception() is not None:
            log.error("event hub listener had failed", exc_info=listener.exception())
        channels, self._channels = self._channels, {}
        for state in channels.values():
            for sub in state.subscribers:
                sub.close()
            state.subscribers.clear()
        await self._backend.disconnect()

    async def publish(self, channel: str, data: str) -> bool:
        """Publish a JSON string; False (logged and counted) if the backend failed."""
        try:
            if self._listener is None:
                raise RuntimeError("EventHub is not connected")
            with tracing.publish_span(channel, self._system):
                await self._backend.publish(channel, data)
        except Exception as exc:
            # DynamoDB is the source of truth and subscribers resync from it, so a lost event
            # must not fail the mutation that produced it.
            self._publish_failures += 1
            PUBLISH_FAILURES.inc()
            log.warning("publish to %s failed: %s", channel, describe_error(exc))
            return False
        return True

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[Message]]:
        """Entered once the backend subscription is confirmed; raises TimeoutError if that
        takes longer than SUBSCRIBE_TIMEOUT. The iterator raises SlowConsumer on overflow."""
        state, sub = await self._attach(channel)
        try:
            yield _Subscription(channel, sub)
        finally:
            await self._detach(channel, state, sub)

    async def ping(self) -> bool:
        try:
            return await self._backend.ping()
        except Exception:
            return False

    @property
    def publish_failures(self) -> int:
        return self._publish_failures

    def channel_subscriber_count(self, channel: str) -> int:
        state = self._channels.get(channel)
        return len(state.subscribers) if state is not None else 0

    async def _attach(self, channel: str) -> tuple[_Channel, _Subscriber]:
        if self._listener is None:
            raise RuntimeError("EventHub is not connected")
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
        state.users += 1
        try:
            async with state.lock:
                if not state.live:
                    await self._backend_subscribe(channel)
                    state.live = True
            if self._channels.get(channel) is not state:
                # disconnect() ran meanwhile: nothing would ever be delivered or end the iterator.
                raise RuntimeError("EventHub is not connected")
        except BaseException:
            state.users -= 1
            self._forget_if_unused(channel, state)
            raise
        sub = _Subscriber(self._queue_size)
        state.subscribers.add(sub)
        return state, sub

    async def _backend_subscribe(self, channel: str) -> None:
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                await self._backend.subscribe(channel)
        except BaseException:
            # The SUBSCRIBE may still be in flight or pending a reconnect: withdraw it.
            await self._backend.unsubscribe(channel)
            raise

    async def _detach(self, channel: str, state: _Channel, sub: _Subscriber) -> None:
        # The synchronous part runs even if this task is being cancelled again.
        state.subscribers.discard(sub)
        sub.close()
        state.users -= 1
        if state.users or self._channels.get(channel) is not state:
            return
        async with state.lock:
            # Re-checked: someone may have started attaching while we waited for the lock.
            if state.users == 0 and state.live:
                state.live = False
                await self._backend.unsubscribe(channel)
            self._forget_if_unused(channel, state)

    def _forget_if_unused(self, channel: str, state: _Channel) -> None:
        if state.users == 0 and not state.live and self._channels.get(channel) is state:
            del self._channels[channel]

    async def _listen(self) -> None:
        backend = self._backend
        while True:
            try:
                event = await backend.next_published()
            except Exception:
                log.exception("event hub backend failed; retrying")
                await asyncio.sleep(1.0)
                continue
            self._fan_out(event)
            # A backend can hand over a burst already buffered without ever suspending; yield
            # so consumers drain between events instead of overflowing on the burst.
            await asyncio.sleep(0)

    def _fan_out(self, event: Event) -> None:
        state = self._channels.get(event.channel)
        if state is None or not state.subscribers:
            return
        if isinstance(event, ResyncEvent):
            message = Message(event.channel, None, resync=True)
        else:
            message = Message(event.channel, event.message)
        overflowed: list[_Subscriber] = []
        for sub in state.subscribers:
            try:
                sub.queue.put_nowait(message)
            except asyncio.QueueFull:
                sub.overflowed = True
                overflowed.append(sub)
        for sub in overflowed:
            state.subscribers.discard(sub)
        if overflowed:
            log.warning(
                "dropped %d slow subscriber(s) of %s (queue of %d full)",
                len(overflowed),
                event.channel,
                self._queue_size,
            )


def describe_error(exc: BaseException) -> str:
    # redis-py 8's exception repr drops the message ("network:ConnectionError").
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

"""Redis pub/sub broadcast backend, replacing broadcaster 0.3.1's RedisBackend.

broadcaster's backend, with redis-py 8, sets its ready flag before SUBSCRIBE completes, so its
listener finds no subscription, stops listening and never delivers anything; its listener dies
on the first connection error and nothing resubscribes; and it passes every message through an
unbounded queue. Here the hub's listener task reads the pub/sub connection itself (no internal
queue), subscribe() returns only after Redis acknowledged the SUBSCRIBE, and a lost connection
is re-established with capped exponential backoff, every channel resubscribed and a resync
notice emitted for each channel that may have missed messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable
from typing import Any

from broadcaster import Event
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from graphql_api.realtime.broadcast import HubBackend, ResyncEvent, describe_error

log = logging.getLogger(__name__)

_Waiters = dict[str, list["asyncio.Future[None]"]]


class RedisBackend(HubBackend):
    """One pub/sub connection (read by the hub's listener task) plus a pool for PUBLISH."""

    def __init__(
        self,
        url: str,
        *,
        backoff_initial: float = 0.1,
        backoff_max: float = 2.0,
        keepalive: float = 5.0,
        ack_timeout: float = 2.0,
        socket_timeout: float = 2.0,
    ) -> None:
        self._url = url
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._keepalive = keepalive
        self._ack_timeout = ack_timeout
        self._socket_timeout = socket_timeout
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self._pubsub: PubSub | None = None
        # `_pubsub` is usable for commands (SUBSCRIBE has been or will be sent on it).
        self._up = False
        self._ever_up = False
        self._ping_outstanding = False
        # Channels the hub subscribed; the source of truth for every (re)subscription.
        self._channels: set[str] = set()
        # Channels whose SUBSCRIBE was acknowledged on the current connection.
        self._live: set[str] = set()
        # Channels that were live on a lost connection: they get a resync notice once
        # resubscribed.
        self._resync: set[str] = set()
        self._sub_waiters: _Waiters = {}
        self._unsub_waiters: _Waiters = {}

    async def connect(self) -> None:
        common: dict[str, Any] = {
            "socket_connect_timeout": self._socket_timeout,
            "socket_timeout": self._socket_timeout,
        }
        # One immediate retry: after a Redis restart the first command on a pooled connection
        # fails, and that must not cost an event. A real outage fails fast (no backoff).
        self._publisher = Redis.from_url(self._url, retry=Retry(NoBackoff(), 1), **common)
        # No retries at all on the pub/sub connection: redis-py's retry reconnects and
        # resubscribes behind our back, which would hide the gap that needs a resync.
        self._subscriber = Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 0, supported_errors=()), **common
        )
        # The connection itself is made by the first next_published(), with backoff, so a
        # process can start while Redis is down.

    async def disconnect(self) -> None:
        self._up = False
        error = RedisConnectionError("broadcast backend disconnected")
        for waiters in self._sub_waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
        _resolve_all(self._unsub_waiters)
        await self._close_pubsub()
        for client in (self._publisher, self._subscriber):
            if client is not None:
                await client.aclose()
        self._publisher = self._subscriber = None
        self._channels.clear()
        self._live.clear()
        self._resync.clear()

    async def subscribe(self, channel: str) -> None:
        if self._subscriber is None:
            raise RedisConnectionError("broadcast backend is not connected")
        self._channels.add(channel)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sub_waiters.setdefault(channel, []).append(waiter)
        try:
            # If the connection is down this sends nothing: the reconnect subscribes every
            # channel in `_channels`, and its acknowledgement releases the waiter.
            await self._send("SUBSCRIBE", channel)
            await waiter
        finally:
            _discard(self._sub_waiters, channel, waiter)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        self._live.discard(channel)
        self._resync.discard(channel)
        if not self._up:
            return  # the next connection simply will not subscribe it
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unsub_waiters.setdefault(channel, []).append(waiter)
        try:
            await self._send("UNSUBSCRIBE", channel)
            # Waiting makes "last subscriber left" mean "Redis no longer sends it to us".
            async with asyncio.timeout(self._ack_timeout):
                await waiter
        except TimeoutError:
            log.warning("Redis did not confirm UNSUBSCRIBE %s in time", channel)
        finally:
            _discard(self._unsub_waiters, channel, waiter)

    async def publish(self, channel: str, message: Any) -> None:
        if self._publisher is None:
            raise RedisConnectionError("broadcast backend is not connected")
        await self._publisher.publish(channel, message)

    async def ping(self) -> bool:
        if self._publisher is None:
            return False
        try:
            return bool(await self._publisher.ping())
        except (RedisError, OSError):
            return False

    async def next_published(self) -> Event:
        while True:
            if not self._up:
                await self._reconnect()
            pubsub = self._pubsub
            assert pubsub is not None
            try:
                event = await self._read(pubsub)
            except (RedisError, OSError) as exc:
                self._lost(pubsub, exc)
                continue
            if event is not None:
                return event

    async def _read(self, pubsub: PubSub) -> Event | None:
        conn = pubsub.connection
        if conn is None or not conn.is_connected:
            # redis-py would silently reconnect here and the gap would go unnoticed.
            raise RedisConnectionError("pub/sub connection is closed")
        msg = await pubsub.get_message(timeout=self._keepalive)
        if msg is None:
            # Idle: a half-open TCP connection would stay silent forever, so probe it.
            if self._ping_outstanding:
                raise RedisConnectionError(f"no reply to PING within {self._keepalive}s")
            self._ping_outstanding = True
            await pubsub.execute_command("PING")
            return None
        self._ping_outstanding = False
        return self._handle(msg)

    def _handle(self, msg: dict[str, Any]) -> Event | None:
        kind = msg["type"]
        if kind == "message":
            return Event(_text(msg["channel"]), _text(msg["data"]))
        if kind == "subscribe":
            channel = _text(msg["channel"])
            if channel not in self._channels:
                return None  # a late acknowledgement for a subscription already withdrawn
            self._live.add(channel)
            _resolve(self._sub_waiters.pop(channel, ()))
            if channel in self._resync:
                self._resync.discard(channel)
                return ResyncEvent(channel)
        elif kind == "unsubscribe":
            _resolve(self._unsub_waiters.pop(_text(msg["channel"]), ()))
        return None

    async def _send(self, *args: str) -> None:
        pubsub = self._pubsub
        if not self._up or pubsub is None:
            return
        try:
            conn = pubsub.connection
            if conn is None or not conn.is_connected:
                raise RedisConnectionError("pub/sub connection is closed")
            await pubsub.execute_command(*args)
        except (RedisError, OSError) as exc:
            # Not the caller's problem: the reader reconnects and resubscribes `_channels`.
            self._lost(pubsub, exc)

    def _lost(self, pubsub: PubSub, exc: BaseException) -> None:
        if pubsub is not self._pubsub or not self._up:
            return
        self._up = False
        self._resync |= self._live
        self._live.clear()
        # The dead connection's subscriptions are gone with it.
        _resolve_all(self._unsub_waiters)
        log.warning("Redis pub/sub connection lost (%s); reconnecting", describe_error(exc))

    async def _reconnect(self) -> None:
        delay = self._backoff_initial
        down_since = asyncio.get_running_loop().time()
        attempts = 0
        while True:
            await self._close_pubsub()
            if self._subscriber is None:
                raise RedisConnectionError("broadcast backend is not connected")
            pubsub = self._subscriber.pubsub()
            self._pubsub = pubsub
            try:
                await pubsub.connect()  # type: ignore[no-untyped-call]
                # No await between the snapshot and going up: a subscribe() that runs later
                # sends its own SUBSCRIBE, an earlier one is in the snapshot.
                channels = sorted(self._channels)
                self._up = True
                self._ping_outstanding = False
                if channels:
                    await pubsub.execute_command("SUBSCRIBE", *channels)
            except (RedisError, OSError) as exc:
                self._lost(pubsub, exc)
                attempts += 1
                # One warning per outage; the retries themselves are only worth a debug line.
                log.log(
                    logging.WARNING if attempts == 1 else logging.DEBUG,
                    "cannot connect to Redis pub/sub (%s); retrying with backoff",
                    describe_error(exc),
                )
                # Jitter keeps replicas from reconnecting in lockstep after a Redis restart.
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, self._backoff_max)
                continue
            if self._ever_up:
                log.info(
                    "Redis pub/sub reconnected after %.1fs; resubscribed %d channel(s)",
                    asyncio.get_running_loop().time() - down_since,
                    len(channels),
                )
            self._ever_up = True
            return

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        try:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as exc:
            log.debug("closing a dead pub/sub connection failed: %s", describe_error(exc))


def _text(value: Any) -> str:
    # Decoded here rather than by redis-py: one malformed payload must not break the reader.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _resolve(waiters: Iterable[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


def _resolve_all(waiters: _Waiters) -> None:
    for channel_waiters in waiters.values():
        _resolve(channel_waiters)
    waiters.clear()


def _discard(waiters: _Waiters, channel: str, waiter: asyncio.Future[None]) -> None:
    channel_waiters = waiters.get(channel)
    if channel_waiters is not None and waiter in channel_waiters:
        channel_waiters.remove(waiter)
        if not channel_waiters:
            del waiters[channel]

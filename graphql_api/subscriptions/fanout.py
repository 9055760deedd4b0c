"""Per-process fan-out from broadcast channels to subscriptions.

Each channel with local subscribers has one feed: one hub subscription, one JSON decode per
message, and (optionally) a sequencer that runs once per process for every subscriber (the run
feed fills version gaps from DynamoDB there, not once per subscriber). Each subscription reads
one bounded `Inbox` fed by all of its channels; the feed never waits for a subscriber, so a
subscriber that falls a whole inbox behind is cut off and told so (`on_overflow`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from graphql_api.realtime.broadcast import EventHub, SlowConsumer

log = logging.getLogger(__name__)

# After a feed's hub subscription failed, it is retried this often.
RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for a subscription. `data` is shared by every local subscriber: read-only."""

    channel: str
    data: Any = None
    # The channel may have lost messages (e.g. Redis restarted): re-read the source of truth.
    resync: bool = False
    # The feed stopped for good (the process is shutting down).
    closed: bool = False


class InboxOverflow(Exception):
    """The subscription fell a whole inbox behind and was detached from its feeds."""


class Sequencer:
    """Per-feed hook that may reorder, drop or add deliveries (e.g. fill gaps); runs in the
    feed's task, once per process, before the fan-out."""

    async def start(self) -> None:
        """Called each time the hub subscription is (re)confirmed, before any delivery."""

    async def __call__(self, delivery: Delivery) -> Sequence[Delivery]:
        return (delivery,)


class Inbox:
    """A subscription's bounded queue; `on_overflow` runs (synchronously) when it overflows.

    A deque and one waiter rather than an asyncio.Queue: every subscription has one, and
    every event passes through all of them (a third less memory and time per delivery)."""

    __slots__ = ("_items", "_maxsize", "_on_overflow", "_waiter", "overflowed")

    def __init__(self, maxsize: int, on_overflow: Callable[[], None] | None = None) -> None:
        self._items: deque[Delivery] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False
        self._on_overflow = on_overflow

    def offer(self, delivery: Delivery) -> bool:
        if self.overflowed:
            return False
        if len(self._items) >= self._maxsize:
            self.overflowed = True
            if self._on_overflow is not None:
                self._on_overflow()
            self._wake()
            return False
        self._items.append(delivery)
        self._wake()
        return True

    def close(self, channel: str) -> None:
        # A closed feed must wake the consumer even when its inbox is full.
        self._items.append(Delivery(channel, closed=True))
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Delivery:
        while True:
            if self.overflowed:
                raise InboxOverflow(f"fell {self._maxsize} messages behind")
            if self._items:
                return self._items.popleft()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


class _Feed:
    __slots__ = ("inboxes", "ready", "sequencer", "task")

    def __init__(self, sequencer: Sequencer | None) -> None:
        self.inboxes: set[Inbox] = set()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sequencer = sequencer
        self.task: asyncio.Task[None] | None = None


SequencerFactory = Callable[[], Sequencer]


class Feeds:
    """The process's feeds, keyed by channel."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._feeds: dict[str, _Feed] = {}

    def subscriber_count(self, channel: str) -> int:
        feed = self._feeds.get(channel)
        return len(feed.inboxes) if feed is not None else 0

    @asynccontextmanager
    async def attach(
        self,
        inbox: Inbox,
        channels: Sequence[str],
        sequencers: dict[str, SequencerFactory] | None = None,
    ) -> AsyncIterator[None]:
        """Feed `inbox` from `channels`; entered once every hub subscription is confirmed, so
        anything published afterwards reaches the inbox."""
        attached: list[tuple[str, _Feed]] = []
        try:
            for channel in channels:
                factory = (sequencers or {}).get(channel)
                feed = self._feed(channel, factory)
                feed.inboxes.add(inbox)
                attached.append((channel, feed))
                await asyncio.shield(feed.ready)
            yield
        finally:
            for channel, feed in attached:
                feed.inboxes.discard(inbox)
                if not feed.inboxes and self._feeds.get(channel) is feed:
                    del self._feeds[channel]
                    if feed.task is not None:
                        feed.task.cancel()

    async def close(self) -> None:
        feeds, self._feeds = self._feeds, {}
        tasks = [f.task for f in feeds.values() if f.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for channel, feed in feeds.items():
            for inbox in feed.inboxes:
                inbox.close(channel)

    def _feed(self, channel: str, factory: SequencerFactory | None) -> _Feed:
        feed = self._feeds.get(channel)
        if feed is None:
            feed = self._feeds[channel] = _Feed(factory() if factory else None)
            feed.task = asyncio.create_task(self._run(channel, feed), name=f"feed {channel}")
        return feed

    async def _run(self, channel: str, feed: _Feed) -> None:
        try:
            await self._consume(channel, feed)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not feed.ready.done():
                feed.ready.set_exception(exc)
                feed.ready.exception()  # retrieved here: attach() may already be gone
            else:
                log.exception("feed of %s failed", channel)
        finally:
            if self._feeds.get(channel) is feed:
                del self._feeds[channel]
            for inbox in feed.inboxes:
                inbox.close(channel)

    async def _consume(self, channel: str, feed: _Feed) -> None:
        sequencer = feed.sequencer or Sequencer()
        while True:
            try:
                async with self._hub.subscribe(channel) as messages:
                    await sequencer.start()
                    if feed.ready.done():
                        # Re-subscribed after a failure: messages may have been missed.
                        await self._deliver(feed, sequencer, Delivery(channel, resync=True))
                    else:
                        feed.ready.set_result(None)
                    async for message in messages:
                        if message.resync:
                            delivery = Delivery(channel, resync=True)
                        else:
                            data = _decode(channel, message.data)
                            if data is None:
                                continue
                            delivery = Delivery(channel, data)
                        await self._deliver(feed, sequencer, delivery)
                return  # the hub disconnected: the process is stopping
            except SlowConsumer:
                # Only a starved event loop gets here (this task never blocks on a subscriber).
                log.warning("feed of %s fell behind the hub; re-subscribing", channel)
            except Exception:
                if not feed.ready.done():
                    raise
                log.warning("feed of %s lost its subscription; retrying", channel, exc_info=True)
                await asyncio.sleep(RETRY_SECONDS)

    @staticmethod
    async def _deliver(feed: _Feed, sequencer: Sequencer, delivery: Delivery) -> None:
        for out in await sequencer(delivery):
            # A copy: offer() may run a callback that detaches an inbox.
            for inbox in tuple(feed.inboxes):
                inbox.offer(out)


def _decode(channel: str, data: str | None) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        log.warning("dropped a malformed message on %s", channel)
        return None

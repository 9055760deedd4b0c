"""EventHub over the memory backend and over a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from graphql_api.metrics import REGISTRY
from graphql_api.realtime.broadcast import EventHub, Message, SlowConsumer
from tests.support.redis_server import RedisServer

slow = pytest.mark.slow
MakeHub = Callable[..., Awaitable[EventHub]]


def new_channel() -> str:
    return f"org:{uuid.uuid4().hex}:run:r1"


async def next_message(messages: AsyncIterator[Message], timeout: float = 2.0) -> Message:
    return await asyncio.wait_for(anext(messages), timeout)


async def eventually(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def failure_metric() -> float:
    return REGISTRY.get_sample_value("broadcast_publish_failures_total") or 0.0


async def test_round_trip(hub_url: str, make_hub: MakeHub) -> None:
    hub = await make_hub(hub_url)
    channel, other = new_channel(), new_channel()
    async with hub.subscribe(channel) as messages, hub.subscribe(other):
        assert await hub.publish(other, '{"v": 0}')
        assert await hub.publish(channel, '{"v": 1}')
        assert await next_message(messages) == Message(channel, '{"v": 1}')
    assert await hub.publish(channel, '{"v": 2}')  # no subscriber left: still a success
    assert await hub.ping()
    assert hub.publish_failures == 0


async def test_publish_right_after_subscribe_is_delivered(hub_url: str, make_hub: MakeHub) -> None:
    # broadcaster 0.3.1 + redis-py 8 delivers nothing here: it is "ready" before SUBSCRIBE.
    hub = await make_hub(hub_url)
    for i in range(30):
        channel = new_channel()
        async with hub.subscribe(channel) as messages:
            assert await hub.publish(channel, str(i))
            assert await next_message(messages) == Message(channel, str(i))


async def test_concurrent_first_subscribers_all_receive(hub_url: str, make_hub: MakeHub) -> None:
    hub = await make_hub(hub_url)
    channel = new_channel()
    inside = 0
    all_in = asyncio.Event()
    published = asyncio.Event()

    async def subscriber() -> Message:
        nonlocal inside
        async with hub.subscribe(channel) as messages:
            inside += 1
            if inside == 20:
                all_in.set()
            await published.wait()
            return await next_message(messages)

    tasks = [asyncio.create_task(subscriber()) for _ in range(20)]
    await asyncio.wait_for(all_in.wait(), 2)
    assert hub.channel_subscriber_count(channel) == 20
    assert await hub.publish(channel, "x")
    published.set()
    assert await asyncio.gather(*tasks) == [Message(channel, "x")] * 20
    assert hub.channel_subscriber_count(channel) == 0


@slow
async def test_one_redis_subscription_per_channel(
    redis_server: RedisServer, make_hub: MakeHub
) -> None:
    hub = await make_hub(redis_server.url)
    channel = new_channel()
    async with contextlib.AsyncExitStack() as stack:
        subscriptions = [await stack.enter_async_context(hub.subscribe(channel)) for _ in range(50)]
        assert redis_server.numsub(channel) == 1
        assert hub.channel_subscriber_count(channel) == 50
        assert await hub.publish(channel, "fan-out")
        for messages in subscriptions:
            assert await next_message(messages) == Message(channel, "fan-out")


@slow
async def test_unsubscribes_from_redis_when_last_subscriber_leaves(
    redis_server: RedisServer, make_hub: MakeHub
) -> None:
    hub = await make_hub(redis_server.url)
    channel = new_channel()
    async with hub.subscribe(channel) as first:
        async with hub.subscribe(channel), hub.subscribe(channel):
            assert redis_server.numsub(channel) == 1
        assert redis_server.numsub(channel) == 1  # one local subscriber is left
        assert await hub.publish(channel, "still")
        assert await next_message(first) == Message(channel, "still")
    # unsubscribe() waited for Redis' confirmation, so no polling is needed.
    assert redis_server.numsub(channel) == 0
    assert hub.channel_subscriber_count(channel) == 0
    async with hub.subscribe(channel) as again:
        assert redis_server.numsub(channel) == 1
        assert await hub.publish(channel, "back")
        assert await next_message(again) == Message(channel, "back")


@slow
async def test_redis_restart_resyncs_subscribers(
    restartable_redis: RedisServer, make_hub: MakeHub
) -> None:
    server = restartable_redis
    hub = await make_hub(server.url)
    channel, late_channel = new_channel(), new_channel()
    metric_before = failure_metric()
    late_entered = asyncio.Event()

    async def late_subscriber() -> Message:
        # Subscribes during the outage: entered only once Redis confirms after the restart.
        async with hub.subscribe(late_channel) as messages:
            late_entered.set()
            return await next_message(messages, timeout=5)

    async with hub.subscribe(channel) as messages:
        assert await hub.publish(channel, "before")
        assert await next_message(messages) == Message(channel, "before")

        server.stop()
        assert await hub.publish(channel, "lost") is False
        assert hub.publish_failures == 1
        assert failure_metric() == metric_before + 1
        assert await hub.ping() is False
        late = asyncio.create_task(late_subscriber())
        await asyncio.sleep(0.3)
        assert not late_entered.is_set()

        server.start()
        # The first thing after the gap is the resync notice, then live events again.
        assert await next_message(messages, timeout=5) == Message(channel, None, resync=True)
        assert server.numsub(channel) == 1
        assert await hub.ping()
        assert await hub.publish(channel, "after")
        assert await next_message(messages) == Message(channel, "after")

        await asyncio.wait_for(late_entered.wait(), 5)
        assert await hub.publish(late_channel, "late")
        assert await late == Message(late_channel, "late")
    assert server.numsub(channel) == 0
    assert hub.publish_failures == 1


async def test_slow_consumer_is_dropped_and_bounded(hub_url: str, make_hub: MakeHub) -> None:
    bound, total = 20, 300
    hub = await make_hub(hub_url, queue_size=bound)
    channel = new_channel()
    received: list[str | None] = []
    async with hub.subscribe(channel) as slow_messages, hub.subscribe(channel) as fast_messages:

        async def fast() -> None:
            async for message in fast_messages:
                received.append(message.data)
                if len(received) == total:
                    return

        fast_task = asyncio.create_task(fast())
        for i in range(total):
            assert await hub.publish(channel, str(i))
            await asyncio.sleep(0)
        await asyncio.wait_for(fast_task, 5)
        assert received == [str(i) for i in range(total)]
        assert hub.channel_subscriber_count(channel) == 1  # the slow one left the fan-out

        # It held exactly `bound` messages (nothing more was buffered for it), then fails.
        drained: list[str | None] = []
        with pytest.raises(SlowConsumer):
            async for message in slow_messages:
                drained.append(message.data)
        assert drained == [str(i) for i in range(bound)]


@slow
async def test_two_hubs_see_each_others_publishes(
    redis_server: RedisServer, make_hub: MakeHub
) -> None:
    replica_a = await make_hub(redis_server.url)
    replica_b = await make_hub(redis_server.url)
    channel = new_channel()
    async with replica_a.subscribe(channel) as at_a, replica_b.subscribe(channel) as at_b:
        assert redis_server.numsub(channel) == 2  # one per process
        assert await replica_a.publish(channel, "from-a")
        assert await replica_b.publish(channel, "from-b")
        for messages in (at_a, at_b):
            assert await next_message(messages) == Message(channel, "from-a")
            assert await next_message(messages) == Message(channel, "from-b")


async def test_disconnect_cleans_up(hub_url: str) -> None:
    tasks_before = asyncio.all_tasks()
    hub = EventHub(hub_url)
    await hub.connect()
    channel = new_channel()
    entered = asyncio.Event()
    received: list[Message] = []

    async def consumer() -> None:
        async with hub.subscribe(channel) as messages:
            entered.set()
            async for message in messages:
                received.append(message)

    task = asyncio.create_task(consumer())
    await asyncio.wait_for(entered.wait(), 2)
    assert await hub.publish(channel, "last")
    await eventually(lambda: len(received) == 1)

    await hub.disconnect()
    await asyncio.wait_for(task, 2)  # its iteration ended instead of hanging
    assert received == [Message(channel, "last")]
    assert asyncio.all_tasks() - tasks_before == set()
    assert hub.channel_subscriber_count(channel) == 0
    assert await hub.publish(channel, "gone") is False
    with pytest.raises(RuntimeError, match="not connected"):
        async with hub.subscribe(channel):
            pass
    await hub.disconnect()  # idempotent


@slow
async def test_disconnect_closes_redis_subscription(redis_server: RedisServer) -> None:
    hub = EventHub(redis_server.url)
    await hub.connect()
    channel = new_channel()
    async with hub.subscribe(channel):
        assert redis_server.numsub(channel) == 1
        await hub.disconnect()
    await eventually(lambda: redis_server.numsub(channel) == 0)


def test_rejects_unknown_url() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        EventHub("kafka://localhost:9092")

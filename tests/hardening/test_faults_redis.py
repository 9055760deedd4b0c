"""Redis down: queries and mutations keep working (DynamoDB is the source of truth), publish
failures are logged and counted, /readyz reports Redis failing, and all recovers when Redis is
back. Against a real redis-server that is stopped and started on the same port.

Subscribers re-syncing after the outage is proven where the subscriptions live:
tests/realtime/test_broadcast.py::test_redis_restart_resyncs_subscribers (the hub's resync
notice) and tests/subscriptions/test_run_updated.py::
test_redis_restart_mid_stream_delivers_every_version_once (two replicas, every run version
delivered once across a restart).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.factories import create_org
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.moto_server import MotoServer
from tests.support.redis_server import RedisServer

ORG = """
query ($id: ID!) {
  organization(id: $id) { name members(first: 10) { nodes { id userId role } } }
}
"""
RENAME = """
mutation ($id: ID!, $name: String!) {
  updateOrganization(input: {id: $id, name: $name}) { name }
}
"""
REMOVE = "mutation ($id: ID!) { removeMember(memberId: $id) { userId } }"
FAILURES = re.compile(r"^broadcast_publish_failures_total (\S+)$", re.M)


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
async def app(moto: MotoServer, redis: RedisServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(moto, redis_url=redis.url) as isolated:
        yield isolated


async def readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, object]]:
    response = await http.get("/readyz")
    body: dict[str, object] = response.json()
    return response.status_code, body


async def published_failures(http: httpx.AsyncClient) -> float:
    match = FAILURES.search((await http.get("/metrics")).text)
    assert match is not None
    return float(match[1])


async def test_redis_outage_degrades_only_the_fast_path(
    app: IsolatedApp, redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    hub = app.resources.hub
    org = await create_org(app.client_for, roles=["MEMBER", "VIEWER"], plan=None)
    owner = org.clients["OWNER"]
    members = (await owner.data(ORG, {"id": org.id}))["organization"]["members"]["nodes"]
    by_role = {m["role"]: m["id"] for m in members}
    assert await readiness(app.http) == (
        200,
        {"status": "ready", "checks": {"dynamodb": "ok", "redis": "ok"}, "failing": []},
    )

    redis.stop()
    try:
        status, body = await readiness(app.http)
        assert status == 503
        assert body["failing"] == ["redis"]
        assert body["checks"] == {"dynamodb": "ok", "redis": "failing"}

        failures = hub.publish_failures
        metric = await published_failures(app.http)
        caplog.set_level(logging.WARNING, "graphql_api.realtime.broadcast")
        # Reads and writes go on; the removal's event cannot be published.
        assert (await owner.data(RENAME, {"id": org.id, "name": "Outage"}))["updateOrganization"]
        removed = await owner.data(REMOVE, {"id": by_role["MEMBER"]})
        assert removed["removeMember"]["userId"] == org.clients["MEMBER"].sub
        after = (await owner.data(ORG, {"id": org.id}))["organization"]
        assert after["name"] == "Outage"
        assert {m["role"] for m in after["members"]["nodes"]} == {"OWNER", "VIEWER"}

        assert hub.publish_failures == failures + 1
        assert await published_failures(app.http) == metric + 1
        assert any("publish to" in r.getMessage() for r in caplog.records)
    finally:
        redis.start()

    # Back: ready again once the backend has reconnected, and events are published again.
    deadline = time.monotonic() + 10
    while (await readiness(app.http))[0] != 200:
        assert time.monotonic() < deadline, await readiness(app.http)
        await asyncio.sleep(0.1)
    failures = hub.publish_failures
    removed = await owner.data(REMOVE, {"id": by_role["VIEWER"]})
    assert removed["removeMember"]["userId"] == org.clients["VIEWER"].sub
    assert hub.publish_failures == failures

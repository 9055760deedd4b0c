"""DynamoDB faults: throttling is retried by botocore (standard mode, bounded), then answered
RATE_LIMITED + retryable, and a refused transaction leaves nothing behind.

The app talks to moto through a fault-injecting proxy (tests/support/fault_proxy.py) that
answers TransactWriteItems with DynamoDB's ThrottlingException, so the retries and the final
error are botocore's own, over real HTTP.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from graphql_api.store.client import BOTO_CONFIG
from tests.apikeys.keys import CREATE_KEY, by_id, call_with_key
from tests.persisted.manifests import ORG_NAME, manifest, operation, register, sha256
from tests.support.factories import create_org
from tests.support.fault_proxy import FaultProxy
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.moto_server import MotoServer

RENAME = """
mutation ($id: ID!, $name: String!) {
  updateOrganization(input: {id: $id, name: $name}) { id name }
}
"""
STATE = """
query ($id: ID!) {
  organization(id: $id) {
    name
    auditLog(first: 100) { nodes { action entityId } }
  }
}
"""
TRANSACT = "TransactWriteItems"
# botocore's `max_attempts` counts retries; the first attempt comes on top.
MAX_ATTEMPTS = BOTO_CONFIG.retries["max_attempts"] + 1
# Standard mode sleeps random() * 2**(n-1) s before retry n: at most 1 + 2 + 4 + 8 s here.
MAX_BACKOFF = sum(2**n for n in range(MAX_ATTEMPTS - 1))


@pytest.fixture(scope="module")
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    server = FaultProxy(moto.endpoint).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def faulty(moto: MotoServer, proxy: FaultProxy) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(moto, aws_endpoint_url_dynamodb=proxy.endpoint) as app:
        yield app


@pytest.fixture(autouse=True)
def healthy_proxy(proxy: FaultProxy) -> Iterator[None]:
    proxy.heal()
    proxy.reset_counts()
    yield
    proxy.heal()


async def test_throttled_twice_then_committed(faulty: IsolatedApp, proxy: FaultProxy) -> None:
    org = await create_org(faulty.client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    proxy.throttle(TRANSACT, times=2)
    proxy.reset_counts()

    data = await owner.data(RENAME, {"id": org.id, "name": "After throttling"})

    assert data["updateOrganization"]["name"] == "After throttling"
    # Two refusals, then the retry that committed: one GraphQL mutation, three attempts.
    assert proxy.throttled[TRANSACT] == 2
    assert proxy.requests[TRANSACT] == 3
    state = (await owner.data(STATE, {"id": org.id}))["organization"]
    assert state["name"] == "After throttling"
    updates = [e for e in state["auditLog"]["nodes"] if e["action"] == "organization.updated"]
    assert len(updates) == 1  # retried, yet audited exactly once


async def test_throttled_throughout_is_retryable_and_writes_nothing(
    faulty: IsolatedApp, proxy: FaultProxy
) -> None:
    org = await create_org(faulty.client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    before = (await owner.data(STATE, {"id": org.id}))["organization"]
    proxy.throttle(TRANSACT)
    proxy.reset_counts()

    started = time.monotonic()
    body = await owner.execute(RENAME, {"id": org.id, "name": "Never written"})
    elapsed = time.monotonic() - started

    # Bounded: botocore's attempts, each throttled, then a client error within seconds.
    assert proxy.requests[TRANSACT] == MAX_ATTEMPTS
    assert elapsed < MAX_BACKOFF + 5
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["path"] == ["updateOrganization"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["retryAfter"] == 1
    assert "Rate exceeded" not in error["message"]  # the store's wording stays inside

    proxy.heal()
    after = (await owner.data(STATE, {"id": org.id}))["organization"]
    # No partial write: neither the change nor its audit entry exists.
    assert after == before
    assert after["name"] != "Never written"


async def test_reads_still_served_while_writes_throttle(
    faulty: IsolatedApp, proxy: FaultProxy
) -> None:
    org = await create_org(faulty.client_for, roles=[], plan=None)
    proxy.throttle(TRANSACT)
    proxy.reset_counts()
    state = await org.clients["OWNER"].data(STATE, {"id": org.id})
    assert state["organization"]["name"] == "Test Org"
    assert proxy.requests[TRANSACT] == 0


async def test_throttled_reads_are_retryable_too(faulty: IsolatedApp, proxy: FaultProxy) -> None:
    org = await create_org(faulty.client_for, roles=[], plan=None)
    proxy.throttle("BatchGetItem")
    proxy.throttle("GetItem")
    proxy.reset_counts()

    body = await org.clients["OWNER"].execute(STATE, {"id": org.id})

    assert proxy.requests["BatchGetItem"] + proxy.requests["GetItem"] == MAX_ATTEMPTS
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryable"] is True


async def test_a_throttled_api_key_lookup_is_retryable_not_a_500(
    faulty: IsolatedApp, proxy: FaultProxy
) -> None:
    """The key is looked up before any operation runs (in the request's context)."""
    org = await create_org(faulty.client_for, roles=["ADMIN"], plan=None)
    admin = org.clients["ADMIN"]
    await register(admin, org.id, "partner-app", manifest(operation(ORG_NAME)))
    created = await admin.data(
        CREATE_KEY,
        {"input": {"orgId": org.id, "name": "Sync", "role": "MEMBER", "manifest": "partner-app"}},
    )
    secret = created["createApiKey"]["secret"]
    request = by_id(sha256(ORG_NAME), {"id": org.id})
    proxy.throttle("BatchGetItem")
    proxy.throttle("GetItem")
    proxy.reset_counts()

    response = await call_with_key(faulty.http, secret, request)

    assert proxy.requests["BatchGetItem"] + proxy.requests["GetItem"] == MAX_ATTEMPTS
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]

    proxy.heal()
    ok = await call_with_key(faulty.http, secret, request)
    assert ok.json()["data"]["organization"]["name"] == "Test Org"

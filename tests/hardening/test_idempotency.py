"""Idempotency-Key on mutations: replays return the first response verbatim, concurrent
duplicates are CONFLICT, a reused key with another request is BAD_USER_INPUT, records expire,
queries ignore the header - on the fast path and Strawberry's pipeline alike."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from graphql_api import idempotency
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.support.graphql import token

CREATE = "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id slug } }"


def new_key() -> str:
    return f"idem-{uuid.uuid4().hex}"


def body_for(slug: str, *, full_pipeline: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"query": CREATE, "variables": {"i": {"name": "Idem", "slug": slug}}}
    if full_pipeline:
        body["extensions"] = {"tracing": False}  # not a plain request: the full pipeline
    return body


async def send(
    http: httpx.AsyncClient, sub: str, body: dict[str, Any], key: str | None, **headers: str
) -> httpx.Response:
    if key is not None:
        headers["idempotency-key"] = key
    return await http.post(
        "/graphql",
        content=json.dumps(body),
        headers={
            "authorization": f"Bearer {token(sub)}",
            "content-type": "application/json",
            **headers,
        },
    )


def code(response: httpx.Response) -> str:
    value: str = response.json()["errors"][0]["extensions"]["code"]
    return value


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_a_replay_returns_the_first_response_verbatim(
    http: httpx.AsyncClient, full_pipeline: bool
) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    body = body_for(slug, full_pipeline=full_pipeline)
    first = await send(http, sub, body, key)
    assert first.status_code == 200, first.text
    assert first.json()["data"]["createOrganization"]["slug"] == slug
    assert "idempotent-replayed" not in first.headers
    replay = await send(http, sub, body, key)
    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    # Without the key the mutation really runs again: the slug is taken now.
    again = await send(http, sub, body, None)
    assert code(again) == "CONFLICT"


async def test_replay_crosses_paths_and_keeps_the_media_type(http: httpx.AsyncClient) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    gql = "application/graphql-response+json"
    first = await send(http, sub, body_for(slug), key, accept=gql)
    assert first.headers["content-type"].startswith(gql)
    # The same request (query, variables, name) down the other path is the same request.
    replay = await send(http, sub, body_for(slug, full_pipeline=True), key, accept=gql)
    assert replay.content == first.content
    assert replay.headers["content-type"] == first.headers["content-type"]


async def test_errors_are_replayed_too(http: httpx.AsyncClient) -> None:
    owner, sub = f"idem-{uuid.uuid4().hex[:8]}", f"idem-{uuid.uuid4().hex[:8]}"
    slug = f"idem-{uuid.uuid4().hex[:8]}"
    assert (await send(http, owner, body_for(slug), None)).status_code == 200
    key = new_key()
    first = await send(http, sub, body_for(slug), key)
    assert code(first) == "CONFLICT"
    replay = await send(http, sub, body_for(slug), key)
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"


async def test_same_key_with_another_request_is_bad_user_input(http: httpx.AsyncClient) -> None:
    sub, key = f"idem-{uuid.uuid4().hex[:8]}", new_key()
    first = await send(http, sub, body_for(f"idem-{uuid.uuid4().hex[:8]}"), key)
    assert first.status_code == 200
    other = await send(http, sub, body_for(f"idem-{uuid.uuid4().hex[:8]}"), key)
    assert code(other) == "BAD_USER_INPUT"
    assert "data" not in other.json()


async def test_keys_are_per_principal(http: httpx.AsyncClient) -> None:
    key = new_key()
    for _ in range(2):
        sub, slug = f"idem-{uuid.uuid4().hex[:8]}", f"idem-{uuid.uuid4().hex[:8]}"
        response = await send(http, sub, body_for(slug), key)
        assert response.json()["data"]["createOrganization"]["slug"] == slug
        assert "idempotent-replayed" not in response.headers


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_a_duplicate_while_in_progress_is_conflict(
    http: httpx.AsyncClient, resources: Resources, full_pipeline: bool
) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    body = body_for(slug, full_pipeline=full_pipeline)
    variables = body["variables"]
    # Another request with this key is running (claimed, not finished).
    claim = await idempotency.begin(
        resources.store,
        f"user:{sub}",
        key,
        idempotency.fingerprint(CREATE, variables, None),
        3600,
    )
    assert isinstance(claim, idempotency.Claim)
    duplicate = await send(http, sub, body, key)
    assert code(duplicate) == "CONFLICT"
    assert "in progress" in duplicate.json()["errors"][0]["message"]
    # Once the first finishes, the duplicate gets its response.
    await claim.complete(b'{"data":{"first":true}}', 200, "application/json")
    replay = await send(http, sub, body, key)
    assert replay.content == b'{"data":{"first":true}}'


async def test_concurrent_duplicates_run_once(http: httpx.AsyncClient) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    responses = await asyncio.gather(*(send(http, sub, body_for(slug), key) for _ in range(4)))
    created = [r for r in responses if "data" in r.json() and r.json()["data"]]
    conflicts = [r for r in responses if r.json().get("errors")]
    # One ran; every other one either waited out nothing (CONFLICT) or got the replay.
    assert all(code(r) == "CONFLICT" for r in conflicts)
    assert len({r.content for r in created}) == 1
    assert len(created) >= 1


async def test_an_abandoned_claim_is_taken_over_after_its_lease(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    body = body_for(slug)
    now = int(time.time())
    await resources.store.put(
        {
            **keys.idempotency(f"user:{sub}", key),
            "entity": "Idempotency",
            "status": idempotency.IN_PROGRESS,
            "requestHash": idempotency.fingerprint(CREATE, body["variables"], None),
            "leaseUntil": now - 1,
            "ttl": now + 3600,
        }
    )
    response = await send(http, sub, body, key)
    assert response.json()["data"]["createOrganization"]["slug"] == slug


async def test_expired_records_are_ignored_at_read_time(
    http: httpx.AsyncClient, resources: Resources
) -> None:
    sub, key, slug = f"idem-{uuid.uuid4().hex[:8]}", new_key(), f"idem-{uuid.uuid4().hex[:8]}"
    body = body_for(slug)
    record = keys.idempotency(f"user:{sub}", key)
    # DynamoDB deletes expired items days late (moto never): the read checks the time.
    await resources.store.put(
        {
            **record,
            "entity": "Idempotency",
            "status": idempotency.DONE,
            "requestHash": "stale",
            "body": '{"data":{"stale":true}}',
            "httpStatus": 200,
            "mediaType": "application/json",
            "ttl": int(time.time()) - 10,
        }
    )
    response = await send(http, sub, body, key)
    assert response.json()["data"]["createOrganization"]["slug"] == slug
    stored = await resources.store.get(record, consistent=True)
    assert stored is not None and stored["status"] == idempotency.DONE
    assert stored["ttl"] >= int(time.time()) + 86_400 - 60
    assert json.loads(stored["body"]) == response.json()


async def test_queries_ignore_the_header(http: httpx.AsyncClient, resources: Resources) -> None:
    sub, key = f"idem-{uuid.uuid4().hex[:8]}", "x" * 500  # not even a valid key
    query = {"query": "{ me { userId } }"}
    for _ in range(2):
        response = await send(http, sub, query, key)
        assert response.json() == {"data": {"me": {"userId": sub}}}
        assert "idempotent-replayed" not in response.headers
    assert await resources.store.get(keys.idempotency(f"user:{sub}", key)) is None


@pytest.mark.parametrize("key", ["", "x" * 129, "tab\there"])
async def test_malformed_keys_are_bad_user_input(http: httpx.AsyncClient, key: str) -> None:
    sub = f"idem-{uuid.uuid4().hex[:8]}"
    response = await send(
        http, sub, body_for(f"idem-{uuid.uuid4().hex[:8]}"), None, **{"idempotency-key": key}
    )
    assert code(response) == "BAD_USER_INPUT"
    assert "Idempotency-Key" in response.json()["errors"][0]["message"]


def test_a_key_of_128_printable_characters_is_accepted() -> None:
    assert idempotency.read_key("k" * 128) == "k" * 128
    assert idempotency.read_key(None) is None

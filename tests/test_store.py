"""The store layer against moto: batching, error mapping, codec, signed cursors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from graphql_api.context import Resources
from graphql_api.errors import AppError, ErrorCode
from graphql_api.store import keys, transact
from graphql_api.store.client import Store
from graphql_api.store.codec import serialize
from graphql_api.store.errors import (
    ConditionFailed,
    RetryableStoreError,
    StoreError,
    map_client_error,
)
from graphql_api.store.pagination import CursorCodec, page_size
from tests.support.calls import counting_calls
from tests.support.factories import create_org
from tests.support.fast_moto import fast_moto_fixture  # noqa: F401
from tests.support.graphql import GraphQLClient
from tests.support.isolated import isolated_app


def flip(text: str) -> str:
    """Change the first base64 character (always significant, unlike the last one)."""
    return ("A" if text[0] != "A" else "B") + text[1:]


def scratch_key(run: str, i: int) -> keys.Key:
    # Test-only partition: the store layer is generic over keys.
    return {"pk": f"TEST#{run}", "sk": f"ITEM#{i:04d}"}


async def test_batch_get_keeps_duplicates_in_place(resources: Resources) -> None:
    run = uuid.uuid4().hex[:8]
    await resources.store.put({**scratch_key(run, 1), "entity": "Test", "n": 1})
    key, missing = scratch_key(run, 1), scratch_key(run, 2)
    items = await resources.store.batch_get([key, missing, key])
    assert [i and i["n"] for i in items] == [1, None, 1]


async def test_condition_failed_keeps_the_aws_code_and_cause(resources: Resources) -> None:
    run = uuid.uuid4().hex[:8]
    item = {**scratch_key(run, 1), "entity": "Test"}
    await resources.store.put(item, condition="attribute_not_exists(pk)")
    with pytest.raises(ConditionFailed) as info:
        await resources.store.put(item, condition="attribute_not_exists(pk)")
    assert info.value.aws_code == "ConditionalCheckFailedException"
    assert isinstance(info.value.__cause__, ClientError)
    assert info.value.failed_index() is None


async def test_transaction_condition_says_which_item_failed(resources: Resources) -> None:
    run = uuid.uuid4().hex[:8]
    first, second = scratch_key(run, 1), scratch_key(run, 2)
    await resources.store.put({**second, "entity": "Test", "version": 3})
    with pytest.raises(ConditionFailed) as info:
        await resources.store.transact(
            [
                transact.put_new({**first, "entity": "Test"}),
                transact.update(
                    second,
                    "SET version = version + :one",
                    values={":one": 1, ":v": 2},
                    condition="version = :v",
                ),
            ]
        )
    assert info.value.aws_code == "TransactionCanceledException"
    assert isinstance(info.value.__cause__, ClientError)
    assert info.value.failed_index() == 1
    # Nothing of the transaction was written.
    assert await resources.store.get(first, consistent=True) is None


async def test_other_store_errors_keep_their_code(resources: Resources) -> None:
    with pytest.raises(StoreError) as info:
        await resources.store.get({"pk": "", "sk": "x"})
    assert not isinstance(info.value, ConditionFailed)
    assert info.value.aws_code == "ValidationException"
    assert isinstance(info.value.__cause__, ClientError)


def client_error(code: str, **extra: object) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, **extra}
    return ClientError(response, "TransactWriteItems")


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"],
)
def test_throttling_is_retryable(code: str) -> None:
    err = map_client_error(client_error(code))
    assert isinstance(err, RetryableStoreError)
    assert err.aws_code == code


def test_transaction_conflict_is_retryable_not_a_condition_failure() -> None:
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "conflict"}]
    err = map_client_error(
        client_error("TransactionCanceledException", CancellationReasons=reasons)
    )
    assert isinstance(err, RetryableStoreError)
    assert not isinstance(err, ConditionFailed)


def test_connection_failures_are_retryable() -> None:
    err = map_client_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert isinstance(err, RetryableStoreError)


async def test_codec_round_trip(resources: Resources) -> None:
    run = uuid.uuid4().hex[:8]
    key = scratch_key(run, 1)
    value = {
        "int": 7,
        "float": 0.25,
        "big": 2**53 + 1,
        "bool": True,
        "nested": {"list": [1, 2.5, "x"], "none": None},
        "skipped": None,
    }
    await resources.store.put({**key, "entity": "Test", **value})
    item = await resources.store.get(key, consistent=True)
    assert item is not None
    assert item["int"] == 7 and isinstance(item["int"], int)
    assert item["float"] == 0.25
    assert item["big"] == 2**53 + 1
    assert item["bool"] is True
    assert item["nested"] == {"list": [1, 2.5, "x"]}
    assert "skipped" not in item


# cursors -------------------------------------------------------------------------------------
def test_cursor_round_trip_and_tampering() -> None:
    codec = CursorCodec("k" * 40)
    key = {"pk": "ORG#a", "sk": "MEMBER#u1"}
    cursor = codec.encode(key, "a:members")
    assert codec.decode(cursor, "a:members") == key
    payload, mac = cursor.split(".")
    forged_payload = CursorCodec("k" * 40).encode({"pk": "ORG#b", "sk": "MEMBER#u1"}, "x")
    tampered = [
        cursor + "x",
        f"{forged_payload.split('.')[0]}.{mac}",
        f"{payload}.{flip(mac)}",
        f"{flip(payload)}.{mac}",
        "not-a-cursor",
        "",
        "...",
        "a.b.c",
        "%%%.###",
    ]
    for bad in tampered:
        with pytest.raises(AppError) as info:
            codec.decode(bad, "a:members")
        assert info.value.code is ErrorCode.BAD_USER_INPUT, bad
    for scope in ("b:members", "a:invitations"):
        with pytest.raises(AppError):
            codec.decode(cursor, scope)
    with pytest.raises(AppError):
        CursorCodec("z" * 40).decode(cursor, "a:members")


def test_page_size_bounds() -> None:
    assert page_size(None) == 20
    assert page_size(1) == 1 and page_size(100) == 100
    for bad in (0, -1, 101):
        with pytest.raises(AppError) as info:
            page_size(bad)
        assert info.value.code is ErrorCode.BAD_USER_INPUT


async def test_tampered_cursor_over_graphql(client_for: Callable[..., GraphQLClient]) -> None:
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    query = """query($id: ID!, $after: String) {
      organization(id: $id) { members(first: 1, after: $after) { pageInfo { endCursor } } }
    }"""
    data = await owner.data(query, {"id": org.id})
    cursor = data["organization"]["members"]["pageInfo"]["endCursor"]
    assert cursor
    payload, mac = cursor.split(".")
    forged = f"{flip(payload)}.{mac}"
    assert await owner.error_code(query, {"id": org.id, "after": forged}) == "BAD_USER_INPUT"


# transactions on both moto entry points -----------------------------------------------------
@pytest.fixture(scope="module", params=["moto", "fast_moto"])
async def any_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """The store on plain moto and on tests.support.fast_moto: both must behave alike."""
    async with isolated_app(request.getfixturevalue(request.param)) as iso:
        yield iso.resources.store


async def test_failed_transactions_change_nothing(any_store: Store) -> None:
    run = uuid.uuid4().hex[:8]
    new, versioned, doomed = scratch_key(run, 1), scratch_key(run, 2), scratch_key(run, 3)
    await any_store.put({**versioned, "entity": "Test", "version": 3})
    await any_store.put({**doomed, "entity": "Test"})
    with pytest.raises(ConditionFailed) as info:
        await any_store.transact(
            [
                transact.put_new({**new, "entity": "Test"}),
                transact.delete(doomed),
                transact.update(
                    versioned,
                    "SET version = version + :one",
                    values={":one": 1, ":v": 2},
                    condition="version = :v",
                ),
            ]
        )
    assert info.value.failed_index() == 2
    assert info.value.reasons[2] and info.value.reasons[2]["Item"]["version"] == {"N": "3"}
    found = await any_store.batch_get([new, versioned, doomed])
    assert found[0] is None
    assert found[1] is not None and found[1]["version"] == 3
    assert found[2] is not None

    await any_store.transact(
        [
            transact.put_new({**new, "entity": "Test"}),
            transact.delete(doomed),
            transact.update(versioned, "SET version = version + :one", values={":one": 1}),
        ]
    )
    found = await any_store.batch_get([new, versioned, doomed])
    assert found[0] is not None and found[2] is None
    assert found[1] is not None and found[1]["version"] == 4


async def test_one_item_twice_in_a_transaction_is_refused(any_store: Store) -> None:
    key = scratch_key(uuid.uuid4().hex[:8], 1)
    with pytest.raises(StoreError) as info:
        await any_store.transact(
            [transact.put_new({**key, "entity": "Test"}), transact.delete(key)]
        )
    assert info.value.aws_code == "ValidationException"
    assert await any_store.get(key, consistent=True) is None


async def test_batch_get_250_keys_in_key_order(any_store: Store) -> None:
    store = any_store
    run = uuid.uuid4().hex[:8]
    present = [i for i in range(250) if i % 3 == 0]
    # BatchWriteItem: fewer calls than puts; a transaction would deep-copy moto's table per item.
    for start in range(0, len(present), 25):
        puts = [
            {"PutRequest": {"Item": serialize({**scratch_key(run, i), "n": i, "ratio": i / 4})}}
            for i in present[start : start + 25]
        ]
        result = await store.dynamodb.batch_write_item(RequestItems={store.table: puts})
        assert not result.get("UnprocessedItems")
    wanted = [scratch_key(run, i) for i in reversed(range(250))]
    with counting_calls(store) as calls:
        items = await store.batch_get(wanted)
    used = calls["BatchGetItem"]
    assert sum(calls.values()) == used
    print(f"250 keys -> {used} BatchGetItem calls, {sum(1 for i in items if i)} found")
    assert used == 3
    assert len(items) == 250
    for i, item in zip(reversed(range(250)), items, strict=True):
        if i % 3 == 0:
            assert item is not None and item["n"] == i
            assert isinstance(item["n"], int)
            assert item["ratio"] == i / 4
        else:
            assert item is None

"""aioboto3 lifecycle and the DynamoDB operations the repositories use.

Every call is counted by operation (`dynamodb_calls_total`), traced when tracing is on
(`graphql_api/tracing.py`), and every botocore error is mapped to a typed store error that
keeps its cause.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import aioboto3
from botocore.config import Config

from graphql_api import tracing
from graphql_api.metrics import DYNAMODB_CALLS, DYNAMODB_ERRORS
from graphql_api.store.codec import Item, deserialize, serialize, serialize_value
from graphql_api.store.errors import StoreError, map_client_error
from graphql_api.store.keys import Key
from graphql_api.store.table import TTL_ATTRIBUTE, create_table_kwargs

BATCH_GET_LIMIT = 100
MAX_UNPROCESSED_ROUNDS = 8

# Standard retry mode: bounded attempts with jittered backoff for throttling and 5xx.
BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=64,
)


@dataclass(frozen=True)
class StoreConfig:
    """Where the table and bucket live."""

    table: str
    bucket: str
    region: str
    dynamodb_endpoint: str | None = None
    s3_endpoint: str | None = None
    # Only for the embedded default and tests (moto); real AWS uses the default chain.
    access_key: str | None = None
    secret_key: str | None = None


@dataclass
class Page:
    """One page of a Query: items and the key to continue from (None at the end)."""

    items: list[Item]
    last_key: dict[str, Any] | None


def _values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: serialize_value(v) for k, v in values.items()} if values else None


def _expr(
    condition: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if condition:
        out["ConditionExpression"] = condition
    if names:
        out["ExpressionAttributeNames"] = names
    if values:
        out["ExpressionAttributeValues"] = _values(values)
    return out


class Store:
    """The DynamoDB table (and S3 bucket) of the service, opened in the app's lifespan."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.table = config.table
        self._stack = AsyncExitStack()
        self._session = aioboto3.Session(
            aws_access_key_id=config.access_key, aws_secret_access_key=config.secret_key
        )
        self.dynamodb: Any = None
        self.s3: Any = None

    async def open(self) -> None:
        common = {"region_name": self.config.region, "config": BOTO_CONFIG}
        self.dynamodb = await self._stack.enter_async_context(
            self._session.client("dynamodb", endpoint_url=self.config.dynamodb_endpoint, **common)
        )
        s3_config = BOTO_CONFIG.merge(Config(signature_version="s3v4"))
        self.s3 = await self._stack.enter_async_context(
            self._session.client(
                "s3",
                endpoint_url=self.config.s3_endpoint,
                region_name=self.config.region,
                config=s3_config,
            )
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        DYNAMODB_CALLS.labels(operation).inc()
        if tracing.active is None:
            return await self._send(operation, kwargs)
        with tracing.dynamodb_span(operation, self.table):
            return await self._send(operation, kwargs)

    async def _send(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self.dynamodb, _snake(operation))
        try:
            result: dict[str, Any] = await method(**kwargs)
        except Exception as exc:
            err = map_client_error(exc)
            DYNAMODB_ERRORS.labels(operation, err.aws_code or "Unknown").inc()
            raise err from exc
        return result

    # table lifecycle ------------------------------------------------------
    async def create_table(self) -> bool:
        """Create the table and its TTL setting; False when it already existed."""
        try:
            await self._call("CreateTable", **create_table_kwargs(self.table))
        except StoreError as exc:
            if exc.aws_code == "ResourceInUseException":
                return False
            raise
        waiter = self.dynamodb.get_waiter("table_exists")
        await waiter.wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        await self._call(
            "UpdateTimeToLive",
            TableName=self.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
        return True

    async def create_bucket(self) -> None:
        """Create the bucket when missing (embedded mode and tests)."""
        try:
            await self.s3.head_bucket(Bucket=self.config.bucket)
        except Exception:
            kwargs: dict[str, Any] = {"Bucket": self.config.bucket}
            if self.config.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.config.region}
            await self.s3.create_bucket(**kwargs)

    async def describe_table(self) -> dict[str, Any]:
        return await self._call("DescribeTable", TableName=self.table)

    # single items ---------------------------------------------------------
    async def get(self, key: Key, consistent: bool = False) -> Item | None:
        res = await self._call(
            "GetItem", TableName=self.table, Key=serialize(dict(key)), ConsistentRead=consistent
        )
        raw = res.get("Item")
        return deserialize(raw) if raw else None

    async def put(
        self,
        item: Item,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        await self._call(
            "PutItem", TableName=self.table, Item=serialize(item), **_expr(condition, names, values)
        )

    async def update(
        self,
        key: Key,
        update: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        condition: str | None = None,
    ) -> Item:
        res = await self._call(
            "UpdateItem",
            TableName=self.table,
            Key=serialize(dict(key)),
            UpdateExpression=update,
            ReturnValues="ALL_NEW",
            **_expr(condition, names, values),
        )
        return deserialize(res.get("Attributes", {}))

    async def delete(self, key: Key, condition: str | None = None) -> None:
        await self._call(
            "DeleteItem",
            TableName=self.table,
            Key=serialize(dict(key)),
            **_expr(condition, None, None),
        )

    # queries --------------------------------------------------------------
    async def query(
        self,
        pk: str,
        *,
        sk_prefix: str | None = None,
        sk_between: tuple[str, str] | None = None,
        index: str | None = None,
        limit: int | None = None,
        start_key: dict[str, Any] | None = None,
        forward: bool = True,
        filter_expr: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        consistent: bool = False,
    ) -> Page:
        """One Query call on the table or a GSI (pk and sk names follow the index)."""
        pk_name, sk_name = ("pk", "sk") if index is None else (f"{index}pk", f"{index}sk")
        all_names = {"#pk": pk_name, "#sk": sk_name, **(names or {})}
        all_values: dict[str, Any] = {":pk": pk, **(values or {})}
        cond = "#pk = :pk"
        if sk_prefix is not None:
            cond += " AND begins_with(#sk, :skp)"
            all_values[":skp"] = sk_prefix
        elif sk_between is not None:
            low, high = sk_between
            # Key values are never empty strings (DynamoDB refuses them even as bounds), so
            # an empty lower bound means "from the start".
            if low:
                cond += " AND #sk BETWEEN :sklo AND :skhi"
                all_values[":sklo"], all_values[":skhi"] = low, high
            else:
                cond += " AND #sk <= :skhi"
                all_values[":skhi"] = high
        else:
            del all_names["#sk"]
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": cond,
            "ExpressionAttributeNames": all_names,
            "ExpressionAttributeValues": _values(all_values),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = serialize(start_key)
        if filter_expr:
            kwargs["FilterExpression"] = filter_expr
        res = await self._call("Query", **kwargs)
        last = res.get("LastEvaluatedKey")
        return Page(
            [deserialize(i) for i in res.get("Items", [])], deserialize(last) if last else None
        )

    async def query_all(self, pk: str, **kwargs: Any) -> list[Item]:
        """Every page of a Query (for bounded partitions such as one run's items)."""
        items: list[Item] = []
        start: dict[str, Any] | None = None
        while True:
            page = await self.query(pk, start_key=start, **kwargs)
            items.extend(page.items)
            if page.last_key is None:
                return items
            start = page.last_key

    async def batch_get(self, keys: Sequence[Key]) -> list[Item | None]:
        """BatchGetItem in chunks of 100; UnprocessedKeys retried; results in key order."""
        found: dict[tuple[str, str], Item] = {}
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            chunk = unique[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {self.table: {"Keys": [serialize(dict(k)) for k in chunk]}}
            for attempt in range(MAX_UNPROCESSED_ROUNDS):
                res = await self._call("BatchGetItem", RequestItems=request)
                for raw in res.get("Responses", {}).get(self.table, []):
                    item = deserialize(raw)
                    found[(item["pk"], item["sk"])] = item
                request = res.get("UnprocessedKeys") or {}
                if not request:
                    break
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0) * random.random())
            else:
                raise StoreError("BatchGetItem left keys unprocessed", "UnprocessedKeys")
        return [found.get((k["pk"], k["sk"])) for k in keys]

    async def transact(self, operations: Sequence[dict[str, Any]]) -> None:
        """TransactWriteItems; build operations with the helpers in `store.transact`."""
        items = [_bind_table(op, self.table) for op in operations]
        await self._call("TransactWriteItems", TransactItems=items)


def _bind_table(op: dict[str, Any], table: str) -> dict[str, Any]:
    ((kind, body),) = op.items()
    return {kind: {**body, "TableName": table}}


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)

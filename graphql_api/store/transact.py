"""Builders of TransactWriteItems entries (the table name is bound by `Store.transact`)."""

from __future__ import annotations

from typing import Any

from graphql_api.store.client import _expr
from graphql_api.store.codec import Item, serialize
from graphql_api.store.keys import Key


def put(
    item: Item,
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "Put": {
            "Item": serialize(item),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_expr(condition, names, values),
        }
    }


def put_new(item: Item) -> dict[str, Any]:
    """Put that fails (ConditionFailed) when the key already exists."""
    return put(item, "attribute_not_exists(pk)")


def update(
    key: Key,
    update_expr: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    return {
        "Update": {
            "Key": serialize(dict(key)),
            "UpdateExpression": update_expr,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_expr(condition, names, values),
        }
    }


def check(
    key: Key,
    condition: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "Key": serialize(dict(key)),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **_expr(condition, names, values),
        }
    }


def delete(key: Key, condition: str | None = None) -> dict[str, Any]:
    return {"Delete": {"Key": serialize(dict(key)), **_expr(condition, None, None)}}

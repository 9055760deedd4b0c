"""Persisted queries over WebSockets: the same rules as over HTTP for each operation a
connection starts (APQ by hash, the required safelist), so a socket is no way around them.
API keys do not reach this point: they are refused at connection_init (HTTP only)."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode
from graphql_api.persisted.requests import BadPersistedRequest, PersistedQueries, read_request

ErrorPayload = dict[str, Any]


async def resolve_ws_payload(
    persisted: PersistedQueries, ctx: Context, payload: Any
) -> tuple[dict[str, Any] | None, ErrorPayload | None]:
    """(payload with the text to run, None) or (None, a GraphQL error to send back)."""
    if not isinstance(payload, dict):
        return None, _error(ErrorCode.BAD_USER_INPUT, "The operation payload must be an object")
    query = payload.get("query")
    if query is not None and not isinstance(query, str):
        return None, _error(ErrorCode.BAD_USER_INPUT, "query must be a string")
    try:
        ref = read_request(query, payload.get("extensions"), payload.get("documentId"))
        text = await persisted.resolve(ctx, query, ref)
    except BadPersistedRequest as exc:
        return None, _error(ErrorCode.BAD_USER_INPUT, str(exc))
    except AppError as exc:
        return None, _error(exc.code, exc.message)
    if text is None:
        return None, _error(ErrorCode.BAD_USER_INPUT, "No GraphQL query found in the message")
    return {**payload, "query": text}, None


def _error(code: ErrorCode, message: str) -> ErrorPayload:
    return {"message": message, "extensions": {"code": code.value}}

"""The fast path of POST /graphql for plain operations whose document is cached and valid.

Strawberry's request pipeline (request adapters, the extension runner, result conversion)
costs several times more than executing a small operation. For the common request - a JSON
body with a query text (no persisted-query parts), a document already parsed and validated
in the process's DocumentCache, a query or mutation - the view calls graphql-core's executor
directly with Strawberry's schema and the same context, then shapes errors exactly like the
ShapeErrors extension. Anything else goes through the full pipeline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
)
from graphql.execution.executor_throwing_on_incremental import ExecutorThrowingOnIncremental
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graphql_api.context import Context
from graphql_api.errors import ErrorCode
from graphql_api.errors_ext import log_unexpected, shape_error
from graphql_api.limits import DocumentCache


@dataclass(frozen=True)
class PlainRequest:
    """A parsed JSON body that the fast path can run."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def parse_plain(body: bytes) -> PlainRequest | None:
    """The request if it is a plain operation; None sends it down the full pipeline."""
    if b"persistedQuery" in body or b"documentId" in body:
        return None
    if has_lone_surrogate_escape(body):
        return None  # the full pipeline refuses it with a clear 400
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
    extensions = data.get("extensions")
    if not isinstance(query, str) or extensions not in (None, {}):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    if name is not None and not isinstance(name, str):
        return None
    return PlainRequest(query, variables, name)


# A JSON \uD800-\uDFFF escape: the only way a JSON body can carry a surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def has_lone_surrogate_escape(body: bytes) -> bool:
    """True when a JSON body decodes to text with an unpaired UTF-16 surrogate.

    Such strings cannot be encoded as UTF-8, so DynamoDB (and every JSON encoder downstream)
    would fail on them: they are refused at the door. The byte search keeps this free for
    ordinary bodies.
    """
    if not _SURROGATE_ESCAPE.search(body):
        return False
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False
    return False


def operation_problem(document: Any, operation_name: str | None) -> str | None:
    """Why this document cannot run over HTTP with this operationName (None: it can).

    An unknown operationName is left to the pipeline's own 400.
    """
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None and len(operations) > 1:
        return "The document has several operations: operationName is required"
    operation = get_operation_ast(document, operation_name)
    if operation is not None and operation.operation is OperationType.SUBSCRIPTION:
        return "Subscriptions are served over WebSocket (graphql-transport-ws or graphql-ws)"
    return None


@dataclass
class FastResult:
    """The response body and what the view needs for status, metrics and logs."""

    payload: dict[str, Any]
    request_error: bool
    outcome: str
    operation_name: str | None
    operation_type: str


class _PlainExecutor(ExecutorThrowingOnIncremental):
    """graphql-core's executor without the incremental-delivery state it builds for every
    operation (this schema has no @defer or @stream), resolving with Strawberry's info as
    Strawberry's own execution context does."""

    build_resolve_info = StrawberryGraphQLCoreExecutionContext.build_resolve_info
    operation_extensions: dict[str, Any] | None = None


class FastPath:
    """Runs plain operations on graphql-core with the schema's cached documents."""

    def __init__(self, schema: Any, cache: DocumentCache) -> None:
        self._schema = schema._schema
        self._executor = _PlainExecutor
        self._cache = cache

    def prepare(self, request: PlainRequest) -> tuple[Any, list[GraphQLError]] | None:
        """(document, validation errors) from the cache; None for subscriptions, which the
        full pipeline refuses over HTTP with its own message."""
        document, errors = self._cache.get(request.query)
        if document is None or errors:
            return None, errors
        operation = get_operation_ast(document, request.operation_name)
        if operation is None or operation.operation is OperationType.SUBSCRIPTION:
            return None
        return document, []

    def refuse(self, errors: list[GraphQLError], ctx: Context) -> FastResult:
        """A request error (parse or validation): errors only, no data."""
        formatted = [shape_error(e, ctx.request_id).formatted for e in errors]
        return FastResult({"errors": formatted}, True, "request_error", None, "unknown")

    async def execute(self, document: Any, request: PlainRequest, ctx: Context) -> FastResult:
        operation = get_operation_ast(document, request.operation_name)
        assert operation is not None
        result = execute(
            self._schema,
            document,
            context_value=ctx,
            variable_values=request.variables,
            operation_name=request.operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            executor_class=self._executor,
        )
        if optimized_is_awaitable(result):
            result = await result  # type: ignore[misc]
        assert isinstance(result, ExecutionResult)
        errors = result.errors or []
        if errors:
            log_unexpected(errors, ctx.request_id)
        formatted = [shape_error(e, ctx.request_id).formatted for e in errors]
        request_error = result.data is None and bool(errors) and all(not e.path for e in errors)
        payload: dict[str, Any] = {} if request_error else {"data": result.data}
        if formatted:
            payload["errors"] = formatted
        codes = {f.get("extensions", {}).get("code") for f in formatted}
        outcome = (
            "ok"
            if not formatted
            else "internal_error"
            if ErrorCode.INTERNAL_SERVER_ERROR.value in codes
            else "request_error"
            if request_error
            else "error"
        )
        name = request.operation_name or (operation.name.value if operation.name else None)
        return FastResult(payload, request_error, outcome, name, operation.operation.value)

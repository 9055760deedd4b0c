"""Error shaping: every error leaves with a contract code; unexpected ones are masked.

`AppError`s keep their message and extensions. Parse, validation and variable errors are
BAD_USER_INPUT unless a limit set QUERY_TOO_COMPLEX. A store fault that outlived botocore's
retries (throttling, a transient 5xx) is RATE_LIMITED with `retryable` and `retryAfter`: the
store asked us to slow down, and the write it refused was all-or-nothing, so the client may
simply retry. Anything else becomes INTERNAL_SERVER_ERROR carrying the request id, and is
logged with the traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import MaskErrors

from graphql_api.errors import AppError, ErrorCode
from graphql_api.store.errors import RetryableStoreError

log = logging.getLogger("graphql_api.errors")
CODES = frozenset(c.value for c in ErrorCode)
# Seconds a client should wait before retrying after a store fault: botocore already spent
# its backoff (up to a few seconds) on the request, so one more second is a polite pause.
STORE_RETRY_AFTER_SECONDS = 1


def store_busy_error(request_id: str) -> dict[str, Any]:
    """The error of a request whose store call stayed throttled (or failed transiently)
    after botocore's retries: RATE_LIMITED, retryable."""
    return {
        "message": "The service is busy; retry shortly",
        "extensions": {
            "code": ErrorCode.RATE_LIMITED.value,
            "retryable": True,
            "retryAfter": STORE_RETRY_AFTER_SECONDS,
            "requestId": request_id,
        },
    }


def _store_fault(error: GraphQLError) -> RetryableStoreError | None:
    original = error.original_error
    return original if isinstance(original, RetryableStoreError) else None


def _is_variable_error(error: GraphQLError) -> bool:
    # graphql-core reports a refused variable value at its definition, before execution; the
    # cause is whatever the scalar raised (ValueError, Strawberry's coercion error...).
    return (
        error.path is None
        and bool(error.nodes)
        and all(isinstance(n, VariableDefinitionNode) for n in error.nodes or ())
    )


def is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    if isinstance(original, AppError | RetryableStoreError):
        return True
    if original is None or _is_variable_error(error):
        return True
    code = (error.extensions or {}).get("code")
    return isinstance(original, GraphQLError) and code in CODES


def shape_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AppError):
        extensions: dict[str, Any] = original.to_extensions()
        message = original.message
    elif _store_fault(error) is not None:
        busy = store_busy_error(request_id)
        extensions, message = busy["extensions"], busy["message"]
    elif is_expected(error):
        extensions = dict(error.extensions or {})
        if extensions.get("code") not in CODES:
            extensions["code"] = ErrorCode.BAD_USER_INPUT.value
        message = error.message
    else:
        extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
        message = "Internal server error"
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def log_unexpected(errors: list[GraphQLError], request_id: str) -> None:
    for error in errors:
        fault = _store_fault(error)
        if fault is not None:
            # Expected under load, but operators must see it (alarms watch the metric too).
            log.warning(
                "store fault after retries (request %s): %s %s",
                request_id,
                fault.aws_code,
                fault,
            )
        elif not is_expected(error):
            log.error(
                "unexpected error (request %s): %s",
                request_id,
                error.message,
                exc_info=error.original_error,
            )


class ShapeErrors(MaskErrors):
    """MaskErrors that also assigns contract codes."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        ctx = self.execution_context.context
        request_id = getattr(ctx, "request_id", "-")
        return [shape_error(e, request_id) for e in errors]

    def _process_result(self, result: object) -> None:
        # Most results have no errors: skip the base class's isinstance against a runtime
        # Protocol, which is a measurable share of every subscription event's delivery.
        if getattr(result, "errors", None):
            super()._process_result(result)

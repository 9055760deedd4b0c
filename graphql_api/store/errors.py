"""Typed store errors that keep the AWS error code and the original exception."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


class StoreError(Exception):
    """A storage failure; `aws_code` is AWS's error code, `__cause__` the original."""

    def __init__(self, message: str, aws_code: str | None = None) -> None:
        super().__init__(message)
        self.aws_code = aws_code


class ConditionFailed(StoreError):
    """A ConditionExpression was false. `reasons` holds one entry per transaction item
    (None where that item's condition held), with the current item when it was returned."""

    def __init__(
        self, message: str, aws_code: str, reasons: list[dict[str, Any] | None] | None = None
    ) -> None:
        super().__init__(message, aws_code)
        self.reasons = reasons or []

    def failed_index(self) -> int | None:
        for i, reason in enumerate(self.reasons):
            if reason and reason.get("Code") == "ConditionalCheckFailed":
                return i
        return None


class RetryableStoreError(StoreError):
    """Throttling or a transient fault that survived botocore's retries."""


def map_client_error(exc: Exception) -> StoreError:
    """Translate a botocore exception into a typed store error (caller chains the cause)."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code == "ConditionalCheckFailedException":
            return ConditionFailed(message, code)
        if code == "TransactionCanceledException":
            reasons = exc.response.get("CancellationReasons") or []
            norm = [r if r.get("Code") not in (None, "None") else None for r in reasons]
            if any(r and r.get("Code") == "ConditionalCheckFailed" for r in norm):
                return ConditionFailed(message, code, norm)
            if any(r and r.get("Code") in RETRYABLE_CODES | {"TransactionConflict"} for r in norm):
                return RetryableStoreError(message, code)
            return StoreError(message, code)
        if code in RETRYABLE_CODES:
            return RetryableStoreError(message, code)
        return StoreError(message, code)
    if isinstance(exc, BotoCoreError):
        return RetryableStoreError(str(exc), type(exc).__name__)
    return StoreError(str(exc))

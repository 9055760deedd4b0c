"""The one error type resolvers raise, and the contract's error codes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Values of `extensions.code` (fixed by the contract)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class AppError(Exception):
    """An error the client may see: a code from the contract, a message, extensions."""

    def __init__(self, code: ErrorCode, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extensions = extensions

    def to_extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.extensions}


def not_found(what: str) -> AppError:
    """Missing and other-tenant objects answer the same way."""
    return AppError(ErrorCode.NOT_FOUND, f"{what} not found")


def forbidden(message: str = "You are not allowed to do this") -> AppError:
    return AppError(ErrorCode.FORBIDDEN, message)


def bad_input(message: str, **extensions: Any) -> AppError:
    return AppError(ErrorCode.BAD_USER_INPUT, message, **extensions)


def conflict(message: str, **extensions: Any) -> AppError:
    return AppError(ErrorCode.CONFLICT, message, **extensions)

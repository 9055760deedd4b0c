"""Opaque cursors built from LastEvaluatedKey, signed and bound to one org and one query.

A cursor replayed against another organization or another list fails verification.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from graphql_api.errors import AppError, ErrorCode

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs cursors with a secret shared by every replica."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def _mac(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[
            :16
        ]

    def encode(self, last_key: dict[str, Any], scope: str) -> str:
        payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(self._mac(scope, payload))}"

    def decode(self, cursor: str, scope: str) -> dict[str, Any]:
        try:
            payload_part, mac_part = cursor.split(".")
            payload = _unb64(payload_part)
            mac = _unb64(mac_part)
        except (ValueError, TypeError) as exc:
            raise _invalid() from exc
        if not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise _invalid()
        key = json.loads(payload)
        if not isinstance(key, dict):
            raise _invalid()
        return key


def _invalid() -> AppError:
    return AppError(ErrorCode.BAD_USER_INPUT, "Invalid cursor", argument="after")


def page_size(first: int | None) -> int:
    """`first` bounded to 1..100 (BAD_USER_INPUT outside)."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 1 or first > MAX_PAGE_SIZE:
        raise AppError(
            ErrorCode.BAD_USER_INPUT,
            f"first must be between 1 and {MAX_PAGE_SIZE}",
            argument="first",
        )
    return first

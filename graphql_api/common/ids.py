"""Opaque global IDs: base64url of "<Type>:<orgId>:<id>" (orgId empty for global types)."""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from graphql_api.errors import AppError, ErrorCode


def new_id() -> str:
    """A random, URL-safe, sortable-enough identifier for new objects."""
    return secrets.token_hex(8)


@dataclass(frozen=True)
class GlobalId:
    """A decoded global ID."""

    type_name: str
    org_id: str
    id: str


def to_global_id(type_name: str, org_id: str, local_id: str) -> str:
    raw = f"{type_name}:{org_id}:{local_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_global_id(value: str) -> GlobalId:
    """Decode; malformed IDs are NOT_FOUND, like IDs of objects that do not exist."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        type_name, org_id, local_id = raw.split(":", 2)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise AppError(ErrorCode.NOT_FOUND, "Object not found") from exc
    if not type_name or not local_id:
        raise AppError(ErrorCode.NOT_FOUND, "Object not found")
    return GlobalId(type_name, org_id, local_id)

"""Idempotent mutations: an `Idempotency-Key` header makes a retried mutation safe.

The first request with a key claims a record keyed by (principal, key) with a conditional put
(status IN_PROGRESS), runs, then stores its response body (status DONE). A replay gets that
body back verbatim; a duplicate arriving while the first still runs is CONFLICT; the same key
with a different request (hash of query, variables and operation name) is BAD_USER_INPUT.
Records expire after the TTL (DynamoDB's `ttl` attribute, and reads check the time too: the
table deletes expired items up to days late). A claim whose process died is taken over once
its short lease has passed, so a crash does not block the key for a day.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from graphql_api.errors import AppError, ErrorCode, bad_input, conflict
from graphql_api.store import keys
from graphql_api.store.client import Store
from graphql_api.store.errors import ConditionFailed

HEADER = "idempotency-key"
MAX_KEY_CHARS = 128
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
# How long a running claim blocks duplicates before another request may take it over.
LEASE_SECONDS = 60


def read_key(value: str | None) -> str | None:
    """The header's key; BAD_USER_INPUT when present but empty, too long or not printable."""
    if value is None:
        return None
    if not value or len(value) > MAX_KEY_CHARS or not value.isprintable() or not value.isascii():
        raise bad_input(
            f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters",
            header="Idempotency-Key",
        )
    return value


def fingerprint(query: str, variables: dict[str, Any] | None, operation_name: str | None) -> str:
    """What makes two requests "the same request" for a key."""
    canonical = json.dumps(
        [query, variables or {}, operation_name], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request."""

    body: bytes
    status: int
    media_type: str


@dataclass
class Claim:
    """This request owns the key: it must `complete` (or `release`) the record."""

    store: Store
    key: keys.Key
    request_hash: str
    ttl_seconds: int

    async def complete(self, body: bytes, status: int, media_type: str) -> None:
        now = int(time.time())
        await self.store.put(
            {
                **self.key,
                "entity": "Idempotency",
                "status": DONE,
                "requestHash": self.request_hash,
                "body": body.decode(),
                "httpStatus": status,
                "mediaType": media_type,
                "ttl": now + self.ttl_seconds,
            }
        )

    async def release(self) -> None:
        """Forget the claim (the request failed before a result worth replaying)."""
        await self.store.delete(self.key)


async def begin(
    store: Store, principal: str, key: str, request_hash: str, ttl_seconds: int
) -> Claim | Replay:
    """Claim the key, or answer with the stored response; raises CONFLICT / BAD_USER_INPUT."""
    record_key = keys.idempotency(principal, key)
    for _ in range(2):
        now = int(time.time())
        try:
            await store.put(
                {
                    **record_key,
                    "entity": "Idempotency",
                    "status": IN_PROGRESS,
                    "requestHash": request_hash,
                    "leaseUntil": now + LEASE_SECONDS,
                    "ttl": now + ttl_seconds,
                },
                condition=(
                    "attribute_not_exists(pk) OR #ttl < :now"
                    " OR (#status = :running AND leaseUntil < :now)"
                ),
                names={"#ttl": "ttl", "#status": "status"},
                values={":now": now, ":running": IN_PROGRESS},
            )
        except ConditionFailed:
            pass
        else:
            return Claim(store, record_key, request_hash, ttl_seconds)
        record = await store.get(record_key, consistent=True)
        if record is None or int(record.get("ttl") or 0) < now:
            continue  # deleted or expired in between: claim again
        if record.get("requestHash") != request_hash:
            raise bad_input("This Idempotency-Key was used with a different request")
        if record.get("status") != DONE:
            raise conflict("A request with this Idempotency-Key is still in progress")
        return Replay(
            str(record["body"]).encode(),
            int(record.get("httpStatus") or 200),
            str(record.get("mediaType") or "application/json"),
        )
    raise AppError(ErrorCode.CONFLICT, "A request with this Idempotency-Key is still in progress")

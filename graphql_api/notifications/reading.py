"""markNotificationsRead: unread -> read, and the profile's unreadCount down by exactly as
many as changed.

Each notification flips with an update conditioned on `read = false`, in one transaction with
the counter's decrement (at most MAX_PER_TRANSACTION items + the counter). Whoever flips an item
counts it: when a concurrent call flipped some first, the transaction fails, those items are
dropped (the failure names them) and the rest is tried again, so the count never drifts.
"""

from __future__ import annotations

from typing import Any

from graphql_api.common.ids import from_global_id
from graphql_api.context import Context
from graphql_api.errors import bad_input, not_found
from graphql_api.store import keys, transact
from graphql_api.store.errors import ConditionFailed
from graphql_api.store.keys import Key

MAX_PER_CALL = 500
MAX_PER_TRANSACTION = 99
# Rounds of "drop what someone else flipped, try the rest"; each round drops at least one item.
MAX_ROUNDS = 5


def _key(user_id: str, gid: str) -> Key:
    """The caller's notification named by `gid`; any other ID is NOT_FOUND."""
    decoded = from_global_id(gid)
    time, _, nid = decoded.id.rpartition("#")
    if decoded.type_name != "Notification" or decoded.org_id or not time or not nid:
        raise not_found("Notification")
    return keys.notification(user_id, time, nid)


async def _unread_keys(ctx: Context, user_id: str, ids: list[str] | None) -> list[Key]:
    if ids is None:
        found: list[Key] = []
        start: dict[str, Any] | None = None
        while len(found) < MAX_PER_CALL:
            page = await ctx.store.query(
                keys.notifications_pk(user_id),
                sk_prefix=keys.NOTIF_PREFIX,
                start_key=start,
                filter_expr="#r = :false",
                names={"#r": "read"},
                values={":false": False},
                consistent=True,
            )
            found += [{"pk": i["pk"], "sk": i["sk"]} for i in page.items]
            if page.last_key is None:
                break
            start = page.last_key
        return found[:MAX_PER_CALL]
    if len(ids) > MAX_PER_CALL:
        raise bad_input(f"At most {MAX_PER_CALL} IDs per call", argument="ids")
    wanted = list({(k["pk"], k["sk"]): k for k in (_key(user_id, i) for i in ids)}.values())
    items = await ctx.store.batch_get(wanted)
    # The key holds the caller's user ID, so another user's notification is simply absent.
    if any(item is None for item in items):
        raise not_found("Notification")
    return [k for k, item in zip(wanted, items, strict=True) if item and not item.get("read")]


def _ops(user_id: str, batch: list[Key]) -> list[dict[str, Any]]:
    ops = [
        transact.update(
            k,
            "SET #r = :true",
            names={"#r": "read"},
            values={":true": True, ":false": False},
            condition="#r = :false",
        )
        for k in batch
    ]
    # Never below zero: a counter that is somehow short is set to 0 instead (see _mark).
    # A missing counter fails this condition too, and is then set to 0.
    ops.append(
        transact.update(
            keys.user(user_id),
            "ADD unreadCount :neg",
            values={":neg": -len(batch), ":n": len(batch)},
            condition="unreadCount >= :n",
        )
    )
    return ops


async def _mark(ctx: Context, user_id: str, batch: list[Key]) -> int:
    """Flip what is still unread in `batch` (<= MAX_PER_TRANSACTION); how many flipped."""
    clamp = False
    for _ in range(MAX_ROUNDS + len(batch)):
        if not batch:
            return 0
        ops = _ops(user_id, batch)
        if clamp:
            # Only while still short: a notification that arrived meanwhile must not be lost.
            ops[-1] = transact.update(
                keys.user(user_id),
                "SET unreadCount = :zero",
                values={":zero": 0, ":n": len(batch)},
                condition="attribute_not_exists(unreadCount) OR unreadCount < :n",
            )
        try:
            await ctx.store.transact(ops)
            return len(batch)
        except ConditionFailed as exc:
            lost = {
                i
                for i, reason in enumerate(exc.reasons)
                if reason and reason.get("Code") == "ConditionalCheckFailed"
            }
            if len(batch) in lost:
                clamp = not clamp
            batch = [k for i, k in enumerate(batch) if i not in lost]
    return 0


async def mark_read(ctx: Context, user_id: str, ids: list[str] | None) -> int:
    """Mark the caller's notifications read (all unread ones, up to MAX_PER_CALL, when `ids`
    is None); returns how many changed from unread to read."""
    pending = await _unread_keys(ctx, user_id, ids)
    changed = 0
    for start in range(0, len(pending), MAX_PER_TRANSACTION):
        changed += await _mark(ctx, user_id, pending[start : start + MAX_PER_TRANSACTION])
    ctx.forget(keys.user(user_id))
    return changed

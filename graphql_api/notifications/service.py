"""Notifications: stored per user (USER#<uid> / NOTIF#<time>#<nid>, newest first) and counted in
the profile's `unreadCount`.

A notification is written in the same TransactWriteItems as the change that caused it (a
comment's @mentions), so `ops_for` hands out the operations; `notify` is the standalone form.
Nothing is delivered live before the commit: `after_commit` is the one place where live
delivery (the notificationReceived subscription) plugs in.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.realtime import channels
from graphql_api.store import keys, transact
from graphql_api.store.client import Page
from graphql_api.store.codec import Item

MENTION = "MENTION"
ASSIGNED = "ASSIGNED"
RUN_SUBMITTED = "RUN_SUBMITTED"
RUN_REOPENED = "RUN_REOPENED"
INVITATION_ACCEPTED = "INVITATION_ACCEPTED"
# ops_for writes one Put per item plus one counter update per user: 49 users fill 98 slots.
NOTIFY_CHUNK = 49
MAX_TITLE = 200
MAX_BODY = 500


def build(
    org_id: str,
    user_id: str,
    kind: str,
    title: str,
    body: str,
    entity_id: str,
    at: str | None = None,
) -> Item:
    """A new, unread notification item for `user_id` (not yet stored)."""
    at = at or now_iso()
    nid = new_id()
    return {
        **keys.notification(user_id, at, nid),
        "entity": "Notification",
        "id": nid,
        "userId": user_id,
        "orgId": org_id,
        "kind": kind,
        "title": title[:MAX_TITLE],
        "body": body[:MAX_BODY],
        "entityId": entity_id,
        "createdAt": at,
        "read": False,
    }


def ops_for(items: list[Item]) -> list[dict[str, Any]]:
    """Transaction operations storing `items` and counting them as unread: one Put each and
    one counter update per user (a transaction may touch an item only once)."""
    ops: list[dict[str, Any]] = [transact.put_new(item) for item in items]
    per_user = Counter(item["userId"] for item in items)
    for user_id, count in per_user.items():
        # Every member has a profile (made on first sight); the condition keeps ADD from
        # ever creating a stub profile.
        ops.append(
            transact.update(
                keys.user(user_id),
                "ADD unreadCount :n",
                values={":n": count},
                condition="attribute_exists(pk)",
            )
        )
    return ops


async def notify(ctx: Context, items: list[Item]) -> list[Item]:
    """Store `items` (one notification per user) in transactions of at most NOTIFY_CHUNK;
    returns once committed."""
    for start in range(0, len(items), NOTIFY_CHUNK):
        chunk = items[start : start + NOTIFY_CHUNK]
        await ctx.store.transact(ops_for(chunk))
        for item in chunk:
            ctx.forget(keys.user(item["userId"]))
        await after_commit(ctx, chunk)
    return items


async def after_commit(ctx: Context, items: list[Item]) -> None:
    """Runs after the transaction that stored `items` committed (never before).

    Publishes each item on `realtime.channels.notifications(userId)`, which the
    notificationReceived subscription reads on every replica; never raises.
    """
    for item in items:
        await ctx.hub.publish(channels.notifications(item["userId"]), json.dumps(item, default=str))


async def page(ctx: Context, user_id: str, limit: int, start: dict[str, Any] | None) -> Page:
    """A user's notifications, newest first."""
    return await ctx.store.query(
        keys.notifications_pk(user_id),
        sk_prefix=keys.NOTIF_PREFIX,
        limit=limit,
        start_key=start,
        forward=False,
    )

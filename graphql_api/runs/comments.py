"""Comments on a run (or one of its items) and the notifications their @mentions create.

`@<userId>` or `@<email>` of a member of the run's organization notifies that member. The
comment, its run event, the notifications (with the unread counters) and the audit entry are
one TransactWriteItems; the event is published after the commit.
"""

from __future__ import annotations

import re
from typing import Any

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id, to_global_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import bad_input
from graphql_api.notifications import service as notifications
from graphql_api.runs import repository as repo
from graphql_api.runs import service
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError

MAX_BODY = 5000
# Two operations per notification; the transaction holds at most 100.
MAX_MENTIONS = 20
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.+\-]+(?:@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)?)")


def mention_tokens(body: str) -> list[str]:
    """`@alice`, `@alice@example.com` -> user IDs / emails, in order, without duplicates."""
    tokens = [m.group(1).rstrip(".-") for m in MENTION_RE.finditer(body)]
    return list(dict.fromkeys(t for t in tokens if t))


async def mentioned_users(ctx: Context, org_id: str, body: str) -> list[str]:
    """User IDs of the org's members mentioned in `body` (not the author)."""
    tokens = mention_tokens(body)
    if not tokens:
        return []
    by_id = [t for t in tokens if "@" not in t]
    by_email = {t.lower() for t in tokens if "@" in t}
    found: list[str] = []
    members = await ctx.load_many([keys.member(org_id, t) for t in by_id])
    found += [m["userId"] for m in members if m is not None]
    if by_email:
        found += [
            m["userId"]
            for m in await repo.org_members(ctx, org_id)
            if (m.get("email") or "").lower() in by_email
        ]
    unique = [u for u in dict.fromkeys(found) if u != ctx.user_id]
    if len(unique) > MAX_MENTIONS:
        raise bad_input(f"A comment mentions at most {MAX_MENTIONS} people", argument="body")
    return unique


async def add_comment(ctx: Context, org_id: str, rid: str, item_id: str | None, body: str) -> Item:
    run, _ = await service.run_for_work(ctx, org_id, rid)
    body = body.strip()
    if not 1 <= len(body) <= MAX_BODY:
        raise bad_input(f"body must be 1 to {MAX_BODY} characters", argument="body")
    if item_id is not None:
        service.definition_of(await service.snapshot_of(ctx, run), item_id)
    uids = await mentioned_users(ctx, org_id, body)
    # Only people with a profile get a notification (ADD must not create a stub profile).
    profiles = await ctx.load_many([keys.user(u) for u in uids])
    author = await ctx.load(keys.member(org_id, ctx.user_id))
    name = (author or {}).get("name") or ctx.user_id
    at, cid = now_iso(), new_id()
    run_gid = to_global_id("Run", org_id, rid)
    notes = [
        notifications.build(
            org_id, p["id"], notifications.MENTION, f"{name} mentioned you", body, run_gid, at
        )
        for p in profiles
        if p is not None
    ]
    comment: Item = {
        **keys.run_comment(org_id, rid, at, cid),
        "entity": "RunComment",
        "id": cid,
        "orgId": org_id,
        "runId": rid,
        "itemId": item_id,
        "body": body,
        "authorId": ctx.user_id,
        "mentions": [n["userId"] for n in notes],
        "createdAt": at,
    }
    for attempt in range(service.MAX_ATTEMPTS):
        if attempt:
            await service.pause(attempt)
            run = await service.require_run_consistent(ctx, org_id, rid)
        event = repo.event_item(
            org_id,
            rid,
            run["version"] + 1,
            service.COMMENT_ADDED,
            ctx.user_id,
            at,
            item_id,
            after={"commentId": cid, "body": body, "mentions": comment["mentions"]},
        )
        ops: list[dict[str, Any]] = [
            transact.put_new(comment),
            transact.update(
                keys.run_key(org_id, rid),
                "ADD #v :one",
                names={"#v": "version"},
                values={":one": 1, ":read": run["version"]},
                condition="#v = :read",
            ),
            transact.put_new(event),
            entry_op(ctx, org_id, "run.comment_added", "Run", rid, {"commentId": cid}),
            *notifications.ops_for(notes),
        ]
        try:
            await ctx.store.transact(ops)
        except ConditionFailed as exc:
            # The version moved on (see runs.service): read again and retry.
            if exc.failed_index() in (1, 2):
                continue
            raise
        except RetryableStoreError:
            continue
        ctx.forget(keys.run_key(org_id, rid))
        for note in notes:
            ctx.forget(keys.user(note["userId"]))
        await service.publish(ctx, event)
        await notifications.after_commit(ctx, notes)
        return comment
    raise service.busy(run)

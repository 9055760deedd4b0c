"""Notifications caused by a change (assignment given, run submitted or reopened, invitation
accepted): who gets them, and how they ride in the change's own transaction.

The first recipients go into the change's TransactWriteItems (two operations each, within
the room the change leaves under DynamoDB's 100 and at most INLINE_MAX), so the change and
those notifications commit together. Recipients beyond that are stored by `notify` after the
commit, in transactions of their own: a crash in between can lose those (the change itself is
never undone for a notification), which is why the inline share is as large as fits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql_api.common.ids import to_global_id
from graphql_api.context import Context
from graphql_api.notifications import service
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.errors import StoreError
from graphql_api.teams import service as teams

log = logging.getLogger("graphql_api.notifications")

TRANSACTION_LIMIT = 100
# At most this many notifications share the change's transaction.
INLINE_MAX = 25


async def recipients(
    ctx: Context, org_id: str, user_ids: Iterable[str], team_ids: Iterable[str | None] = ()
) -> list[str]:
    """`user_ids` and the members of `team_ids`, once each, without the actor, and only those
    with a profile (the unread counter's ADD must never create a stub profile)."""
    uids = list(user_ids)
    for team_id in team_ids:
        if team_id:
            uids += await teams.team_member_ids(ctx, org_id, team_id)
    unique = [u for u in dict.fromkeys(uids) if u != ctx.user_id]
    profiles = await ctx.load_many([keys.user(u) for u in unique])
    return [p["id"] for p in profiles if p is not None]


@dataclass
class Batch:
    """Notifications split into those written with the change and those written after it."""

    inline: list[Item] = field(default_factory=list)
    later: list[Item] = field(default_factory=list)

    def ops(self) -> list[dict[str, Any]]:
        """Operations to append (after every other one) to the change's transaction."""
        return service.ops_for(self.inline)

    async def committed(self, ctx: Context) -> None:
        """Call after the change committed: delivers the inline ones live and stores the rest.
        Never raises: the change is done and must be reported as done."""
        for item in self.inline:
            ctx.forget(keys.user(item["userId"]))
        await service.after_commit(ctx, self.inline)
        try:
            await service.notify(ctx, self.later)
        except StoreError:
            log.exception("storing %d notifications after the commit failed", len(self.later))


def split(used_ops: int, items: list[Item]) -> Batch:
    """Fit `items` into a transaction already holding `used_ops` operations."""
    room = max(0, min(INLINE_MAX, (TRANSACTION_LIMIT - used_ops) // 2))
    return Batch(items[:room], items[room:])


def build_for(
    org_id: str, uids: list[str], kind: str, title: str, body: str, entity_id: str
) -> list[Item]:
    """One notification of `kind` per user."""
    return [service.build(org_id, u, kind, title, body, entity_id) for u in uids]


async def invitation_accepted(ctx: Context, org_id: str, user: Item, used: int) -> Batch:
    """INVITATION_ACCEPTED for the org's ADMINs and OWNERs (the new member is the actor)."""
    members = await ctx.store.query_all(keys.org_pk(org_id), sk_prefix=keys.MEMBER_PREFIX)
    admins = [m["userId"] for m in members if m.get("role") in ("OWNER", "ADMIN")]
    people = await recipients(ctx, org_id, admins)
    who = user.get("name") or user.get("email") or user["id"]
    entity = to_global_id("User", "", user["id"])
    notes = build_for(
        org_id,
        people,
        service.INVITATION_ACCEPTED,
        f"{who} joined the organization",
        f"{who} accepted an invitation",
        entity,
    )
    return split(used, notes)


async def assigned(
    ctx: Context,
    assignment: Item,
    title: str,
    uids: list[str],
    team_id: str | None,
    used: int,
    skip: set[str] | None = None,
) -> Batch:
    """ASSIGNED for `uids` and `team_id`'s members, but not `skip` (those it was already
    given to) nor the actor."""
    org_id = assignment["orgId"]
    people = [u for u in await recipients(ctx, org_id, uids, [team_id]) if u not in (skip or ())]
    entity = to_global_id("Assignment", org_id, assignment["id"])
    due = assignment["dueAt"]
    body = f"{title} (due {due})" if title else f"Due {due}"
    notes = build_for(org_id, people, service.ASSIGNED, "You have a new assignment", body, entity)
    return split(used, notes)

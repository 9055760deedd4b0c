"""Assignment lists: the organization's and the signed-in user's, by due time.

The index is chosen from the filters (assignee > team > whole org); the due range is the sort
key range; a status filter narrows the range too where the derived status allows it (OVERDUE
means due before now, ASSIGNED / IN_PROGRESS mean due from now on) and is then checked on
each item, because stored status lives on the assignment item, not on the index items.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from graphql_api.assignments import repository as repo
from graphql_api.assignments.service import ASSIGNED, IN_PROGRESS, OVERDUE, status_of
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@dataclass(frozen=True)
class Filters:
    """What a list keeps. IDs are local (already decoded and tenant-checked)."""

    status: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    due_after: str | None = None
    due_before: str | None = None

    def scope(self) -> str:
        return f"{self.status}:{self.assignee_id}:{self.team_id}:{self.due_after}:{self.due_before}"


def _range(filters: Filters, now: str, start: dict[str, Any] | None, index: str) -> tuple[str, str]:
    # Sort keys start with the due time's year, so "0" is below every one (a key condition
    # value cannot be empty).
    low = filters.due_after or "0"
    high = filters.due_before + keys.MAX_SORT if filters.due_before else keys.MAX_SORT
    # Sort keys are "<due>#<id>": "<due>#..." < now exactly when due < now.
    if filters.status == OVERDUE:
        high = min(high, now)
    elif filters.status in (ASSIGNED, IN_PROGRESS):
        low = max(low, now)
        # `now` moves on between pages; the range must still contain the cursor's key.
        resume = repo.sort_start(start, index)
        if resume is not None:
            low = min(low, resume)
    return low, high


def _keep(filters: Filters, now: str) -> repo.Keep:
    def keep(item: Item) -> bool:
        if filters.status is not None and status_of(item, now) != filters.status:
            return False
        if filters.team_id is not None and item.get("teamId") != filters.team_id:
            return False
        return filters.assignee_id is None or filters.assignee_id in item.get("assigneeIds", [])

    return keep


async def _by_index_items(ctx: Context, items: list[Item]) -> list[Item | None]:
    return await ctx.load_many([keys.assignment_key(i["orgId"], i["assignmentId"]) for i in items])


async def _as_is(items: list[Item]) -> list[Item | None]:
    return list(items)


async def in_org(
    ctx: Context, org_id: str, filters: Filters, first: int | None, after: str | None
) -> tuple[repo.FilteredPage, str]:
    """An organization's assignments by due time; returns the page and its cursor scope."""
    size = page_size(first)
    scope = f"{org_id}:assignments:{filters.scope()}"
    start = ctx.cursors.decode(after, scope) if after else None
    now = now_iso()

    async def resolve(items: list[Item]) -> list[Item | None]:
        return await _by_index_items(ctx, items)

    if filters.assignee_id is not None:
        pk, index, fetch = keys.assignee_gsi(org_id, filters.assignee_id), "gsi2", resolve
    elif filters.team_id is not None:
        pk, index, fetch = keys.team_assignments_gsi(org_id, filters.team_id), "gsi2", resolve
    else:
        pk, index, fetch = keys.org_assignments_gsi(org_id), "gsi1", _as_is
    low, high = _range(filters, now, start, index)
    source = repo.Source(pk, index, low, high)
    page = await repo.filtered_page(ctx, source, size, start, fetch, _keep(filters, now))
    return page, scope


async def for_user(
    ctx: Context, user_id: str, filters: Filters, first: int | None, after: str | None
) -> tuple[repo.FilteredPage, str]:
    """Assignments given to `user_id` directly, across the organizations they are still in."""
    size = page_size(first)
    scope = f"user:{user_id}:assignments:{filters.scope()}"
    start = ctx.cursors.decode(after, scope) if after else None
    now = now_iso()

    async def resolve(items: list[Item]) -> list[Item | None]:
        orgs = sorted({i["orgId"] for i in items})
        roles = await asyncio.gather(*(ctx.role_in(o) for o in orgs))
        member_of = {o for o, role in zip(orgs, roles, strict=True) if role is not None}
        visible = [i for i in items if i["orgId"] in member_of]
        loaded = iter(await _by_index_items(ctx, visible))
        return [next(loaded) if i["orgId"] in member_of else None for i in items]

    index = "gsi1"
    low, high = _range(filters, now, start, index)
    source = repo.Source(keys.user_assignments_gsi(user_id), index, low, high)
    mine = Filters(filters.status, None, filters.team_id, filters.due_after, filters.due_before)
    page = await repo.filtered_page(ctx, source, size, start, resolve, _keep(mine, now))
    return page, scope

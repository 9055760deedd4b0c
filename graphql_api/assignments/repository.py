"""DynamoDB items of assignments and their assignee / team index items, and the filtered
paging shared by every assignment list.

An assignment lives at ORG#<oid> / ASSIGN#<aid> (gsi1: the org's list by due time). Each
assignee has an index item (gsi1: the user's list across orgs; gsi2: the org's list per
assignee) and the team has one (gsi2: the org's list per team). Index items carry only keys:
status changes (run started, submitted, ...) then touch the assignment item alone, and lists
load the assignments through the request's DataLoader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql_api.common.types import item_key
from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item

# A page of a filtered list reads at most this many DynamoDB pages before it returns what it
# has (with hasNextPage and a cursor to continue), so a sparse filter cannot make one request
# read a whole partition.
MAX_ROUNDS = 4


def key_only(key: dict[str, str]) -> keys.Key:
    return {"pk": key["pk"], "sk": key["sk"]}


def assignment_key(org_id: str, aid: str) -> keys.Key:
    return keys.assignment_key(org_id, aid)


async def get(ctx: Context, org_id: str, aid: str) -> Item | None:
    return await ctx.load(keys.assignment_key(org_id, aid))


async def get_consistent(ctx: Context, org_id: str, aid: str) -> Item | None:
    return await ctx.store.get(keys.assignment_key(org_id, aid), consistent=True)


def assignee_item(org_id: str, uid: str, aid: str, due: str) -> Item:
    return {
        **keys.assignee_index(org_id, uid, aid, due),
        "entity": "AssigneeIndex",
        "orgId": org_id,
        "userId": uid,
        "assignmentId": aid,
    }


def team_item(org_id: str, tid: str, aid: str, due: str) -> Item:
    return {
        **keys.team_assignment_index(org_id, tid, aid, due),
        "entity": "TeamAssignmentIndex",
        "orgId": org_id,
        "teamId": tid,
        "assignmentId": aid,
    }


@dataclass
class Source:
    """Where a list reads: a partition of the table or of a GSI, and a sort-key range."""

    pk: str
    index: str | None
    low: str
    high: str
    forward: bool = True


@dataclass
class FilteredPage:
    """Matching items with the cursor key of each, whether more follow, and where to go on."""

    entries: list[tuple[Item, dict[str, Any]]]
    has_next: bool
    end_key: dict[str, Any] | None


Resolve = Callable[[list[Item]], Awaitable[list[Item | None]]]
Keep = Callable[[Item], bool]


async def filtered_page(
    ctx: Context,
    source: Source,
    size: int,
    start: dict[str, Any] | None,
    resolve: Resolve,
    keep: Keep,
) -> FilteredPage:
    """Up to `size` items that pass `keep`, in the source's order.

    `resolve` turns the queried items into the listed ones (index items -> assignments,
    None when gone). A filter may skip items, so this reads on until it has `size + 1`
    matches (the extra one only proves a next page exists), the range ends, or MAX_ROUNDS.
    Each cursor is the key of the queried item, so a page resumes right after it.
    """
    if source.low > source.high:
        return FilteredPage([], False, None)
    matched: list[tuple[Item, dict[str, Any]]] = []
    for _ in range(MAX_ROUNDS):
        page: Page = await ctx.store.query(
            source.pk,
            index=source.index,
            sk_between=(source.low, source.high),
            limit=size + 1,
            start_key=start,
            forward=source.forward,
        )
        resolved = await resolve(page.items) if page.items else []
        for raw, item in zip(page.items, resolved, strict=True):
            if item is not None and keep(item):
                matched.append((item, item_key(raw, source.index)))
                if len(matched) > size:
                    return FilteredPage(matched[:size], True, matched[size - 1][1])
        if page.last_key is None:
            return FilteredPage(matched, False, matched[-1][1] if matched else None)
        start = page.last_key
    return FilteredPage(matched, True, start)


def sort_start(start: dict[str, Any] | None, index: str | None) -> str | None:
    """The sort-key value of a cursor key (a range must still contain it)."""
    if start is None:
        return None
    value = start.get(f"{index}sk" if index else "sk")
    return value if isinstance(value, str) else None

"""DynamoDB items of teams and team members."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item


def member_key(org_id: str, tid: str, uid: str) -> keys.Key:
    """The table key of a team member (without its gsi1 attributes), for loads and deletes."""
    full = keys.team_member(org_id, tid, uid)
    return {"pk": full["pk"], "sk": full["sk"]}


async def get_team(ctx: Context, org_id: str, tid: str) -> Item | None:
    return await ctx.load(keys.team(org_id, tid))


async def get_team_member(ctx: Context, org_id: str, tid: str, uid: str) -> Item | None:
    return await ctx.load(member_key(org_id, tid, uid))


async def page_teams(ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id), sk_prefix=keys.TEAM_PREFIX, limit=limit, start_key=start
    )


async def page_team_members(
    ctx: Context, org_id: str, tid: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id),
        sk_prefix=keys.team_members_prefix(tid),
        limit=limit,
        start_key=start,
    )


async def all_team_members(ctx: Context, org_id: str, tid: str) -> list[Item]:
    return await ctx.store.query_all(keys.org_pk(org_id), sk_prefix=keys.team_members_prefix(tid))


async def teams_of_user(ctx: Context, org_id: str, uid: str) -> list[Item]:
    return await ctx.store.query_all(keys.user_teams_gsi(org_id, uid), index="gsi1")


def team_member_item(org_id: str, tid: str, uid: str, role: str, name: str | None, at: str) -> Item:
    return {
        **keys.team_member(org_id, tid, uid),
        "entity": "TeamMember",
        "orgId": org_id,
        "teamId": tid,
        "userId": uid,
        "role": role,
        "name": name,
        "addedAt": at,
    }

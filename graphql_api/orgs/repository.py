"""DynamoDB items of organizations, members and invitations."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item


async def get_org(ctx: Context, org_id: str) -> Item | None:
    return await ctx.load(keys.org(org_id))


async def get_member(ctx: Context, org_id: str, uid: str) -> Item | None:
    return await ctx.load(keys.member(org_id, uid))


async def get_invitation(ctx: Context, org_id: str, iid: str) -> Item | None:
    return await ctx.store.get(keys.invitation(org_id, iid), consistent=True)


async def page_members(ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id), sk_prefix=keys.MEMBER_PREFIX, limit=limit, start_key=start
    )


async def page_invitations(
    ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id), sk_prefix=keys.INVITE_PREFIX, limit=limit, start_key=start
    )


async def memberships_of(ctx: Context, uid: str) -> list[Item]:
    return await ctx.store.query_all(keys.user_memberships_gsi(uid), index="gsi1")


def member_item(
    org_id: str, uid: str, role: str, email: str | None, name: str | None, at: str
) -> Item:
    return {
        **keys.member(org_id, uid),
        **keys.membership_gsi(org_id, uid),
        "entity": "Member",
        "orgId": org_id,
        "userId": uid,
        "role": role,
        "email": email,
        "name": name,
        "joinedAt": at,
        "version": 1,
    }

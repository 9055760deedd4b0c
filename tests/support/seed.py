"""Bulk state for table-driven tests, written through the project's own store and services.

Going through the API costs two requests per member; a permission matrix needs hundreds of
fresh targets, so they are written here directly instead, with the item shape of
`orgs.repository.member_item` and the org counters kept consistent.
"""

from __future__ import annotations

import asyncio

from graphql_api.auth.principal import Principal
from graphql_api.common.ids import from_global_id, to_global_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context, Resources
from graphql_api.orgs import repository as repo
from graphql_api.orgs import service as orgs
from graphql_api.rbac.roles import Role
from graphql_api.store import keys
from graphql_api.store.codec import serialize
from tests.support.factories import uid


def org_id_of(org_gid: str) -> str:
    return from_global_id(org_gid).org_id


async def seed_members(resources: Resources, org_gid: str, roles: list[str]) -> list[str]:
    """One new member per entry of `roles`; returns their Member global IDs, in order."""
    org_id = org_id_of(org_gid)
    at = now_iso()
    subs = [uid(f"seed-{r.lower()}") for r in roles]
    # BatchWriteItem, not transactions: moto deep-copies the whole table for every item of a
    # TransactWriteItems, and one PutItem per member would cost hundreds of calls.
    items = [
        repo.member_item(org_id, sub, role, f"{sub}@example.test", sub, at)
        for sub, role in zip(subs, roles, strict=True)
    ]
    table = resources.store.table
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
        result = await resources.store.dynamodb.batch_write_item(RequestItems={table: requests})
        assert not result.get("UnprocessedItems"), result["UnprocessedItems"]
    await resources.store.update(
        keys.org(org_id),
        "ADD memberCount :n, ownerCount :o",
        values={":n": len(roles), ":o": roles.count(Role.OWNER.value)},
        condition="attribute_exists(pk)",
    )
    return [to_global_id("Member", org_id, sub) for sub in subs]


async def seed_invitations(
    resources: Resources, org_gid: str, inviter_sub: str, roles: list[str]
) -> list[str]:
    """One pending invitation per role, made by `inviter_sub` through the service layer."""
    org_id = org_id_of(org_gid)

    async def invite(role: str) -> str:
        ctx = Context(resources, principal=Principal(inviter_sub, f"{inviter_sub}@example.test"))
        item, _ = await orgs.invite_member(ctx, org_id, f"{uid('inv')}@example.test", Role(role))
        return to_global_id("Invitation", org_id, item["id"])

    return list(await asyncio.gather(*(invite(r) for r in roles)))


async def member_roles(resources: Resources, member_gids: list[str]) -> list[str | None]:
    """Current role of each member (None once removed), read straight from the table."""
    key_list = []
    for gid in member_gids:
        decoded = from_global_id(gid)
        key_list.append(keys.member(decoded.org_id, decoded.id))
    items = await resources.store.batch_get(key_list)
    return [item["role"] if item else None for item in items]

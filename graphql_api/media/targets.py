"""What a file is attached to: who may upload for it, and how it is stored and listed.

A target is stored on the file as {kind, id, itemId?} with local IDs (run, checklist, team,
or the user for AVATAR). Uploading for a run needs the right to work on it (MEMBER+ given
the assignment, or MANAGER+), for a checklist or a team MANAGER+, and an avatar is only
ever the caller's own.
"""

from __future__ import annotations

from typing import Any

from graphql_api.checklists import service as checklists
from graphql_api.common.ids import to_global_id
from graphql_api.common.node import decode_in_org
from graphql_api.context import Context
from graphql_api.errors import bad_input, forbidden, not_found
from graphql_api.orgs import repository as members
from graphql_api.rbac.roles import Role
from graphql_api.runs import attachments
from graphql_api.runs import service as runs
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.teams import service as teams

RUN_ITEM, RUN, CHECKLIST, TEAM, AVATAR = "RUN_ITEM", "RUN", "CHECKLIST", "TEAM", "AVATAR"
RUN_KINDS = (RUN_ITEM, RUN)
# kind -> the global ID type of its `id`
ID_TYPES = {RUN_ITEM: "Run", RUN: "Run", CHECKLIST: "Checklist", TEAM: "Team", AVATAR: "Member"}


def listing_key(target: Item) -> str:
    """The target part of the files-of-a-target index (store.keys.file_target_gsi)."""
    kind, tid = target["kind"], target["id"]
    if kind == RUN_ITEM:
        return f"RUN#{tid}#ITEM#{target['itemId']}"
    return f"{kind}#{tid}"


def global_id(org_id: str, target: Item) -> str:
    return to_global_id(ID_TYPES[target["kind"]], org_id, target["id"])


def decode(ctx: Context, org_id: str, kind: str, gid: str | None, item_id: str | None) -> Item:
    """The stored shape of a target given by the client; NOT_FOUND outside `org_id`."""
    if kind == AVATAR and gid is None:
        return {"kind": AVATAR, "id": ctx.user_id}
    if gid is None:
        raise bad_input(f"A {kind} target needs its id", argument="target")
    type_name = ID_TYPES[kind]
    decoded = decode_in_org(ctx, gid, type_name)
    if decoded.org_id != org_id:
        raise not_found(type_name)
    if kind == RUN_ITEM:
        if not item_id:
            raise bad_input("A RUN_ITEM target needs its itemId", argument="target")
        return {"kind": kind, "id": decoded.id, "itemId": item_id}
    return {"kind": kind, "id": decoded.id}


async def check_upload(ctx: Context, org_id: str, target: Item, content_type: str) -> None:
    """May the caller upload for `target`, and does the target exist (NOT_FOUND)?"""
    kind, tid = target["kind"], target["id"]
    if kind in RUN_KINDS:
        definition = await attachments.check_target(ctx, org_id, tid, target.get("itemId"))
        if definition and not content_type.startswith("image/"):
            raise bad_input("A PHOTO item takes images only", argument="contentType")
        return
    if kind == AVATAR:
        principal = ctx.require_principal()
        if principal.is_api_key or tid != principal.id:
            raise forbidden("An avatar is uploaded by its own user")
        if not content_type.startswith("image/"):
            raise bad_input("An avatar must be an image", argument="contentType")
        return
    role = await ctx.role_in(org_id)
    if role is None or not role.at_least(Role.MANAGER):
        raise forbidden(f"Requires the MANAGER role or above to add files to a {kind.lower()}")
    if kind == CHECKLIST:
        await checklists.require_checklist(ctx, org_id, tid)
    else:
        await teams.require_team(ctx, org_id, tid)


async def require_exists(ctx: Context, org_id: str, target: Item) -> None:
    """NOT_FOUND when `target` names nothing in `org_id`, exactly as for another tenant's ID
    (listing files of a missing target must not answer an empty page)."""
    kind, tid = target["kind"], target["id"]
    if kind in RUN_KINDS:
        run = await runs.require_run(ctx, org_id, tid)
        if kind == RUN_ITEM:
            runs.definition_of(await runs.snapshot_of(ctx, run), target["itemId"])
    elif kind == CHECKLIST:
        await checklists.require_checklist(ctx, org_id, tid)
    elif kind == TEAM:
        await teams.require_team(ctx, org_id, tid)
    elif await members.get_member(ctx, org_id, tid) is None:
        raise not_found("Member")


def exists_check(org_id: str, target: Item) -> dict[str, Any]:
    """A transaction ConditionCheck that a non-run target still exists."""
    kind, tid = target["kind"], target["id"]
    key = {
        CHECKLIST: keys.checklist(org_id, tid),
        TEAM: keys.team(org_id, tid),
        AVATAR: keys.member(org_id, tid),
    }[kind]
    return transact.check(key, "attribute_exists(pk)")

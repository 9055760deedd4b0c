"""Business rules of teams and their members.

MANAGER+ manage every team; a team LEAD (the mutations require at least the MEMBER role in
the organization) adds and removes the plain members of their own team; anyone may leave.
Every change is one TransactWriteItems holding the change and its audit entry.
"""

from __future__ import annotations

from typing import Any

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import AppError, bad_input, conflict, forbidden, not_found
from graphql_api.rbac.roles import Role
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed
from graphql_api.teams import repository as repo

LEAD = "LEAD"
MEMBER = "MEMBER"
MAX_NAME = 100
MAX_DESCRIPTION = 1000
# TransactWriteItems takes at most 100 operations.
DELETE_CHUNK = 100


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= MAX_NAME:
        raise bad_input(f"name must be 1 to {MAX_NAME} characters", argument="name")
    return value


def _description(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_DESCRIPTION:
        raise bad_input(
            f"description must be at most {MAX_DESCRIPTION} characters", argument="description"
        )
    return value


# exported to other domains (assignments, runs) ------------------------------
async def require_team(ctx: Context, org_id: str, team_id: str) -> Item:
    """The team item, or NOT_FOUND (also for another tenant's team)."""
    item = await repo.get_team(ctx, org_id, team_id)
    if item is None:
        raise not_found("Team")
    return item


async def team_ids_of(ctx: Context, org_id: str, user_id: str) -> list[str]:
    """IDs of the teams `user_id` belongs to in `org_id` (one Query on gsi1)."""
    return [str(i["teamId"]) for i in await repo.teams_of_user(ctx, org_id, user_id)]


async def team_member_ids(ctx: Context, org_id: str, team_id: str) -> list[str]:
    """User IDs of a team's members."""
    return [str(i["userId"]) for i in await repo.all_team_members(ctx, org_id, team_id)]


async def remove_from_all_teams(ctx: Context, org_id: str, user_id: str) -> list[str]:
    """Take someone who left the organization off all its teams; the IDs of those teams.

    For the organization's removeMember to call after its own commit. One transaction per
    team (the member item, the team's count and the audit entry); a team deleted meanwhile
    only leaves a stray member item, which is deleted.
    """
    memberships = await repo.teams_of_user(ctx, org_id, user_id)
    for item in memberships:
        tid = item["teamId"]
        key = repo.member_key(org_id, tid, user_id)
        details = {"userId": user_id, "role": item["role"], "reason": "left the organization"}
        try:
            await ctx.store.transact(
                [
                    transact.delete(key, condition="attribute_exists(pk)"),
                    transact.update(
                        keys.team(org_id, tid),
                        "ADD memberCount :d",
                        values={":d": -1},
                        condition="attribute_exists(pk)",
                    ),
                    entry_op(ctx, org_id, "team.member_removed", "Team", tid, details),
                ]
            )
        except ConditionFailed:
            await ctx.store.delete(key)
        ctx.forget(keys.team(org_id, tid))
        ctx.forget(key)
    return [str(i["teamId"]) for i in memberships]


# teams ------------------------------------------------------------------------
async def create_team(ctx: Context, org_id: str, name: str, description: str | None) -> Item:
    tid = new_id()
    at = now_iso()
    item: Item = {
        **keys.team(org_id, tid),
        "entity": "Team",
        "id": tid,
        "orgId": org_id,
        "name": _name(name),
        "description": _description(description or ""),
        "createdAt": at,
        "updatedAt": at,
        "version": 1,
        "memberCount": 0,
    }
    await ctx.store.transact(
        [
            transact.put_new(item),
            entry_op(ctx, org_id, "team.created", "Team", tid, {"name": item["name"]}),
        ]
    )
    return item


async def _stale(ctx: Context, org_id: str, tid: str) -> AppError:
    current = await ctx.store.get(keys.team(org_id, tid), consistent=True)
    if current is None:
        return not_found("Team")
    return conflict("The team changed meanwhile", currentVersion=current["version"])


async def update_team(
    ctx: Context,
    org_id: str,
    tid: str,
    name: str | None,
    description: str | None,
    expected_version: int | None,
) -> Item:
    team = await require_team(ctx, org_id, tid)
    version = team["version"] if expected_version is None else expected_version
    if version != team["version"]:
        raise conflict("The team changed meanwhile", currentVersion=team["version"])
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name)
    if description is not None:
        changes["description"] = _description(description)
    if not changes:
        return team
    at = now_iso()
    sets = ", ".join(f"#{k} = :{k}" for k in changes)
    op = transact.update(
        keys.team(org_id, tid),
        f"SET {sets}, #version = #version + :one, updatedAt = :at",
        names={**{f"#{k}": k for k in changes}, "#version": "version"},
        values={**{f":{k}": v for k, v in changes.items()}, ":one": 1, ":at": at, ":v": version},
        condition="#version = :v",
    )
    try:
        await ctx.store.transact([op, entry_op(ctx, org_id, "team.updated", "Team", tid, changes)])
    except ConditionFailed as exc:
        raise await _stale(ctx, org_id, tid) from exc
    ctx.forget(keys.team(org_id, tid))
    return {**team, **changes, "version": version + 1, "updatedAt": at}


async def delete_team(ctx: Context, org_id: str, tid: str) -> Item:
    team = await require_team(ctx, org_id, tid)
    try:
        await ctx.store.transact(
            [
                transact.delete(keys.team(org_id, tid), condition="attribute_exists(pk)"),
                entry_op(ctx, org_id, "team.deleted", "Team", tid, {"name": team["name"]}),
            ]
        )
    except ConditionFailed as exc:
        raise not_found("Team") from exc
    ctx.forget(keys.team(org_id, tid))
    # Members go after the commit: a team may have more members than one transaction holds,
    # and no member can be added any more (adding requires the team item).
    members = await repo.all_team_members(ctx, org_id, tid)
    for start in range(0, len(members), DELETE_CHUNK):
        chunk = members[start : start + DELETE_CHUNK]
        await ctx.store.transact(
            [transact.delete(repo.member_key(org_id, tid, m["userId"])) for m in chunk]
        )
    return team


# team members -----------------------------------------------------------------
async def _check_can_manage(
    ctx: Context, org_id: str, tid: str, uid: str, role: str | None, existing: Item | None
) -> None:
    """MANAGER+ may do anything; a LEAD adds and removes plain members; anyone may leave."""
    my_role = await ctx.role_in(org_id)
    if my_role is not None and my_role.at_least(Role.MANAGER):
        return
    if role is None and uid == ctx.user_id:
        return
    me = await repo.get_team_member(ctx, org_id, tid, ctx.user_id)
    if me is None or me["role"] != LEAD:
        raise forbidden("Requires the MANAGER role or above, or being LEAD of this team")
    if role == LEAD or (existing is not None and existing["role"] == LEAD):
        raise forbidden("Only a MANAGER or above grants, changes or removes the LEAD role")


async def add_team_member(ctx: Context, org_id: str, tid: str, uid: str, role: str) -> Item:
    """Add an organization member to a team, or change their team role."""
    await require_team(ctx, org_id, tid)
    person = await ctx.load(keys.member(org_id, uid))
    if person is None:
        raise not_found("Member")
    key = repo.member_key(org_id, tid, uid)
    existing = await ctx.store.get(key, consistent=True)
    await _check_can_manage(ctx, org_id, tid, uid, role, existing)
    if existing is not None:
        return await _change_team_role(ctx, org_id, tid, existing, role)
    item = repo.team_member_item(org_id, tid, uid, role, person.get("name"), now_iso())
    ops = [
        transact.put_new(item),
        transact.update(
            keys.team(org_id, tid),
            "ADD memberCount :one",
            values={":one": 1},
            condition="attribute_exists(pk)",
        ),
        transact.check(keys.member(org_id, uid), "attribute_exists(pk)"),
        entry_op(ctx, org_id, "team.member_added", "Team", tid, {"userId": uid, "role": role}),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed == 1:
            raise not_found("Team") from exc
        if failed == 2:
            raise not_found("Member") from exc
        raise conflict("This person joined the team meanwhile; retry") from exc
    ctx.forget(keys.team(org_id, tid))
    ctx.forget(key)
    return item


async def _change_team_role(ctx: Context, org_id: str, tid: str, existing: Item, role: str) -> Item:
    if existing["role"] == role:
        return existing
    uid = existing["userId"]
    try:
        await ctx.store.transact(
            [
                transact.update(
                    repo.member_key(org_id, tid, uid),
                    "SET #r = :new",
                    names={"#r": "role"},
                    values={":new": role, ":old": existing["role"]},
                    condition="#r = :old",
                ),
                entry_op(
                    ctx,
                    org_id,
                    "team.member_role_updated",
                    "Team",
                    tid,
                    {"userId": uid, "before": existing["role"], "after": role},
                ),
            ]
        )
    except ConditionFailed as exc:
        raise conflict("The team member changed meanwhile; retry") from exc
    ctx.forget(repo.member_key(org_id, tid, uid))
    return {**existing, "role": role}


async def remove_team_member(ctx: Context, org_id: str, tid: str, uid: str) -> Item:
    await require_team(ctx, org_id, tid)
    key = repo.member_key(org_id, tid, uid)
    existing = await ctx.store.get(key, consistent=True)
    if existing is None:
        # Someone who is not in the organization is "Member not found", exactly like another
        # tenant's member (whose ID never gets this far).
        person = await ctx.load(keys.member(org_id, uid))
        raise not_found("Team member" if person is not None else "Member")
    await _check_can_manage(ctx, org_id, tid, uid, None, existing)
    ops = [
        transact.delete(key, condition="attribute_exists(pk)"),
        transact.update(
            keys.team(org_id, tid),
            "ADD memberCount :d",
            values={":d": -1},
            condition="attribute_exists(pk)",
        ),
        entry_op(
            ctx,
            org_id,
            "team.member_removed",
            "Team",
            tid,
            {"userId": uid, "role": existing["role"]},
        ),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        raise not_found("Team member" if exc.failed_index() == 0 else "Team") from exc
    ctx.forget(keys.team(org_id, tid))
    ctx.forget(key)
    return existing

"""Business rules of organizations, members and invitations.

Every change is one TransactWriteItems holding the change and its audit entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from typing import Any

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id
from graphql_api.common.time import iso, now_iso, parse_iso, utcnow
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, bad_input, conflict, forbidden, not_found
from graphql_api.notifications import fanout
from graphql_api.orgs import repository as repo
from graphql_api.orgs.plans import Plan, limits_of
from graphql_api.rbac.roles import Role
from graphql_api.realtime import channels
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed
from graphql_api.teams import service as teams_service
from graphql_api.users.service import ensure_user

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
INVITATION_TTL = timedelta(days=7)
# Keep answered or expired invitations a while for the admins' list, then let TTL delete them.
INVITATION_RETENTION = timedelta(days=30)


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise bad_input("name must be 1 to 100 characters", argument="name")
    return value


def _limit_error(what: str, limit: int | None) -> AppError:
    return AppError(
        ErrorCode.LIMIT_EXCEEDED, f"The plan allows at most {limit} {what}", limit=limit
    )


def _member_limit_op(org_id: str, plan: str, owners: int = 0) -> dict[str, Any]:
    """The org counters of one new member; a transaction may touch the org item only once."""
    update = "ADD memberCount :d, ownerCount :o" if owners else "ADD memberCount :d"
    values: dict[str, Any] = {":d": 1, **({":o": owners} if owners else {})}
    limit = limits_of(plan).members
    if limit is None:
        return transact.update(
            keys.org(org_id), update, values=values, condition="attribute_exists(pk)"
        )
    return transact.update(
        keys.org(org_id),
        update,
        values={**values, ":max": limit},
        condition="attribute_exists(pk) AND memberCount < :max",
    )


async def require_org(ctx: Context, org_id: str) -> Item:
    item = await repo.get_org(ctx, org_id)
    if item is None:
        raise not_found("Organization")
    return item


# organizations -------------------------------------------------------------
async def create_organization(ctx: Context, name: str, slug: str) -> Item:
    user = await ensure_user(ctx)
    name = _name(name)
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise bad_input("slug must be 3-40 lowercase letters, digits or dashes", argument="slug")
    org_id = new_id()
    at = now_iso()
    org = {
        **keys.org(org_id),
        "entity": "Organization",
        "id": org_id,
        "name": name,
        "slug": slug,
        "plan": Plan.FREE.value,
        "memberCount": 1,
        "ownerCount": 1,
        "checklistCount": 0,
        "storageBytes": 0,
        "createdAt": at,
        "version": 1,
    }
    member = repo.member_item(
        org_id, user["id"], Role.OWNER.value, user.get("email"), user.get("name"), at
    )
    ops = [
        transact.put_new({**keys.slug(slug), "entity": "Slug", "orgId": org_id}),
        transact.put_new(org),
        transact.put_new(member),
        entry_op(
            ctx,
            org_id,
            "organization.created",
            "Organization",
            org_id,
            {"name": name, "slug": slug},
        ),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() == 0:
            raise conflict("This slug is taken", argument="slug") from exc
        raise
    ctx.forget_role(org_id)
    return org


async def update_organization(
    ctx: Context, org_id: str, name: str | None, plan: Plan | None
) -> Item:
    org = await require_org(ctx, org_id)
    role = await ctx.role_in(org_id)
    if plan is not None and role is not Role.OWNER:
        raise forbidden("Only an OWNER changes the plan")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _name(name)
    if plan is not None:
        if limits_of(plan).members is not None and org["memberCount"] > (
            limits_of(plan).members or 0
        ):
            raise _limit_error("members", limits_of(plan).members)
        changes["plan"] = plan.value
    if not changes:
        return org
    sets = ", ".join(f"#{k} = :{k}" for k in changes)
    op = transact.update(
        keys.org(org_id),
        f"SET {sets}, #version = #version + :one, updatedAt = :at",
        names={**{f"#{k}": k for k in changes}, "#version": "version"},
        values={
            **{f":{k}": v for k, v in changes.items()},
            ":one": 1,
            ":at": now_iso(),
            ":v": org["version"],
        },
        condition="#version = :v",
    )
    try:
        await ctx.store.transact(
            [op, entry_op(ctx, org_id, "organization.updated", "Organization", org_id, changes)]
        )
    except ConditionFailed as exc:
        raise conflict("The organization changed meanwhile; retry") from exc
    ctx.forget(keys.org(org_id))
    return {**org, **changes, "version": org["version"] + 1}


# invitations ----------------------------------------------------------------
def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invitation_status(item: Item) -> str:
    status: str = item["status"]
    if status == "PENDING" and parse_iso(item["expiresAt"]) <= utcnow():
        return "EXPIRED"
    return status


async def invite_member(ctx: Context, org_id: str, email: str, role: Role) -> tuple[Item, str]:
    org = await require_org(ctx, org_id)
    my_role = await ctx.role_in(org_id)
    assert my_role is not None  # the permission class checked membership
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise bad_input("email is not a valid address", argument="email")
    if role.rank > my_role.rank:
        raise forbidden("You cannot invite above your own role")
    if role in (Role.OWNER, Role.ADMIN) and my_role is not Role.OWNER:
        raise forbidden("Only an OWNER invites OWNERs and ADMINs")
    limit = limits_of(org["plan"]).members
    if limit is not None and org["memberCount"] >= limit:
        raise _limit_error("members", limit)
    iid = new_id()
    secret = secrets.token_urlsafe(24)
    now = utcnow()
    expires = now + INVITATION_TTL
    item = {
        **keys.invitation(org_id, iid),
        "entity": "Invitation",
        "id": iid,
        "orgId": org_id,
        "email": email,
        "role": role.value,
        "status": "PENDING",
        "secretHash": _hash(secret),
        "invitedBy": ctx.user_id,
        "createdAt": iso(now),
        "expiresAt": iso(expires),
        "ttl": int((expires + INVITATION_RETENTION).timestamp()),
    }
    await ctx.store.transact(
        [
            transact.put_new(item),
            entry_op(
                ctx,
                org_id,
                "invitation.created",
                "Invitation",
                iid,
                {"email": email, "role": role.value},
            ),
        ]
    )
    return item, f"{org_id}.{iid}.{secret}"


async def accept_invitation(ctx: Context, token: str) -> Item:
    user = await ensure_user(ctx)
    try:
        org_id, iid, secret = token.strip().split(".", 2)
    except ValueError as exc:
        raise not_found("Invitation") from exc
    invite = await repo.get_invitation(ctx, org_id, iid) if org_id and iid else None
    if invite is None or not hmac.compare_digest(invite["secretHash"], _hash(secret)):
        raise not_found("Invitation")
    status = invitation_status(invite)
    if status != "PENDING":
        raise bad_input(f"This invitation is {status.lower()}", status=status)
    if (user.get("email") or "").lower() != invite["email"]:
        raise forbidden("This invitation was sent to another email address")
    org = await require_org(ctx, org_id)
    if await repo.get_member(ctx, org_id, user["id"]) is not None:
        raise conflict("You are already a member of this organization")
    member = repo.member_item(
        org_id, user["id"], invite["role"], user.get("email"), user.get("name"), now_iso()
    )
    ops = [
        transact.put_new(member),
        transact.update(
            keys.invitation(org_id, iid),
            "SET #s = :accepted, acceptedBy = :u",
            names={"#s": "status"},
            values={":accepted": "ACCEPTED", ":u": user["id"], ":pending": "PENDING"},
            condition="#s = :pending",
        ),
        _member_limit_op(org_id, org["plan"], 1 if invite["role"] == Role.OWNER.value else 0),
        entry_op(
            ctx,
            org_id,
            "invitation.accepted",
            "Member",
            user["id"],
            {"invitationId": iid, "role": invite["role"]},
        ),
    ]
    notes = await fanout.invitation_accepted(ctx, org_id, user, len(ops))
    try:
        # Notifications go last so the indexes checked below stay those of `ops`.
        await ctx.store.transact([*ops, *notes.ops()])
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed == 0:
            raise conflict("You are already a member of this organization") from exc
        if failed == 1:
            raise bad_input("This invitation is no longer pending") from exc
        if failed == 2:
            raise _limit_error("members", limits_of(org["plan"]).members) from exc
        raise
    ctx.forget_role(org_id)
    await notes.committed(ctx)
    return member


async def revoke_invitation(ctx: Context, org_id: str, iid: str) -> Item:
    invite = await repo.get_invitation(ctx, org_id, iid)
    if invite is None:
        raise not_found("Invitation")
    # Revoking undoes an invitation: allowed exactly to those who could have issued it.
    my_role = await ctx.role_in(org_id)
    assert my_role is not None  # the permission class checked membership
    invited = Role(invite["role"])
    if invited.rank > my_role.rank or (
        invited in (Role.OWNER, Role.ADMIN) and my_role is not Role.OWNER
    ):
        raise forbidden("Only an OWNER revokes invitations of OWNERs and ADMINs")
    if invitation_status(invite) != "PENDING":
        raise bad_input("Only pending invitations can be revoked")
    try:
        await ctx.store.transact(
            [
                transact.update(
                    keys.invitation(org_id, iid),
                    "SET #s = :revoked",
                    names={"#s": "status"},
                    values={":revoked": "REVOKED", ":p": "PENDING"},
                    condition="#s = :p",
                ),
                entry_op(
                    ctx, org_id, "invitation.revoked", "Invitation", iid, {"email": invite["email"]}
                ),
            ]
        )
    except ConditionFailed as exc:
        raise conflict("The invitation changed meanwhile") from exc
    return {**invite, "status": "REVOKED"}


# members --------------------------------------------------------------------
async def _target_member(ctx: Context, org_id: str, uid: str) -> tuple[Item, Role]:
    target = await repo.get_member(ctx, org_id, uid)
    if target is None:
        raise not_found("Member")
    my_role = await ctx.role_in(org_id)
    assert my_role is not None
    return target, my_role


def _owner_count_op(org_id: str, delta: int) -> dict[str, Any]:
    if delta < 0:
        return transact.update(
            keys.org(org_id),
            "ADD ownerCount :d",
            values={":d": delta, ":one": 1},
            condition="ownerCount > :one",
        )
    return transact.update(keys.org(org_id), "ADD ownerCount :d", values={":d": delta})


async def update_member_role(ctx: Context, org_id: str, uid: str, role: Role) -> Item:
    target, my_role = await _target_member(ctx, org_id, uid)
    current = Role(target["role"])
    if role.rank > my_role.rank:
        raise forbidden("You cannot grant a role above your own")
    if Role.OWNER in (current, role) or Role.ADMIN in (current, role):
        if my_role is not Role.OWNER:
            raise forbidden("Only an OWNER changes OWNER and ADMIN roles")
    # After the checks: whether a call is allowed must not depend on the target's current role.
    if current is role:
        return target
    ops = [
        transact.update(
            keys.member(org_id, uid),
            "SET #r = :new, #v = #v + :one",
            names={"#r": "role", "#v": "version"},
            values={":new": role.value, ":old": current.value, ":one": 1},
            condition="#r = :old",
        ),
        entry_op(
            ctx,
            org_id,
            "member.role_updated",
            "Member",
            uid,
            {"before": current.value, "after": role.value},
        ),
    ]
    if current is Role.OWNER:
        ops.append(_owner_count_op(org_id, -1))
    elif role is Role.OWNER:
        ops.append(_owner_count_op(org_id, 1))
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() == 2 and current is Role.OWNER:
            raise bad_input("The last OWNER cannot be demoted") from exc
        raise conflict("The member changed meanwhile; retry") from exc
    ctx.forget(keys.member(org_id, uid))
    if uid == ctx.user_id:
        ctx.forget_role(org_id)
    await _membership_changed(ctx, org_id, uid, role)
    return {**target, "role": role.value, "version": target.get("version", 1) + 1}


async def remove_member(ctx: Context, org_id: str, uid: str) -> Item:
    target, my_role = await _target_member(ctx, org_id, uid)
    current = Role(target["role"])
    leaving = uid == ctx.user_id
    if not leaving:
        if not my_role.at_least(Role.ADMIN):
            raise forbidden("Requires the ADMIN role or above in this organization")
        if current in (Role.OWNER, Role.ADMIN) and my_role is not Role.OWNER:
            raise forbidden("Only an OWNER removes OWNERs and ADMINs")
    counters = transact.update(keys.org(org_id), "ADD memberCount :d", values={":d": -1})
    if current is Role.OWNER:
        counters = transact.update(
            keys.org(org_id),
            "ADD memberCount :d, ownerCount :d",
            values={":d": -1, ":one": 1},
            condition="ownerCount > :one",
        )
    ops = [
        transact.delete(keys.member(org_id, uid), condition="attribute_exists(pk)"),
        counters,
        entry_op(ctx, org_id, "member.removed", "Member", uid, {"role": current.value}),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() == 1:
            raise bad_input("The last OWNER cannot be removed") from exc
        raise not_found("Member") from exc
    ctx.forget(keys.member(org_id, uid))
    ctx.forget_role(org_id)
    # After the commit: an ex-member must not keep team access (team assignments, runs).
    await teams_service.remove_from_all_teams(ctx, org_id, uid)
    await _membership_changed(ctx, org_id, uid, None)
    return target


async def _membership_changed(ctx: Context, org_id: str, uid: str, role: Role | None) -> None:
    """After the commit: that user's open subscriptions in the org re-check their access
    (live revocation, graphql_api/subscriptions/stream.py). Never raises."""
    event = {"orgId": org_id, "userId": uid, "role": role.value if role else None}
    await ctx.hub.publish(channels.member(org_id, uid), json.dumps(event))

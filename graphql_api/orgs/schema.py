"""Organization queries and mutations, with their access rules."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.context import Context
from graphql_api.orgs import repository as repo
from graphql_api.orgs import service
from graphql_api.orgs.inputs import (
    CreateOrganizationInput,
    InviteMemberInput,
    UpdateOrganizationInput,
)
from graphql_api.orgs.types import Invitation, InvitationPayload, Member, Membership, Organization
from graphql_api.rbac.permissions import IsUser, org_role
from graphql_api.rbac.roles import Role


@strawberry.type
class Query:
    @strawberry.field(
        description="An organization the caller belongs to (others are NOT_FOUND).",
        permission_classes=[org_role(Role.VIEWER, "id")],
    )
    async def organization(self, info: Info[Context, Any], id: strawberry.ID) -> Organization:
        gid = decode_in_org(info.context, id, "Organization")
        return Organization.from_item(await service.require_org(info.context, gid.org_id))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create an organization on the FREE plan; the caller becomes OWNER.",
        permission_classes=[IsUser],
    )
    async def create_organization(
        self, info: Info[Context, Any], input: CreateOrganizationInput
    ) -> Organization:
        item = await service.create_organization(info.context, input.name, input.slug)
        return Organization.from_item(item)

    @strawberry.mutation(
        description="Rename an organization (ADMIN+) or change its plan (OWNER).",
        permission_classes=[IsUser, org_role(Role.ADMIN, "input.id")],
    )
    async def update_organization(
        self, info: Info[Context, Any], input: UpdateOrganizationInput
    ) -> Organization:
        gid = decode_in_org(info.context, input.id, "Organization")
        item = await service.update_organization(info.context, gid.org_id, input.name, input.plan)
        return Organization.from_item(item)

    @strawberry.mutation(
        description="Invite a person by email; returns a one-time token (ADMIN+).",
        permission_classes=[IsUser, org_role(Role.ADMIN, "input.org_id")],
    )
    async def invite_member(
        self, info: Info[Context, Any], input: InviteMemberInput
    ) -> InvitationPayload:
        gid = decode_in_org(info.context, input.org_id, "Organization")
        item, token = await service.invite_member(info.context, gid.org_id, input.email, input.role)
        return InvitationPayload(invitation=Invitation.from_item(item), token=token)

    @strawberry.mutation(
        description="Join with an invitation token sent to the caller's email.",
        permission_classes=[IsUser],
    )
    async def accept_invitation(self, info: Info[Context, Any], token: str) -> Membership:
        return Membership.from_item(await service.accept_invitation(info.context, token))

    @strawberry.mutation(
        description="Revoke a pending invitation (ADMIN+).",
        permission_classes=[IsUser, org_role(Role.ADMIN, "id")],
    )
    async def revoke_invitation(self, info: Info[Context, Any], id: strawberry.ID) -> Invitation:
        gid = decode_in_org(info.context, id, "Invitation")
        return Invitation.from_item(
            await service.revoke_invitation(info.context, gid.org_id, gid.id)
        )

    @strawberry.mutation(
        description=(
            "Change a member's role (ADMIN+; never above your own; only an OWNER touches "
            "OWNER and ADMIN roles; the last OWNER stays)."
        ),
        permission_classes=[IsUser, org_role(Role.ADMIN, "member_id")],
    )
    async def update_member_role(
        self, info: Info[Context, Any], member_id: strawberry.ID, role: Role
    ) -> Member:
        gid = decode_in_org(info.context, member_id, "Member")
        item = await service.update_member_role(info.context, gid.org_id, gid.id, role)
        return Member.from_item(item)

    @strawberry.mutation(
        description="Remove a member (ADMIN+), or leave (yourself). The last OWNER stays.",
        permission_classes=[IsUser, org_role(Role.VIEWER, "member_id")],
    )
    async def remove_member(self, info: Info[Context, Any], member_id: strawberry.ID) -> Member:
        gid = decode_in_org(info.context, member_id, "Member")
        return Member.from_item(await service.remove_member(info.context, gid.org_id, gid.id))


async def _org_node(ctx: Context, gid: GlobalId) -> Organization | None:
    item = await repo.get_org(ctx, gid.org_id)
    return Organization.from_item(item) if item else None


async def _member_node(ctx: Context, gid: GlobalId) -> Member | None:
    item = await repo.get_member(ctx, gid.org_id, gid.id)
    return Member.from_item(item) if item else None


async def _invitation_node(ctx: Context, gid: GlobalId) -> Invitation | None:
    if not await ctx.has_role(gid.org_id, Role.ADMIN):
        return None
    item = await repo.get_invitation(ctx, gid.org_id, gid.id)
    return Invitation.from_item(item) if item else None


register_node("Organization", _org_node)
register_node("Member", _member_node)
register_node("Invitation", _invitation_node)

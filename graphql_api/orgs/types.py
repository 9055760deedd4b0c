"""GraphQL types of organizations, members and invitations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from graphql_api.apikeys.types import ApiKey, api_keys_connection
from graphql_api.audit import service as audit_service
from graphql_api.audit.types import AuditEntry
from graphql_api.checklists.types import Checklist, checklists_connection
from graphql_api.common.ids import to_global_id
from graphql_api.common.time import iso
from graphql_api.common.types import Connection, Long, Node, connection
from graphql_api.context import Context
from graphql_api.orgs import repository as repo
from graphql_api.orgs import service
from graphql_api.orgs.plans import Plan, limits_of
from graphql_api.rbac.permissions import org_role
from graphql_api.rbac.roles import Role
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size
from graphql_api.teams.types import Team, teams_connection

if TYPE_CHECKING:
    from graphql_api.assignments.types import Assignment, AssignmentStatus
    from graphql_api.runs.types import Run


@strawberry.type(description="What the organization's plan allows (null: unlimited).")
class PlanLimits:
    max_members: int | None = strawberry.field(description="Members allowed.")
    max_checklists: int | None = strawberry.field(description="Checklists allowed.")
    max_storage_bytes: Long | None = strawberry.field(description="File storage allowed.")
    max_file_bytes: Long | None = strawberry.field(description="Largest single file.")


@strawberry.type(description="What the organization uses now.")
class Usage:
    members: int = strawberry.field(description="Current members.")
    checklists: int = strawberry.field(description="Checklists (not archived).")
    storage_bytes: Long = strawberry.field(description="Bytes of stored files.")


class CanSeeMemberEmail(org_role(Role.ADMIN)):  # type: ignore[misc]
    """ADMIN+ and the member themself see a member's email."""

    async def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        if info.context.principal and source.user_id == info.context.principal.id:
            return True
        allowed: bool = await super().has_permission(source, info, **kwargs)
        return allowed


@strawberry.type(description="A person's membership of an organization.")
class Member(Node):
    org_id: strawberry.Private[str]
    user_id: str = strawberry.field(description="The member's user ID (token `sub`).")
    name: str | None = strawberry.field(description="Display name.")
    role: Role = strawberry.field(description="Role in the organization.")
    joined_at: datetime = strawberry.field(description="When they joined.")
    email: str | None = strawberry.field(
        description="Email; visible to ADMIN+ and to the member, null for others.",
        extensions=[PermissionExtension([CanSeeMemberEmail()], fail_silently=True)],
    )

    @classmethod
    def from_item(cls, item: Item) -> Member:
        return cls(
            id=strawberry.ID(to_global_id("Member", item["orgId"], item["userId"])),
            org_id=item["orgId"],
            user_id=item["userId"],
            name=item.get("name"),
            role=Role(item["role"]),
            joined_at=datetime.fromisoformat(item["joinedAt"]),
            email=item.get("email"),
        )


@strawberry.enum(description="State of an invitation (EXPIRED is derived at read time).")
class InvitationStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="An invitation to join an organization.")
class Invitation(Node):
    org_id: strawberry.Private[str]
    email: str = strawberry.field(description="Who is invited.")
    role: Role = strawberry.field(description="Role they get when accepting.")
    status: InvitationStatus = strawberry.field(description="Current state.")
    invited_by: str = strawberry.field(description="User ID of the inviter.")
    created_at: datetime = strawberry.field(description="When it was sent.")
    expires_at: datetime = strawberry.field(description="When it stops working.")

    @classmethod
    def from_item(cls, item: Item) -> Invitation:
        return cls(
            id=strawberry.ID(to_global_id("Invitation", item["orgId"], item["id"])),
            org_id=item["orgId"],
            email=item["email"],
            role=Role(item["role"]),
            status=InvitationStatus(service.invitation_status(item)),
            invited_by=item["invitedBy"],
            created_at=datetime.fromisoformat(item["createdAt"]),
            expires_at=datetime.fromisoformat(item["expiresAt"]),
        )


@strawberry.type(description="A tenant: members, teams, checklists, runs and their audit log.")
class Organization(Node):
    org_id: strawberry.Private[str]
    item: strawberry.Private[Item]
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Unique, URL-safe name.")
    plan: Plan = strawberry.field(description="Current plan.")
    created_at: datetime = strawberry.field(description="When it was created.")
    version: int = strawberry.field(description="Optimistic-concurrency version.")

    @classmethod
    def from_item(cls, item: Item) -> Organization:
        return cls(
            id=strawberry.ID(to_global_id("Organization", item["id"], item["id"])),
            org_id=item["id"],
            item=item,
            name=item["name"],
            slug=item["slug"],
            plan=Plan(item["plan"]),
            created_at=datetime.fromisoformat(item["createdAt"]),
            version=item.get("version", 1),
        )

    @strawberry.field(description="Limits of the current plan.")
    def limits(self) -> PlanLimits:
        lim = limits_of(self.plan)
        return PlanLimits(
            max_members=lim.members,
            max_checklists=lim.checklists,
            max_storage_bytes=lim.storage_bytes,  # type: ignore[arg-type]
            max_file_bytes=lim.max_file_bytes,  # type: ignore[arg-type]
        )

    @strawberry.field(description="Current usage against the limits.")
    def usage(self) -> Usage:
        return Usage(
            members=self.item.get("memberCount", 0),
            checklists=self.item.get("checklistCount", 0),
            storage_bytes=self.item.get("storageBytes", 0),
        )

    @strawberry.field(description="The caller's role here.")
    async def viewer_role(self, info: Info[Context, Any]) -> Role | None:
        return await info.context.role_in(self.org_id)

    @strawberry.field(description="Members, in user-ID order.")
    async def members(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Member]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:members"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_members(ctx, self.org_id, size + 1, start)
        return connection(page, size, Member.from_item, ctx.cursors, scope)

    @strawberry.field(
        description="Partner API keys (ADMIN+).", permission_classes=[org_role(Role.ADMIN)]
    )
    async def api_keys(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        return await api_keys_connection(info.context, self.org_id, first, after)

    @strawberry.field(description="Teams, in ID order.")
    async def teams(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Team]:
        return await teams_connection(info.context, self.org_id, first, after)

    @strawberry.field(description="Checklists of every status, in ID order.")
    async def checklists(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Checklist]:
        return await checklists_connection(info.context, self.org_id, first, after)

    @strawberry.field(
        description=(
            "Assignments by due time; filter by status (OVERDUE derived), assignee (Member "
            "ID), team and due range (inclusive)."
        )
    )
    async def assignments(
        self,
        info: Info[Context, Any],
        status: Annotated[AssignmentStatus, strawberry.lazy("graphql_api.assignments.types")]
        | None = None,
        assignee_id: strawberry.ID | None = None,
        team_id: strawberry.ID | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Assignment, strawberry.lazy("graphql_api.assignments.types")]]:
        from graphql_api.assignments.schema import org_assignments

        return await org_assignments(
            info.context,
            self.org_id,
            status,
            assignee_id,
            team_id,
            due_after,
            due_before,
            first,
            after,
        )

    @strawberry.field(description="Runs, newest first.")
    async def runs(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Run, strawberry.lazy("graphql_api.runs.types")]]:
        from graphql_api.runs.types import org_runs

        return await org_runs(info.context, self.org_id, first, after)

    @strawberry.field(
        description="Invitations (ADMIN+).", permission_classes=[org_role(Role.ADMIN)]
    )
    async def invitations(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Invitation]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:invitations"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_invitations(ctx, self.org_id, size + 1, start)
        return connection(page, size, Invitation.from_item, ctx.cursors, scope)

    @strawberry.field(
        description="Audit log, newest first (ADMIN+). Filter by time range, actor, entity.",
        permission_classes=[org_role(Role.ADMIN)],
    )
    async def audit_log(
        self,
        info: Info[Context, Any],
        first: int | None = None,
        after: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        actor_id: str | None = None,
        entity_id: str | None = None,
    ) -> Connection[AuditEntry]:
        ctx = info.context
        page, size, scope, index = await audit_service.list_entries(
            ctx,
            self.org_id,
            first=first,
            after=after,
            since=iso(since) if since else None,
            until=iso(until) if until else None,
            actor_id=actor_id,
            entity_id=entity_id,
        )
        return connection(page, size, AuditEntry.from_item, ctx.cursors, scope, index)


@strawberry.type(description="The caller's membership of one organization.")
class Membership:
    org_id: strawberry.Private[str]
    role: Role = strawberry.field(description="The caller's role there.")
    joined_at: datetime = strawberry.field(description="When the caller joined.")

    @strawberry.field(description="The organization.")
    async def organization(self, info: Info[Context, Any]) -> Organization:
        item = await service.require_org(info.context, self.org_id)
        return Organization.from_item(item)

    @classmethod
    def from_item(cls, item: Item) -> Membership:
        return cls(
            org_id=item["orgId"],
            role=Role(item["role"]),
            joined_at=datetime.fromisoformat(item["joinedAt"]),
        )


@strawberry.type(description="A new invitation and its one-time token.")
class InvitationPayload:
    invitation: Invitation = strawberry.field(description="The invitation.")
    token: str = strawberry.field(
        description="Give this to the invitee; it is shown only once (acceptInvitation)."
    )

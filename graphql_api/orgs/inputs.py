"""Inputs of the organization mutations."""

from __future__ import annotations

import strawberry

from graphql_api.orgs.plans import Plan
from graphql_api.rbac.roles import Role


@strawberry.input(description="A new organization; the caller becomes its OWNER.")
class CreateOrganizationInput:
    name: str = strawberry.field(description="Display name (1-100 characters).")
    slug: str = strawberry.field(description="Unique URL name: 3-40 of a-z, 0-9 and dashes.")


@strawberry.input(description="Changes to an organization (ADMIN+; plan: OWNER).")
class UpdateOrganizationInput:
    id: strawberry.ID = strawberry.field(description="The organization.")
    name: str | None = strawberry.field(default=None, description="New name.")
    plan: Plan | None = strawberry.field(default=None, description="New plan (OWNER only).")


@strawberry.input(description="Invite someone by email (ADMIN+, never above your role).")
class InviteMemberInput:
    org_id: strawberry.ID = strawberry.field(description="The organization.")
    email: str = strawberry.field(description="Invitee's email; must match their token.")
    role: Role = strawberry.field(description="Role given on acceptance.")

"""Inputs of the API key mutations."""

from __future__ import annotations

import strawberry

from graphql_api.rbac.roles import Role


@strawberry.input(description="A new partner API key (ADMIN+).")
class CreateApiKeyInput:
    org_id: strawberry.ID = strawberry.field(description="The organization the key acts in.")
    name: str = strawberry.field(description="What the key is for (1-100 characters).")
    role: Role = strawberry.field(description="The key's fixed role: MANAGER or below.")
    manifest: str = strawberry.field(
        description=(
            "Client name of a manifest registered with registerPersistedQueryManifest: "
            "the key may run only its operations."
        )
    )

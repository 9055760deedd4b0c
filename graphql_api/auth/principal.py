"""Who is calling: a user from a token, or a partner API key acting in one organization."""

from __future__ import annotations

from dataclasses import dataclass

from graphql_api.rbac.roles import Role


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Identity only: user roles come from DynamoDB memberships."""

    id: str
    email: str | None = None
    name: str | None = None
    # Set for partner API keys: the key acts in this org with this fixed role.
    api_key_id: str | None = None
    api_key_org: str | None = None
    api_key_role: Role | None = None

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def rate_key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.id}"

"""Organization roles and their order."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="A member's role in an organization, strongest first.")
class Role(Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    MEMBER = "MEMBER"
    VIEWER = "VIEWER"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.MANAGER: 3, Role.ADMIN: 4, Role.OWNER: 5}

"""Plans and their limits (None = unlimited)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import strawberry

GB = 1024**3
MB = 1024**2


@strawberry.enum(description="Subscription plan of an organization.")
class Plan(Enum):
    FREE = "FREE"
    STARTER = "STARTER"
    PROFESSIONAL = "PROFESSIONAL"
    ENTERPRISE = "ENTERPRISE"


@dataclass(frozen=True)
class Limits:
    """What a plan allows."""

    members: int | None
    checklists: int | None
    storage_bytes: int | None
    max_file_bytes: int | None
    requests_per_minute: int


LIMITS: dict[Plan, Limits] = {
    Plan.FREE: Limits(5, 10, 100 * MB, 10 * MB, 300),
    Plan.STARTER: Limits(25, 100, 5 * GB, 50 * MB, 1_200),
    Plan.PROFESSIONAL: Limits(100, 1000, 50 * GB, 200 * MB, 6_000),
    Plan.ENTERPRISE: Limits(None, None, None, 1 * GB, 30_000),
}


def limits_of(plan: str | Plan) -> Limits:
    return LIMITS[Plan(plan) if isinstance(plan, str) else plan]

"""Channel names (org-scoped, see DESIGN.md "Real time"). Build them here only."""

from __future__ import annotations


def run(org_id: str, run_id: str) -> str:
    return f"org:{org_id}:run:{run_id}"


def presence(org_id: str, entity_id: str) -> str:
    return f"org:{org_id}:presence:{entity_id}"


def notifications(user_id: str) -> str:
    return f"user:{user_id}:notifications"


def assignments(org_id: str) -> str:
    return f"org:{org_id}:assignments"


def member(org_id: str, user_id: str) -> str:
    return f"org:{org_id}:member:{user_id}"

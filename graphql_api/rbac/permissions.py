"""Declarative access rules: Strawberry permission classes used on fields and mutations.

An org-scoped rule finds the organization from the field's source (`org_id`) or from a
global-ID argument. A caller who is not a member gets NOT_FOUND, exactly like a missing
object; a member below the required role gets FORBIDDEN.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from graphql_api.common.ids import from_global_id
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, not_found
from graphql_api.rbac.roles import Role


class IsAuthenticated(BasePermission):
    """The caller presented a valid token (or API key)."""

    message = "Authentication required"
    error_extensions = {"code": ErrorCode.UNAUTHENTICATED.value}

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        info.context.require_principal()
        return True


class IsUser(BasePermission):
    """A signed-in person (partner API keys cannot use this field)."""

    message = "Only users can do this, not API keys"
    error_extensions = {"code": ErrorCode.FORBIDDEN.value}

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return not info.context.require_principal().is_api_key


def _lookup(kwargs: dict[str, Any], path: str) -> Any:
    value: Any = kwargs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if value is None:
            return None
    return value


def org_of(source: Any, kwargs: dict[str, Any], arg: str | None) -> tuple[str, str]:
    """(org_id, type name for the NOT_FOUND message) from the source or a global-ID arg."""
    if arg is None:
        org_id = getattr(source, "org_id", None)
        if not isinstance(org_id, str):
            raise AppError(ErrorCode.INTERNAL_SERVER_ERROR, "Permission without organization")
        return org_id, type(source).__name__
    raw = _lookup(kwargs, arg)
    if not isinstance(raw, str):
        raise AppError(ErrorCode.BAD_USER_INPUT, f"{arg} is required")
    gid = from_global_id(raw)
    if not gid.org_id:
        raise not_found(gid.type_name)
    return gid.org_id, gid.type_name


@cache
def org_role(min_role: Role, arg: str | None = None) -> type[BasePermission]:
    """A permission class requiring `min_role` in the organization of `arg` (or the source)."""

    class OrgRolePermission(BasePermission):
        message = f"Requires the {min_role.value} role or above in this organization"
        error_extensions = {"code": ErrorCode.FORBIDDEN.value}

        async def has_permission(
            self, source: Any, info: Info[Context, Any], **kwargs: Any
        ) -> bool:
            ctx = info.context
            ctx.require_principal()
            org_id, type_name = org_of(source, kwargs, arg)
            role = await ctx.role_in(org_id)
            if role is None:
                raise not_found(type_name)
            return role.at_least(min_role)

    OrgRolePermission.__name__ = f"Requires{min_role.value.title()}On{arg or 'Source'}"
    return OrgRolePermission

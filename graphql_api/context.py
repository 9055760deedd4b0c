"""The per-request (or per-WebSocket-operation) context every resolver receives."""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from graphql_api.auth.principal import Principal
from graphql_api.errors import AppError, ErrorCode
from graphql_api.rbac.roles import Role
from graphql_api.settings import Settings
from graphql_api.store import keys
from graphql_api.store.client import Store
from graphql_api.store.codec import Item
from graphql_api.store.loaders import ItemKey, as_item_key, item_loader
from graphql_api.store.pagination import CursorCodec

if TYPE_CHECKING:
    from graphql_api.auth.jwt import TokenVerifier
    from graphql_api.realtime.broadcast import EventHub


def _request_id_source() -> Iterator[str]:
    # A random per-process prefix and a counter: unique across replicas, and far cheaper
    # than a uuid4 per request on the hot path.
    prefix = secrets.token_hex(4)
    return (f"{prefix}{n:08x}" for n in itertools.count(1))


_request_ids = _request_id_source()


@dataclass
class Resources:
    """Process-wide resources opened in the app's lifespan."""

    settings: Settings
    store: Store
    hub: EventHub
    cursors: CursorCodec
    verifier: TokenVerifier
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What resolvers see as `info.context`."""

    resources: Resources
    principal: Principal | None = None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    request_id: str = field(default_factory=lambda: next(_request_ids))
    connection_params: dict[str, Any] | None = None
    _loader: DataLoader[ItemKey, Item | None] | None = field(default=None, init=False)
    _roles: dict[str, Role | None] = field(default_factory=dict, init=False)

    @property
    def loader(self) -> DataLoader[ItemKey, Item | None]:
        # Created on first use: most operations that touch no item never pay for it.
        if self._loader is None:
            self._loader = item_loader(self.resources.store)
        return self._loader

    @property
    def settings(self) -> Settings:
        return self.resources.settings

    @property
    def store(self) -> Store:
        return self.resources.store

    @property
    def hub(self) -> EventHub:
        return self.resources.hub

    @property
    def cursors(self) -> CursorCodec:
        return self.resources.cursors

    def fresh(self) -> Context:
        """A copy with empty caches (each subscription event executes with fresh data)."""
        return Context(
            resources=self.resources,
            principal=self.principal,
            auth_error=self.auth_error,
            request=self.request,
            response=self.response,
            request_id=self.request_id,
        )

    async def load(self, key: keys.Key) -> Item | None:
        return await self.loader.load(as_item_key(key))

    async def load_many(self, key_list: list[keys.Key]) -> list[Item | None]:
        return list(await self.loader.load_many([as_item_key(k) for k in key_list]))

    def forget_all(self) -> None:
        """Drop every cached item, and the loader itself (the next load makes a new one): an
        idle subscription keeps none of it."""
        self._loader = None

    def forget(self, key: keys.Key) -> None:
        """Drop a cached item after this request changed it."""
        with contextlib.suppress(KeyError):
            self.loader.clear(as_item_key(key))

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise AppError(ErrorCode.UNAUTHENTICATED, self.auth_error or "Authentication required")
        return self.principal

    @property
    def user_id(self) -> str:
        return self.require_principal().id

    async def role_in(self, org_id: str) -> Role | None:
        """The caller's role in an org (membership from DynamoDB, cached for the request)."""
        principal = self.principal
        if principal is None:
            return None
        if principal.is_api_key:
            return principal.api_key_role if principal.api_key_org == org_id else None
        if org_id not in self._roles:
            item = await self.load(keys.member(org_id, principal.id))
            self._roles[org_id] = Role(item["role"]) if item else None
        return self._roles[org_id]

    async def has_role(self, org_id: str, minimum: Role) -> bool:
        """True when the caller is a member of the org with `minimum` or a stronger role."""
        role = await self.role_in(org_id)
        return role is not None and role.at_least(minimum)

    def forget_role(self, org_id: str) -> None:
        self._roles.pop(org_id, None)
        if self.principal is not None:
            self.forget(keys.member(org_id, self.principal.id))

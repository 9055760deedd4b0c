"""What every subscription shares: an inbox on its channels, its registration with the
connection, and live revocation (it watches `org:<org>:member:<user>` and re-reads the
membership from DynamoDB whenever something is published there)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, forbidden, not_found
from graphql_api.metrics import ACTIVE_SUBSCRIPTIONS
from graphql_api.rbac.roles import Role
from graphql_api.realtime import channels
from graphql_api.store import keys
from graphql_api.subscriptions.connection import connection_of
from graphql_api.subscriptions.fanout import (
    Delivery,
    Feeds,
    Inbox,
    InboxOverflow,
    SequencerFactory,
)


class StreamClosed(Exception):
    """The server is shutting down: the subscription completes."""


def feeds_of(ctx: Context) -> Feeds:
    feeds: Feeds = ctx.resources.extras["feeds"]
    return feeds


async def current_role(ctx: Context, org_id: str) -> Role | None:
    """The caller's role now, read consistently (a revocation just committed)."""
    principal = ctx.require_principal()
    if principal.is_api_key:
        return principal.api_key_role if principal.api_key_org == org_id else None
    item = await ctx.store.get(keys.member(org_id, principal.id), consistent=True)
    return Role(item["role"]) if item else None


class LiveStream:
    """A subscription's view of its channels (use `open_stream`)."""

    def __init__(self, ctx: Context, inbox: Inbox, org_id: str | None, min_role: Role) -> None:
        self.ctx = ctx
        self.inbox = inbox
        self.org_id = org_id
        self.min_role = min_role
        self.role: Role | None = None
        self.revoked = False
        principal = ctx.require_principal()
        self.member_channel = (
            channels.member(org_id, principal.id)
            if org_id is not None and not principal.is_api_key
            else None
        )

    async def check_access(self, what: str) -> Role:
        """Raises NOT_FOUND for a non-member, FORBIDDEN below `min_role`."""
        assert self.org_id is not None
        self.role = await current_role(self.ctx, self.org_id)
        if self.role is None:
            raise not_found(what)
        if not self.role.at_least(self.min_role):
            raise forbidden(f"Requires the {self.min_role.value} role or above")
        return self.role

    async def next(self) -> Delivery:
        """The next delivery of a subscribed channel; membership changes are handled here."""
        while True:
            # Each event sees current data, not what setup or the last event loaded; and an
            # idle subscription keeps none of it.
            self.ctx.forget_all()
            try:
                delivery = await self.inbox.get()
            except InboxOverflow as exc:
                raise AppError(ErrorCode.LIMIT_EXCEEDED, f"Slow consumer: {exc}") from exc
            if delivery.closed:
                raise StreamClosed
            if delivery.channel == self.member_channel:
                await self._recheck()
                continue
            return delivery

    async def _recheck(self) -> None:
        assert self.org_id is not None
        # Roles only change with a message here: drop the connection's cached one.
        self.ctx.forget_role(self.org_id)
        role = await current_role(self.ctx, self.org_id)
        self.role = role
        if role is None or not role.at_least(self.min_role):
            self.revoked = True
            raise forbidden("Your access to this organization was revoked or reduced")


@asynccontextmanager
async def open_stream(
    ctx: Context,
    stream_channels: Sequence[str],
    *,
    org_id: str | None = None,
    min_role: Role = Role.VIEWER,
    sequencers: dict[str, SequencerFactory] | None = None,
) -> AsyncIterator[LiveStream]:
    """Entered once every channel (and the membership channel for `org_id`) is subscribed,
    so the caller reads its source of truth afterwards and misses nothing."""
    conn = connection_of(ctx)
    inbox = Inbox(
        ctx.settings.subscription_queue_size, conn.slow_consumer if conn is not None else None
    )
    stream = LiveStream(ctx, inbox, org_id, min_role)
    watched = list(stream_channels)
    if stream.member_channel is not None:
        watched.append(stream.member_channel)
    if conn is not None:
        conn.subscription_started()
    ACTIVE_SUBSCRIPTIONS.inc()
    try:
        async with feeds_of(ctx).attach(inbox, watched, sequencers):
            yield stream
    finally:
        ACTIVE_SUBSCRIPTIONS.dec()
        if conn is not None:
            conn.subscription_ended(stream.revoked)

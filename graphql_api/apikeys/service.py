"""Business rules of partner API keys.

The secret is shown once and only its SHA-256 is stored (secrets are 256 random bits, so a
fast hash is enough). Revoking deletes the lookup item, which is what authentication reads:
a revoked key stops working on the next request.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from datetime import timedelta

from graphql_api.apikeys import repository as repo
from graphql_api.audit.service import entry_op
from graphql_api.auth.service import API_KEY_PREFIX, hash_api_secret
from graphql_api.common.ids import new_id
from graphql_api.common.time import iso, now_iso, utcnow
from graphql_api.context import Context
from graphql_api.errors import bad_input, conflict, not_found
from graphql_api.persisted import service as persisted
from graphql_api.rbac.roles import Role
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed

log = logging.getLogger(__name__)

MAX_KEY_ROLE = Role.MANAGER
# Last use is written at most this often per key (a busy key must not write on every call).
LAST_USE_INTERVAL = timedelta(minutes=1)
_recent_use: OrderedDict[str, float] = OrderedDict()
_RECENT_USE_SIZE = 10_000


def _name(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= 100:
        raise bad_input("name must be 1 to 100 characters", argument="name")
    return value


async def create_api_key(
    ctx: Context, org_id: str, name: str, role: Role, client: str
) -> tuple[Item, str]:
    """A new key and its secret (returned once, never stored)."""
    name = _name(name)
    if role.rank > MAX_KEY_ROLE.rank:
        raise bad_input(f"An API key's role is at most {MAX_KEY_ROLE.value}", argument="role")
    client = persisted.check_client_name(client)
    if await persisted.find_manifest(ctx, org_id, client) is None:
        raise bad_input(
            f"No persisted query manifest is registered for client {client!r}",
            argument="manifest",
        )
    kid = new_id()
    secret = f"{API_KEY_PREFIX}_{kid}_{secrets.token_urlsafe(32)}"
    item = repo.key_item(org_id, kid, name, role.value, client, ctx.user_id, now_iso())
    await ctx.store.transact(
        [
            transact.put_new(item),
            transact.put_new(repo.lookup_item(item, hash_api_secret(secret))),
            entry_op(
                ctx,
                org_id,
                "api_key.created",
                "ApiKey",
                kid,
                {"name": name, "role": role.value, "manifest": client},
            ),
        ]
    )
    return item, secret


async def revoke_api_key(ctx: Context, org_id: str, kid: str) -> Item:
    item = await repo.get_key(ctx, org_id, kid)
    if item is None:
        raise not_found("ApiKey")
    if item["status"] != "ACTIVE":
        raise bad_input("This API key is already revoked")
    at = now_iso()
    try:
        await ctx.store.transact(
            [
                transact.update(
                    keys.api_key(org_id, kid),
                    "SET #s = :revoked, revokedAt = :at, revokedBy = :by",
                    names={"#s": "status"},
                    values={
                        ":revoked": "REVOKED",
                        ":active": "ACTIVE",
                        ":at": at,
                        ":by": ctx.user_id,
                    },
                    condition="#s = :active",
                ),
                transact.delete(keys.api_key_lookup(kid)),
                entry_op(ctx, org_id, "api_key.revoked", "ApiKey", kid, {"name": item["name"]}),
            ]
        )
    except ConditionFailed as exc:
        raise conflict("The API key changed meanwhile") from exc
    ctx.forget(keys.api_key_lookup(kid))
    return {**item, "status": "REVOKED", "revokedAt": at, "revokedBy": ctx.user_id}


async def manifest_client_of(ctx: Context) -> str | None:
    """The manifest (client name) the calling API key is bound to."""
    principal = ctx.principal
    if principal is None or principal.api_key_id is None:
        return None
    lookup = await repo.get_lookup(ctx, principal.api_key_id)
    return lookup["clientName"] if lookup else None


async def record_use(ctx: Context) -> None:
    """Write the key's last use, at most once a LAST_USE_INTERVAL per key.

    The in-process throttle spares the write on a hot key; the condition keeps several
    replicas from writing more than about once an interval between them. Never raises: a
    lost last-use stamp must not fail the partner's request.
    """
    principal = ctx.principal
    if principal is None or principal.api_key_id is None or principal.api_key_org is None:
        return
    kid = principal.api_key_id
    now = time.monotonic()
    seen = _recent_use.get(kid)
    interval = LAST_USE_INTERVAL.total_seconds()
    if seen is not None and now - seen < interval:
        return
    _recent_use[kid] = now
    _recent_use.move_to_end(kid)
    while len(_recent_use) > _RECENT_USE_SIZE:
        _recent_use.popitem(last=False)
    at = utcnow()
    try:
        await ctx.store.update(
            keys.api_key(principal.api_key_org, kid),
            "SET lastUsedAt = :now",
            values={":now": iso(at), ":cutoff": iso(at - LAST_USE_INTERVAL)},
            condition=(
                "attribute_exists(pk) AND "
                "(attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)"
            ),
        )
    except ConditionFailed:
        pass
    except Exception as exc:
        log.warning("could not record the last use of API key %s: %r", kid, exc)

"""Business rules of persisted-query manifests.

A registration writes the manifest's operations under a fresh manifest id, then switches the
manifest's head to that id in one transaction with its audit entry. Lookups go through the
head, so a replaced manifest's operations stop running at the instant of the switch, a failed
registration changes nothing, and two concurrent registrations cannot mix their operations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import bad_input, conflict
from graphql_api.persisted import repository as repo
from graphql_api.persisted.apq import PERSISTED_QUERIES
from graphql_api.persisted.manifest import ManifestOperation, parse_manifest
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed

log = logging.getLogger(__name__)

CLIENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Parses and validates an operation against the schema (the schema's DocumentCache.get).
DocumentCheck = Callable[[str], tuple[DocumentNode | None, list[GraphQLError]]]


def check_client_name(client: str) -> str:
    client = client.strip()
    if not CLIENT_NAME_RE.match(client):
        raise bad_input(
            "clientName must be 1-64 letters, digits, dots, dashes or underscores",
            argument="clientName",
        )
    return client


def _check_operations(operations: list[ManifestOperation], check: DocumentCheck) -> None:
    """Every operation must run today: a typo found at registration, not by a partner."""
    for op in operations:
        document, errors = check(op.body)
        if document is None or errors:
            message = errors[0].message if errors else "cannot be parsed"
            raise bad_input(
                f"operation {op.name} ({op.id[:12]}...) is invalid: {message}",
                argument="manifest",
                operation=op.name,
            )
        kinds = {
            d.operation.value
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        if kinds != {op.type}:
            raise bad_input(
                f"operation {op.name} is declared as {op.type} but its body is not",
                argument="manifest",
                operation=op.name,
            )


async def find_manifest(ctx: Context, org_id: str, client: str) -> Item | None:
    """The client's current manifest head."""
    return await repo.get_manifest(ctx, org_id, client)


async def register_manifest(
    ctx: Context, org_id: str, client: str, raw: object, check: DocumentCheck
) -> Item:
    """Replace the client's manifest (create it the first time); audited."""
    client = check_client_name(client)
    operations = parse_manifest(raw)
    _check_operations(operations, check)
    current = await repo.get_manifest_consistent(ctx, org_id, client)
    manifest_id = new_id()
    at = now_iso()
    await repo.put_operations(
        ctx,
        [
            {
                **keys.manifest_operation(org_id, client, manifest_id, op.id),
                "entity": "PersistedOperation",
                "orgId": org_id,
                "clientName": client,
                "manifestId": manifest_id,
                "id": op.id,
                "name": op.name,
                "type": op.type,
                "body": op.body,
            }
            for op in operations
        ],
    )
    version = (current["version"] + 1) if current else 1
    head = {
        **keys.persisted_manifest(org_id, client),
        "entity": "PersistedQueryManifest",
        "orgId": org_id,
        "clientName": client,
        "manifestId": manifest_id,
        "version": version,
        "operationCount": len(operations),
        "registeredAt": at,
        "registeredBy": ctx.require_principal().id,
    }
    switch = (
        transact.put_new(head)
        if current is None
        else transact.put(
            head, "#v = :v", names={"#v": "version"}, values={":v": current["version"]}
        )
    )
    details = {"clientName": client, "operations": len(operations), "version": version}
    try:
        await ctx.store.transact(
            [
                switch,
                entry_op(
                    ctx,
                    org_id,
                    "persisted_manifest.registered",
                    "PersistedQueryManifest",
                    client,
                    details,
                ),
            ]
        )
    except ConditionFailed as exc:
        await _discard(ctx, org_id, client, manifest_id)
        raise conflict("The manifest was registered again meanwhile; retry") from exc
    ctx.forget(keys.persisted_manifest(org_id, client))
    if current is not None:
        await _discard(ctx, org_id, client, current["manifestId"])
    return head


async def _discard(ctx: Context, org_id: str, client: str, manifest_id: str) -> None:
    try:
        await repo.delete_operations(ctx, org_id, client, manifest_id)
    except Exception:
        # Unreachable leftovers are harmless; the next registration of the client retries.
        log.warning("could not delete operations of manifest %s/%s", client, manifest_id)


async def find_operation(ctx: Context, org_id: str, client: str, op_id: str) -> str | None:
    """The body of operation `op_id` of the client's current manifest, if it holds one."""
    head = await repo.get_manifest(ctx, org_id, client)
    if head is None:
        return None
    item = await repo.get_operation(ctx, org_id, client, head["manifestId"], op_id)
    PERSISTED_QUERIES.labels("manifest", "hit" if item else "miss").inc()
    return item["body"] if item else None

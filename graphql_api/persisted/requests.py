"""Which operation text a request runs: free-form, APQ, a safelisted id, or an API key's
manifest operation. Called by the view before anything executes.

Order of checks, so that nothing runs or is stored for a bad request:
1. the persisted-query part is well formed and a text sent with a hash matches the hash
   (else HTTP 400);
2. API keys run only operations of their manifest, named by id;
3. when the safelist is required, users run only first-party manifest operations;
4. otherwise free-form texts run, APQ stores texts by hash and answers known hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql_api.apikeys import service as apikeys
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode
from graphql_api.persisted import service
from graphql_api.persisted.apq import PERSISTED_QUERIES, ApqCache
from graphql_api.persisted.manifest import (
    ManifestOperation,
    load_manifest_file,
    normalize_document_id,
    sha256_hex,
)
from graphql_api.realtime.kv import KV
from graphql_api.settings import Settings, SettingsError

# Apollo's links recognise exactly this message and resend the query text.
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"


class BadPersistedRequest(Exception):
    """A malformed persisted-query request or a hash that does not match the text: HTTP 400,
    and nothing runs or is stored."""


@dataclass(frozen=True)
class PersistedRef:
    """The id a request names (a SHA-256), and whether it came through APQ's extension."""

    sha256: str | None
    apq: bool


def read_request(query: str | None, extensions: Any, document_id: Any) -> PersistedRef:
    """Check the persisted-query part of a request; raises BadPersistedRequest."""
    extensions = extensions if isinstance(extensions, dict) else {}
    named: list[str] = []
    apq = False
    pq = extensions.get("persistedQuery")
    if pq is not None:
        if not isinstance(pq, dict) or pq.get("version") != 1:
            raise BadPersistedRequest("Unsupported persisted query version")
        sha = normalize_document_id(pq.get("sha256Hash"))
        if sha is None:
            raise BadPersistedRequest("persistedQuery.sha256Hash must be a SHA-256 hex digest")
        named.append(sha)
        apq = True
    for raw in (document_id, extensions.get("documentId")):
        if raw is not None:
            sha = normalize_document_id(raw)
            if sha is None:
                raise BadPersistedRequest("documentId must be a SHA-256 hex digest")
            named.append(sha)
    if len(set(named)) > 1:
        raise BadPersistedRequest("The request names two different persisted queries")
    sha256 = named[0] if named else None
    if sha256 is not None and query is not None and sha256_hex(query) != sha256:
        raise BadPersistedRequest("provided sha does not match query")
    return PersistedRef(sha256, apq)


def not_allowed(message: str) -> AppError:
    return AppError(ErrorCode.PERSISTED_QUERY_NOT_ALLOWED, message)


class PersistedQueries:
    """The process's APQ cache and first-party safelist, and the resolution rules."""

    def __init__(self, settings: Settings) -> None:
        self.required = settings.safelist_required
        self.safelist: dict[str, ManifestOperation] = {}
        if settings.safelist_manifest:
            try:
                self.safelist = load_manifest_file(settings.safelist_manifest)
            except (OSError, AppError) as exc:
                detail = exc.message if isinstance(exc, AppError) else str(exc)
                raise SettingsError(f"SAFELIST_MANIFEST cannot be used: {detail}") from exc
        elif self.required:
            raise SettingsError("REQUIRE_SAFELIST needs SAFELIST_MANIFEST (the app's manifest)")
        self._ttl = settings.apq_ttl_seconds
        self._apq: ApqCache | None = None

    def attach(self, kv: KV) -> None:
        """Use the process's shared KV store (opened in the app's lifespan)."""
        self._apq = ApqCache(kv, ttl_seconds=self._ttl)

    @property
    def apq(self) -> ApqCache:
        if self._apq is None:
            raise RuntimeError("the app's lifespan has not started")
        return self._apq

    async def resolve(self, ctx: Context, query: str | None, ref: PersistedRef) -> str | None:
        """The text to execute; AppError PERSISTED_QUERY_NOT_FOUND / _NOT_ALLOWED otherwise."""
        principal = ctx.principal
        if principal is not None and principal.is_api_key:
            return await self._for_api_key(ctx, ref)
        if self.required:
            return self._from_safelist(query, ref)
        if ref.sha256 is None:
            return query
        if query is not None:
            if ref.apq:
                await self.apq.put(ref.sha256, query)
                PERSISTED_QUERIES.labels("apq", "registered").inc()
            return query
        known = self.safelist.get(ref.sha256)
        if known is not None:
            PERSISTED_QUERIES.labels("safelist", "hit").inc()
            return known.body
        text = await self.apq.get(ref.sha256)
        PERSISTED_QUERIES.labels("apq", "hit" if text is not None else "miss").inc()
        if text is None:
            raise AppError(ErrorCode.PERSISTED_QUERY_NOT_FOUND, NOT_FOUND_MESSAGE)
        return text

    async def _for_api_key(self, ctx: Context, ref: PersistedRef) -> str:
        if ref.sha256 is None:
            PERSISTED_QUERIES.labels("manifest", "not_allowed").inc()
            raise not_allowed("API keys may run only operations of their manifest, by id")
        principal = ctx.require_principal()
        client = await apikeys.manifest_client_of(ctx)
        body = (
            await service.find_operation(ctx, principal.api_key_org, client, ref.sha256)
            if client and principal.api_key_org
            else None
        )
        if body is None:
            PERSISTED_QUERIES.labels("manifest", "not_allowed").inc()
            raise not_allowed("This operation is not in the API key's manifest")
        return body

    def _from_safelist(self, query: str | None, ref: PersistedRef) -> str:
        # An exact text of a safelisted operation is as good as its id (as in Apollo's router).
        sha = ref.sha256 or (sha256_hex(query) if query is not None else None)
        known = self.safelist.get(sha) if sha else None
        PERSISTED_QUERIES.labels("safelist", "hit" if known else "not_allowed").inc()
        if known is None:
            raise not_allowed("Only safelisted operations may run here")
        return known.body

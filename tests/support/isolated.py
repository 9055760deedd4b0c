"""An app on a table of its own, for test modules that write a lot or need special settings.

moto deep-copies the whole table for every item of a TransactWriteItems (to roll back), so a
transaction costs time proportional to the table's size. Modules that create hundreds of
items keep them out of the session table, and the session table out of their way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from graphql_api.app import create_app
from graphql_api.context import Resources
from tests.conftest import create_storage, make_settings
from tests.support.graphql import GraphQLClient
from tests.support.moto_server import MotoServer


@dataclass
class IsolatedApp:
    """The app, an HTTP client on it, and its resources."""

    app: Starlette
    http: httpx.AsyncClient
    resources: Resources

    def client_for(self, sub: str | None, email: str | None = None) -> GraphQLClient:
        return GraphQLClient(self.http, sub, email)


@asynccontextmanager
async def isolated_app(
    moto: MotoServer, *, create_table: bool = True, **overrides: Any
) -> AsyncIterator[IsolatedApp]:
    """A fresh table (unless `create_table=False`: every DynamoDB call then fails)."""
    settings = make_settings(moto, **overrides)
    if create_table:
        await create_storage(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield IsolatedApp(app, http, app.state.resources)

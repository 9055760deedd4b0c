"""Session fixtures: a moto server, one table per session, the app over ASGI."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graphql_api.app import create_app
from graphql_api.context import Resources
from graphql_api.settings import Settings
from graphql_api.store.client import Store, StoreConfig
from tests.support.graphql import GraphQLClient
from tests.support.moto_server import MotoServer

# moto accepts any credentials; real ones must never be picked up by tests.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


def make_settings(moto: MotoServer, **overrides: Any) -> Settings:
    name = f"t-{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        "app_env": "test",
        "dynamodb_table": name,
        "s3_bucket": name,
        "aws_endpoint_url_dynamodb": moto.endpoint,
        "aws_endpoint_url_s3": moto.endpoint,
        **overrides,
    }
    return Settings(**values)


async def create_storage(settings: Settings) -> None:
    store = Store(
        StoreConfig(
            table=settings.dynamodb_table or "",
            bucket=settings.s3_bucket or "",
            region=settings.aws_region,
            dynamodb_endpoint=settings.aws_endpoint_url_dynamodb,
            s3_endpoint=settings.aws_endpoint_url_s3,
        )
    )
    await store.open()
    try:
        await store.create_table()
        await store.create_bucket()
    finally:
        await store.close()


@pytest.fixture(scope="session")
async def settings(moto: MotoServer) -> Settings:
    s = make_settings(moto)
    await create_storage(s)
    return s


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def resources(app: Starlette) -> Resources:
    res: Resources = app.state.resources
    return res


@pytest.fixture(scope="session")
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def client_for(http: httpx.AsyncClient) -> Callable[..., GraphQLClient]:
    def make(sub: str | None, email: str | None = None) -> GraphQLClient:
        return GraphQLClient(http, sub, email)

    return make


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"

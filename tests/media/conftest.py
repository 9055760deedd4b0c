"""The media tests run on an app with a table of its own, served by serial_moto (moto's
server, S3 included, with transactions rolled back item by item and serialized: the quota's
concurrency test needs transactions that are atomic towards each other)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graphql_api.context import Resources
from tests.support.domain_factories import Workspace, create_workspace
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.serial_moto import SerialMotoServer, serial_moto_fixture  # noqa: F401


@pytest.fixture(scope="package")
async def isolated(serial_moto: SerialMotoServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(serial_moto) as app:
        yield app


@pytest.fixture(scope="package")
def http(isolated: IsolatedApp) -> httpx.AsyncClient:
    return isolated.http


@pytest.fixture(scope="package")
def resources(isolated: IsolatedApp) -> Resources:
    return isolated.resources


@pytest.fixture(scope="package")
async def s3_http() -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client: what a browser does with the presigned POST and GET."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
async def workspace(isolated: IsolatedApp) -> Workspace:
    """An org (STARTER) with a published checklist (PHOTO item p1, at most 2 files)."""
    return await create_workspace(isolated.client_for)

"""This package's tests run on an app with a table of its own, served by fast_moto.

fast_moto rolls transactions back item by item, so a transaction costs the same however many
items the session table holds; a table of our own keeps these tests out of the others' way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graphql_api.context import Resources
from tests.support.fast_moto import FastMotoServer, fast_moto_fixture  # noqa: F401
from tests.support.isolated import IsolatedApp, isolated_app


@pytest.fixture(scope="package")
async def isolated(fast_moto: FastMotoServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(fast_moto) as app:
        yield app


@pytest.fixture(scope="package")
def http(isolated: IsolatedApp) -> httpx.AsyncClient:
    return isolated.http


@pytest.fixture(scope="package")
def resources(isolated: IsolatedApp) -> Resources:
    return isolated.resources

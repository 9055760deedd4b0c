"""This package runs on an app and table of its own (see tests.support.domain_factories);
the live test uses the shared two-replica cluster of tests.support.servers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.domain_factories import (  # noqa: F401
    fresh_fixture,
    http_fixture,
    isolated_fixture,
    resources_fixture,
    workspace_fixture,
)
from tests.support.moto_server import MotoServer
from tests.support.serial_moto import serial_moto_fixture  # noqa: F401
from tests.support.servers import AppCluster, close_shared_clusters, shared_cluster


@pytest.fixture(scope="package")
async def cluster(moto: MotoServer) -> AsyncIterator[AppCluster]:
    yield await shared_cluster(moto)
    await close_shared_clusters()

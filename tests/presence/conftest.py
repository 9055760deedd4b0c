from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.moto_server import MotoServer
from tests.support.servers import AppCluster, close_shared_clusters, shared_cluster


@pytest.fixture(scope="session")
async def cluster(moto: MotoServer) -> AsyncIterator[AppCluster]:
    """Two app processes on one table and one redis-server of their own."""
    yield await shared_cluster(moto)
    await close_shared_clusters()

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.servers import AppCluster, close_shared_clusters, shared_cluster


@pytest.fixture(scope="session")
async def cluster() -> AsyncIterator[AppCluster]:
    """Two app processes on one table, with a moto and a redis-server of their own."""
    yield await shared_cluster()
    await close_shared_clusters()

"""Replicas of the app as real processes: `python -m graphql_api serve` under uvicorn, sharing
one moto server (one table) and one redis-server, as in production behind a load balancer.

`AppCluster(moto, redis_url, replicas=2, **settings)` creates the table, starts the
processes and waits for /readyz; `stop(i)` / `kill(i)` / `start(i)` act on one replica.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import create_storage, make_settings
from tests.support.graphql import GraphQLClient
from tests.support.moto_server import MotoServer, free_port
from tests.support.redis_server import RedisServer

READY_TIMEOUT = 30.0


class AppProcess:
    """One `python -m graphql_api serve --port P` subprocess."""

    def __init__(self, env: dict[str, str], log_dir: Path, index: int) -> None:
        self.env = env
        self.port = free_port()
        self.log_path = log_dir / f"replica-{index}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def spawn(self) -> None:
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "graphql_api", "serve", "--port", str(self.port)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    break
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"replica on port {self.port} not ready:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def kill(self) -> None:
        """Dies at once, like a crashed host: no goodbye to Redis or to clients."""
        self.stop(signal.SIGKILL)

    def rss_bytes(self) -> int:
        """Resident memory of the process (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/statm").read_text().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far (Linux /proc)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class AppCluster:
    """N replicas of the app on one table and one Redis."""

    def __init__(
        self, moto: MotoServer, redis_url: str, replicas: int = 2, **settings: Any
    ) -> None:
        self.settings = make_settings(moto, redis_url=redis_url)
        self._log_dir = Path(tempfile.mkdtemp(prefix="app-cluster-"))
        env = {
            **os.environ,
            "APP_ENV": "test",
            "DYNAMODB_TABLE": self.settings.dynamodb_table or "",
            "S3_BUCKET": self.settings.s3_bucket or "",
            "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint,
            "AWS_ENDPOINT_URL_S3": moto.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        env.update({name.upper(): str(value) for name, value in settings.items()})
        self.replicas = [AppProcess(env, self._log_dir, i) for i in range(replicas)]
        self._http: list[httpx.AsyncClient] = []
        # Set when the cluster owns its redis-server and moto (closed with the cluster).
        self.redis: RedisServer | None = None
        self.moto: MotoServer | None = None

    def __getitem__(self, index: int) -> AppProcess:
        return self.replicas[index]

    async def start(self) -> AppCluster:
        await create_storage(self.settings)
        for replica in self.replicas:
            replica.spawn()
        try:
            await asyncio.gather(*(r.wait_ready() for r in self.replicas))
        except BaseException:
            self.close()
            raise
        return self

    async def restart(self, index: int) -> None:
        replica = self.replicas[index]
        replica.spawn()
        await replica.wait_ready()

    def client_factory(self, index: int) -> Callable[..., GraphQLClient]:
        """`client_for(sub)` bound to one replica (like the conftest fixture)."""
        http = httpx.AsyncClient(base_url=self.replicas[index].base_url, timeout=15)
        self._http.append(http)

        def make(sub: str | None, email: str | None = None) -> GraphQLClient:
            return GraphQLClient(http, sub, email)

        return make

    async def aclose(self) -> None:
        for http in self._http:
            await http.aclose()
        self._http.clear()
        self.close()

    def close(self) -> None:
        for replica in self.replicas:
            replica.stop()
        if self.redis is not None:
            self.redis.close()
        if self.moto is not None:
            self.moto.stop()


def unique_sub(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# Settings of the shared test cluster: short timeouts so that tests of them are fast.
LIVE_TEST_SETTINGS: dict[str, Any] = {
    "ws_init_timeout_seconds": 1.5,
    "ws_keepalive_seconds": 0.5,
    "ws_max_message_bytes": 16_384,
    "max_subscriptions_per_connection": 5,
    "subscription_queue_size": 64,
    "presence_heartbeat_seconds": 0.5,
    "presence_timeout_seconds": 2,
    "cors_origins": "https://app.example.test",
}

_shared: list[AppCluster] = []


async def shared_cluster(moto: MotoServer | None = None) -> AppCluster:
    """One two-replica cluster per test session, shared by every test directory that asks
    (a session fixture defined in two conftests would start two). It owns its moto, which
    serializes transactions as DynamoDB does (plain moto can let two concurrent transactions
    on one run both commit a version), and its redis-server, which tests may restart
    (`cluster.redis`). `moto` is ignored (callers written before may still pass one)."""
    from tests.support.serial_moto import SerialMotoServer

    if not _shared:
        moto = SerialMotoServer().start()
        redis = RedisServer()
        redis.start()
        try:
            cluster = AppCluster(moto, redis.url, 2, **LIVE_TEST_SETTINGS)
            cluster.redis = redis
            cluster.moto = moto
            _shared.append(await cluster.start())
        except BaseException:
            redis.close()
            moto.stop()
            raise
    return _shared[0]


async def close_shared_clusters() -> None:
    while _shared:
        await _shared.pop().aclose()

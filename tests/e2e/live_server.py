"""`python -m graphql_api serve` as a user runs it: the embedded default on a free port, with
the demo organization id and tokens read from what it prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.moto_server import free_port

ROOT = Path(__file__).resolve().parents[2]
NODE_PROJECT = ROOT / "clients" / "apollo-e2e"
STARTUP_TIMEOUT = 120.0
# Settings that would take the server out of the embedded default.
_NOT_EMBEDDED = (
    "DYNAMODB_TABLE",
    "S3_BUCKET",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "REDIS_URL",
    "JWT_HS256_SECRET",
    "JWT_JWKS_URL",
    "REQUIRE_SAFELIST",
    "SAFELIST_MANIFEST",
    "GRAPHIQL",
    "INTROSPECTION",
)


@dataclass
class DemoServer:
    """A running server and what it printed."""

    port: int
    process: subprocess.Popen[str]
    org_id: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def log(self) -> str:
        return "".join(self.output[-200:])


def _read(server: DemoServer) -> None:
    assert server.process.stdout is not None
    for line in server.process.stdout:
        server.output.append(line)


def start_demo_server() -> DemoServer:
    env = {k: v for k, v in os.environ.items() if k.upper() not in _NOT_EMBEDDED}
    env["APP_ENV"] = "development"
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "graphql_api", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DemoServer(port, process)
    threading.Thread(target=_read, args=(server,), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        text = "".join(server.output)
        org = re.search(r"Demo organization id: (\S+)", text)
        tokens = dict(
            re.findall(r"^\s+(OWNER|ADMIN|MANAGER|MEMBER|VIEWER)\s+\S+\s+(\S+)$", text, re.M)
        )
        if org and len(tokens) == 5 and "Application startup complete" in text:
            server.org_id, server.tokens = org.group(1), tokens
            return server
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"the server did not start:\n{server.log()}")


def stop(server: DemoServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    server = start_demo_server()
    yield server
    stop(server)


def node() -> str:
    """Node.js and the test project's packages (installed by scripts/bootstrap: `npm ci`)."""
    binary = shutil.which("node")
    if binary is None:
        raise RuntimeError("Node.js 20+ is needed (scripts/test installs it)")
    if not (NODE_PROJECT / "node_modules").is_dir():
        raise RuntimeError(f"run scripts/bootstrap: {NODE_PROJECT}/node_modules is missing")
    return binary


def run_node(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> str:
    """Run Node in the test project; fails the test with its output on a non-zero exit."""
    result = subprocess.run(
        [node(), *args],
        cwd=NODE_PROJECT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"node {' '.join(args)} failed ({result.returncode}):\n{output}")
    return output

"""SIGTERM on a real `python -m graphql_api serve` process (embedded mode): readiness fails at
once, WebSockets close with 1012 ("service restart") so clients reconnect elsewhere, new
connections are refused, an in-flight request still finishes, and the process exits 0 within
its bound.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.moto_server import free_port
from tests.support.wsclient import open_ws
from tests.test_serve import ROOT, Served, clean_env, read_until_ready

DRAIN_SECONDS = 1.0
SHUTDOWN_TIMEOUT = 5.0
SLOW_BODY = b'{"query": "{ __typename }"}'


@pytest.fixture
def served() -> Iterator[Served]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "graphql_api",
            "serve",
            "--port",
            str(port),
            "--drain-seconds",
            str(DRAIN_SECONDS),
            "--shutdown-timeout",
            str(SHUTDOWN_TIMEOUT),
        ],
        cwd=ROOT,
        env=clean_env(APP_ENV="development", LOG_LEVEL="WARNING"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield read_until_ready(proc, lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


async def test_sigterm_drains_then_exits_cleanly(served: Served) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    ws_url = served.url.replace("http", "ws", 1) + "/graphql"
    _, owner_token = served.tokens["OWNER"]

    ws = await open_ws(ws_url)
    ack = await ws.init(token=owner_token)
    assert ack["type"] == "connection_ack"
    await ws.subscribe("subscription { notificationReceived { id } }")

    # An in-flight request: headers sent, body still on its way when SIGTERM arrives.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(SLOW_BODY)}\r\n\r\n".encode()
        + SLOW_BODY[:10]
    )
    await writer.drain()
    await asyncio.sleep(0.2)  # let the server start the request cycle

    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
        assert (await http.get("/readyz")).status_code == 200
        served.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()

        # Clients are told to reconnect elsewhere, at once.
        closed = await ws.closed(timeout=DRAIN_SECONDS)
        assert closed.code == 1012

        # While the load balancer catches up: not ready, and no new WebSockets here.
        ready = await http.get("/readyz", headers={"connection": "close"})
        assert ready.status_code == 503
        assert ready.json()["status"] == "draining"
        assert "draining" in ready.json()["failing"]
        with pytest.raises(InvalidStatus):
            await open_ws(ws_url)
        assert time.monotonic() - signalled < DRAIN_SECONDS

    # Then the listening socket closes: new connections are refused...
    deadline = time.monotonic() + DRAIN_SECONDS + 2
    while not refuses_connections(port):
        assert time.monotonic() < deadline, "still accepting connections"
        await asyncio.sleep(0.05)

    # ...but the request that was in flight still completes.
    writer.write(SLOW_BODY[10:])
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), SHUTDOWN_TIMEOUT)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response
    assert b"connection: close" in head.lower()
    assert b'"__typename":"Query"' in body.replace(b" ", b"")

    code = await asyncio.to_thread(served.proc.wait, DRAIN_SECONDS + SHUTDOWN_TIMEOUT + 5)
    assert code == 0
    assert time.monotonic() - signalled < DRAIN_SECONDS + SHUTDOWN_TIMEOUT

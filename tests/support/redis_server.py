"""A throwaway redis-server for tests: free port, no persistence, restartable on the same port.

Tests talk to it through the project's code; `command()` is a tiny RESP client for assertions
(PUBSUB NUMSUB, ...) so that tests need no Redis library of their own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

RespValue = Any  # str | int | None | list[RespValue] | RedisReplyError


class RedisReplyError(Exception):
    """An error reply (-ERR ...) from the server."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A redis-server subprocess on 127.0.0.1; `stop()` kills it, `start()` brings it back on
    the same port (to simulate an outage). Usable as a context manager."""

    def __init__(self, port: int | None = None, *, startup_timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server not found on PATH: Redis tests need a real server "
                "(e.g. apt-get install redis-server)"
            )
        self._binary = binary
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self._startup_timeout = startup_timeout
        self._dir = Path(tempfile.mkdtemp(prefix="redis-test-"))
        self._proc: subprocess.Popen[bytes] | None = None
        # Once started, the port is the server's identity: restarts must reuse it.
        self._ever_started = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        for _ in range(5):
            self._spawn()
            if self._wait_ready():
                return
            if self._fixed_port or self._ever_started:
                break
            # Another process took the port between free_port() and the bind: pick another.
            self.port = free_port()
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{self._log_tail()}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait(timeout=10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def command(self, *args: str | int) -> RespValue:
        """Send one command on a fresh connection and return the parsed reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(_encode(args))
            reply = _parse(sock.makefile("rb"))
        if isinstance(reply, RedisReplyError):
            raise reply
        return reply

    def numsub(self, channel: str) -> int:
        reply = self.command("PUBSUB", "NUMSUB", channel)
        return int(reply[1])

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _spawn(self) -> None:
        log = self._dir / "redis.log"
        self._proc = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._dir),
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                if self.command("PING") == "PONG":
                    self._ever_started = True
                    return True
            except (OSError, RedisReplyError):
                pass
            time.sleep(0.01)
        self.stop()
        return False

    def _log_tail(self) -> str:
        try:
            return "\n".join((self._dir / "redis.log").read_text().splitlines()[-20:])
        except OSError:
            return "(no log)"


def _encode(args: tuple[str | int, ...]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = str(arg).encode()
        parts.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
    return b"".join(parts)


def _parse(stream: Any) -> RespValue:
    line: bytes = stream.readline()
    if not line:
        raise ConnectionError("connection closed by redis-server")
    kind, rest = line[:1], line[1:-2].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        return RedisReplyError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data: bytes = stream.read(size + 2)
        return data[:-2].decode()
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_parse(stream) for _ in range(count)]
    raise ValueError(f"unexpected RESP reply {line!r}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for a whole test session (do not stop it; see `restartable_redis`)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def restartable_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and restart."""
    with RedisServer() as server:
        yield server

"""fast_moto with TransactWriteItems serialized, for tests of concurrent writers.

moto applies a transaction condition by condition, item by item, in the request's thread, and
on failure restores the items it snapshotted at its start. Two overlapping transactions on
the same items (exactly what concurrency tests make) can then both pass a condition, or the
loser's rollback can overwrite the winner's commit. DynamoDB serializes transactions on the
same items; one lock around moto's transaction does the same here.

Run as `python -m tests.support.serial_moto -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

from tests.support import fast_moto
from tests.support.moto_server import MotoServer, wait_for_port


class SerialMotoServer(MotoServer):
    """`MotoServer`, running this entry point."""

    def start(self) -> SerialMotoServer:
        args = ["-m", "tests.support.serial_moto", "-H", "127.0.0.1", "-p", str(self.port)]
        self._proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self


@pytest.fixture(scope="session", name="serial_moto")
def serial_moto_fixture() -> Iterator[SerialMotoServer]:
    """A session-wide SerialMotoServer (import `serial_moto_fixture` into a conftest)."""
    server = SerialMotoServer().start()
    yield server
    server.stop()


def install() -> None:
    fast_moto.install()
    lock = threading.Lock()
    transact = DynamoDBBackend.transact_write_items

    def serialized(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            transact(self, transact_items)

    DynamoDBBackend.transact_write_items = serialized  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    from moto.server import main as moto_main

    install()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

"""moto's server with transactions that roll back item by item instead of table by table.

moto (5.x) deep-copies the whole table once per item of every TransactWriteItems, to restore
it if the transaction fails. A transaction then costs time proportional to the table's size,
and a test suite sharing one table slows down quadratically. This entry point snapshots only
the items the transaction names and restores exactly those on failure: the same
all-or-nothing outcome (and no lost concurrent writes, which restoring a whole-table copy
causes), at a cost independent of the table's size.

Run as `python -m tests.support.fast_moto -H 127.0.0.1 -p PORT` (moto.server's arguments).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

from tests.support.moto_server import MotoServer, wait_for_port

_original_transact = DynamoDBBackend.transact_write_items


class _CopyWithoutTables:
    """Stands in for the `copy` module inside moto.dynamodb.models: tables are not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table):
            return value  # moto's "restore" then re-assigns the live table: a no-op
        return copy.deepcopy(value, memo)

    copy = staticmethod(copy.copy)


def _snapshot(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Any]:
    saved = []
    for entry in transact_items:
        for op_type, op in entry.items():
            table = backend.tables.get(op.get("TableName"))
            if not isinstance(table, Table):
                continue
            attrs = op.get("Item" if op_type == "Put" else "Key") or {}
            if table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attrs:
                    continue
                range_value = DynamoType(attrs[table.range_key_attr])
            previous = copy.deepcopy(table.get_item(hash_value, range_value))
            saved.append((table, hash_value, range_value, previous))
    return saved


def _restore(saved: list[Any]) -> None:
    # Reversed: if a key appears twice, its first (pre-transaction) snapshot wins.
    for table, hash_value, range_value, previous in reversed(saved):
        if previous is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = previous
        else:
            table.items[hash_value] = previous


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    saved = _snapshot(self, transact_items)
    try:
        _original_transact(self, transact_items)
    except Exception:
        _restore(saved)
        raise


class FastMotoServer(MotoServer):
    """`MotoServer`, running this entry point instead of plain `moto.server`."""

    def start(self) -> FastMotoServer:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.fast_moto",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        # In-memory and throwaway: no graceful shutdown to wait for (it can take seconds).
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None


@pytest.fixture(scope="session", name="fast_moto")
def fast_moto_fixture() -> Iterator[FastMotoServer]:
    """A session-wide FastMotoServer (import `fast_moto_fixture` into the test module)."""
    server = FastMotoServer().start()
    yield server
    server.stop()


def install() -> None:
    dynamodb_models.copy = _CopyWithoutTables  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    from moto.server import main as moto_main

    install()
    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

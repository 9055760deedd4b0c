"""A small HTTP/1.1 keep-alive load generator (asyncio, raw sockets).

Used by the benchmarks to compare two endpoints of one server under the same client, so the
client's own cost is the same on both sides of a ratio.
"""

from __future__ import annotations

import asyncio
import time


async def _worker(host: str, port: int, request: bytes, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            await writer.drain()
            # Read headers, then exactly Content-Length bytes.
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            counts[0] += 1
    finally:
        writer.close()


def build_request(path: str, body: bytes | None, headers: dict[str, str] | None = None) -> bytes:
    method = "POST" if body is not None else "GET"
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", "Connection: keep-alive"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def measure_rps(
    host: str, port: int, request: bytes, seconds: float, concurrency: int = 16
) -> float:
    """Requests per second over `seconds` with `concurrency` keep-alive connections."""
    counts = [0]
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(_worker(host, port, request, deadline, counts) for _ in range(concurrency))
    )
    return counts[0] / (time.perf_counter() - start)

"""Fan-out benchmark (a script that prints figures, not a test).

    .venv/bin/python -m tests.perf.fanout [--subscribers 1000] [--events 40] [--gap 0.25]
                                          [--saturate] [--json]

Starts moto, a redis-server and two app replicas (`python -m graphql_api serve`), opens the
subscribers (half on each replica, one WebSocket and one runUpdated each, from two client
processes, one per replica), then commits `--events` item changes on one run through
replica 0 and prints:

- event-to-delivery latency p50 / p99 / max, measured from the commit: the reference time of
  each version is when a raw Redis subscriber on the run's channel sees the PUBLISH that
  follows the commit (sub-millisecond after it); every client stamps arrival with the same
  system-wide monotonic clock;
- messages lost (and duplicated or out of order): every subscriber must see every version;
- memory per idle subscription: RSS growth of both replicas / subscribers, after they are
  all subscribed and idle;
- server CPU per delivery (user + system time of each replica over the events / deliveries).
  With `--saturate` every subscriber is on replica 1 and the mutations go back to back
  (`--gap 0`): its deliveries per CPU-second are what one core sustains.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import sys
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

if TYPE_CHECKING:
    from tests.support.servers import AppCluster

RUN_UPDATED = """
subscription($run: ID!) {
  runUpdated(runId: $run) { version event { type itemId after } progress { done percent } }
}"""


# client process --------------------------------------------------------------------------
class _Subscriber(asyncio.Protocol):
    """One subscriber on a sans-I/O WebSocket (websockets' ClientProtocol): each message is
    stamped the moment its bytes arrive, with no per-message task hop in the client (a
    client slower than the server would otherwise be what the latency measures)."""

    def __init__(self, url: str, token: str, run_id: str, mine: list[tuple[int, float]]) -> None:
        self.ws = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol("graphql-transport-ws")])
        self.token, self.run_id, self.mine = token, run_id, mine
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                self._handshake(event)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self._message(json.loads(event.data), now)
        self._flush()

    def _handshake(self, response: Response) -> None:
        if response.status_code != 101:
            self._fail(f"handshake refused: {response.status_code}")
            return
        auth = {"authorization": f"Bearer {self.token}"}
        self._send({"type": "connection_init", "payload": auth})
        subscribe = {"query": RUN_UPDATED, "variables": {"run": self.run_id}}
        self._send({"id": "1", "type": "subscribe", "payload": subscribe})

    def _message(self, message: dict[str, Any], now: float) -> None:
        kind = message.get("type")
        if kind == "next":
            self.mine.append((message["payload"]["data"]["runUpdated"]["version"], now))
            if not self.subscribed.done():  # the snapshot
                self.subscribed.set_result(None)
        elif kind == "ping":
            self._send({"type": "pong"})
        elif kind not in ("connection_ack", "pong"):
            self._fail(f"unexpected {message}")

    def _send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(json.dumps(message).encode())

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.ws.data_to_send():
            if chunk:
                self.transport.write(chunk)

    def _fail(self, reason: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(reason))
        else:
            print(json.dumps({"unexpected": reason, "received": len(self.mine)}), file=sys.stderr)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or not self.subscribed.done():  # not the client's own close
            self._fail(f"connection lost: {exc!r}")


async def client_main(url: str, count: int, token: str, run_id: str) -> None:
    """Opens `count` subscribers; prints READY, then on EOF of stdin prints the results."""
    arrivals: list[list[tuple[int, float]]] = [[] for _ in range(count)]
    uri = parse_uri(url)
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []
    # Subscribes in flight per client: each one reads DynamoDB (moto here) a few times, and a
    # stampede would only make them time out.
    in_flight = asyncio.Semaphore(50)

    async def subscriber(index: int) -> None:
        for attempt in range(5):
            mine: list[tuple[int, float]] = []  # a failed attempt's socket records nothing here
            transport: asyncio.BaseTransport | None = None
            try:
                async with in_flight:
                    transport, protocol = await loop.create_connection(
                        partial(_Subscriber, url, token, run_id, mine), uri.host, uri.port
                    )
                    await asyncio.wait_for(protocol.subscribed, 60)
                arrivals[index] = mine
                transports.append(transport)
                return
            except Exception as exc:
                if transport is not None:
                    transport.abort()
                print(f"subscriber {index}: {exc!r}; retrying", file=sys.stderr)
                await asyncio.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"subscriber {index}: gave up")

    await asyncio.wait_for(asyncio.gather(*(subscriber(i) for i in range(count))), 600)
    print("READY", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    for transport in transports:
        transport.close()
    print(json.dumps(arrivals), flush=True)


# coordinator -----------------------------------------------------------------------------
class RawSubscriber(threading.Thread):
    """SUBSCRIBEs to one channel on Redis and stamps each version when it is published."""

    def __init__(self, port: int, channel: str) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        body = f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(channel)}\r\n{channel}\r\n"
        self.sock.sendall(body.encode())
        self.stream = self.sock.makefile("rb")
        self._read_reply()  # the subscribe confirmation
        self.published: dict[int, float] = {}

    def _read_reply(self) -> list[bytes]:
        """One RESP array of bulk strings and integers (all pub/sub replies are)."""
        header = self.stream.readline()
        parts = []
        for _ in range(int(header[1:])):
            line = self.stream.readline()
            if line.startswith(b":"):
                parts.append(line[1:-2])
            else:
                parts.append(self.stream.read(int(line[1:]) + 2)[:-2])
        return parts

    def run(self) -> None:
        while True:
            try:
                _, _, data = self._read_reply()
            except (OSError, ValueError):
                return
            stamp = time.monotonic()
            self.published[int(json.loads(data)["version"])] = stamp


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def coordinator(args: argparse.Namespace) -> None:
    from tests.support.domain_factories import create_workspace
    from tests.support.graphql import token
    from tests.support.redis_server import RedisServer
    from tests.support.serial_moto import SerialMotoServer
    from tests.support.servers import AppCluster

    moto = SerialMotoServer().start()
    redis = RedisServer()
    redis.start()
    # Every subscriber is the same user: lift the per-user connection limit.
    cluster = AppCluster(moto, redis.url, 2, ws_max_connections_per_user=1_000_000)
    clients: list[asyncio.subprocess.Process] = []
    try:
        await cluster.start()
        print("replicas ready", flush=True)
        workspace = await create_workspace(cluster.client_factory(0))
        run = await workspace.start((await workspace.assign())["id"])
        run_id = run["id"]
        viewer = workspace.client("VIEWER").sub
        assert viewer is not None
        await asyncio.sleep(1.0)
        rss_before = [r.rss_bytes() for r in cluster.replicas]

        half = args.subscribers // 2
        # --saturate: every subscriber on replica 1 (two client processes), replica 0 serves
        # only the mutations, sent back to back: replica 1's CPU per delivery at saturation.
        targets = [cluster.replicas[1]] * 2 if args.saturate else cluster.replicas
        for replica, count in zip(targets, (half, args.subscribers - half), strict=True):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.perf.fanout",
                "--client",
                replica.ws_url,
                str(count),
                token(viewer),
                run_id,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**28,
            )
            clients.append(proc)
        for proc in clients:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 330)
            assert line.strip() == b"READY", line
        print(f"{args.subscribers} subscribers ready", flush=True)
        await asyncio.sleep(2.0)  # idle
        rss_after = [r.rss_bytes() for r in cluster.replicas]

        from graphql_api.common.ids import from_global_id
        from graphql_api.realtime import channels

        gid = from_global_id(run_id)
        # Before the reference subscriber joins: one Redis subscription per replica.
        numsub = redis.numsub(channels.run(gid.org_id, gid.id))
        raw = RawSubscriber(redis.port, channels.run(gid.org_id, gid.id))
        raw.start()
        mutate_times: list[float] = []
        cpu_before = [r.cpu_seconds() for r in cluster.replicas]
        for i in range(args.events):
            started = time.monotonic()
            await workspace.set_item(run_id, "c2", done=i % 2 == 0)
            mutate_times.append(time.monotonic() - started)
            await asyncio.sleep(args.gap)
        await settle(cluster)  # every delivery made (the replicas have gone quiet)
        cpu = [r.cpu_seconds() - b for r, b in zip(cluster.replicas, cpu_before, strict=True)]

        results: list[list[list[tuple[int, float]]]] = []
        for proc in clients:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            results.append(json.loads(await asyncio.wait_for(proc.stdout.readline(), 60)))
            await proc.wait()
        clients.clear()
        report(args, results, raw.published, rss_before, rss_after, mutate_times, cpu, numsub)
    finally:
        for proc in clients:
            proc.kill()
        await cluster.aclose()
        redis.close()
        moto.stop()


async def settle(cluster: AppCluster, quiet: float = 0.05, timeout: float = 120.0) -> None:
    """Waits until no replica used more than `quiet` CPU-seconds in the last half second (a
    saturated replica may still be delivering long after the last commit)."""
    deadline = time.monotonic() + timeout
    before = [r.cpu_seconds() for r in cluster.replicas]
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = [r.cpu_seconds() for r in cluster.replicas]
        if all(b - a <= quiet for a, b in zip(before, now, strict=True)):
            return
        before = now


def report(
    args: argparse.Namespace,
    results: list[list[list[tuple[int, float]]]],
    published: dict[int, float],
    rss_before: list[int],
    rss_after: list[int],
    mutate_times: list[float],
    cpu: list[float],
    numsub: int,
) -> None:
    expected = sorted(published)
    latencies: list[float] = []
    lost = duplicated = disordered = 0
    per_replica: list[list[float]] = []
    for replica_results in results:
        mine: list[float] = []
        for arrivals in replica_results:
            live = [(v, t) for v, t in arrivals[1:]]  # arrivals[0] is the snapshot
            versions = [v for v, _ in live]
            lost += len(set(expected) - set(versions))
            duplicated += len(versions) - len(set(versions))
            disordered += sum(1 for a, b in itertools.pairwise(versions) if b <= a)
            for version, stamp in live:
                if version in published:
                    mine.append((stamp - published[version]) * 1000)
        per_replica.append(mine)
        latencies += mine
    growth = sum(rss_after) - sum(rss_before)
    lines = [
        "",
        f"subscribers: {args.subscribers} (2 replicas, one WebSocket + runUpdated each)",
        f"events: {len(expected)} (one every ~{args.gap + statistics.mean(mutate_times):.2f} s)",
        f"deliveries: {len(latencies)} of {len(expected) * args.subscribers} expected",
        f"lost: {lost}  duplicated: {duplicated}  out of order: {disordered}",
        "event-to-delivery latency from the commit (ms): "
        f"p50 {percentile(latencies, 50):.1f}  p99 {percentile(latencies, 99):.1f}  "
        f"max {max(latencies):.1f}",
    ]
    if args.saturate:
        delivered = len(latencies)
        lines.append(
            f"  replica 1 (every subscriber): server CPU per delivery "
            f"{cpu[1] / max(delivered, 1) * 1e6:.0f} us; replica 0 served the mutations"
        )
    else:
        for i, mine in enumerate(per_replica):
            lines.append(
                f"  replica {i}: p50 {percentile(mine, 50):.1f}  p99 {percentile(mine, 99):.1f}"
                f"  server CPU per delivery {cpu[i] / max(len(mine), 1) * 1e6:.0f} us"
                + ("  (also served the mutations)" if i == 0 else "")
            )
    lines += [
        f"mutation round trip (ms): p50 {percentile(mutate_times, 50) * 1000:.0f}",
        f"memory per idle subscription: {growth / args.subscribers / 1024:.1f} KiB "
        f"(replicas' RSS {sum(rss_before) / 2**20:.0f} -> {sum(rss_after) / 2**20:.0f} MiB)",
    ]
    replicas = "1 replica with subscribers" if args.saturate else "2 replicas"
    lines.append(f"Redis subscriptions on the run's channel: {numsub} ({replicas})")
    print("\n".join(lines), flush=True)
    if args.json:
        figures = {
            "subscribers": args.subscribers,
            "events": len(expected),
            "deliveries": len(latencies),
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "lost": lost,
            "duplicated": duplicated,
            "out_of_order": disordered,
            # Deliveries per CPU-second of the replicas (both cores' work, the mutations'
            # included): what one core sustains when delivery is CPU-bound.
            # Deliveries per CPU-second of the replicas that deliver: with --saturate, replica
            # 1 alone (it serves nothing else); otherwise both (replica 0's mutations count).
            "deliveries_per_core_s": round(
                len(latencies) / max(cpu[1] if args.saturate else sum(cpu), 1e-9)
            ),
            "saturate": args.saturate,
            "mem_per_subscription_kib": round(growth / args.subscribers / 1024, 2),
            # Replicas with subscribers (one with --saturate).
            "redis_numsub_per_replica": numsub / (1 if args.saturate else 2),
        }
        print(json.dumps(figures), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, count, token, run_id = sys.argv[2:6]
        import uvloop  # the client must not be the bottleneck: uvloop, as uvicorn uses

        uvloop.run(client_main(url, int(count), token, run_id))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between mutations")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--saturate",
        action="store_true",
        help="every subscriber on one replica, mutations back to back through the other",
    )
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    asyncio.run(run_coordinator(parser.parse_args()))


async def run_coordinator(args: argparse.Namespace) -> None:
    # SIGTERM (e.g. from `timeout`) cancels the run, so the servers it started are stopped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await coordinator(args)


if __name__ == "__main__":
    main()

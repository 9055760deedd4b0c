"""Command line: serve, create-tables, export-schema, mint-token."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from graphql_api.observability import configure_logging
from graphql_api.settings import Settings, SettingsError

# The reference web client's build (examples/web, `npm run build`), served by `serve --web`.
WEB_DIST = Path(__file__).resolve().parents[1] / "examples" / "web" / "dist"
# Its persisted-query manifest (written there by `npm run build`).
WEB_MANIFEST = "persisted-query-manifest.json"

# Start-up time is reported from here: importing the app is part of what a user waits for.
_PROCESS_STARTED = time.perf_counter()
# Young-generation threshold of the cyclic GC while serving (CPython's default is 700). With
# thousands of live subscriptions, collections every 700 allocations added tens of
# milliseconds to the fan-out's p99 (README "Performance").
GC_GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Once serving: move everything allocated so far (modules, schema, caches) out of the
    collector's sight, and collect the young generation less often."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 100)


def _settings() -> Settings:
    try:
        return Settings()
    except (SettingsError, ValueError) as exc:
        sys.exit(f"configuration error: {exc}")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from graphql_api.app import WEB_PATH, create_app
    from graphql_api.context import Resources
    from graphql_api.drain import Drain

    settings = _settings()
    web_dir: Path | None = None
    if args.web is not None:
        web_dir = Path(args.web)
        if not (web_dir / "index.html").is_file():
            sys.exit(f"--web: {web_dir}/index.html is missing (scripts/bootstrap builds it)")
        # The app's build sends persisted-query ids from its manifest: unless another one is
        # configured, that manifest is the first-party safelist (so REQUIRE_SAFELIST=true works).
        manifest = web_dir / WEB_MANIFEST
        if settings.safelist_manifest is None and manifest.is_file():
            settings = settings.model_copy(update={"safelist_manifest": str(manifest)})
    seeded: dict[str, Any] = {}

    def on_ready(resources: Resources, demo: Any) -> None:
        seeded["demo"] = demo

    def announce(port: int) -> None:
        demo = seeded.get("demo")
        base = f"http://{args.host}:{port}"
        elapsed = time.perf_counter() - _PROCESS_STARTED
        lines = [f"GraphQL API ready in {elapsed:.2f}s: {base}/graphql"]
        if settings.graphiql_enabled:
            lines.append(f"GraphiQL: open {base}/graphql in a browser")
        if web_dir is not None:
            lines.append(f"Web app: open {base}{WEB_PATH}/ in a browser")
        if demo is not None:
            org_id, users = demo
            lines += [
                "",
                "EMBEDDED MODE: DynamoDB and S3 run in memory (moto); all data is lost on exit.",
                f"Demo organization id: {org_id}",
                "Demo tokens (header  Authorization: Bearer <token>):",
            ]
            lines += [f"  {u.role.value:<8} {u.email:<22} {u.token}" for u in users]
        print("\n".join(lines), flush=True)

    app = create_app(settings, on_ready=on_ready, web_dir=web_dir)
    drain: Drain = app.state.drain

    class AnnouncingServer(uvicorn.Server):
        """Says "ready" only once the socket accepts connections (the lifespan runs first),
        and drains before uvicorn's shutdown on the first SIGTERM or SIGINT (drain.py)."""

        _loop: asyncio.AbstractEventLoop | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                self._loop = asyncio.get_running_loop()
                tune_gc()
                listening = self.servers[0].sockets if self.servers else ()
                announce(listening[0].getsockname()[1] if listening else args.port)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            loop = self._loop
            if loop is None or drain.draining:
                # Not serving yet, or a second signal: uvicorn's own handling (SIGINT twice
                # forces the exit).
                super().handle_exit(sig, frame)
                return
            # Signal handlers interrupt the loop anywhere: hand over through its self-pipe.
            loop.call_soon_threadsafe(self._drain, sig)

        def _drain(self, sig: int) -> None:
            drain.begin()
            if sig == signal.SIGTERM:
                # Not re-raised after the shutdown (unlike uvicorn's handler): a completed
                # drain exits 0, so orchestrators see a clean stop, not a kill.
                delay = args.drain_seconds
            else:
                self._captured_signals.append(sig)  # Ctrl-C keeps uvicorn's behaviour
                delay = 0.0
            if delay > 0:
                # Readiness fails while we still serve, so the load balancer can stop routing
                # here before the listening socket closes.
                assert self._loop is not None
                self._loop.call_later(delay, self._exit)
            else:
                self._exit()

        def _exit(self) -> None:
            self.should_exit = True

    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        ws_per_message_deflate=False,
        # Frames above the bound close the socket with 1009 before they are buffered.
        ws_max_size=settings.ws_max_message_bytes,
        # In-flight requests get this long once the listening socket is closed.
        timeout_graceful_shutdown=args.shutdown_timeout,
    )
    server = AnnouncingServer(config)
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE


def cmd_create_tables(args: argparse.Namespace) -> None:
    from graphql_api.store.client import Store, StoreConfig

    settings = _settings()
    if settings.embedded:
        sys.exit("create-tables needs DYNAMODB_TABLE (the embedded default creates its own)")

    async def run() -> None:
        store = Store(
            StoreConfig(
                table=settings.dynamodb_table or "",
                bucket=settings.s3_bucket or "",
                region=settings.aws_region,
                dynamodb_endpoint=settings.aws_endpoint_url_dynamodb,
                s3_endpoint=settings.aws_endpoint_url_s3,
            )
        )
        await store.open()
        try:
            created = await store.create_table()
            print(f"table {settings.dynamodb_table}: {'created' if created else 'exists'}")
            if args.bucket and settings.s3_bucket:
                await store.create_bucket()
                print(f"bucket {settings.s3_bucket}: ready")
        finally:
            await store.close()

    asyncio.run(run())


def cmd_export_schema(args: argparse.Namespace) -> None:
    from graphql_api.schema import schema_sdl

    sys.stdout.write(schema_sdl())


def cmd_mint_token(args: argparse.Namespace) -> None:
    from graphql_api.embedded import demo_token

    settings = _settings()
    if settings.is_production:
        sys.exit("mint-token is for development and test only")
    print(demo_token(settings, args.sub, args.email, args.name or args.email.split("@")[0]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m graphql_api")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded default when unconfigured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--drain-seconds",
        type=float,
        default=0.0,
        help="on SIGTERM, keep serving this long with /readyz failing before closing the socket",
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=10.0,
        help="seconds in-flight requests get to finish after the socket closes",
    )
    serve.add_argument(
        "--web",
        nargs="?",
        const=str(WEB_DIST),
        default=None,
        metavar="DIR",
        help="also serve the built reference web client at /app/ (default: examples/web/dist)",
    )
    serve.set_defaults(func=cmd_serve)
    tables = sub.add_parser("create-tables", help="create the DynamoDB table (and bucket)")
    tables.add_argument("--bucket", action="store_true", help="also create S3_BUCKET")
    tables.set_defaults(func=cmd_create_tables)
    export = sub.add_parser("export-schema", help="print the schema SDL")
    export.set_defaults(func=cmd_export_schema)
    mint = sub.add_parser("mint-token", help="an HS256 token (development/test only)")
    mint.add_argument("--sub", required=True)
    mint.add_argument("--email", required=True)
    mint.add_argument("--name")
    mint.set_defaults(func=cmd_mint_token)
    args = parser.parse_args(argv)
    # JSON lines in production (or LOG_FORMAT=json) for the log pipeline; text for humans.
    json_logs = os.environ.get("LOG_FORMAT", "").lower() == "json" or (
        os.environ.get("APP_ENV", "").lower() == "production"
        and os.environ.get("LOG_FORMAT", "").lower() != "text"
    )
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), json_logs=json_logs)
    args.func(args)


if __name__ == "__main__":
    main()

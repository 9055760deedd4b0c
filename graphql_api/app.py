"""ASGI assembly: resources opened in the lifespan, routes, middleware."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from graphql_api import tracing
from graphql_api.auth.jwt import TokenVerifier
from graphql_api.context import Resources
from graphql_api.drain import Drain
from graphql_api.embedded import (
    EMBEDDED_BUCKET,
    EMBEDDED_CREDENTIALS,
    EMBEDDED_TABLE,
    EmbeddedAws,
    seed_demo,
)
from graphql_api.limits import LimitConfig
from graphql_api.metrics import REGISTRY
from graphql_api.middleware import BodySizeLimit, RequestMetrics
from graphql_api.realtime.broadcast import EventHub
from graphql_api.realtime.kv import create_kv
from graphql_api.schema import build_schema
from graphql_api.settings import Settings, get_settings
from graphql_api.static import ASSETS_PATH
from graphql_api.store.client import Store, StoreConfig
from graphql_api.store.pagination import CursorCodec
from graphql_api.subscriptions.runtime import open_live
from graphql_api.view import GraphQLView

log = logging.getLogger("graphql_api")

# Called with (resources, demo org id, demo users) once the embedded default is seeded.
StartupHook = Callable[[Resources, Any], None]


@asynccontextmanager
async def open_resources(settings: Settings, *, seed: bool = True) -> AsyncIterator[Resources]:
    """Open the store, the broadcast hub and the token verifier; close them on exit."""
    async with AsyncExitStack() as stack:
        store_config = StoreConfig(
            table=settings.dynamodb_table or EMBEDDED_TABLE,
            bucket=settings.s3_bucket or EMBEDDED_BUCKET,
            region=settings.aws_region,
            dynamodb_endpoint=settings.aws_endpoint_url_dynamodb,
            s3_endpoint=settings.aws_endpoint_url_s3,
        )
        if settings.embedded:
            aws = EmbeddedAws()
            endpoint = await asyncio.to_thread(aws.start)
            stack.callback(aws.stop)
            store_config = StoreConfig(
                table=EMBEDDED_TABLE,
                bucket=EMBEDDED_BUCKET,
                region=settings.aws_region,
                dynamodb_endpoint=endpoint,
                s3_endpoint=endpoint,
                access_key=EMBEDDED_CREDENTIALS[0],
                secret_key=EMBEDDED_CREDENTIALS[1],
            )
        store = Store(store_config)
        await store.open()
        stack.push_async_callback(store.close)
        if settings.embedded:
            await store.create_table()
            await store.create_bucket()

        hub = EventHub(settings.redis_url or "memory://")
        await hub.connect()
        stack.push_async_callback(hub.disconnect)

        # Shared caches (APQ texts): Redis when configured, a bounded LRU otherwise.
        kv = create_kv(
            settings.redis_url, namespace="graphql-api", max_entries=settings.apq_max_entries
        )
        stack.push_async_callback(kv.close)

        params = settings.jwt_params()
        verifier = TokenVerifier(
            hs256_secret=params["hs256_secret"],
            jwks_url=params["jwks_url"],
            issuer=params["issuer"],
            audience=params["audience"],
            cognito_client_id=params["cognito_client_id"],
            leeway=settings.jwt_leeway_seconds,
        )
        stack.push_async_callback(verifier.aclose)

        resources = Resources(
            settings=settings,
            store=store,
            hub=hub,
            cursors=CursorCodec(settings.effective_cursor_secret()),
            verifier=verifier,
            extras={"kv": kv},
        )
        # Feeds and presence (graphql_api/subscriptions): in resources.extras.
        await stack.enter_async_context(open_live(resources))
        if settings.embedded and seed:
            resources.extras["demo"] = await seed_demo(resources)
        yield resources


WEB_PATH = "/app"


def create_app(
    settings: Settings | None = None,
    *,
    on_ready: StartupHook | None = None,
    web_dir: Path | None = None,
) -> Starlette:
    """The ASGI application. `on_ready` runs after startup (serve prints tokens there);
    `web_dir` (a built examples/web) is served under /app/, same origin as /graphql."""
    settings = settings or get_settings()
    schema = build_schema(LimitConfig.from_settings(settings))
    view = GraphQLView(schema, settings)
    drain = Drain()
    # Optional OpenTelemetry tracing, from the OTEL_* variables (None: off, nothing installed).
    trace_config = tracing.config_from_env(settings.app_env.value)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Tracing starts first and stops last: spans of startup and shutdown are exported.
        async with tracing.running(trace_config), open_resources(settings) as resources:
            view.resources = resources
            app.state.resources = resources
            if on_ready is not None:
                on_ready(resources, resources.extras.get("demo"))
            yield
            view.resources = None

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        if drain.draining:
            # Shutting down: the load balancer must stop routing here before anything else.
            return JSONResponse(
                {"status": "draining", "checks": {}, "failing": ["draining"]}, status_code=503
            )
        resources: Resources = request.app.state.resources
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(resources.store.describe_table(), 3)
            checks["dynamodb"] = "ok"
        except Exception as exc:
            checks["dynamodb"] = f"failing: {type(exc).__name__}"
        if settings.redis_url:
            ok = await resources.hub.ping()
            checks["redis"] = "ok" if ok else "failing"
        ready = all(v == "ok" for v in checks.values())
        failing = [k for k, v in checks.items() if v != "ok"]
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks, "failing": failing},
            status_code=200 if ready else 503,
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    # The reference web client (`serve --web`): static files only; it talks to /graphql.
    web: list[BaseRoute] = []
    if web_dir is not None:
        web.append(Mount(WEB_PATH, app=StaticFiles(directory=web_dir, html=True), name="web"))

    app = Starlette(
        routes=[
            *web,
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            # GraphiQL's own pinned assets (the page itself is GET /graphql from a browser).
            Route(f"{ASSETS_PATH}/{{name}}", view.graphiql_assets.asset, methods=["GET"]),
        ],
        middleware=[
            *tracing.middleware(trace_config),
            Middleware(drain.track),
            Middleware(RequestMetrics),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    # The server's signal handling (__main__.py) starts the drain.
    app.state.drain = drain
    return app

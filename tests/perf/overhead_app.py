"""The benchmark server: the whole API plus a raw Starlette endpoint in the same process."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graphql_api.app import create_app

RAW_BODY = b'{"data":{"__typename":"Query"}}'


async def raw(request: Request) -> Response:
    await request.body()
    return Response(RAW_BODY, media_type="application/json")


def app_factory():  # type: ignore[no-untyped-def]
    app = create_app()
    app.router.routes.insert(0, Route("/raw", raw, methods=["GET", "POST"]))
    return app

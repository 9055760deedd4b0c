"""GraphiQL served by the API from its own assets, under a strict Content-Security-Policy.

The browser bundles come from npm packages pinned in `package-lock.json` here; `npm ci && npm
run build` (run by scripts/bootstrap) copies them into `dist/` (git-ignored). Nothing is
fetched from a CDN, so the explorer works air-gapped and the page needs no 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

STATIC_DIR = Path(__file__).parent
DIST_DIR = STATIC_DIR / "dist"
ASSETS_PATH = "/graphiql/assets"

# Same-origin scripts and styles only; WebSockets to the same host ('self' covers ws: and
# wss: in CSP Level 3); GraphiQL's icon fonts are data: URLs inside its stylesheet.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    """One built file, kept in memory (about 1.7 MB in all)."""

    name: str
    body: bytes
    media_type: str
    integrity: str
    etag: str


class GraphiQLAssets:
    """The built files of `dist/`, loaded on first use (so a build after startup is seen)."""

    def __init__(self, directory: Path = DIST_DIR) -> None:
        self.directory = directory
        self._assets: dict[str, Asset] = {}
        self._order: list[str] = []

    def _load(self) -> bool:
        if self._assets:
            return True
        try:
            listing = json.loads((self.directory / "assets.json").read_text(encoding="utf-8"))
            names: list[str] = list(listing["files"])
            assets = {name: self._read(name) for name in names}
        except (OSError, ValueError, KeyError):
            return False
        self._order, self._assets = names, assets
        return True

    def _read(self, name: str) -> Asset:
        body = (self.directory / name).read_bytes()
        digest = hashlib.sha384(body).digest()
        return Asset(
            name=name,
            body=body,
            media_type=_TYPES[Path(name).suffix],
            integrity="sha384-" + base64.b64encode(digest).decode(),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )

    @property
    def available(self) -> bool:
        return self._load()

    def page(self, request: Request, endpoint: str = "/graphql") -> Response:
        root = request.scope.get("root_path", "")
        if not self._load():
            return HTMLResponse(_MISSING, status_code=503, headers=PAGE_HEADERS)
        tags = []
        for name in self._order:
            asset = self._assets[name]
            url = html.escape(f"{root}{ASSETS_PATH}/{name}")
            if name.endswith(".css"):
                tags.append(f'<link rel="stylesheet" href="{url}" integrity="{asset.integrity}">')
            else:
                tags.append(f'<script src="{url}" integrity="{asset.integrity}"></script>')
        styles = "\n    ".join(t for t in tags if t.startswith("<link"))
        scripts = "\n    ".join(t for t in tags if t.startswith("<script"))
        page = _PAGE.format(
            styles=styles, scripts=scripts, endpoint=html.escape(f"{root}{endpoint}")
        )
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def asset(self, request: Request) -> Response:
        """GET /graphiql/assets/{name}: only the listed files, never a path."""
        name = request.path_params["name"]
        if not self._load() or name not in self._assets:
            return Response("Not Found", status_code=404, media_type="text/plain")
        asset = self._assets[name]
        headers = {
            "etag": asset.etag,
            # File names carry no hash: revalidate (cheap with the ETag) rather than pin.
            "cache-control": "public, max-age=300, must-revalidate",
            "x-content-type-options": "nosniff",
            "cross-origin-resource-policy": "same-origin",
        }
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)


_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL</title>
    <link rel="icon" href="data:,">
    {styles}
  </head>
  <body>
    <div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL...</div>
    {scripts}
  </body>
</html>
"""

_MISSING = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>GraphiQL assets are not built</title></head>
  <body>
    <h1>GraphiQL assets are not built</h1>
    <p>This API serves GraphiQL from its own files (no CDN), and they have not been built on
    this machine. With Node.js 20+ and npm installed, run <code>scripts/bootstrap</code> from
    the repository root, or:</p>
    <pre>cd graphql_api/static &amp;&amp; npm ci &amp;&amp; npm run build</pre>
    <p>then reload this page. The API itself works without them: POST queries to this URL.</p>
  </body>
</html>
"""

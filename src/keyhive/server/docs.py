"""``/docs``: Swagger UI served by keyhive itself, from a Python package, under a strict CSP.

Admins paste tokens into this page, so it loads nothing from a third party (FastAPI's
default page pulls its script from a public CDN): the Swagger UI files come from the
``swagger-ui-bundle-v2`` package and are served at ``/docs/static/``, and the page's
Content-Security-Policy allows only this origin. Swagger UI's initialiser is therefore a
script file of its own, not inline code, and its online validator (a request to a third
party for a badge) is off. The page works with no network at all.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Final

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import FileResponse, HTMLResponse, Response

#: Images may be data: URIs (Swagger UI's icons); everything else only from this origin.
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: The files of the bundle the page uses; nothing else of the package directory is served.
_ASSETS: Final = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_INIT_JS: Final = b"""\
// keyhive's Swagger UI initialiser (a file, since the page's CSP forbids inline scripts).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    persistAuthorization: false
  });
});
"""
_PAGE: Final = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/keyhive-docs.js"></script>
</body>
</html>
"""


def swagger_ui_dir() -> Path:
    """Where the installed Swagger UI files are (ImportError without the server extra)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    """The page and its assets; not part of the OpenAPI document."""
    router = APIRouter(include_in_schema=False)
    assets = swagger_ui_dir()

    @router.get("/docs")
    async def page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        html = _PAGE.format(
            title=escape(f"{title} - API docs"),
            static=escape(f"{root}/docs/static"),
            openapi=escape(f"{root}{openapi_url}"),
        )
        return HTMLResponse(html, headers=_HEADERS)

    @router.get("/docs/static/keyhive-docs.js")
    async def initialiser() -> Response:
        return Response(_INIT_JS, media_type="text/javascript", headers=_HEADERS)

    @router.get("/docs/static/{name}")
    async def asset(name: str) -> FileResponse:
        media_type = _ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, "no such file")
        headers = {**_HEADERS, "Cache-Control": "public, max-age=86400"}
        return FileResponse(assets / name, media_type=media_type, headers=headers)

    return router

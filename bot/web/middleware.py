"""Security headers on every HTTP response (errors and redirects too); CORS for the
widget's own files."""

from __future__ import annotations

from aiohttp import web

from bot.keys import ORIGINS
from bot.remotes import Handler

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _widget_cors(request: web.Request, response: web.StreamResponse) -> None:
    """Shop pages load the widget's modules cross-origin (ES modules need CORS)."""
    origin = request.headers.get("Origin")
    if not origin:
        return
    environ = {"HTTP_HOST": request.host, "wsgi.url_scheme": request.scheme}
    if request.app[ORIGINS](origin, environ):
        response.headers["Access-Control-Allow-Origin"] = origin
        if "Origin" not in response.headers.get("Vary", ""):
            response.headers.add("Vary", "Origin")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Redirects and errors are raised (a 303 after sign-in, a 403, the router's
        # 404): they get the same headers on their way out.
        _secure(request, exc)
        raise
    if not response.prepared:
        _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path == "/widget.js" or request.path.startswith("/widget/"):
        _widget_cors(request, response)

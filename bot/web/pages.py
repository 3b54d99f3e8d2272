"""HTTP routes: the demo shop, the widget files, sign-in, the agent console, health.

The dashboard's routes live in ``bot.web.dashboard``.
"""

from __future__ import annotations

import html
import math
import secrets
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot import events as ev
from bot.agents.sessions import (
    COOKIE,
    DEVICE_COOKIE,
    DEVICE_TTL,
    LOGIN_CSRF_COOKIE,
    LoginRefused,
    Session,
)
from bot.keys import AGENT_NAMESPACE, DB, KNOWLEDGE, ORIGINS, SESSIONS, SETTINGS
from bot.resources import static_dir, widget_dir
from bot.store import accounts
from bot.store.accounts import LOCALES
from bot.web.assets import IMMUTABLE, NO_CACHE, Assets

if TYPE_CHECKING:
    from bot.store.accounts import Agent

routes = web.RouteTableDef()


STATIC = web.AppKey("static_assets", Assets)
WIDGET = web.AppKey("widget_assets", Assets)


async def page(request: web.Request, name: str, /, **values: str) -> web.Response:
    """A static HTML page with ``{{name}}`` placeholders filled (values are escaped)."""
    text = await request.app[STATIC].text(name)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


async def current_session(request: web.Request) -> Session | None:
    return await request.app[SESSIONS].get(request.cookies.get(COOKIE))


async def require_agent(request: web.Request, *, manager: bool = False) -> Session:
    """The signed-in agent's session; 401 (or a redirect for pages) when signed out, 403 if not allowed."""
    session = await current_session(request)
    if session is None:
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
        raise web.HTTPUnauthorized(
            text='{"error": "unauthorized"}', content_type="application/json"
        )
    if manager and not session.agent.is_manager:
        raise web.HTTPForbidden(text="Managers only.", content_type="text/plain")
    return session


async def check_csrf(request: web.Request, session: Session) -> None:
    """State-changing requests: our own origin and the session's CSRF token."""
    policy = request.app[ORIGINS]
    environ = {
        "HTTP_ORIGIN": request.headers.get("Origin", ""),
        "HTTP_HOST": request.host,
        "wsgi.url_scheme": request.scheme,
    }
    if request.headers.get("Origin") and not policy.same_origin(environ):
        raise web.HTTPForbidden(text="Cross-origin request refused.")
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type == "application/x-www-form-urlencoded":
        token = str((await request.post()).get("csrf_token", ""))
    if not token or not secrets.compare_digest(token, session.csrf_token):
        raise web.HTTPForbidden(text="Missing or wrong CSRF token.")


def _safe_next(value: str | None) -> str:
    if not value:
        return "/console"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/console"
    return value


def _set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=settings.secure_cookies,
        max_age=int(settings.session_ttl),
    )


# -- demo shop and widget ---------------------------------------------------------


@routes.get("/")
async def demo(request: web.Request) -> web.Response:
    return await page(request, "demo/index.html")


# The loader names the widget's release; it is cached briefly, so that a new release
# reaches shop pages within minutes, while its modules are cached for good.
LOADER_CACHE = "public, max-age=300"
RELEASE_MARK = 'var release = "";'


@routes.get("/widget.js")
async def widget_js(request: web.Request) -> web.Response:
    assets = request.app[WIDGET]
    loader = await assets.text("widget.js")
    release = await assets.release()
    body = loader.replace(RELEASE_MARK, f'var release = "{release}/";', 1).encode()
    return await assets.respond(request, "widget.js", cache=LOADER_CACHE, body=body)


@routes.get(r"/widget/{release:[0-9a-f]{16}}/{path:.+}")
async def widget_release_file(request: web.Request) -> web.Response:
    """A file of one release: immutable when it is the current one. A page whose loader
    is a few minutes old may still ask for the previous release: it gets today's files,
    revalidated every time."""
    assets = request.app[WIDGET]
    current = request.match_info["release"] == await assets.release()
    return await assets.respond(
        request, request.match_info["path"], cache=IMMUTABLE if current else NO_CACHE
    )


@routes.get("/widget/{path:.+}")
async def widget_file(request: web.Request) -> web.Response:
    return await request.app[WIDGET].respond(request, request.match_info["path"])


@routes.get("/static/{path:.+}")
async def static_file(request: web.Request) -> web.Response:
    return await request.app[STATIC].respond(request, request.match_info["path"])


@routes.get("/healthz")
async def health(request: web.Request) -> web.Response:
    knowledge = request.app[KNOWLEDGE]
    return web.json_response({"ok": True, "kb_entries": len(knowledge.kb.entries)})


# -- sign-in -------------------------------------------------------------------------


LOGIN_ERRORS = {
    "1": "Wrong e-mail or password.",
    "2": "Too many attempts; try again later.",
    "3": "Your session expired; please sign in again.",
    "4": "Too many sign-ins at this moment; please try again in a few seconds.",
}


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    return await _login_form(
        request,
        LOGIN_ERRORS.get(request.query.get("error", ""), ""),
        _safe_next(request.query.get("next")),
    )


async def _login_form(request: web.Request, error: str, next_url: str) -> web.Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = await page(request, "login.html", csrf=token, next=next_url, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/login",
        secure=request.app[SETTINGS].secure_cookies,
    )
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("csrf_token", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    next_url = _safe_next(str(form.get("next", "")))
    if not expected or not secrets.compare_digest(token, expected):
        raise web.HTTPSeeOther(f"/login?error=3&next={quote(next_url)}")
    sessions = request.app[SESSIONS]
    try:
        cookie, session, device = await sessions.login(
            str(form.get("email", "")),
            str(form.get("password", "")),
            request.remote or "",
            device=request.cookies.get(DEVICE_COOKIE),
        )
    except LoginRefused as exc:
        if not exc.retry_after:
            raise web.HTTPSeeOther(f"/login?error=1&next={quote(next_url)}") from None
        # Not checked (too many failures, or too many checks at once): 429, and the
        # form again with the reason.
        response = await _login_form(request, LOGIN_ERRORS["4" if exc.busy else "2"], next_url)
        response.set_status(429)
        response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    ev.submit(request.app[DB], ev.AgentLoggedIn(actor="agent", agent_id=session.agent.id))
    response = web.HTTPSeeOther(next_url)
    _set_session_cookie(request, response, cookie)
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        httponly=True,
        samesite="Strict",
        path="/login",
        secure=request.app[SETTINGS].secure_cookies,
        max_age=int(DEVICE_TTL),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    session = await require_agent(request)
    await check_csrf(request, session)
    await request.app[SESSIONS].logout(request.cookies[COOKIE])
    ev.submit(request.app[DB], ev.AgentLoggedOut(actor="agent", agent_id=session.agent.id))
    # The console's open sockets of this session end now (and its chats are requeued
    # when it was the agent's last one).
    await request.app[AGENT_NAMESPACE].audit()
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# -- agent console ---------------------------------------------------------------------


def choose_locale(request: web.Request, agent: Agent) -> str:
    """The console's and the dashboard's language: the agent's choice, else the first
    of the browser's languages we have, else English."""
    if agent.locale in LOCALES:
        return str(agent.locale)
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LOCALES:
            return code
    return "en"


@routes.get("/console")
async def console(request: web.Request) -> web.Response:
    session = await require_agent(request)
    return await page(
        request,
        "console/index.html",
        csrf=session.csrf_token,
        name=session.agent.name,
        role=session.agent.role,
        locale=choose_locale(request, session.agent),
    )


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    session = await require_agent(request)
    agent: Agent = session.agent
    return web.json_response({"agent": agent.public(), "csrf_token": session.csrf_token})


@routes.post("/api/preferences")
async def preferences(request: web.Request) -> web.Response:
    """``{"locale": "en" | "it" | "pl" | null}``: the language of the console and the
    dashboard for this agent (null: the browser's)."""
    session = await require_agent(request)
    await check_csrf(request, session)
    try:
        data = await request.json()
    except ValueError:
        data = None
    locale = data.get("locale") if isinstance(data, dict) else "?"
    if locale is not None and locale not in LOCALES:
        return web.json_response(
            {"error": "invalid_payload", "message": "locale: expected en, it, pl or null"},
            status=400,
        )
    await request.app[DB].write(
        partial(accounts.set_locale, agent_id=session.agent.id, locale=locale)
    )
    return web.json_response({"locale": locale}, headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    app[STATIC] = Assets(static_dir())
    app[WIDGET] = Assets(widget_dir())
    app.router.add_routes(routes)

"""HTTP for image attachments: the widget sends one, shoppers and agents fetch one.

``POST /api/uploads`` takes ``multipart/form-data`` (a CORS "simple request": no
preflight) with the fields ``token`` (the conversation's resume token), ``id``
(the client's message id) and ``file``, in that order, and answers like a
message's ack: ``{"ok": true, "message", "duplicate"}`` or ``{"ok": false,
"error": {code, message}}`` with an HTTP status that matches. The body is read
as it comes and given up past the size limit.

``GET /api/uploads/{id}`` serves the image to the conversation's shopper
(``?key=``, from their messages) or to a signed-in agent who may read the chat,
as the image type its content was found to be, with ``nosniff``, a sandboxing
Content-Security-Policy and ``Content-Disposition``: never as a page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from bot import validate
from bot.errors import ClientError
from bot.images import TYPES
from bot.keys import ORIGINS, SETTINGS, UPLOADS
from bot.remotes import address_key
from bot.web.pages import current_session

routes = web.RouteTableDef()

STATUS = {
    "invalid_payload": 400,
    "invalid_id": 400,
    "invalid_token": 403,
    "forbidden": 403,
    "unauthorized": 401,
    "not_found": 404,
    "conversation_closed": 409,
    "too_many_files": 409,
    "file_too_large": 413,
    "unsupported_type": 415,
    "rate_limited": 429,
    "storage_unavailable": 503,
}
IMAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",  # shop pages show it with <img>
    "Cache-Control": "private, max-age=86400",
}
FIELD_LIMIT = 200  # bytes of the token and id fields


def _allowed(request: web.Request) -> str | None:
    """The page's origin when it may use the widget (None without an Origin header);
    ``forbidden`` for any other origin."""
    origin = request.headers.get("Origin")
    if not origin:
        return None
    environ = {"HTTP_HOST": request.host, "wsgi.url_scheme": request.scheme}
    if not request.app[ORIGINS](origin, environ):
        raise ClientError("forbidden", "This origin may not use the widget.")
    return origin


def _refusal(error: ClientError, origin: str | None) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(max(1, round(float(error.extra["retry_after"]))))
    return web.json_response(error.ack(), status=STATUS.get(error.code, 400), headers=headers)


async def _field(part: BodyPartReader, name: str) -> str:
    if part.name != name:
        raise ClientError("invalid_payload", f"Expected the field {name!r} here.")
    raw = await part.read_chunk(FIELD_LIMIT + 1)
    if len(raw) > FIELD_LIMIT:
        raise ClientError("invalid_payload", f"The field {name!r} is too long.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError("invalid_payload", f"The field {name!r} is not text.") from None


async def _file(part: BodyPartReader, limit: int) -> tuple[str, bytes]:
    if part.name != "file":
        raise ClientError("invalid_payload", "Expected the field 'file' here.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise ClientError(
                "file_too_large", f"The file is larger than {limit} bytes.", limit=limit
            )
        chunks.append(chunk)
    return part.filename or "", b"".join(chunks)


@routes.post("/api/uploads")
async def upload(request: web.Request) -> web.Response:
    origin = None
    limit = request.app[SETTINGS].upload_max_bytes
    try:
        origin = _allowed(request)
        if (request.content_length or 0) > limit + 64 * 1024:
            raise ClientError(
                "file_too_large", f"The file is larger than {limit} bytes.", limit=limit
            )
        if not request.content_type.startswith("multipart/"):
            raise ClientError("invalid_payload", "Send multipart/form-data: token, id, file.")
        reader = await request.multipart()
        fields: list[Any] = []
        for name in ("token", "id", "file"):
            part = await reader.next()
            if not isinstance(part, BodyPartReader):
                raise ClientError("invalid_payload", "Send the fields token, id and file.")
            fields.append(await (_file(part, limit) if name == "file" else _field(part, name)))
        token, client_id, (name, data) = fields
        validate.client_id({"id": client_id})
        result = await request.app[UPLOADS].receive(
            token=token,
            client_id=client_id,
            name=name,
            data=data,
            address=address_key(request.remote),
        )
    except ClientError as error:
        return _refusal(error, origin)
    headers = {"Cache-Control": "no-store"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return web.json_response({"ok": True, **result}, headers=headers)


@routes.get("/api/uploads/{attachment_id}")
async def download(request: web.Request) -> web.Response:
    key = request.query.get("key")
    agent = None
    if key is None:
        session = await current_session(request)
        if session is not None:
            agent = (session.agent.id, session.agent.is_manager)
    try:
        attachment, data = await request.app[UPLOADS].open(
            request.match_info["attachment_id"], key=key, agent=agent
        )
    except ClientError as error:
        return _refusal(error, None)
    filename = f"{attachment.id}.{TYPES[attachment.content_type]}"
    return web.Response(
        body=data,
        content_type=attachment.content_type,
        headers={
            **IMAGE_HEADERS,
            "Content-Disposition": f'inline; filename="{filename}"',
            "ETag": f'"{attachment.sha256[:20]}"',
        },
    )


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)

"""Our own small static files (widget, console, dashboard), served from memory.

Each file is read once (again when it changes on disk), gzipped once, and served
with an ETag and ``Cache-Control: no-cache``: browsers revalidate every time, so
after an upgrade nobody mixes old and new widget modules, and a revalidation that
finds no change costs a 304. Serving from memory also keeps file handles out of
request handlers that a disconnecting client may cancel.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

COMPRESSIBLE = {"application/javascript", "text/javascript", "text/css", "text/html",
                "image/svg+xml", "application/json", "text/plain", "text/markdown"}
TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".css": "text/css",
         ".html": "text/html", ".svg": "image/svg+xml", ".json": "application/json",
         ".txt": "text/plain", ".md": "text/markdown"}


@dataclass(frozen=True, slots=True)
class Asset:
    version: tuple[int, int]  # (mtime_ns, size) it was read at
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _load(path: Path) -> Asset:
    stat = path.stat()
    body = path.read_bytes()
    content_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gzipped = gzip.compress(body, 9, mtime=0) if content_type in COMPRESSIBLE and len(body) > 256 else None
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset((stat.st_mtime_ns, stat.st_size), body, gzipped, content_type, etag)


class Assets:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, Asset] = {}

    def locate(self, relative: str) -> Path:
        try:
            path = (self.root / relative).resolve()
            found = path.is_relative_to(self.root) and path.is_file()
        except (ValueError, OSError):  # a NUL byte in the name, a name too long
            found = False
        if not found:
            raise web.HTTPNotFound()
        return path

    async def get(self, relative: str) -> Asset:
        path = self.locate(relative)
        stat = path.stat()
        asset = self._cache.get(path)
        if asset is None or asset.version != (stat.st_mtime_ns, stat.st_size):
            asset = await asyncio.get_running_loop().run_in_executor(None, _load, path)
            self._cache[path] = asset
        return asset

    async def respond(self, request: web.Request, relative: str) -> web.Response:
        asset = await self.get(relative)
        headers = {
            "ETag": asset.etag,
            "Cache-Control": "no-cache",
            "Vary": "Accept-Encoding, Origin",
        }
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        charset = "utf-8" if asset.content_type in COMPRESSIBLE else None
        return web.Response(body=body, headers=headers, content_type=asset.content_type,
                            charset=charset)

    async def text(self, relative: str) -> str:
        return (await self.get(relative)).body.decode("utf-8")

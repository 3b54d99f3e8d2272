"""Our own small static files (widget, console, dashboard), served from memory.

Each file is read once (again when it changes on disk), gzipped once, and served
with an ETag. By default with ``Cache-Control: no-cache``: browsers revalidate
every time, and a revalidation that finds no change costs a 304. Serving from
memory also keeps file handles out of request handlers that a disconnecting
client may cancel.

A folder's *release* (:meth:`Assets.release`) is a hash of every file in it,
computed at start-up (and again when a file changes on disk): the widget's
modules are served under ``/widget/<release>/...`` with ``Cache-Control:
immutable``, so a shop page's repeat view fetches none of them, and an upgrade
changes every URL at once (no page mixes old and new modules). Only the loader,
``/widget.js``, which names the release, is cached briefly. No build step: the
hash is taken from the files as they are.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

COMPRESSIBLE = {
    "application/javascript",
    "text/javascript",
    "text/css",
    "text/html",
    "image/svg+xml",
    "application/json",
    "text/plain",
    "text/markdown",
}
TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain",
    ".md": "text/markdown",
}


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
    content_type = (
        TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    gzipped = (
        gzip.compress(body, 9, mtime=0)
        if content_type in COMPRESSIBLE and len(body) > 256
        else None
    )
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset((stat.st_mtime_ns, stat.st_size), body, gzipped, content_type, etag)


NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``root`` with its (mtime, size): cheap to take, changes with any edit."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found.append((path.relative_to(root).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _tree_hash(root: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in signature:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class Assets:
    # How often the files' signature is taken again to notice edits (seconds).
    RECHECK = 2.0

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, Asset] = {}
        self._signature = _signature(self.root)
        self._release = _tree_hash(self.root, self._signature)  # at start-up
        self._checked = time.monotonic()
        self._variants: dict[tuple[str, bytes], Asset] = {}

    async def release(self) -> str:
        """The hash of every file of the folder (16 hex digits), as served now."""
        if time.monotonic() - self._checked >= self.RECHECK:
            self._checked = time.monotonic()
            loop = asyncio.get_running_loop()
            signature = await loop.run_in_executor(None, _signature, self.root)
            if signature != self._signature:
                self._release = await loop.run_in_executor(None, _tree_hash, self.root, signature)
                self._signature = signature
        return self._release

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

    async def respond(
        self,
        request: web.Request,
        relative: str,
        *,
        cache: str = NO_CACHE,
        body: bytes | None = None,
    ) -> web.Response:
        """Serve a file; ``body`` replaces its content (the loader with its release
        filled in), keeping the file's type."""
        asset = await self.get(relative)
        if body is not None:
            asset = self._variant(asset, body)
        headers = {
            "ETag": asset.etag,
            "Cache-Control": cache,
            "Vary": "Accept-Encoding, Origin",
        }
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        charset = "utf-8" if asset.content_type in COMPRESSIBLE else None
        return web.Response(
            body=body, headers=headers, content_type=asset.content_type, charset=charset
        )

    async def text(self, relative: str) -> str:
        return (await self.get(relative)).body.decode("utf-8")

    def _variant(self, asset: Asset, body: bytes) -> Asset:
        """The asset with another body (compressed and tagged once per distinct body)."""
        key = (asset.etag, body)
        found = self._variants.get(key)
        if found is None:
            if len(self._variants) > 16:
                self._variants.clear()
            gzipped = gzip.compress(body, 9, mtime=0) if asset.gzipped is not None else None
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            found = Asset(asset.version, body, gzipped, asset.content_type, etag)
            self._variants[key] = found
        return found

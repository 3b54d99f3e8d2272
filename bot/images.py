"""What an uploaded file really is, from its bytes (never from its name or the type
the browser claimed): PNG, JPEG, GIF or WebP, with its width and height.

Anything else, an image whose header cannot be read, or one of absurd size, is
not an image to us: :func:`sniff` returns None.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
MAX_SIDE = 20_000  # pixels


@dataclass(frozen=True, slots=True)
class Image:
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return TYPES[self.content_type]


def sniff(data: bytes) -> Image | None:
    for reader in (_png, _jpeg, _gif, _webp):
        try:
            found = reader(data)
        except (struct.error, IndexError, ValueError):
            found = None
        if found is not None:
            content_type, width, height = found
            if 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE:
                return Image(content_type, width, height)
            return None
    return None


def _png(data: bytes) -> tuple[str, int, int] | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return "image/png", width, height


def _gif(data: bytes) -> tuple[str, int, int] | None:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return "image/gif", width, height


# Start-of-frame markers carry the size (not DHT C4, JPG C8 or DAC CC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> tuple[str, int, int] | None:
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        if length < 2:
            return None
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return "image/jpeg", width, height
        if marker == 0xDA:  # image data before any frame header: not readable
            return None
        at += 2 + length
    return None


def _webp(data: bytes) -> tuple[str, int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return "image/webp", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        bits = int.from_bytes(data[21:25], "little")
        return "image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "image/webp", width, height
    return None

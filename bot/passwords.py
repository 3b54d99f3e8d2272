"""Password hashing for console accounts: scrypt, memory-hard, constant-time checks."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# scrypt, memory-hard: 2**15 * 8 * 128 bytes = 32 MiB per hash, ~50-100 ms.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=32,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password: checked when the e-mail is unknown, so that a
    wrong e-mail takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))

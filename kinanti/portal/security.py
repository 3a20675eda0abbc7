"""Passwords (argon2), one-time link tokens (only their hash is stored), the signing key.

The signing key comes from ``KINANTI_SECRET_KEY`` or, when unset, from ``<home>/portal-secret``,
generated on first use (mode 0600). Every replica must share it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kinanti.settings import Settings

MIN_PASSWORD = 10
MAX_PASSWORD = 200


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """A salted argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; costs the same when there is no hash, so
    the answer's timing does not tell whether an account exists."""
    try:
        return _hasher().verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_link_token() -> tuple[str, str]:
    """A fresh URL-safe token and the SHA-256 digest that is stored instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secret_key(settings: Settings) -> str:
    """The session signing key (setting, else the generated file under ``home``)."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 32:
            raise ValueError("KINANTI_SECRET_KEY must be at least 32 characters long")
        return value
    path = Path(settings.home) / "portal-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()

"""argon2 for tests: the cheapest parameters (tests/conftest.py puts them in place of the
production ones for the test process; tests/unit/test_password_hashing.py checks production's)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher

from kinanti.portal import security

PRODUCTION_HASHER = security._hasher  # before tests/conftest.py replaces it


@lru_cache(maxsize=1)
def cheapest_hasher() -> PasswordHasher:
    """argon2id, one pass over 8 KiB: microseconds instead of a quarter of a second."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

"""Portal passwords are hashed with argon2id at the production parameters (argon2-cffi's
default, RFC 9106's low-memory profile). The other tests hash at the cheapest parameters
(tests/conftest.py); this one puts production's hasher back and checks it end to end."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from kinanti.portal import security
from tests.support.passwords import PRODUCTION_HASHER


def test_passwords_are_hashed_with_the_production_argon2_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = PRODUCTION_HASHER()
    assert isinstance(hasher, PasswordHasher)
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    assert (hasher.hash_len, hasher.salt_len, hasher.type) == (32, 16, RFC_9106_LOW_MEMORY.type)
    monkeypatch.setattr(security, "_hasher", PRODUCTION_HASHER)
    security._dummy_hash.cache_clear()
    try:
        stored = security.hash_password("kata-sandi-yang-panjang")
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert security.verify_password(stored, "kata-sandi-yang-panjang")
        assert not security.verify_password(stored, "kata-sandi-yang-lain")
        assert not security.verify_password(None, "kata-sandi-yang-panjang")
        assert security._dummy_hash().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    finally:
        security._dummy_hash.cache_clear()

"""The portal works on ``KINANTI_WEB_THREADS`` requests at once (anyio's thread pool)."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from kinanti.portal.app import create_app
from kinanti.settings import Settings


@pytest.mark.parametrize("threads", [6, 2])
def test_the_thread_pool_is_the_settings_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_WEB_THREADS", str(threads))
    settings = Settings()
    assert settings.web_threads == threads
    with TestClient(create_app(settings)) as client:  # runs the lifespan, like uvicorn
        assert client.portal is not None

        async def tokens() -> float:
            return anyio.to_thread.current_default_thread_limiter().total_tokens

        assert client.portal.call(tokens) == threads
        assert client.get("/sign-in").status_code == 200

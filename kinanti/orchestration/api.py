"""Finding the Prefect API for CLI commands (``PREFECT_API_URL``, else the one that
``kinanti serve`` recorded under the Kinanti home)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from domain.errors import KinantiError
from domain.messages import words
from kinanti.orchestration.runtime import api_healthy
from kinanti.settings import Settings


class PrefectUnavailableError(KinantiError):
    """Raised when no Prefect API answers; start one with `kinanti serve`."""


def api_url_file(settings: Settings) -> Path:
    return settings.home.resolve() / "prefect-api-url"


def find_api_url(settings: Settings) -> str:
    configured = os.environ.get("PREFECT_API_URL")
    candidates = [configured] if configured else []
    path = api_url_file(settings)
    if path.exists():
        candidates.append(path.read_text().strip())
    for url in candidates:
        if url and api_healthy(url):
            return url
    tried = ", ".join(c for c in candidates if c)
    raise PrefectUnavailableError(
        code="engine.no_api", at=words(f" di {tried}", f" at {tried}") if tried else ""
    )


@contextlib.contextmanager
def using_api(url: str) -> Iterator[None]:
    """Point Prefect's client at ``url`` for the duration (works after prefect is imported),
    with the API's credentials (``KINANTI_PREFECT_AUTH_STRING``) unless Prefect's own
    ``PREFECT_API_AUTH_STRING`` is set."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    from kinanti.orchestration.runtime import auth_env
    from kinanti.settings import get_settings

    updates: dict[Any, Any] = {PREFECT_API_URL: url}
    auth = auth_env(get_settings()).get("PREFECT_API_AUTH_STRING")
    if auth and not os.environ.get("PREFECT_API_AUTH_STRING"):
        updates[PREFECT_API_AUTH_STRING] = auth
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates=updates):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous

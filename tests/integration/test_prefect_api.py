"""How Kinanti's CLI finds the Prefect API (``kinanti/orchestration/api.py``), against the real
test API: ``PREFECT_API_URL`` first, else the URL ``kinanti serve`` recorded; a clear
error naming what was tried when nothing answers; ``using_api`` points Prefect's client
at the URL and restores the environment afterwards."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from kinanti.orchestration.api import PrefectUnavailableError, api_url_file, find_api_url, using_api
from kinanti.settings import Settings


def _dead_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.mark.prefect
def test_the_configured_api_wins_when_it_answers(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path)
    api_url_file(settings).write_text(_dead_url())
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    assert find_api_url(settings) == prefect_api


@pytest.mark.prefect
def test_the_url_recorded_by_serve_is_used_when_none_is_configured(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with pytest.raises(PrefectUnavailableError):
        find_api_url(settings)
    api_url_file(settings).write_text(prefect_api + "\n")
    assert find_api_url(settings) == prefect_api
    # a configured URL that does not answer falls back to the recorded one
    monkeypatch.setenv("PREFECT_API_URL", _dead_url())
    assert find_api_url(settings) == prefect_api


def test_nothing_answering_names_every_url_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path)
    configured, recorded = _dead_url(), _dead_url()
    monkeypatch.setenv("PREFECT_API_URL", configured)
    api_url_file(settings).write_text(recorded)
    with pytest.raises(PrefectUnavailableError) as refused:
        find_api_url(settings)
    assert configured in str(refused.value) and recorded in str(refused.value)


@pytest.mark.prefect
def test_using_api_points_the_prefect_client_at_the_url_and_restores_the_environment(
    prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import get_client

    before = _dead_url()
    monkeypatch.setenv("PREFECT_API_URL", before)
    with using_api(prefect_api):
        assert os.environ["PREFECT_API_URL"] == prefect_api
        with get_client(sync_client=True) as client:
            assert client.api_healthcheck() is None  # None: healthy
            assert str(client.api_url).rstrip("/") == prefect_api.rstrip("/")
    assert os.environ["PREFECT_API_URL"] == before

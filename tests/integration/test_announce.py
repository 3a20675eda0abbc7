"""Announcing domain events to Prefect's feed (``kinanti/orchestration/announce.py``), against
the real test API: a row is marked announced only once the server accepted it, a second
announcement does not double it in the feed, and an API that does not answer leaves the
rows for the next pass. It names the server the caller is using at that moment, also after
this process talked to another one (Prefect's background event sender stays bound to the
first server it used)."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from domain.models import DomainEventRecord
from kinanti.db import make_engine, unit_of_work
from kinanti.orchestration.announce import announce, event_uuid
from kinanti.orchestration.api import using_api
from tests.support import snapshots

pytestmark = pytest.mark.prefect


def _dead_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'kinanti.db'}"
    snapshots.shared().migrated(url)  # upgrade(url), by copy of a database migrated once
    return make_engine(url)


def _record(engine: Engine, n: int, token: str) -> list[int]:
    with unit_of_work(engine) as session:
        rows = [
            DomainEventRecord(name="kinanti.test.announced", payload={"token": token, "i": i})
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _unannounced(engine: Engine, ids: list[int]) -> set[int]:
    with unit_of_work(engine) as session:
        return set(
            session.scalars(
                select(DomainEventRecord.id).where(
                    DomainEventRecord.id.in_(ids), DomainEventRecord.announced_at.is_(None)
                )
            )
        )


def _feed(token: str) -> list[dict[str, Any]]:
    from prefect import get_client

    found: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        page = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {
                    "event": {"name": ["kinanti.test.announced"]},
                    "occurred": {"since": "2000-01-01T00:00:00Z"},
                },
                "limit": 50,
            },
        ).json()
        while True:
            found.extend(e for e in page["events"] if e["payload"].get("token") == token)
            if not page.get("next_page"):
                return found
            page = client.request("GET", page["next_page"]).json()


def _wait_for_feed(token: str, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _feed(token)
        if len(found) >= n:
            return found
        time.sleep(0.5)
    return _feed(token)


def test_events_are_marked_only_when_the_server_accepted_them_and_never_doubled(
    prefect_api: str, engine: Engine
) -> None:
    token = uuid.uuid4().hex
    ids = _record(engine, 230, token)  # more than one page (100 rows) and one request (200)
    with using_api(prefect_api):
        assert announce(engine, ids, limit=100) == 230
        assert _unannounced(engine, ids) == set()
        # announced again (a retried task, a second process): the feed keeps one of each
        with unit_of_work(engine) as session:
            session.execute(
                update(DomainEventRecord)
                .where(DomainEventRecord.id.in_(ids[:40]))
                .values(announced_at=None)
            )
        assert announce(engine, ids) == 40
        found = _wait_for_feed(token, 230)
        time.sleep(6)  # one more flush of the server's event persister
        found = _feed(token)
    tag = str(engine.url.render_as_string(hide_password=True))
    assert sorted(e["id"] for e in found) == sorted(str(event_uuid(i, tag)) for i in ids)


def test_an_api_that_does_not_answer_leaves_the_events_for_the_next_pass(
    prefect_api: str, engine: Engine
) -> None:
    token = uuid.uuid4().hex
    with using_api(prefect_api):  # this process has talked to a server before
        announce(engine, _record(engine, 1, token))
    ids = _record(engine, 3, token)
    with using_api(_dead_url()), pytest.raises(Exception):  # noqa: B017 - any transport error
        announce(engine, ids)
    assert _unannounced(engine, ids) == set(ids)
    with using_api(prefect_api):
        assert announce(engine, ids) == 3
    assert len(_wait_for_feed(token, 4)) == 4

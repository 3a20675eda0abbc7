"""Prefect behind authentication (issue 9 item 4): `kinanti serve` with
``KINANTI_PREFECT_AUTH_STRING`` runs its Prefect server with
``PREFECT_SERVER_API_AUTH_STRING``; an unauthenticated resume of a waiting gate is refused
(401) and the innovation does not move, while Kinanti's own decision path (`kinanti
decide`, the same function the portal calls) resumes the run server-side with the
credentials."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from domain.enums import GateStatus, Stage
from domain.models import GateRequest, Innovation
from kinanti import db
from kinanti.db import unit_of_work
from tests.e2e.test_serve import Home
from tests.support.engine_support import kinanti_env, load_city, submit, wait_until

pytestmark = [pytest.mark.e2e]

CODE = "GERBANG-AMAN"
REVIEWER = "hendriani.brida@mataramkota.go.id"
DECIDE = [sys.executable, "-m", "kinanti.cli", "decide"]


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Home]:
    place = Home(tmp_path / "home")
    place.root.mkdir()
    place.env["KINANTI_PREFECT_AUTH_STRING"] = f"kinanti:{secrets.token_urlsafe(16)}"
    place.env["KINANTI_RECONCILE_EVERY_SECONDS"] = "5"
    try:
        yield place
    finally:
        place.cleanup()


def _waiting_gate(url: str) -> tuple[str, Stage] | None:
    with unit_of_work() as session:
        row = session.execute(
            select(GateRequest.flow_run_id, Innovation.stage)
            .join(Innovation, Innovation.id == GateRequest.innovation_id)
            .where(Innovation.code == CODE, GateRequest.status == GateStatus.OPEN)
        ).first()
    return (row[0], row[1]) if row and row[0] else None


def _stage() -> Stage:
    with unit_of_work() as session:
        return session.scalars(select(Innovation.stage).where(Innovation.code == CODE)).one()


def test_an_unauthenticated_resume_is_refused_and_kinanti_decides_with_credentials(
    guarded: Home,
) -> None:
    database_url = guarded.env["KINANTI_DATABASE_URL"]
    user, _, password = guarded.env["KINANTI_PREFECT_AUTH_STRING"].partition(":")
    with kinanti_env(guarded.root, database_url):
        db.upgrade(database_url)
        load_city()
        submit(CODE, "DINKES")  # a complete proposal; the reconciler starts its run

        serve = guarded.serve()
        guarded.wait_serving(serve)
        api = guarded.url
        assert httpx.get(f"{api}/health", timeout=10).status_code == 200  # probes stay open

        def paused() -> bool:
            gate = _waiting_gate(api)
            if gate is None:
                return False
            run = httpx.get(f"{api}/flow_runs/{gate[0]}", auth=(user, password), timeout=10)
            return run.status_code == 200 and run.json()["state"]["type"] == "PAUSED"

        wait_until(paused, 300, "the planning gate's run to wait (PAUSED)")
        gate = _waiting_gate(api)
        assert gate is not None
        run_id = gate[0]

        body = {"run_input": {"decision": "approve", "reason": "", "proof": "tebakan"}}
        anonymous = httpx.post(f"{api}/flow_runs/{run_id}/resume", json=body, timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.post(
            f"{api}/flow_runs/{run_id}/resume", json=body, auth=(user, "salah"), timeout=10
        )
        assert wrong.status_code == 401
        assert httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).status_code == 401
        assert paused() and _stage() is Stage.PLANNING

        decided = subprocess.run(
            [*DECIDE, CODE, "approve", "--as", REVIEWER, "--wait", "120"],
            env=guarded.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert decided.returncode == 0, decided.stdout + decided.stderr
        assert run_id in decided.stdout or "resume" in decided.stdout  # resumed, not bypassed
        wait_until(lambda: _stage() is Stage.DEVELOPMENT, 240, "the innovation to move on")

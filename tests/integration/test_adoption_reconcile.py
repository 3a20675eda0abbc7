"""The reconciler watches adoptions' runs as it watches the lifecycle's: a hand-off whose run
is gone is replaced and started again; a settled adoption's row is closed (real Prefect API,
SQLite)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from domain import replication as rep
from domain.enums import AdoptionModel, AdoptionStatus, Stage, StageStartStatus
from domain.evidence import EvidenceStore
from domain.models import AdoptionStart
from domain.queries import get_innovation

pytestmark = pytest.mark.prefect


def test_a_dead_adoption_run_is_replaced_and_a_settled_one_closed(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.lifecycle import innovation_lifecycle
    from flows.replication import adoption
    from kinanti.db import get_engine, unit_of_work
    from kinanti.orchestration.handoff import adoption_label
    from kinanti.orchestration.reconcile import reconcile
    from tests.support.engine_support import kinanti_env, load_city, new_database, submit

    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    with new_database("sqlite", tmp_path) as url, kinanti_env(tmp_path, url):
        load_city()
        adoption.to_deployment(name="adoption").apply()
        innovation_lifecycle.to_deployment(name="lifecycle").apply()  # the origin's hand-off
        code = submit("REKON-ASAL", "PKM-PAGESANGAN")
        store = EvidenceStore(tmp_path / "evidence", max_bytes=100_000)
        with unit_of_work() as session:
            get_innovation(session, code).stage = Stage.REPLICATION
            rep.offer_replication(session, code, _OFFER, actor=_OWNER)
            letter = rep.EvidenceIn(link="https://jdih.example.go.id/surat.pdf")
            alive, _ = rep.register_interest(
                session, store, code, model=AdoptionModel.MANDIRI, letter=letter,
                actor="inovasi.pkm.ampenan@mataramkota.go.id", adopter_unit="PKM-AMPENAN",
            )  # fmt: skip
            ended, _ = rep.register_interest(
                session, store, code, model=AdoptionModel.MANDIRI, letter=letter,
                actor="inovasi.dkp@mataramkota.go.id", adopter_unit="DKP",
            )  # fmt: skip
            ended.status = AdoptionStatus.REJECTED  # decided meanwhile: nothing to do
            for row in session.scalars(select(AdoptionStart)):  # their runs died
                row.status, row.flow_run_id = StageStartStatus.STARTED, str(uuid.uuid4())
            ids = (alive.id, ended.id)
        report = reconcile(get_engine(), stuck_after=dt.timedelta(seconds=0))
        assert report.replaced == [adoption_label(ids[0])]
        assert adoption_label(ids[0]) in [s.innovation_code for s in report.started]
        assert report.closed == 1
        with unit_of_work() as session:
            rows = {
                (r.adoption_id, r.attempt): r.status
                for r in session.scalars(select(AdoptionStart).order_by(AdoptionStart.id))
            }
        assert rows == {
            (ids[0], 1): StageStartStatus.DONE,
            (ids[0], 2): StageStartStatus.STARTED,  # the new run, started at once
            (ids[1], 1): StageStartStatus.DONE,
        }


_OWNER = "kepala.pkm.pagesangan@mataramkota.go.id"
_OFFER = rep.OfferIn.model_validate(
    {
        "prerequisites": {"staff": "Dua petugas", "budget": "APBD unit", "tools": "Aplikasi",
                          "rules": "SK kepala unit"},
        "readiness_statement": "Unit pemilik siap mendampingi replikasi.",
        "materials": {"guideline": "Pedoman", "sop": "SOP layanan", "training": "Dua hari"},
    }
)  # fmt: skip

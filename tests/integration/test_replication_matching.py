"""Matching adopters to offers, and the monthly Klinik Kinanti digest, on the example city
(SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.changes import record_history
from domain.compliance import ComplianceRules
from domain.enums import Language, Stage
from domain.errors import NotFoundError
from domain.evidence import EvidenceStore
from domain.matching import enqueue_klinik_digest, suggest_adopters
from domain.models import OutboxMessage, Unit
from kinanti.db import make_engine, unit_of_work, upgrade
from kinanti.demo.run import EXAMPLES
from kinanti.importers import import_innovations, import_people, import_units, read_records
from kinanti.importers.replications import import_replications, read_replications
from notifications.render import Renderer
from tests.conftest import BACKENDS
from tests.support import postgres, snapshots
from tests.support.factories import Factory

TODAY = dt.date(2026, 12, 1)
RULES = ComplianceRules(Stage.DEVELOPMENT, 10)


def _build_city(url: str, home: Path) -> None:
    """The example city with its replications (built once per process and backend, copied
    for each test: tests/support/snapshots.py)."""
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        import_units(session, read_records(EXAMPLES / "units.yaml", "units"), "units.yaml")
        import_people(session, read_records(EXAMPLES / "people.yaml", "people"), "people.yaml")
        import_innovations(
            session,
            read_records(EXAMPLES / "innovations.yaml", "innovations"),
            "innovations.yaml",
            language="id",
        )
        doc = read_replications(EXAMPLES / "replications.yaml")
        store = EvidenceStore(home / "evidence", max_bytes=1_000_000)
        import_replications(session, doc, "replications.yaml", store)
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """This module's ``session`` (in place of tests/conftest.py's): on a copy of the example
    city of this test's own, inside a transaction rolled back after the test."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'city.db'}"
        else:
            url = stack.enter_context(postgres.temporary_database("kinanti_city"))
        snapshots.shared().restore("replication-matching-city", url, tmp_path, _build_city)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        connection = stack.enter_context(engine.connect())
        transaction = connection.begin()
        db = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield db
        finally:
            db.close()
            transaction.rollback()


@pytest.fixture
def city(session: Session) -> Session:
    """The example city and its replications (``session``'s copy)."""
    return session


def _suggested(session: Session, code: str) -> dict[str, list[str]]:
    found = suggest_adopters(session, year=2026, today=TODAY, rules=RULES, codes=[code], limit=99)
    return {s.unit_code: [r.code for r in s.reasons] for s in found[code]}


def test_units_like_the_owner_and_units_at_risk_are_suggested_with_why(city: Session) -> None:
    suggested = _suggested(city, "SIDAK-SEHAT")
    assert suggested["PKM-DASAN-AGUNG"] == ["same_kind", "at_risk"]  # another puskesmas
    assert "same_urusan" in suggested["RSUD"]  # works in Kesehatan, runs nothing like it
    for never in ("PKM-PAGESANGAN", "DINKES", "PKM-AMPENAN"):  # owner, its OPD, adopting
        assert never not in suggested


def test_a_unit_that_runs_something_similar_is_not_suggested(city: Session, make: Factory) -> None:
    mataram = city.scalar(select(Unit).where(Unit.code == "PKM-MATARAM"))
    assert "PKM-MATARAM" in _suggested(city, "SIDAK-SEHAT")
    make.innovation(mataram, urusan_main="Kesehatan", tematik="Non Tematik")
    assert "PKM-MATARAM" not in _suggested(city, "SIDAK-SEHAT")


def test_a_unit_that_already_complies_is_not_suggested_as_at_risk(
    city: Session, make: Factory
) -> None:
    unit = city.scalar(select(Unit).where(Unit.code == "PKM-DASAN-AGUNG"))
    innovation = make.innovation(unit, urusan_main="Pendidikan", tematik="Non Tematik")
    innovation.stage = Stage.DEVELOPMENT  # its yearly innovation counts (entered this year)
    record_history(city, innovation, from_stage=Stage.PLANNING, to_stage=Stage.DEVELOPMENT,
                   actor="hendriani.brida@mataramkota.go.id", reason="approved",
                   flow_run_id=None)  # fmt: skip
    city.flush()
    assert _suggested(city, "SIDAK-SEHAT")["PKM-DASAN-AGUNG"] == ["same_kind"]


def test_suggestions_for_an_unknown_code_are_refused_with_its_code(city: Session) -> None:
    with pytest.raises(NotFoundError) as caught:
        suggest_adopters(city, year=2026, today=TODAY, rules=RULES, codes=["NOPE"])
    assert caught.value.code == "innovation.unknown"


def test_the_monthly_digest_tells_each_suggested_unit_why_once_a_month(city: Session) -> None:
    result = enqueue_klinik_digest(city, year=2026, today=TODAY, rules=RULES, month="2026-12")
    rows = list(city.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(result.outbox_ids))))
    assert rows and {r.template for r in rows} == {"klinik_digest"}
    dasan = [r for r in rows if r.context["unit_code"] == "PKM-DASAN-AGUNG"]
    assert dasan
    items = {i["code"]: i for i in dasan[0].context["items"]}
    assert [r["code"] for r in items["SIDAK-SEHAT"]["reasons"]] == ["same_kind", "at_risk"]
    renderer = Renderer(base_url="http://prefect.test/", zone=ZoneInfo("Asia/Makassar"))
    email = renderer.render("klinik_digest", Language.ID, dasan[0].context)
    assert "SIDAK-SEHAT" in email.text and "unit sejenis dengan pemiliknya" in email.text
    assert "berisiko belum memenuhi kewajiban tahun 2026" in email.text
    again = enqueue_klinik_digest(city, year=2026, today=TODAY, rules=RULES, month="2026-12")
    assert again.outbox_ids == [] or set(again.outbox_ids) <= {r.id for r in rows}

"""Compliance: every status, warnings once, and the year-end special evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.compliance import UnitFacts, classify, evaluate, exempt_unit, sweep
from domain.enums import ComplianceStatus, Outcome, Role, Stage
from domain.errors import ValidationError
from domain.models import ComplianceRecord, OutboxMessage, StageHistory, Unit
from tests.support.factories import Factory

YEAR = 2025
RULES = {"counting_stage": Stage.DEVELOPMENT, "warning_month": 10}


@pytest.mark.parametrize(
    ("facts", "today", "year_end", "status"),
    [
        (UnitFacts(1, 1, 0, "merger"), dt.date(2026, 1, 5), False, ComplianceStatus.EXEMPT),
        (UnitFacts(1, 1, 0), dt.date(2025, 3, 1), False, ComplianceStatus.COMPLIANT),
        (UnitFacts(1, 0, 1), dt.date(2025, 9, 30), False, ComplianceStatus.ON_TRACK),
        (UnitFacts(1, 0, 1), dt.date(2025, 10, 1), False, ComplianceStatus.AT_RISK),
        (UnitFacts(1, 0, 0), dt.date(2025, 3, 1), False, ComplianceStatus.AT_RISK),
        (UnitFacts(1, 0, 1), dt.date(2026, 1, 1), False, ComplianceStatus.NON_COMPLIANT),
        (UnitFacts(1, 0, 1), dt.date(2025, 12, 31), True, ComplianceStatus.NON_COMPLIANT),
        (UnitFacts(1, 2, 0), dt.date(2026, 1, 1), True, ComplianceStatus.COMPLIANT),
    ],
)
def test_classify(
    facts: UnitFacts, today: dt.date, year_end: bool, status: ComplianceStatus
) -> None:
    verdict = classify(facts, year=YEAR, today=today, warning_month=10, year_end=year_end)
    assert verdict.status is status


def _entered(
    session: Session,
    innovation_id: int,
    stage: Stage,
    when: dt.datetime,
    outcome: Outcome | None = None,
) -> None:
    session.add(
        StageHistory(
            innovation_id=innovation_id,
            from_stage=Stage.PLANNING,
            to_stage=stage,
            outcome=outcome,
            actor="t@x.id",
            occurred_at=when,
        )
    )
    session.flush()


@pytest.fixture
def city(session: Session, make: Factory) -> dict[str, Unit]:
    units = {name: make.unit(f"C-{name}") for name in ("DONE", "BUSY", "IDLE", "FREE", "LATE")}
    units["GONE"] = make.unit("C-GONE", active=False)
    done = make.innovation(units["DONE"], year=YEAR)
    _entered(session, done.id, Stage.DEVELOPMENT, dt.datetime(YEAR, 3, 1, tzinfo=dt.UTC))
    busy = make.innovation(units["BUSY"], year=YEAR)  # still at planning: in progress
    # reached development last year only, then rejected this year: does not count for YEAR
    late = make.innovation(units["LATE"], year=YEAR - 1)
    _entered(session, late.id, Stage.DEVELOPMENT, dt.datetime(YEAR - 1, 11, 1, tzinfo=dt.UTC))
    _entered(
        session,
        late.id,
        Stage.DEVELOPMENT,
        dt.datetime(YEAR, 2, 1, tzinfo=dt.UTC),
        Outcome.REJECTED,
    )
    late.outcome = Outcome.REJECTED
    assert busy.stage is Stage.PLANNING
    exempt_unit(session, "C-FREE", year=YEAR, reason="unit merged into Bappeda", actor="t@x.id")
    make.person(roles=[Role.HEAD_OF_BRIDA], email="kepala.brida@mataramkota.go.id")
    session.flush()
    return units


def _statuses(session: Session, today: dt.date, year_end: bool = False) -> dict[str, str]:
    rows = evaluate(session, year=YEAR, today=today, year_end=year_end, **RULES)
    return {r.unit_code: r.status.value for r in rows if r.unit_code.startswith("C-")}


def _outbox(session: Session, template: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)))


def test_each_unit_gets_its_status_and_inactive_units_are_skipped(
    session: Session, city: dict[str, Unit]
) -> None:
    assert _statuses(session, dt.date(YEAR, 5, 1)) == {
        "C-DONE": "compliant",
        "C-BUSY": "on_track",
        "C-IDLE": "at_risk",
        "C-FREE": "exempt",
        "C-LATE": "at_risk",
    }
    summary = sweep(session, year=YEAR, today=dt.date(YEAR, 5, 1), **RULES)
    assert summary.warned == []  # before the warning month nobody is warned
    assert _outbox(session, "compliance_warning") == []


def test_at_risk_units_are_warned_once_from_the_warning_month(
    session: Session, city: dict[str, Unit]
) -> None:
    summary = sweep(session, year=YEAR, today=dt.date(YEAR, 10, 15), **RULES)
    assert sorted(summary.warned) == ["C-BUSY", "C-IDLE", "C-LATE"]
    rows = _outbox(session, "compliance_warning")
    assert {r.recipient_email for r in rows} >= {
        "kepala.c-idle@mataramkota.go.id",
        "inovasi.c-idle@mataramkota.go.id",
    }
    ctx = next(r.context for r in rows if r.context["unit_code"] == "C-IDLE")
    assert ctx["status"] == "at_risk" and ctx["deadline"] == f"{YEAR}-12-31"
    assert {"unit_name", "year", "innovations_counted", "reason"} <= set(ctx)
    again = sweep(session, year=YEAR, today=dt.date(YEAR, 11, 1), **RULES)
    assert again.warned == [] and len(_outbox(session, "compliance_warning")) == len(rows)


def test_year_end_records_a_special_evaluation_and_notifies_unit_and_head_of_brida(
    session: Session, city: dict[str, Unit]
) -> None:
    summary = sweep(session, year=YEAR, today=dt.date(YEAR, 12, 31), year_end=True, **RULES)
    assert sorted(summary.special_evaluations) == ["C-BUSY", "C-IDLE", "C-LATE"]
    record = session.scalar(
        select(ComplianceRecord).where(ComplianceRecord.unit_id == city["IDLE"].id)
    )
    assert record is not None and record.status is ComplianceStatus.NON_COMPLIANT
    assert record.special_evaluation and record.special_evaluation_at is not None
    rows = [r for r in _outbox(session, "special_evaluation") if r.context["unit_code"] == "C-IDLE"]
    assert {r.recipient_email for r in rows} == {
        "kepala.c-idle@mataramkota.go.id",
        "inovasi.c-idle@mataramkota.go.id",
        "kepala.brida@mataramkota.go.id",
    }
    assert rows[0].context["status"] == "non_compliant" and rows[0].context["deadline"]
    total = len(_outbox(session, "special_evaluation"))
    again = sweep(session, year=YEAR, today=dt.date(YEAR + 1, 1, 2), **RULES)
    assert again.special_evaluations == [] and len(_outbox(session, "special_evaluation")) == total
    assert _statuses(session, dt.date(YEAR + 1, 1, 2))["C-FREE"] == "exempt"
    assert _statuses(session, dt.date(YEAR + 1, 1, 2))["C-DONE"] == "compliant"


def test_exempting_needs_a_reason_and_a_real_unit(session: Session, make: Factory) -> None:
    make.unit("C-X")
    with pytest.raises(ValidationError):
        exempt_unit(session, "C-X", year=YEAR, reason=" ", actor="a@b.id")
    with pytest.raises(Exception, match="does not exist"):
        exempt_unit(session, "NOPE", year=YEAR, reason="x", actor="a@b.id")


def test_the_warning_email_gives_the_reason_in_the_recipients_language(
    session: Session, city: dict[str, Unit]
) -> None:
    from zoneinfo import ZoneInfo

    from notifications.render import Renderer

    render = Renderer(base_url="http://kinanti.test", zone=ZoneInfo("Asia/Makassar")).render
    sweep(session, year=YEAR, today=dt.date(YEAR, 10, 15), **RULES)
    rows = _outbox(session, "compliance_warning")
    ctx = next(r.context for r in rows if r.context["unit_code"] == "C-IDLE")
    assert ctx["reason_key"] == "at_risk_late"
    indonesian = render("compliance_warning", "id", ctx).text
    english = render("compliance_warning", "en", ctx).text
    assert "Keterangan: belum ada inovasi yang mencapai tahap hitung" in indonesian
    assert "no innovation" not in indonesian
    assert "no innovation has reached the counting stage yet" in english

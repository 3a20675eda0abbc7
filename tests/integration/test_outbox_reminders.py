"""Reminders, escalations and digests (data layer on SQLite and PostgreSQL), and the
notification flows run for real under the Prefect test API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import GateAssignment, GateStatus, Language, OutboxStatus, Role
from domain.gates import open_gate
from domain.models import GateRequest, Innovation, OutboxMessage, utcnow
from kinanti.db import get_engine, make_engine
from kinanti.settings import Settings, get_settings
from notifications.reminders import queue_reminders
from tests.support import snapshots
from tests.support.factories import Factory

NOW = utcnow()


POLICY = Settings(
    reminder_after_days=3, escalate_after_days=7, revision_reminder_days=5
).reminder_policy()


def _waiting_gate(
    make: Factory, days: float, assignment: GateAssignment = GateAssignment.ROLE_QUEUE
) -> tuple[Innovation, GateRequest]:
    """A gate open for ``days``; by default unassigned (the role's queue), so that every
    reviewer of the role is reminded."""
    innovation = make.innovation(title="Pendekar Serasi: layanan stroke terpadu")
    gate, _ = open_gate(
        make.session,
        innovation,
        round_=1,
        flow_run_id="run-1",
        timeout=dt.timedelta(days=14),
        assignment=assignment,
    )
    gate.opened_at = NOW - dt.timedelta(days=days)
    make.session.flush()
    return innovation, gate


def _rows(session: Session, template: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.recipient_email)
        )
    )


@pytest.fixture
def brida(make: Factory) -> dict[str, str]:
    reviewer = make.person("reviewer.rem@brida.mataramkota.go.id", roles=[Role.REVIEWER])
    head = make.person(
        "kepala.rem@brida.mataramkota.go.id", roles=[Role.HEAD_OF_BRIDA], language=Language.EN
    )
    return {"reviewer": reviewer.email, "head": head.email}


def test_a_gate_waiting_past_the_reminder_delay_reminds_its_reviewers_once(
    session: Session, make: Factory, brida: dict[str, str], tmp_path: Path
) -> None:
    _, gate = _waiting_gate(make, days=4)

    summary = queue_reminders(session, POLICY, now=NOW)

    assert (summary.reminders, summary.escalations, summary.digests) == (1, 0, 0)
    reminders = _rows(session, "reminder")
    assert {r.recipient_email for r in reminders} == {brida["reviewer"], brida["head"]}
    assert all(r.context["kind"] == "gate_waiting" and r.context["waiting_days"] == 4
               for r in reminders)  # fmt: skip
    assert gate.reminded_at == NOW and gate.escalated_at is None
    again = queue_reminders(session, POLICY, now=NOW + dt.timedelta(hours=1))
    assert again.outbox_ids == [] and len(_rows(session, "reminder")) == 2


def test_an_assigned_gate_reminds_its_assignee_alone_and_escalation_names_them(
    session: Session, make: Factory, brida: dict[str, str]
) -> None:
    _, gate = _waiting_gate(make, days=8, assignment=GateAssignment.LEAST_LOADED)
    assert gate.assignee_id is not None

    summary = queue_reminders(session, POLICY, now=NOW)

    assert (summary.reminders, summary.escalations, summary.digests) == (1, 1, 0)
    [reminder] = _rows(session, "reminder")
    assert reminder.recipient_email == brida["reviewer"]
    [escalation] = _rows(session, "escalation")
    assert escalation.recipient_email == brida["head"]
    assert len(escalation.context["reviewers"]) == 1


def test_a_long_wait_escalates_to_the_head_of_brida_in_one_digest(
    session: Session, make: Factory, brida: dict[str, str], tmp_path: Path
) -> None:
    _, gate = _waiting_gate(make, days=8)

    summary = queue_reminders(session, POLICY, now=NOW)

    assert (summary.reminders, summary.escalations, summary.digests) == (1, 1, 1)
    [to_reviewer] = _rows(session, "reminder")
    assert to_reviewer.recipient_email == brida["reviewer"]
    [digest] = _rows(session, "digest")
    assert digest.recipient_email == brida["head"] and digest.language is Language.EN
    assert [i["template"] for i in digest.context["items"]] == ["reminder", "escalation"]
    assert _rows(session, "escalation") == []
    assert gate.escalated_at == NOW
    later = queue_reminders(session, POLICY, now=NOW + dt.timedelta(days=1))
    assert later.outbox_ids == []


def test_a_reminded_gate_is_escalated_later_once(
    session: Session, make: Factory, brida: dict[str, str], tmp_path: Path
) -> None:
    _waiting_gate(make, days=4)
    queue_reminders(session, POLICY, now=NOW)

    later = queue_reminders(session, POLICY, now=NOW + dt.timedelta(days=4))

    assert (later.reminders, later.escalations) == (0, 1)
    [escalation] = _rows(session, "escalation")
    assert escalation.recipient_email == brida["head"]
    assert escalation.context["waiting_days"] == 8
    assert queue_reminders(session, POLICY, now=NOW + dt.timedelta(days=5)).outbox_ids == []


def test_a_unit_that_has_not_resubmitted_after_revise_is_reminded_once(
    session: Session, make: Factory, brida: dict[str, str], tmp_path: Path
) -> None:
    innovation, gate = _waiting_gate(make, days=1)
    gate.status, gate.reason = GateStatus.REVISE, "Lengkapi data baseline per kelurahan."
    gate.decided_at = NOW - dt.timedelta(days=6)
    innovation.revision_requested = True
    session.flush()

    summary = queue_reminders(session, POLICY, now=NOW)

    assert summary.revision_reminders == 1 and summary.reminders == 0
    reminders = _rows(session, "reminder")
    assert reminders and all(r.context["kind"] == "revision" for r in reminders)
    assert all("@mataramkota.go.id" in r.recipient_email for r in reminders)
    assert reminders[0].context["reason"] == "Lengkapi data baseline per kelurahan."
    assert queue_reminders(session, POLICY, now=NOW).outbox_ids == []


def test_a_recent_gate_is_left_alone(
    session: Session, make: Factory, brida: dict[str, str], tmp_path: Path
) -> None:
    _waiting_gate(make, days=1)
    assert queue_reminders(session, POLICY, now=NOW).outbox_ids == []


# ---------------------------------------------------------------- flows under Prefect


@pytest.fixture
def embedded_kinanti(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A fresh SQLite Kinanti with the file email backend, as the flows see it."""
    url = f"sqlite:///{tmp_path / 'kinanti.db'}"
    monkeypatch.setenv("KINANTI_HOME", str(tmp_path))
    monkeypatch.setenv("KINANTI_DATABASE_URL", url)
    monkeypatch.setenv("KINANTI_EMAIL_BACKEND", "file")
    get_settings.cache_clear()
    get_engine.cache_clear()
    snapshots.shared().migrated(url)  # upgrade(url), by copy of a database migrated once
    yield get_settings()
    get_engine(url).dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.mark.prefect
def test_the_dispatch_and_reminder_flows_deliver_for_real(
    prefect_api: str, embedded_kinanti: Settings
) -> None:
    from flows.notify import dispatch_outbox, remind_and_escalate

    engine = make_engine(embedded_kinanti.resolved_database_url)
    with Session(engine) as session, session.begin():
        make = Factory(session)
        make.person("reviewer@brida.mataramkota.go.id", roles=[Role.REVIEWER])
        make.person("kepala@brida.mataramkota.go.id", roles=[Role.HEAD_OF_BRIDA])
        for days in (4, 9):
            _waiting_gate(make, days=days)

    dispatched = dispatch_outbox()
    assert dispatched["sent"] == 4 and dispatched["failed"] == 0  # 2 gates x 2 reviewers

    summary = remind_and_escalate()

    assert summary["reminders"] == 2 and summary["escalations"] == 1
    assert summary["digests"] == 2  # reviewer: 2 reminders; head: 2 reminders + escalation
    assert summary["delivery"]["sent"] == summary["emails"] == 2
    assert remind_and_escalate()["emails"] == 0
    files = sorted(embedded_kinanti.resolved_outbox_dir.glob("*.eml"))
    assert len(files) == 6
    [digest] = [f for f in files if "_digest_kepala@" in f.name]
    parsed = message_from_bytes(digest.read_bytes(), policy=default_policy)
    assert "3 hal memerlukan perhatian Anda" in str(parsed["Subject"])
    with Session(engine) as session:
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert statuses == {OutboxStatus.SENT}
    engine.dispose()

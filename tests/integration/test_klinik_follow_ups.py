"""Overdue Klinik Kinanti follow-ups in the reminder sweep (SQLite and PostgreSQL): the
owner is reminded once after the due day, the head of Brida escalated to once after the
escalation delay; the migration turns the old free-text list into rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from domain import klinik
from domain.access import actor_of
from domain.enums import FollowUpStatus, Role
from domain.errors import ConflictError, NotAuthorizedError
from domain.models import FollowUp, OutboxMessage, utcnow
from domain.queries import get_person
from kinanti.db import make_engine, upgrade
from kinanti.settings import Settings
from notifications.reminders import queue_reminders
from tests.support.factories import Factory

SETTINGS = Settings(timezone="Asia/Makassar", escalate_after_days=7, follow_up_escalate_days=5)
POLICY = SETTINGS.reminder_policy()
ZONE = SETTINGS.zone
# 10:00 WITA on a fixed day: the region's date is the same as UTC's here
DUE = dt.date(2026, 3, 10)
AT_DUE = dt.datetime(2026, 3, 10, 10, 0, tzinfo=ZONE).astimezone(dt.UTC)


def _follow_up(make: Factory) -> tuple[FollowUp, str, str]:
    unit = make.unit()
    operator = make.person(roles=[Role.BRIDA_OPERATOR])
    owner = make.person(roles=[Role.UNIT_OFFICER], unit=unit)
    head = make.person(roles=[Role.HEAD_OF_BRIDA])
    actor = actor_of(make.session, operator)
    consultation, _ = klinik.book_consultation(
        make.session, actor, scheduled_at=AT_DUE - dt.timedelta(days=2), topic="Uji coba",
        unit_code=unit.code, attendees=[owner.email], now=AT_DUE - dt.timedelta(days=3),
    )  # fmt: skip
    follow_up, _ = klinik.add_follow_up(
        make.session, actor, text="Kirim data baseline", owner_email=owner.email,
        due_on=DUE, today=DUE - dt.timedelta(days=2), consultation_id=consultation.id,
    )  # fmt: skip
    return follow_up, owner.email, head.email


def _sent(session: Session, key: str) -> list[str]:
    return sorted(
        session.scalars(
            select(OutboxMessage.recipient_email).where(OutboxMessage.key.like(f"{key}%"))
        )
    )


def test_an_overdue_follow_up_is_reminded_once_then_escalated_once(
    session: Session, make: Factory
) -> None:
    follow_up, owner, head = _follow_up(make)

    on_the_due_day = queue_reminders(session, POLICY, now=AT_DUE + dt.timedelta(hours=11))
    assert (on_the_due_day.follow_up_reminders, on_the_due_day.follow_up_escalations) == (0, 0)

    next_day = AT_DUE + dt.timedelta(days=1)
    first = queue_reminders(session, POLICY, now=next_day)
    assert (first.follow_up_reminders, first.follow_up_escalations) == (1, 0)
    assert _sent(session, "follow-up-reminder:") == [owner]
    assert follow_up.reminded_at == next_day and follow_up.escalated_at is None
    again = queue_reminders(session, POLICY, now=next_day + dt.timedelta(days=1))
    assert (again.follow_up_reminders, again.follow_up_escalations) == (0, 0)

    late = AT_DUE + dt.timedelta(days=6)  # past the 5-day escalation delay
    escalated = queue_reminders(session, POLICY, now=late)
    assert (escalated.follow_up_reminders, escalated.follow_up_escalations) == (0, 1)
    assert _sent(session, "follow-up-escalation:") == [head]
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.key.like("follow-up-escalation:%"))
    ).one()
    assert row.context["overdue_days"] == 6 and row.context["kind"] == "escalation"
    assert follow_up.escalated_at == late
    later = queue_reminders(session, POLICY, now=late + dt.timedelta(days=30))
    assert (later.follow_up_reminders, later.follow_up_escalations) == (0, 0)
    assert len(_sent(session, "follow-up-")) == 3  # assigned, reminded, escalated


def test_a_follow_up_done_in_time_is_never_reminded(session: Session, make: Factory) -> None:
    follow_up, owner, _head = _follow_up(make)
    owner_actor = actor_of(session, get_person(session, owner))
    klinik.complete_follow_up(session, owner_actor, follow_up.id)
    assert follow_up.status is FollowUpStatus.DONE
    summary = queue_reminders(session, POLICY, now=AT_DUE + dt.timedelta(days=30))
    assert (summary.follow_up_reminders, summary.follow_up_escalations) == (0, 0)
    with pytest.raises(ConflictError) as refused:
        klinik.complete_follow_up(session, owner_actor, follow_up.id)
    assert refused.value.code == "klinik.follow_up_finished"


def test_someone_else_may_not_complete_a_follow_up(session: Session, make: Factory) -> None:
    follow_up, _owner, _head = _follow_up(make)
    stranger = actor_of(session, make.person(roles=[Role.UNIT_OFFICER], unit=make.unit()))
    with pytest.raises(NotAuthorizedError) as refused:
        klinik.complete_follow_up(session, stranger, follow_up.id)
    assert refused.value.code == "access.refused"
    assert "tidak berwenang" in refused.value.message("id")


def test_the_migration_turns_the_follow_up_list_into_rows(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, revision="0002")
    engine = make_engine(url)
    now = utcnow().isoformat()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO units (id, code, name, kind, language, active, created_at, updated_at)"
            " VALUES (1, 'DINKES', 'Dinas Kesehatan', 'opd', 'id', 1, :now, :now)"
        ), {"now": now})  # fmt: skip
        conn.execute(text(
            "INSERT INTO people (id, email, name, language, active, created_at, updated_at)"
            " VALUES (7, 'mentor@unram.ac.id', 'Mentor', 'id', 1, :now, :now)"
        ), {"now": now})  # fmt: skip
        conn.execute(text(
            "INSERT INTO consultations (id, unit_id, mentor_id, stage, scheduled_at, topic,"
            " follow_ups, status, created_at, updated_at) VALUES (3, 1, 7, 'planning', :now,"
            " 'Perencanaan', :items, 'held', :now, :now)"
        ), {"now": now, "items": json.dumps(["Lengkapi baseline", "Revisi anggaran"])})  # fmt: skip
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT consultation_id, text, owner_id, status, due_on FROM follow_ups ORDER BY id"
            )
        ).all()
        attendees = conn.execute(
            text("SELECT consultation_id, person_id, role FROM consultation_attendees")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (3, "Lengkapi baseline", 7, "open", None),
        (3, "Revisi anggaran", 7, "open", None),
    ]
    assert [tuple(a) for a in attendees] == [(3, 7, "innovator")]

"""Yearly compliance: every active OPD and UPTD must carry out at least one innovation.

Kota Mataram's 2024 circular: a unit that fails gets a special evaluation (evaluasi
khusus). Status of a unit for year Y, as of a day (first rule that holds wins):

1. ``exempt``: Brida exempted the unit for Y, with a reason.
2. ``compliant``: an innovation of the unit *entered* the counting stage (setting
   ``compliance_counting_stage``, default development) or a later stage during Y, per the
   stage history (UTC calendar year). Outcome rows (rejected/withdrawn) are not entries.
3. ``non_compliant``: Y has ended (the day is after 31 December, or the sweep is the
   year-end one) without a counting innovation.
4. ``at_risk``: from the warning month (``compliance_warning_month``) on, no counting
   innovation yet.
5. ``on_track``: before the warning month, an innovation of the unit is in progress (no
   outcome) at a stage before the counting stage.
6. ``at_risk``: before the warning month with nothing in progress at all. The warning
   email is still only sent from the warning month on.

Inactive units are skipped. ``sweep`` upserts one ``ComplianceRecord`` per unit and year,
writes the ``compliance_warning`` outbox rows (once per unit and year) and, at year end,
records the special evaluation of each non-compliant unit and notifies the unit and the
head of Brida (``special_evaluation``, once per unit and year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.changes import record_event
from domain.enums import ComplianceStatus, Role, Stage
from domain.errors import NotFoundError, ValidationError
from domain.lifecycle import STAGE_ORDER
from domain.models import ComplianceRecord, Innovation, StageHistory, Unit, utcnow
from domain.outbox import enqueue, people_with_roles, unit_recipients

SPECIAL_EVALUATION_DAYS = 30
"""Days the unit has to answer a special evaluation (the ``deadline`` in its email)."""


@dataclass(frozen=True)
class ComplianceRules:
    """The installation's rules: the stage an innovation must enter during the year to
    count (``compliance_counting_stage``), and the month from which a unit without one is
    at risk and warned (``compliance_warning_month``)."""

    counting_stage: Stage
    warning_month: int


@dataclass(frozen=True)
class UnitFacts:
    """What the rules need to know about one unit in one year."""

    unit_id: int
    counted: int
    in_progress: int
    exempt_reason: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A unit's status and why. ``key`` and ``values`` let every reader get the reason in
    their own language (``kinanti.i18n``: ``compliance.<key>``); ``reason`` is the English
    text stored on the compliance record and sent in events."""

    status: ComplianceStatus
    reason: str
    key: str = "exempt"
    values: Mapping[str, object] = field(default_factory=dict)


#: English reason per key (the translation tables hold every language).
REASONS: Mapping[str, str] = {
    "exempt": "{reason}",
    "compliant": "{counted} innovation(s) reached the stage in {year}",
    "non_compliant": "no innovation carried out in {year}",
    "at_risk_late": "no innovation has reached the counting stage yet ({in_progress} in "
    "progress); the year ends on {year}-12-31",
    "on_track": "{in_progress} innovation(s) in progress",
    "not_started": "no innovation started yet",
}


def _verdict(status: ComplianceStatus, key: str, **values: object) -> Verdict:
    return Verdict(status, REASONS[key].format(**values), key, values)


def classify(
    facts: UnitFacts,
    *,
    year: int,
    today: dt.date,
    warning_month: int,
    year_end: bool = False,
) -> Verdict:
    """The unit's status (pure; see the module docstring for the rules)."""
    if facts.exempt_reason:
        return _verdict(ComplianceStatus.EXEMPT, "exempt", reason=facts.exempt_reason)
    if facts.counted:
        return _verdict(ComplianceStatus.COMPLIANT, "compliant", counted=facts.counted, year=year)
    if year_end or today > dt.date(year, 12, 31):
        return _verdict(ComplianceStatus.NON_COMPLIANT, "non_compliant", year=year)
    warning_reached = today >= dt.date(year, warning_month, 1)
    if warning_reached:
        return _verdict(
            ComplianceStatus.AT_RISK, "at_risk_late", in_progress=facts.in_progress, year=year
        )
    if facts.in_progress:
        return _verdict(ComplianceStatus.ON_TRACK, "on_track", in_progress=facts.in_progress)
    return _verdict(ComplianceStatus.AT_RISK, "not_started")


def counting_stages(counting_stage: Stage) -> tuple[Stage, ...]:
    return STAGE_ORDER[STAGE_ORDER.index(counting_stage) :]


def unit_facts(session: Session, *, year: int, counting_stage: Stage) -> dict[int, UnitFacts]:
    """Facts for every active unit (three aggregate queries)."""
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC)
    counted = dict(
        session.execute(
            select(Innovation.unit_id, func.count(func.distinct(Innovation.id)))
            .join(StageHistory, StageHistory.innovation_id == Innovation.id)
            .where(
                StageHistory.to_stage.in_(counting_stages(counting_stage)),
                StageHistory.outcome.is_(None),
                StageHistory.occurred_at >= start,
                StageHistory.occurred_at < end,
            )
            .group_by(Innovation.unit_id)
        ).all()
    )
    before = STAGE_ORDER[: STAGE_ORDER.index(counting_stage)]
    in_progress = dict(
        session.execute(
            select(Innovation.unit_id, func.count(Innovation.id))
            .where(Innovation.outcome.is_(None), Innovation.stage.in_(before))
            .group_by(Innovation.unit_id)
        ).all()
        if before
        else []
    )
    exempt = dict(
        session.execute(
            select(ComplianceRecord.unit_id, ComplianceRecord.exempt_reason).where(
                ComplianceRecord.year == year, ComplianceRecord.exempt_reason.is_not(None)
            )
        ).all()
    )
    unit_ids = session.scalars(select(Unit.id).where(Unit.active.is_(True)).order_by(Unit.code))
    return {
        uid: UnitFacts(uid, counted.get(uid, 0), in_progress.get(uid, 0), exempt.get(uid))
        for uid in unit_ids
    }


@dataclass(frozen=True)
class UnitCompliance:
    unit_code: str
    unit_name: str
    unit_kind: str
    status: ComplianceStatus
    innovations_counted: int
    in_progress: int
    reason: str
    warned: bool = False
    special_evaluation: bool = False
    reason_key: str = "exempt"
    reason_values: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "unit_kind": self.unit_kind,
            "status": self.status.value,
            "innovations_counted": self.innovations_counted,
            "in_progress": self.in_progress,
            "reason": self.reason,
            "warned": self.warned,
            "special_evaluation": self.special_evaluation,
        }


@dataclass(frozen=True)
class _Assessed:
    """One active unit's facts and verdict, with its compliance record of the year (if any)."""

    unit: Unit
    facts: UnitFacts
    verdict: Verdict
    record: ComplianceRecord | None


def _assess(
    session: Session, *, year: int, today: dt.date, rules: ComplianceRules, year_end: bool
) -> list[_Assessed]:
    facts = unit_facts(session, year=year, counting_stage=rules.counting_stage)
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(facts))))}
    records = {
        r.unit_id: r
        for r in session.scalars(select(ComplianceRecord).where(ComplianceRecord.year == year))
    }
    return [
        _Assessed(
            units[uid],
            f,
            classify(
                f, year=year, today=today, warning_month=rules.warning_month, year_end=year_end
            ),
            records.get(uid),
        )
        for uid, f in facts.items()
    ]


def evaluate(
    session: Session,
    *,
    year: int,
    today: dt.date,
    rules: ComplianceRules,
    year_end: bool = False,
) -> list[UnitCompliance]:
    """Every active unit's status for ``year`` as of ``today`` (reads only)."""
    return [
        UnitCompliance(
            unit_code=a.unit.code,
            unit_name=a.unit.name,
            unit_kind=a.unit.kind.value,
            status=a.verdict.status,
            innovations_counted=a.facts.counted,
            in_progress=a.facts.in_progress,
            reason=a.verdict.reason,
            reason_key=a.verdict.key,
            reason_values=a.verdict.values,
            warned=bool(a.record and a.record.warned_at),
            special_evaluation=bool(a.record and a.record.special_evaluation),
        )
        for a in _assess(session, year=year, today=today, rules=rules, year_end=year_end)
    ]


@dataclass
class SweepSummary:
    year: int
    as_of: str
    counts: dict[str, int] = field(default_factory=dict)
    warned: list[str] = field(default_factory=list)
    special_evaluations: list[str] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


def sweep(
    session: Session,
    *,
    year: int,
    today: dt.date,
    rules: ComplianceRules,
    year_end: bool = False,
    flow_run_id: str | None = None,
) -> SweepSummary:
    """Classify every active unit, upsert its record, warn and evaluate (idempotent)."""
    summary = SweepSummary(year=year, as_of=today.isoformat())
    head_of_brida = people_with_roles(session, {Role.HEAD_OF_BRIDA})
    now = utcnow()
    for a in _assess(session, year=year, today=today, rules=rules, year_end=year_end):
        unit, f, verdict, record = a.unit, a.facts, a.verdict, a.record
        if record is None:
            record = ComplianceRecord(unit_id=unit.id, year=year, status=verdict.status)
            session.add(record)
        changed = record.status is not verdict.status
        record.status = verdict.status
        record.innovations_counted = f.counted
        record.reason = verdict.reason
        record.evaluated_at = now
        summary.counts[verdict.status.value] = summary.counts.get(verdict.status.value, 0) + 1
        context = {
            "unit_code": unit.code,
            "unit_name": unit.name,
            "year": year,
            "status": verdict.status.value,
            "innovations_counted": f.counted,
            "reason": verdict.reason,
            "reason_key": verdict.key,
            "reason_values": dict(verdict.values),
        }
        if changed:
            record_event(
                session,
                "kinanti.compliance.classified",
                None,
                {**context, "as_of": today.isoformat()},
                flow_run_id,
            )
        warn_due = verdict.status is ComplianceStatus.AT_RISK and today >= dt.date(
            year, rules.warning_month, 1
        )
        if warn_due and record.warned_at is None:
            rows = enqueue(
                session,
                event_key=f"compliance-warning:{unit.code}:{year}",
                template="compliance_warning",
                recipients=unit_recipients(session, unit),
                context={**context, "deadline": dt.date(year, 12, 31).isoformat()},
            )
            record.warned_at = now
            summary.warned.append(unit.code)
            session.flush()
            summary.outbox_ids.extend(r.id for r in rows)
            record_event(session, "kinanti.compliance.warned", None, context, flow_run_id)
        if verdict.status is ComplianceStatus.NON_COMPLIANT and not record.special_evaluation:
            record.special_evaluation = True
            record.special_evaluation_at = now
            deadline = today + dt.timedelta(days=SPECIAL_EVALUATION_DAYS)
            special = {**context, "deadline": deadline.isoformat()}
            rows = enqueue(
                session,
                event_key=f"special-evaluation:{unit.code}:{year}",
                template="special_evaluation",
                recipients=unit_recipients(session, unit),
                context=special,
            ) + enqueue(
                session,
                event_key=f"special-evaluation:{unit.code}:{year}",
                template="special_evaluation",
                recipients=head_of_brida,
                context={**special, "for_brida": True},
            )
            summary.special_evaluations.append(unit.code)
            session.flush()
            summary.outbox_ids.extend(r.id for r in rows)
            record_event(
                session,
                "kinanti.compliance.special-evaluation",
                None,
                {**context, "deadline": deadline.isoformat()},
                flow_run_id,
            )
    session.flush()
    return summary


def exempt_unit(
    session: Session, unit_code: str, *, year: int, reason: str, actor: str
) -> ComplianceRecord:
    """Exempt a unit from the obligation for ``year`` (a reason is required)."""
    if not reason.strip():
        raise ValidationError(code="compliance.reason_required")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code.strip().upper()))
    if unit is None:
        raise NotFoundError(code="unit.unknown", unit=unit_code)
    record = session.scalar(
        select(ComplianceRecord).where(
            ComplianceRecord.unit_id == unit.id, ComplianceRecord.year == year
        )
    )
    if record is None:
        record = ComplianceRecord(unit_id=unit.id, year=year, status=ComplianceStatus.EXEMPT)
        session.add(record)
    record.status = ComplianceStatus.EXEMPT
    record.exempt_reason = reason.strip()
    record.reason = reason.strip()
    record.evaluated_at = utcnow()
    session.flush()
    record_event(
        session,
        "kinanti.compliance.exempted",
        None,
        {"unit_code": unit.code, "year": year, "reason": reason.strip(), "actor": actor},
    )
    return record

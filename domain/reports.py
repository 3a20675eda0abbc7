"""Figures of the yearly portfolio report (no rendering here; see ``kinanti.reports``).

Everything is read with a few aggregate queries: the stage funnel and outcomes of the
year's innovations, innovations per unit, the IID (``domain.iid.portfolio``) with its
breakdown by indicator, every unit's compliance, one export row per innovation with
the national profile fields and its indicator levels (claimed and verified), and the
replication lineage (origins, replicas, replicas of replicas, other regions, incoming).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, and_, case, exists, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from domain.compliance import ComplianceRules, UnitCompliance, evaluate
from domain.enums import NATIONAL_STAGE, Stage, VerificationStatus
from domain.iid.catalogue import Catalogue, catalogue_for_year
from domain.iid.portfolio import (
    PortfolioFigures,
    claim_rows,
    counted_clause,
    portfolio_figures,
)
from domain.iid.scoring import HUNDRED, ZERO
from domain.lifecycle import STAGE_ORDER
from domain.models import IndicatorClaim, Innovation, RegionIndicator, Unit
from domain.profile import CLASSIFICATION_FIELDS
from domain.replication import LineageNode, LineageTree, incoming, lineage_trees


@dataclass(frozen=True)
class IndicatorContribution:
    """What one indicator adds to the region's IID (points of the 0..100 index)."""

    aspect: str
    code: str
    name_id: str
    name_en: str
    weight: Decimal
    mandatory: bool
    claimed: Decimal
    verified: Decimal
    max_points: Decimal


@dataclass(frozen=True)
class ReportFigures:
    year: int
    region_name: str
    generated_on: dt.date
    catalogue: Catalogue
    funnel: list[tuple[Stage, int]]
    outcomes: dict[str, int]
    total_innovations: int
    per_unit: list[tuple[str, str, int]]
    portfolio: PortfolioFigures
    contributions: list[IndicatorContribution]
    compliance: list[UnitCompliance]
    rows: list[dict[str, Any]]
    #: replication lineage: every origin's tree with its derived level, and what the city
    #: adopted from other regions (``domain.replication``)
    lineage: tuple[LineageTree, ...] = ()
    incoming: tuple[LineageNode, ...] = ()


def year_clause(year: int) -> Any:
    has_claims = exists().where(
        IndicatorClaim.innovation_id == Innovation.id,
        IndicatorClaim.year == year,
        IndicatorClaim.aspect == "sid",
    )
    return or_(Innovation.year == year, has_claims)


def funnel_and_outcomes(
    session: Session, year: int
) -> tuple[list[tuple[Stage, int]], dict[str, int], int]:
    """How many of the year's innovations reached each stage, and their outcomes."""
    rows = session.execute(
        select(Innovation.stage, Innovation.outcome, func.count(Innovation.id))
        .where(year_clause(year))
        .group_by(Innovation.stage, Innovation.outcome)
    ).all()
    at_stage: Counter[Stage] = Counter()
    outcomes: Counter[str] = Counter()
    for stage, outcome, count in rows:
        at_stage[stage] += count
        outcomes[outcome.value if outcome else "active"] += count
    total = sum(at_stage.values())
    funnel = [
        (stage, sum(at_stage[s] for s in STAGE_ORDER[i:])) for i, stage in enumerate(STAGE_ORDER)
    ]
    return funnel, dict(outcomes), total


def innovations_per_unit(session: Session, year: int) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(Unit.code, Unit.name, func.count(Innovation.id).label("n"))
        .join(Innovation, Innovation.unit_id == Unit.id)
        .where(year_clause(year))
        .group_by(Unit.code, Unit.name)
        .order_by(func.count(Innovation.id).desc(), Unit.code)
    ).all()
    return [(code, name, n) for code, name, n in rows]


def contributions(
    session: Session, catalogue: Catalogue, portfolio: PortfolioFigures
) -> list[IndicatorContribution]:
    """Each indicator's share of the IID: SID sums over counted innovations / max(k, n)."""
    c, w = IndicatorClaim, RegionIndicator
    year = catalogue.year
    claimed = case((c.status != VerificationStatus.REJECTED, w.weight * c.claimed_level), else_=0)
    verified = case(
        (
            c.status == VerificationStatus.ACCEPTED,
            w.weight * func.coalesce(c.verified_level, c.claimed_level),
        ),
        else_=0,
    )
    counted_ids = select(Innovation.id).where(counted_clause(year))
    rows = session.execute(
        select(
            c.aspect,
            c.indicator,
            type_coerce(func.sum(claimed), Float),
            type_coerce(func.sum(verified), Float),
        )
        .join(w, and_(w.year == c.year, w.aspect == c.aspect, w.indicator == c.indicator))
        .where(
            c.year == year,
            or_(c.aspect == "spd", and_(c.aspect == "sid", c.innovation_id.in_(counted_ids))),
        )
        .group_by(c.aspect, c.indicator)
    ).all()
    sums = {(a, i): (Decimal(repr(x or 0.0)), Decimal(repr(y or 0.0))) for a, i, x, y in rows}
    n = portfolio.claimed.n
    divisor = Decimal(max(catalogue.k, n))
    scale = HUNDRED / catalogue.max_total
    result = []
    for ind in (*catalogue.sid, *catalogue.spd):
        sc, sv = sums.get((ind.aspect, ind.code), (ZERO, ZERO))
        per = divisor if ind.aspect == "sid" else Decimal(1)
        share = Decimal(n) / divisor if ind.aspect == "sid" else Decimal(1)
        result.append(
            IndicatorContribution(
                aspect=ind.aspect,
                code=ind.code,
                name_id=ind.name.id,
                name_en=ind.name.en,
                weight=ind.weight,
                mandatory=ind.mandatory,
                claimed=sc / per * scale,
                verified=sv / per * scale,
                max_points=ind.max_score * scale * share,
            )
        )
    return result


PROFILE_COLUMNS = (
    "code",
    "title",
    "unit_code",
    "unit_name",
    "year",
    "stage",
    "tahapan",
    "outcome",
    *CLASSIFICATION_FIELDS,
    "adopting_act",
    "adopting_act_number",
    "budget",
    "origin_code",
    "counted_for_iid",
    "sid_claimed",
    "sid_verified",
)


def export_rows(
    session: Session, catalogue: Catalogue, portfolio: PortfolioFigures
) -> list[dict[str, Any]]:
    """One row per innovation of the year: profile fields, then every SID indicator's
    claimed and verified level (``<code>_claimed``, ``<code>_verified``)."""
    year = catalogue.year
    origin_codes = dict(session.execute(select(Innovation.id, Innovation.code)).all())
    units = {u.id: u for u in session.scalars(select(Unit))}
    levels: dict[int | None, dict[str, tuple[int | None, int | None, str]]] = defaultdict(dict)
    for innovation_id, indicator, level, state, checked in claim_rows(session, year, "sid"):
        levels[innovation_id][indicator] = (level, checked, state.value)
    scored = {f.id: f for f in portfolio.innovations}
    rows = []
    for inv in session.scalars(
        select(Innovation).where(year_clause(year)).order_by(Innovation.code)
    ):
        unit = units[inv.unit_id]
        figure = scored.get(inv.id)
        row: dict[str, Any] = {
            "code": inv.code,
            "title": inv.title,
            "unit_code": unit.code,
            "unit_name": unit.name,
            "year": inv.year,
            "stage": inv.stage.value,
            "tahapan": NATIONAL_STAGE[inv.stage].value,
            "outcome": inv.outcome.value if inv.outcome else None,
            "initiator": inv.initiator.value,
            "initiator_name": inv.initiator_name,
            "jenis": inv.jenis.value,
            "bentuk": inv.bentuk.value,
            "urusan_main": inv.urusan_main,
            "urusan_other": "; ".join(inv.urusan_other or []),
            "tematik": inv.tematik,
            "trial_start": inv.trial_start,
            "implementation_start": inv.implementation_start,
            "adopting_act": inv.adopting_act.value if inv.adopting_act else None,
            "adopting_act_number": inv.adopting_act_number,
            "budget": inv.budget,
            "origin_code": origin_codes.get(inv.origin_id) if inv.origin_id else None,
            "counted_for_iid": figure is not None,
            "sid_claimed": figure.sid_claimed if figure else None,
            "sid_verified": figure.sid_verified if figure else None,
        }
        for ind in catalogue.sid:
            claimed, verified, status = levels[inv.id].get(ind.code, (None, None, ""))
            row[f"{ind.code}_claimed"] = claimed
            row[f"{ind.code}_verified"] = verified if status == "accepted" else None
        rows.append(row)
    return rows


def yearly_figures(
    session: Session,
    year: int,
    *,
    region_name: str,
    today: dt.date,
    compliance_rules: ComplianceRules,
) -> ReportFigures:
    """All figures of the yearly report for ``year`` as of ``today``."""
    catalogue = catalogue_for_year(year)
    portfolio = portfolio_figures(session, year)
    funnel, outcomes, total = funnel_and_outcomes(session, year)
    return ReportFigures(
        year=year,
        region_name=region_name,
        generated_on=today,
        catalogue=catalogue,
        funnel=funnel,
        outcomes=outcomes,
        total_innovations=total,
        per_unit=innovations_per_unit(session, year),
        portfolio=portfolio,
        contributions=contributions(session, catalogue, portfolio),
        compliance=evaluate(
            session,
            year=year,
            today=today,
            rules=compliance_rules,
        ),
        rows=export_rows(session, catalogue, portfolio),
        lineage=tuple(lineage_trees(session)),
        incoming=tuple(incoming(session)),
    )


def enqueue_report_ready(
    session: Session,
    *,
    year: int,
    report_title: str,
    report_path: str,
    flow_run_id: str | None = None,
) -> list[int]:
    """Tell Brida (operators and the head) that the yearly report is ready (outbox
    ``report_ready``, once per flow run, or per report path without a run)."""
    from domain.changes import record_event
    from domain.enums import Role
    from domain.outbox import enqueue, people_with_roles

    context: dict[str, Any] = {
        "year": year,
        "report_title": report_title,
        "report_path": report_path,
        "flow_run_id": flow_run_id,
    }
    rows = enqueue(
        session,
        event_key=f"report-ready:{year}:{flow_run_id or report_path}",
        template="report_ready",
        recipients=people_with_roles(session, {Role.BRIDA_OPERATOR, Role.HEAD_OF_BRIDA}),
        context=context,
    )
    record_event(session, "kinanti.report.ready", None, context, flow_run_id)
    session.flush()
    return [r.id for r in rows]

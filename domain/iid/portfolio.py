"""Portfolio-wide IID figures, computed set-based in SQL (SQLite and PostgreSQL).

One aggregate query joins ``indicator_claims`` with ``iid_weights`` and gives every
counted innovation's claimed and verified SID score (and how many mandatory indicators it
has); a second one sums the region's SPD claims. The arithmetic that follows (divisor,
count term, IID, band) is ``domain.iid.scoring.region_from_sums`` on a handful of sums, so
SQL and the pure functions cannot drift apart. ``sync_weights`` keeps ``iid_weights`` equal
to the packaged catalogue and is called before every scoring.

Which innovations count for year Y (the "n reported innovations"):

- the innovation is of year Y (``innovations.year``), or it carries SID claims for Y (an
  older innovation still running is reported again with that year's evidence);
- it has been implemented: stage ``reporting`` or ``replication``, or stage ``deployment``
  with an implementation start date (penerapan); planning and trials are not reported
  for the IID;
- it did not end as ``rejected`` or ``withdrawn``. A ``discontinued`` innovation did run
  that year and still counts.

Claimed vs verified: see ``domain.iid.scoring`` (rejected evidence scores 0 on both; the
verified basis counts accepted claims only, at their verified level).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from domain.enums import Outcome, Stage, VerificationStatus
from domain.iid.catalogue import Catalogue, catalogue_for_year
from domain.iid.scoring import (
    ZERO,
    Basis,
    Claim,
    RegionScore,
    basic_service_affairs,
    effective_level,
    region_from_sums,
)
from domain.models import IndicatorClaim, Innovation, RegionIndicator

REPORTED_STAGES = (Stage.REPORTING, Stage.REPLICATION)
EXCLUDED_OUTCOMES = (Outcome.REJECTED, Outcome.WITHDRAWN)


def sync_weights(session: Session, catalogue: Catalogue) -> int:
    """Make ``iid_weights`` of the catalogue's year equal to the catalogue; returns changes."""
    wanted = {(i.aspect, i.code): (i.weight, i.mandatory) for i in (*catalogue.sid, *catalogue.spd)}
    rows = session.scalars(select(RegionIndicator).where(RegionIndicator.year == catalogue.year))
    changes = 0
    seen: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.aspect, row.indicator)
        if key not in wanted:
            session.delete(row)
            changes += 1
            continue
        seen.add(key)
        weight, mandatory = wanted[key]
        if Decimal(row.weight) != weight or row.mandatory != mandatory:
            row.weight, row.mandatory = weight, mandatory
            changes += 1
    for (aspect, code), (weight, mandatory) in wanted.items():
        if (aspect, code) not in seen:
            session.add(
                RegionIndicator(
                    year=catalogue.year,
                    aspect=aspect,
                    indicator=code,
                    weight=weight,
                    mandatory=mandatory,
                )
            )
            changes += 1
    if changes:
        session.flush()
    return changes


def counted_clause(year: int) -> ColumnElement[bool]:
    """SQL condition: the innovation counts for ``year`` (see the module docstring)."""
    has_claims = exists().where(
        IndicatorClaim.innovation_id == Innovation.id,
        IndicatorClaim.year == year,
        IndicatorClaim.aspect == "sid",
    )
    return and_(
        or_(Innovation.year == year, has_claims),
        or_(Innovation.outcome.is_(None), Innovation.outcome.not_in(EXCLUDED_OUTCOMES)),
        or_(
            Innovation.stage.in_(REPORTED_STAGES),
            and_(
                Innovation.stage == Stage.DEPLOYMENT,
                Innovation.implementation_start.is_not(None),
            ),
        ),
    )


def _scored_claims(year: int, aspect: str) -> Any:
    """Claims of ``year`` joined with their weights, with claimed/verified score columns."""
    c, w = IndicatorClaim, RegionIndicator
    not_rejected = c.status != VerificationStatus.REJECTED
    accepted = c.status == VerificationStatus.ACCEPTED
    claimed = case((not_rejected, w.weight * c.claimed_level), else_=0)
    verified = case(
        (accepted, w.weight * func.coalesce(c.verified_level, c.claimed_level)), else_=0
    )
    mandatory_claimed = case((and_(w.mandatory.is_(True), not_rejected), 1), else_=0)
    mandatory_verified = case((and_(w.mandatory.is_(True), accepted), 1), else_=0)
    columns = [
        type_coerce(func.sum(claimed), Float).label("claimed"),
        type_coerce(func.sum(verified), Float).label("verified"),
        func.sum(mandatory_claimed).label("mandatory_claimed"),
        func.sum(mandatory_verified).label("mandatory_verified"),
    ]
    join = and_(w.year == c.year, w.aspect == c.aspect, w.indicator == c.indicator)
    where = (c.year == year, c.aspect == aspect)
    return columns, join, where


def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@dataclass(frozen=True)
class InnovationFigure:
    """One counted innovation's SID score on both bases."""

    id: int
    code: str
    title: str
    unit_id: int
    sid_claimed: Decimal
    sid_verified: Decimal
    mandatory_missing_claimed: int
    mandatory_missing_verified: int


@dataclass(frozen=True)
class PortfolioFigures:
    """The region's IID for a year on both bases, and every counted innovation's score."""

    year: int
    innovations: list[InnovationFigure]
    claimed: RegionScore
    verified: RegionScore


def spd_sums(session: Session, year: int) -> tuple[Decimal, Decimal]:
    """The region's SPD score, claimed and verified (query 2)."""
    columns, join, where = _scored_claims(year, "spd")
    row = session.execute(
        select(*columns[:2]).select_from(IndicatorClaim).join(RegionIndicator, join).where(*where)
    ).one()
    return _dec(row.claimed), _dec(row.verified)


def _innovation_scores(year: int) -> Any:
    columns, join, where = _scored_claims(year, "sid")
    return (
        select(IndicatorClaim.innovation_id, *columns)
        .join(RegionIndicator, join)
        .where(*where)
        .group_by(IndicatorClaim.innovation_id)
        .subquery("scores")
    )


def _affairs(session: Session, year: int) -> dict[int, list[list[str]]]:
    rows = session.execute(
        select(Innovation.unit_id, Innovation.urusan_main, Innovation.urusan_other).where(
            counted_clause(year)
        )
    )
    by_unit: dict[int, list[list[str]]] = defaultdict(list)
    for unit_id, main, other in rows:
        by_unit[unit_id].append([main, *(other or [])])
    return by_unit


def portfolio_figures(session: Session, year: int) -> PortfolioFigures:
    """The region's (the installation's) IID for ``year`` and every counted innovation's
    SID score, claimed and verified."""
    catalogue = catalogue_for_year(year)
    sync_weights(session, catalogue)
    scores = _innovation_scores(year)
    rows = session.execute(
        select(
            Innovation.id,
            Innovation.code,
            Innovation.title,
            Innovation.unit_id,
            scores.c.claimed,
            scores.c.verified,
            scores.c.mandatory_claimed,
            scores.c.mandatory_verified,
        )
        .outerjoin(scores, scores.c.innovation_id == Innovation.id)
        .where(counted_clause(year))
        .order_by(Innovation.code)
    ).all()
    mandatory = len(catalogue.mandatory_sid)
    figures = [
        InnovationFigure(
            id=r.id,
            code=r.code,
            title=r.title,
            unit_id=r.unit_id,
            sid_claimed=_dec(r.claimed),
            sid_verified=_dec(r.verified),
            mandatory_missing_claimed=mandatory - int(r.mandatory_claimed or 0),
            mandatory_missing_verified=mandatory - int(r.mandatory_verified or 0),
        )
        for r in rows
    ]
    spd_claimed, spd_verified = spd_sums(session, year)
    affairs = basic_service_affairs(u for lists in _affairs(session, year).values() for u in lists)
    n = len(figures)
    claimed = region_from_sums(
        catalogue,
        basis=Basis.CLAIMED,
        spd=spd_claimed,
        sid_sum=sum((f.sid_claimed for f in figures), ZERO),
        n=n,
        affairs=affairs,
    )
    verified = region_from_sums(
        catalogue,
        basis=Basis.VERIFIED,
        spd=spd_verified,
        sid_sum=sum((f.sid_verified for f in figures), ZERO),
        n=n,
        affairs=affairs,
    )
    return PortfolioFigures(year, figures, claimed, verified)


@dataclass(frozen=True)
class GroupFigures:
    """One group's (unit's, or region's in a national portfolio) IID on both bases."""

    unit_id: int
    claimed: RegionScore
    verified: RegionScore


def figures_by_unit(session: Session, year: int) -> list[GroupFigures]:
    """The IID of every unit as if each unit were a region (a national portfolio stores
    regions as units). SPD claims are the installation's and apply to every group."""
    catalogue = catalogue_for_year(year)
    sync_weights(session, catalogue)
    scores = _innovation_scores(year)
    rows = session.execute(
        select(
            Innovation.unit_id,
            func.count(Innovation.id).label("n"),
            type_coerce(func.sum(scores.c.claimed), Float).label("claimed"),
            type_coerce(func.sum(scores.c.verified), Float).label("verified"),
        )
        .outerjoin(scores, scores.c.innovation_id == Innovation.id)
        .where(counted_clause(year))
        .group_by(Innovation.unit_id)
        .order_by(Innovation.unit_id)
    ).all()
    spd_claimed, spd_verified = spd_sums(session, year)
    by_unit = _affairs(session, year) if catalogue.count_term.min_basic_service_affairs else None
    result = []
    for r in rows:
        affairs = basic_service_affairs(by_unit[r.unit_id]) if by_unit is not None else None
        result.append(
            GroupFigures(
                unit_id=r.unit_id,
                claimed=region_from_sums(
                    catalogue,
                    basis=Basis.CLAIMED,
                    spd=spd_claimed,
                    sid_sum=_dec(r.claimed),
                    n=r.n,
                    affairs=affairs,
                ),
                verified=region_from_sums(
                    catalogue,
                    basis=Basis.VERIFIED,
                    spd=spd_verified,
                    sid_sum=_dec(r.verified),
                    n=r.n,
                    affairs=affairs,
                ),
            )
        )
    return result


def claim_levels(
    session: Session, year: int, basis: Basis, *, aspect: str = "sid"
) -> dict[int | None, dict[str, int]]:
    """Scoring levels per innovation id (``None`` for SPD) of ``year`` on ``basis``."""
    rows = session.execute(
        select(
            IndicatorClaim.innovation_id,
            IndicatorClaim.indicator,
            IndicatorClaim.claimed_level,
            IndicatorClaim.status,
            IndicatorClaim.verified_level,
        ).where(IndicatorClaim.year == year, IndicatorClaim.aspect == aspect)
    )
    levels: dict[int | None, dict[str, int]] = defaultdict(dict)
    for innovation_id, indicator, claimed, status, verified in rows:
        levels[innovation_id][indicator] = effective_level(
            Claim(indicator, claimed, status, verified), basis
        )
    return levels

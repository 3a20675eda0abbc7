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

import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    Result,
    and_,
    case,
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
from domain.models import Adoption, IndicatorClaim, Innovation, RegionIndicator, ReplicationOffer

REPORTED_STAGES = (Stage.REPORTING, Stage.REPLICATION)
EXCLUDED_OUTCOMES = (Outcome.REJECTED, Outcome.WITHDRAWN)


def sync_weights(session: Session, catalogue: Catalogue) -> int:
    """Make ``iid_weights`` of the catalogue's year equal to the catalogue; returns changes.

    Every scoring calls it, so the usual case (nothing to change) reads plain rows and
    compares them; ORM objects are loaded only when something differs."""
    wanted = {(i.aspect, i.code): (i.weight, i.mandatory) for i in (*catalogue.sid, *catalogue.spd)}
    w = RegionIndicator
    stored = session.execute(
        select(w.aspect, w.indicator, w.weight, w.mandatory).where(w.year == catalogue.year)
    ).all()
    if len(stored) == len(wanted) and all(
        wanted.get((aspect, code)) == (Decimal(weight), mandatory)
        for aspect, code, weight, mandatory in stored
    ):
        return 0
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
    # an uncorrelated IN (one index range, materialized once) rather than EXISTS per row
    has_claims = Innovation.id.in_(
        select(IndicatorClaim.innovation_id).where(
            IndicatorClaim.year == year, IndicatorClaim.aspect == "sid"
        )
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
    #: where the Replikasi level (sid16) comes from: "claim" (typed in) or "derived" (from
    #: completed replications with accepted evidence; it replaces the claim)
    replication_source: str = "claim"
    replication_note: str | None = None


@dataclass(frozen=True)
class PortfolioFigures:
    """The region's IID for a year on both bases, and every counted innovation's score."""

    year: int
    innovations: tuple[InnovationFigure, ...]  # shared by every reader of cached figures
    claimed: RegionScore
    verified: RegionScore


def spd_sums(session: Session, year: int) -> tuple[Decimal, Decimal]:
    """The region's SPD score, claimed and verified (query 2)."""
    columns, join, where = _scored_claims(year, "spd")
    row = session.execute(
        select(*columns[:2]).select_from(IndicatorClaim).join(RegionIndicator, join).where(*where)
    ).one()
    return _dec(row.claimed), _dec(row.verified)


def _scored_innovations(year: int, *columns: Any) -> Any:
    """``select(columns, claimed, verified, mandatory_claimed, mandatory_verified)`` over the
    innovations counted for ``year``, each left-joined with its SID claims of that year and
    their weights; the caller groups. Joining from the (few) counted innovations lets the
    claims index serve each one, instead of aggregating every claim of the year first."""
    c, w = IndicatorClaim, RegionIndicator
    scores, join, _where = _scored_claims(year, "sid")
    claims = and_(c.innovation_id == Innovation.id, c.year == year, c.aspect == "sid")
    return (
        select(*columns, *scores)
        .select_from(Innovation)
        .outerjoin(c, claims)
        .outerjoin(w, join)
        .where(counted_clause(year))
    )


def _catalogue_synced(session: Session, year: int) -> Catalogue:
    """The catalogue of ``year``, its weights synced to the database."""
    catalogue = catalogue_for_year(year)
    sync_weights(session, catalogue)
    return catalogue


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


#: how long cached figures may be served without recomputing them, whatever the revision
#: says (the revision cannot see an update whose time stamp is older than the newest one,
#: e.g. a transaction that committed after a later one; this bounds that case)
FIGURES_MAX_AGE = 60.0
_FIGURES_KEPT = 8
_Kept = OrderedDict[tuple[Any, ...], tuple[float, PortfolioFigures]]
_figures_cache: WeakKeyDictionary[Engine, _Kept] = WeakKeyDictionary()
_figures_lock = threading.Lock()


def portfolio_revision(session: Session, year: int) -> tuple[Any, ...]:
    """A value that changes when what ``portfolio_figures(year)`` reads changes: the count
    and the latest change of the year's claims, of the innovations, and of the replication
    offers and adoptions (the derived Replikasi level). Read from indexes, in one query."""
    parts = []
    for model, where in (
        (IndicatorClaim, IndicatorClaim.year == year),
        (Innovation, None),
        (ReplicationOffer, None),
        (Adoption, None),
    ):
        for column in (func.count(model.id), func.max(model.updated_at)):
            query = select(column)
            parts.append((query if where is None else query.where(where)).scalar_subquery())
    return (year, *session.execute(select(*parts)).one())


def portfolio_figures(session: Session, year: int) -> PortfolioFigures:
    """The region's (the installation's) IID for ``year`` and every counted innovation's
    SID score, claimed and verified.

    The figures are kept per database and ``portfolio_revision``, for ``FIGURES_MAX_AGE``
    seconds at most: the IID page asks for them on every view, and recomputing them reads
    every claim of the year. The revision is read first, so figures are never kept under a
    revision older than the data they were computed from."""
    catalogue = _catalogue_synced(session, year)
    engine = session.get_bind()
    if not isinstance(engine, Engine):  # a session on one connection (a test's transaction)
        return _compute_figures(session, catalogue, year)
    revision = portfolio_revision(session, year)
    now = time.monotonic()
    with _figures_lock:
        hit = _figures_cache.get(engine, OrderedDict()).get(revision)
    if hit is not None and now - hit[0] <= FIGURES_MAX_AGE:
        return hit[1]
    figures = _compute_figures(session, catalogue, year)
    with _figures_lock:
        kept = _figures_cache.setdefault(engine, OrderedDict())
        kept[revision] = (now, figures)
        kept.move_to_end(revision)
        while len(kept) > _FIGURES_KEPT:
            kept.popitem(last=False)
    return figures


def _compute_figures(session: Session, catalogue: Catalogue, year: int) -> PortfolioFigures:
    i = Innovation
    rows = session.execute(
        _scored_innovations(year, i.id, i.code, i.title, i.unit_id, i.urusan_main, i.urusan_other)
        .group_by(i.id)  # the other columns depend on the key (SQLite and PostgreSQL)
        .order_by(i.code)
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
    figures = _with_derived_replication(session, catalogue, year, figures)
    spd_claimed, spd_verified = spd_sums(session, year)
    affairs = basic_service_affairs((r.urusan_main, *(r.urusan_other or [])) for r in rows)
    n = len(figures)
    claimed, verified = _on_both_bases(
        catalogue,
        spd=(spd_claimed, spd_verified),
        sid_sums=(
            sum((f.sid_claimed for f in figures), ZERO),
            sum((f.sid_verified for f in figures), ZERO),
        ),
        n=n,
        affairs=affairs,
    )
    return PortfolioFigures(year, tuple(figures), claimed, verified)


def _on_both_bases(
    catalogue: Catalogue,
    *,
    spd: tuple[Decimal, Decimal],
    sid_sums: tuple[Decimal, Decimal],
    n: int,
    affairs: frozenset[str] | None,
) -> tuple[RegionScore, RegionScore]:
    """The IID from summed figures, claimed and verified (each pair is in that order)."""
    score = partial(region_from_sums, catalogue, n=n, affairs=affairs)
    return (
        score(basis=Basis.CLAIMED, spd=spd[0], sid_sum=sid_sums[0]),
        score(basis=Basis.VERIFIED, spd=spd[1], sid_sum=sid_sums[1]),
    )


@dataclass(frozen=True)
class GroupFigures:
    """One group's (unit's, or region's in a national portfolio) IID on both bases."""

    unit_id: int
    claimed: RegionScore
    verified: RegionScore


def figures_by_unit(session: Session, year: int) -> list[GroupFigures]:
    """The IID of every unit as if each unit were a region (a national portfolio stores
    regions as units). SPD claims are the installation's and apply to every group."""
    catalogue = _catalogue_synced(session, year)
    rows = session.execute(
        _scored_innovations(
            year, Innovation.unit_id, func.count(func.distinct(Innovation.id)).label("n")
        )
        .group_by(Innovation.unit_id)
        .order_by(Innovation.unit_id)
    ).all()
    spd = spd_sums(session, year)
    by_unit = _affairs(session, year) if catalogue.count_term.min_basic_service_affairs else None
    result = []
    for r in rows:
        affairs = basic_service_affairs(by_unit[r.unit_id]) if by_unit is not None else None
        claimed, verified = _on_both_bases(
            catalogue,
            spd=spd,
            sid_sums=(_dec(r.claimed), _dec(r.verified)),
            n=r.n,
            affairs=affairs,
        )
        result.append(GroupFigures(r.unit_id, claimed, verified))
    return result


def _claim_contribution(claim: Claim, weight: Decimal) -> tuple[Decimal, Decimal]:
    return (
        weight * effective_level(claim, Basis.CLAIMED),
        weight * effective_level(claim, Basis.VERIFIED),
    )


def _with_derived_replication(
    session: Session, catalogue: Catalogue, year: int, figures: list[InnovationFigure]
) -> list[InnovationFigure]:
    """Replace the typed-in Replikasi claim of every offered innovation with its derived
    level (``domain.replication``): the ministry counts distinct other regions with
    accepted evidence, which Kinanti records itself. The derived level counts on both
    bases (its evidence is accepted)."""
    from domain.replication import REPLICATION_INDICATOR, derived_replication

    if not any(i.code == REPLICATION_INDICATOR for i in catalogue.sid):
        return figures
    derived = derived_replication(session, [f.id for f in figures])
    if not derived:
        return figures
    weight = _dec(catalogue.indicator("sid", REPLICATION_INDICATOR).weight)
    claims = {
        innovation_id: Claim(REPLICATION_INDICATOR, claimed, status, verified)
        for innovation_id, claimed, status, verified in session.execute(
            select(
                IndicatorClaim.innovation_id,
                IndicatorClaim.claimed_level,
                IndicatorClaim.status,
                IndicatorClaim.verified_level,
            ).where(
                IndicatorClaim.year == year,
                IndicatorClaim.aspect == "sid",
                IndicatorClaim.indicator == REPLICATION_INDICATOR,
                IndicatorClaim.innovation_id.in_(list(derived)),
            )
        )
    }
    out = []
    for figure in figures:
        found = derived.get(figure.id)
        if found is None:
            out.append(figure)
            continue
        typed = claims.get(figure.id)
        old_claimed, old_verified = (
            _claim_contribution(typed, weight) if typed is not None else (ZERO, ZERO)
        )
        new = weight * found.level
        note = found.note()
        if typed is not None:
            note += f"; replaces the typed-in claim (level {typed.claimed_level})"
        out.append(
            replace(
                figure,
                sid_claimed=figure.sid_claimed - old_claimed + new,
                sid_verified=figure.sid_verified - old_verified + new,
                replication_source="derived",
                replication_note=note,
            )
        )
    return out


def claim_levels(
    session: Session,
    year: int,
    basis: Basis,
    *,
    aspect: str = "sid",
    innovation_ids: Collection[int] | None = None,
) -> dict[int | None, dict[str, int]]:
    """Scoring levels per innovation id (``None`` for SPD) of ``year`` on ``basis``
    (only of ``innovation_ids`` when given)."""
    levels: dict[int | None, dict[str, int]] = defaultdict(dict)
    rows = claim_rows(session, year, aspect, innovation_ids)
    for innovation_id, indicator, claimed, status, verified in rows:
        levels[innovation_id][indicator] = effective_level(
            Claim(indicator, claimed, status, verified), basis
        )
    if aspect == "sid":
        from domain.replication import REPLICATION_INDICATOR, derived_replication

        for innovation_id, found in derived_replication(session).items():
            levels[innovation_id][REPLICATION_INDICATOR] = found.level  # derived wins
    return levels


def claim_rows(
    session: Session, year: int, aspect: str, innovation_ids: Iterable[int] | None = None
) -> Result[int | None, str, int | None, VerificationStatus, int | None]:
    """Every claim of ``year`` on ``aspect`` ("sid" or "spd") as rows of
    (innovation id, indicator, claimed level, status, verified level); only of
    ``innovation_ids`` when given."""
    stmt = select(
        IndicatorClaim.innovation_id,
        IndicatorClaim.indicator,
        IndicatorClaim.claimed_level,
        IndicatorClaim.status,
        IndicatorClaim.verified_level,
    ).where(IndicatorClaim.year == year, IndicatorClaim.aspect == aspect)
    if innovation_ids is not None:
        stmt = stmt.where(IndicatorClaim.innovation_id.in_(list(innovation_ids)))
    return session.execute(stmt)

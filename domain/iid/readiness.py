"""Readiness for the national collection: what would block each innovation in the
ministry's application for a year. Pure checks (``blockers_of``) over what one query per
table reads (``national_readiness``); the CLI (``kinanti report --check``), the export
and the portal show the same typed results, each in its reader's language.

Blockers, per innovation:

- a national profile field is empty (``domain.profile.NATIONAL_FIELDS``, and the budget);
- the design narrative is under the year's minimum (2026: 300 words);
- no implementation start date, or one outside the year's window (catalogue data; 2026:
  1 Jan 2024 - 31 Dec 2025; a year without a known window is not checked and says so);
- a mandatory SID indicator of the year has no claim (or only a rejected one);
- a claim's evidence is not verified yet (pending);
- a claim on an indicator with alternative measurement bases does not name its basis;
- the innovation ended as rejected or withdrawn (it is not reported at all).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Outcome, VerificationStatus
from domain.iid.catalogue import Catalogue, Window, catalogue_for_year
from domain.models import IndicatorClaim, Innovation, Unit
from domain.profile import NATIONAL_FIELDS, GapKind, Profile, profile_gaps


class BlockerKind(StrEnum):
    PROFILE_FIELD = "profile_field"
    DESIGN_WORDS = "design_words"
    NO_IMPLEMENTATION = "no_implementation"
    OUTSIDE_WINDOW = "outside_window"
    MANDATORY_MISSING = "mandatory_missing"
    UNVERIFIED = "unverified"
    BASIS_MISSING = "basis_missing"
    ENDED = "ended"


@dataclass(frozen=True)
class Blocker:
    """One reason an innovation is not ready; the fields used depend on ``kind``."""

    kind: BlockerKind
    field: str | None = None
    words: int = 0
    minimum: int = 0
    date: dt.date | None = None
    window: Window | None = None
    codes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind.value}
        if self.field:
            data["field"] = self.field
        if self.kind is BlockerKind.DESIGN_WORDS:
            data.update(words=self.words, minimum=self.minimum)
        if self.date:
            data["date"] = self.date.isoformat()
        if self.window:
            data["window"] = [self.window.start.isoformat(), self.window.end.isoformat()]
        if self.codes:
            data["codes"] = list(self.codes)
        return data


@dataclass(frozen=True)
class ClaimFacts:
    """What readiness needs of one SID claim."""

    indicator: str
    status: VerificationStatus
    measurement_basis: str | None = None


def blockers_of(
    catalogue: Catalogue,
    profile: Profile,
    claims: Iterable[ClaimFacts],
    outcome: Outcome | None = None,
) -> tuple[Blocker, ...]:
    """Everything that would block ``profile`` in the national collection of the
    catalogue's year (empty: ready)."""
    blockers: list[Blocker] = []
    if outcome in (Outcome.REJECTED, Outcome.WITHDRAWN):
        blockers.append(Blocker(BlockerKind.ENDED, outcome.value))
    for gap in profile_gaps(profile, fields=NATIONAL_FIELDS, min_words=catalogue.min_design_words):
        if gap.kind is GapKind.DESIGN_WORDS:
            blockers.append(
                Blocker(BlockerKind.DESIGN_WORDS, "design", words=gap.words, minimum=gap.minimum)
            )
        else:
            blockers.append(Blocker(BlockerKind.PROFILE_FIELD, gap.field))
    start = profile.implementation_start
    window = catalogue.implementation_window
    if start is None:
        blockers.append(Blocker(BlockerKind.NO_IMPLEMENTATION, "implementation_start"))
    elif window is not None and not window.contains(start):
        blockers.append(
            Blocker(BlockerKind.OUTSIDE_WINDOW, "implementation_start", date=start, window=window)
        )
    claims = list(claims)
    held = {c.indicator for c in claims if c.status is not VerificationStatus.REJECTED}
    missing = tuple(code for code in catalogue.mandatory_sid if code not in held)
    if missing:
        blockers.append(Blocker(BlockerKind.MANDATORY_MISSING, codes=missing))
    pending = tuple(sorted(c.indicator for c in claims if c.status is VerificationStatus.PENDING))
    if pending:
        blockers.append(Blocker(BlockerKind.UNVERIFIED, codes=pending))
    no_basis = tuple(
        sorted(
            c.indicator
            for c in claims
            if catalogue.bases_of(c.indicator)
            and not c.measurement_basis
            and c.status is not VerificationStatus.REJECTED
        )
    )
    if no_basis:
        blockers.append(Blocker(BlockerKind.BASIS_MISSING, codes=no_basis))
    return tuple(blockers)


@dataclass(frozen=True)
class InnovationReadiness:
    code: str
    title: str
    unit_code: str
    stage: str
    blockers: tuple[Blocker, ...]

    @property
    def ready(self) -> bool:
        return not self.blockers

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "title": self.title,
            "unit_code": self.unit_code,
            "stage": self.stage,
            "ready": self.ready,
            "blockers": [b.as_dict() for b in self.blockers],
        }


@dataclass(frozen=True)
class Readiness:
    year: int
    prognosis: bool
    window: Window | None
    innovations: tuple[InnovationReadiness, ...]

    @property
    def ready(self) -> int:
        return sum(1 for i in self.innovations if i.ready)

    def by_code(self) -> dict[str, InnovationReadiness]:
        return {i.code: i for i in self.innovations}

    def as_dict(self) -> dict[str, object]:
        return {
            "year": self.year,
            "prognosis": self.prognosis,
            "window": (
                [self.window.start.isoformat(), self.window.end.isoformat()]
                if self.window
                else None
            ),
            "ready": self.ready,
            "total": len(self.innovations),
            "innovations": [i.as_dict() for i in self.innovations],
        }


def national_readiness(
    session: Session, year: int, codes: Sequence[str] | None = None
) -> Readiness:
    """Readiness of every innovation of ``year`` (or of ``codes``): the innovations the
    export lists (``domain.reports.year_clause``)."""
    from domain.reports import year_clause  # the export's own selection of innovations

    catalogue = catalogue_for_year(year)
    stmt = (
        select(Innovation, Unit.code)
        .join(Unit, Innovation.unit_id == Unit.id)
        .where(year_clause(year))
        .order_by(Innovation.code)
    )
    if codes is not None:
        stmt = stmt.where(Innovation.code.in_(list(codes)))
    rows = session.execute(stmt).all()
    claims: dict[int | None, list[ClaimFacts]] = defaultdict(list)
    for innovation_id, indicator, status, basis in session.execute(
        select(
            IndicatorClaim.innovation_id,
            IndicatorClaim.indicator,
            IndicatorClaim.status,
            IndicatorClaim.measurement_basis,
        ).where(IndicatorClaim.year == year, IndicatorClaim.aspect == "sid")
    ):
        claims[innovation_id].append(ClaimFacts(indicator, status, basis))
    items = tuple(
        InnovationReadiness(
            code=inv.code,
            title=inv.title,
            unit_code=unit_code,
            stage=inv.stage.value,
            blockers=blockers_of(catalogue, inv, claims[inv.id], inv.outcome),
        )
        for inv, unit_code in rows
    )
    return Readiness(year, catalogue.prognosis, catalogue.implementation_window, items)

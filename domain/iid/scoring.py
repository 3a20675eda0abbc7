"""Pure IID scoring: indicator levels in, SID / SPD / IID / band out. No I/O.

Formula (per year, see the catalogue)::

    indicator score = weight x level          (level 1..3; 0 when empty or not accepted)
    SPD  = sum of the region's SPD indicator scores
    SID  = (sum of the n reported innovations' SID scores) / max(k, n) + JumlahInovasi
    JumlahInovasi = factor x min(n, cap)      (0.38 x min(n, 200), max 76)
                    -- and 0 when the year's basic-service rule is not met (2026: at least
                       5 of the 6 basic-service affairs among the innovations' urusan)
    IID  = (SPD + SID) / 250 x 100

With no innovation the region cannot be assessed: band "Tidak Dapat Dinilai" and IID 0.
Bands compare the IID rounded half up to two decimals with the published lower bounds
(``catalogue.Bands``): each threshold is strict, so 40.00 is Kurang Inovatif in 2026.

Claimed and verified figures are two *bases* over the same claims:

- ``claimed``: every claim at its claimed level, except claims whose evidence was rejected
  (score 0): what the region will get if all pending evidence is accepted.
- ``verified``: only accepted claims, at their verified level.

Everything is ``Decimal``; round only for display (``display``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.enums import VerificationStatus
from domain.errors import ValidationError
from domain.iid.catalogue import LEVELS, Catalogue, Indicator
from domain.iid.urusan import basic_service_names, basic_service_of

ZERO = Decimal(0)
HUNDRED = Decimal(100)

Levels = Mapping[str, int | None]
"""Indicator code -> level (1..3), ``None`` or 0 for empty."""


class Basis(StrEnum):
    CLAIMED = "claimed"
    VERIFIED = "verified"


class Band(StrEnum):
    """The IID predicate (label in Bahasa Indonesia, as the ministry publishes it)."""

    SANGAT_INOVATIF = "Sangat Inovatif"
    INOVATIF = "Inovatif"
    KURANG_INOVATIF = "Kurang Inovatif"
    TIDAK_DAPAT_DINILAI = "Tidak Dapat Dinilai"


@dataclass(frozen=True)
class Claim:
    """One indicator claim as scoring sees it."""

    indicator: str
    claimed_level: int | None
    status: VerificationStatus = VerificationStatus.PENDING
    verified_level: int | None = None


def effective_level(claim: Claim, basis: Basis) -> int:
    """The level that scores on ``basis``: 0 when empty, rejected, or (verified) not accepted."""
    if claim.status is VerificationStatus.REJECTED or not claim.claimed_level:
        return 0
    if basis is Basis.CLAIMED:
        return claim.claimed_level
    if claim.status is not VerificationStatus.ACCEPTED:
        return 0
    return claim.verified_level if claim.verified_level is not None else claim.claimed_level


def levels_of(claims: Iterable[Claim], basis: Basis) -> dict[str, int]:
    return {c.indicator: effective_level(c, basis) for c in claims}


def check_level(level: int | None) -> int:
    """A level is 1, 2 or 3 (0 / ``None`` = empty)."""
    if level is None or level == 0:
        return 0
    if level not in LEVELS:
        raise ValidationError(code="iid.level_invalid", level=level)
    return int(level)


def indicator_score(indicator: Indicator, level: int | None) -> Decimal:
    return indicator.weight * check_level(level)


def _aspect_score(indicators: Sequence[Indicator], levels: Levels) -> Decimal:
    unknown = set(levels) - {i.code for i in indicators}
    if unknown:
        raise ValidationError(code="iid.indicators_unknown", indicators=sorted(unknown))
    return sum((indicator_score(i, levels.get(i.code)) for i in indicators), ZERO)


def sid_score(catalogue: Catalogue, levels: Levels) -> Decimal:
    """One innovation's SID score (max 111 with the 2023 weights)."""
    return _aspect_score(catalogue.sid, levels)


def spd_score(catalogue: Catalogue, levels: Levels) -> Decimal:
    """The region's SPD score (max 63)."""
    return _aspect_score(catalogue.spd, levels)


def missing_mandatory(catalogue: Catalogue, levels: Levels) -> tuple[str, ...]:
    """Mandatory SID indicators with no scoring level."""
    return tuple(code for code in catalogue.mandatory_sid if not levels.get(code))


def basic_service_affairs(urusan: Iterable[Iterable[str]]) -> frozenset[str]:
    """The basic-service affairs (canonical names) among the innovations' urusan (main and
    other), whatever accepted spelling or alias they use (``domain.iid.urusan``)."""
    return basic_service_of(u for us in urusan for u in us)


def count_term(catalogue: Catalogue, n: int, affairs: frozenset[str] | None = None) -> Decimal:
    """JumlahInovasi: factor x min(n, cap), or 0 when the basic-service rule is not met."""
    rule = catalogue.count_term
    if rule.min_basic_service_affairs is not None and (
        affairs is None or len(affairs) < rule.min_basic_service_affairs
    ):
        return ZERO
    return rule.factor * min(n, rule.cap)


def rounded(value: Decimal, places: int = 2) -> Decimal:
    """Round half up (as published figures are): ``Decimal('40.005')`` -> ``40.01``."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def band_of(catalogue: Catalogue, iid: Decimal, n: int) -> Band:
    """The band of ``iid``: rounded to two decimals, then against the published lower
    bounds (inclusive), so each published threshold is strict (2026: 40.00 is Kurang
    Inovatif, 40.01 Inovatif)."""
    value = rounded(iid)
    bands = catalogue.bands
    if n == 0 or value < bands.kurang_inovatif:
        return Band.TIDAK_DAPAT_DINILAI
    if value >= bands.sangat_inovatif:
        return Band.SANGAT_INOVATIF
    if value >= bands.inovatif:
        return Band.INOVATIF
    return Band.KURANG_INOVATIF


@dataclass(frozen=True)
class CountTermExplanation:
    """Why JumlahInovasi is what it is: the basic-service rule and the empty seats.

    ``required`` is how many basic-service affairs the year needs (``None``: no rule);
    ``applies`` tells whether the count term is earned (the rule holds, or there is none);
    ``empty_seats`` ("kursi kosong") is how many more innovations until n reaches k (the
    SID sum is divided by k while n < k)."""

    required: int | None
    present: tuple[str, ...]
    missing: tuple[str, ...]
    applies: bool
    n: int
    k: int
    empty_seats: int

    def as_dict(self) -> dict[str, object]:
        return {
            "basic_service_required": self.required,
            "basic_service_present": list(self.present),
            "basic_service_missing": list(self.missing),
            "applies": self.applies,
            "n": self.n,
            "k": self.k,
            "empty_seats": self.empty_seats,
        }


def explain_count_term(
    catalogue: Catalogue, n: int, affairs: frozenset[str] | None
) -> CountTermExplanation:
    required = catalogue.count_term.min_basic_service_affairs
    names = basic_service_names()
    present = tuple(a for a in names if a in (affairs or frozenset()))
    missing = tuple(a for a in names if a not in present)
    return CountTermExplanation(
        required=required,
        present=present,
        missing=missing,
        applies=required is None or len(present) >= required,
        n=n,
        k=catalogue.k,
        empty_seats=max(0, catalogue.k - n),
    )


@dataclass(frozen=True)
class RegionScore:
    """A region's IID on one basis."""

    year: int
    basis: Basis
    n: int
    spd: Decimal
    sid_sum: Decimal
    divisor: int
    sid_average: Decimal
    count_term: Decimal
    sid: Decimal
    iid: Decimal
    band: Band
    basic_service_affairs: frozenset[str] = field(default_factory=frozenset)
    explanation: CountTermExplanation | None = None
    prognosis: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "year": self.year,
            "basis": self.basis.value,
            "innovations": self.n,
            "spd": display(self.spd),
            "sid_sum": display(self.sid_sum),
            "divisor": self.divisor,
            "sid_average": display(self.sid_average),
            "count_term": display(self.count_term),
            "sid": display(self.sid),
            "iid": display(self.iid),
            "band": self.band.value,
            "basic_service_affairs": sorted(self.basic_service_affairs),
            "count_term_explained": self.explanation.as_dict() if self.explanation else None,
            "prognosis": self.prognosis,
        }


def region_from_sums(
    catalogue: Catalogue,
    *,
    basis: Basis,
    spd: Decimal,
    sid_sum: Decimal,
    n: int,
    affairs: frozenset[str] | None = None,
) -> RegionScore:
    """The region's IID from already summed figures (the SQL portfolio uses this)."""
    divisor = max(catalogue.k, n)
    sid_average = sid_sum / divisor
    term = count_term(catalogue, n, affairs)
    sid = sid_average + term
    iid = (spd + sid) / catalogue.max_total * HUNDRED if n else ZERO
    return RegionScore(
        year=catalogue.year,
        basis=basis,
        n=n,
        spd=spd,
        sid_sum=sid_sum,
        divisor=divisor,
        sid_average=sid_average,
        count_term=term,
        sid=sid,
        iid=iid,
        band=band_of(catalogue, iid, n),
        basic_service_affairs=affairs or frozenset(),
        explanation=explain_count_term(catalogue, n, affairs),
        prognosis=catalogue.prognosis,
    )


@dataclass(frozen=True)
class InnovationLevels:
    """One reported innovation: its SID levels on some basis and its urusan."""

    code: str
    levels: Levels
    urusan: tuple[str, ...] = ()


def region_score(
    catalogue: Catalogue,
    spd_levels: Levels,
    innovations: Sequence[InnovationLevels],
    basis: Basis = Basis.CLAIMED,
) -> RegionScore:
    """The region's IID from the SPD levels and every reported innovation's SID levels."""
    return region_from_sums(
        catalogue,
        basis=basis,
        spd=spd_score(catalogue, spd_levels),
        sid_sum=sum((sid_score(catalogue, i.levels) for i in innovations), ZERO),
        n=len(innovations),
        affairs=basic_service_affairs(i.urusan for i in innovations),
    )


@dataclass(frozen=True)
class Gain:
    """Raising one indicator to level 3: points on its aspect and on the region's IID."""

    aspect: str
    indicator: str
    name: str
    level: int
    points: Decimal
    iid_points: Decimal


def largest_gains(
    catalogue: Catalogue,
    aspect: str,
    levels: Levels,
    *,
    n: int = 1,
    limit: int = 3,
    lang: str = "id",
) -> list[Gain]:
    """Indicators whose raise to level 3 adds most to the IID (SID gains are divided by
    max(k, n) since one innovation's score is averaged over the portfolio)."""
    divisor = Decimal(max(catalogue.k, n)) if aspect == "sid" else Decimal(1)
    gains = []
    for indicator in catalogue.indicators(aspect):
        level = check_level(levels.get(indicator.code))
        if level >= 3:
            continue
        points = indicator.weight * (3 - level)
        gains.append(
            Gain(
                aspect=aspect,
                indicator=indicator.code,
                name=indicator.name.in_lang(lang),
                level=level,
                points=points,
                iid_points=points / divisor / catalogue.max_total * HUNDRED,
            )
        )
    gains.sort(key=lambda g: (-g.iid_points, g.indicator))
    return gains[:limit]


def display(value: Decimal, places: int = 2) -> str:
    """Round half up for display only (``Decimal('60.005')`` -> ``'60.01'``)."""
    return str(rounded(value, places))

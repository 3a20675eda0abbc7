"""Pure IID scoring against hand-computed cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.enums import VerificationStatus
from domain.errors import KinantiError, NotFoundError, ValidationError
from domain.iid.catalogue import catalogue_for_year, known_years
from domain.iid.scoring import (
    Band,
    Basis,
    Claim,
    InnovationLevels,
    count_term,
    effective_level,
    largest_gains,
    missing_mandatory,
    region_score,
    sid_score,
)
from domain.iid.urusan import basic_service_names

C2023 = catalogue_for_year(2023)
C2026 = catalogue_for_year(2026)


def all_at(catalogue_aspect: tuple, level: int) -> dict[str, int]:
    return {i.code: level for i in catalogue_aspect}


def innovations(n: int, level: int, urusan: tuple[str, ...] = ("Kesehatan",)) -> list:
    return [InnovationLevels(f"INV-{i}", all_at(C2023.sid, level), urusan) for i in range(n)]


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026, 2027])
def test_every_catalogue_has_20_sid_indicators_weighing_37(year: int) -> None:
    catalogue = catalogue_for_year(year)
    assert len(catalogue.sid) == 20
    assert sum(i.weight for i in catalogue.sid) == 37
    assert catalogue.sid_max == 111
    assert catalogue.spd_max == 63
    assert set(catalogue.mandatory_sid) == {
        "sid01_regulasi",
        "sid02_sdm",
        "sid17_kecepatan",
        "sid18_kemanfaatan",
        "sid20_kualitas",
    }


def test_catalogue_years_and_rules_differ_as_documented() -> None:
    assert known_years() == (2023, 2024, 2025, 2026, 2027)
    assert (C2023.k, C2026.k) == (10, 12)
    assert C2023.count_term.min_basic_service_affairs is None
    assert C2026.count_term.min_basic_service_affairs == 5


def test_unknown_year_lists_the_known_years() -> None:
    with pytest.raises(NotFoundError, match="2023, 2024, 2025, 2026, 2027"):
        catalogue_for_year(2019)
    assert issubclass(NotFoundError, KinantiError)


def test_indicator_found_by_full_or_short_code() -> None:
    assert C2023.indicator("sid", "sid20").code == "sid20_kualitas"
    assert C2023.indicator("sid", "7").code == "sid07_aktor"
    with pytest.raises(NotFoundError):
        C2023.indicator("sid", "sid99")


def test_fewer_innovations_than_k_divide_by_k() -> None:
    # 3 innovations at level 1: 3 x 37 = 111; / max(10, 3) = 11.1; + 0.38 x 3 = 1.14
    # SPD at level 2: 21 x 2 = 42; IID = (42 + 12.24) / 250 x 100 = 21.696
    score = region_score(C2023, all_at(C2023.spd, 2), innovations(3, 1))
    assert score.divisor == 10
    assert score.sid == Decimal("12.24")
    assert score.iid == Decimal("21.696")
    assert score.band is Band.KURANG_INOVATIF


def test_more_innovations_than_k_divide_by_n() -> None:
    # 12 at level 3: 12 x 111 / 12 = 111; + 0.38 x 12 = 4.56; SPD 63
    # IID = (63 + 115.56) / 2.5 = 71.424
    score = region_score(C2023, all_at(C2023.spd, 3), innovations(12, 3))
    assert score.divisor == 12
    assert score.iid == Decimal("71.424")
    assert score.band is Band.SANGAT_INOVATIF


def test_count_term_is_capped_at_200_innovations() -> None:
    assert count_term(C2023, 250) == Decimal("76.00")
    assert count_term(C2023, 200) == Decimal("76.00")


def test_no_innovation_cannot_be_assessed() -> None:
    score = region_score(C2023, all_at(C2023.spd, 3), [])
    assert score.band is Band.TIDAK_DAPAT_DINILAI
    assert score.iid == 0


def test_exactly_35_is_inovatif_end_to_end() -> None:
    # SPD 63; 5 innovations summing 226 -> 22.6 + 0.38 x 5 = 24.5; (63 + 24.5) / 2.5 = 35
    base = all_at(C2023.sid, 1)
    at45 = {**base, "sid01_regulasi": 3, "sid02_sdm": 2}  # 37 + 6 + 2
    at46 = {**base, "sid01_regulasi": 3, "sid05_bimtek": 3, "sid07_aktor": 2}  # 37 + 6 + 2 + 1
    assert (sid_score(C2023, at45), sid_score(C2023, at46)) == (45, 46)
    items = [InnovationLevels(f"I{i}", at45) for i in range(4)] + [InnovationLevels("I4", at46)]
    score = region_score(C2023, all_at(C2023.spd, 3), items)
    assert score.iid == Decimal(35)
    assert score.band is Band.INOVATIF


def test_missing_mandatory_indicator_is_reported_and_scores_zero() -> None:
    levels = {**all_at(C2023.sid, 2), "sid20_kualitas": 0}
    assert missing_mandatory(C2023, levels) == ("sid20_kualitas",)
    assert sid_score(C2023, levels) == (37 - 4) * 2


@pytest.mark.parametrize(
    ("affairs", "term"), [(4, Decimal(0)), (5, Decimal("3.80")), (6, Decimal("3.80"))]
)
def test_2026_count_term_needs_five_basic_service_affairs(affairs: int, term: Decimal) -> None:
    urusan = [basic_service_names()[i % affairs] for i in range(10)]
    items = [
        InnovationLevels(f"I{i}", all_at(C2026.sid, 2), (u, "Pariwisata"))
        for i, u in enumerate(urusan)
    ]
    score = region_score(C2026, all_at(C2026.spd, 2), items)
    assert score.count_term == term
    # k = 12 in 2026: 10 x 74 / 12
    assert score.sid == Decimal(740) / 12 + term


def test_basic_service_rule_does_not_apply_in_2023() -> None:
    assert count_term(C2023, 10, frozenset()) == Decimal("3.80")


def test_rejected_evidence_scores_zero_on_both_bases() -> None:
    rejected = Claim("sid20_kualitas", 3, VerificationStatus.REJECTED)
    pending = Claim("sid18_kemanfaatan", 3, VerificationStatus.PENDING)
    accepted_lower = Claim("sid01_regulasi", 3, VerificationStatus.ACCEPTED, 2)
    assert effective_level(rejected, Basis.CLAIMED) == 0
    assert effective_level(rejected, Basis.VERIFIED) == 0
    assert effective_level(pending, Basis.CLAIMED) == 3
    assert effective_level(pending, Basis.VERIFIED) == 0
    assert effective_level(accepted_lower, Basis.CLAIMED) == 3
    assert effective_level(accepted_lower, Basis.VERIFIED) == 2


def test_levels_outside_1_to_3_and_unknown_indicators_are_refused() -> None:
    with pytest.raises(ValidationError):
        sid_score(C2023, {"sid01_regulasi": 4})
    with pytest.raises(ValidationError):
        sid_score(C2023, {"sid99_nothing": 1})


def test_largest_gain_is_the_heaviest_indicator_furthest_from_level_3() -> None:
    levels = {**all_at(C2023.sid, 3), "sid20_kualitas": 1, "sid16_replikasi": 2}
    gains = largest_gains(C2023, "sid", levels, n=20)
    assert [g.indicator for g in gains] == ["sid20_kualitas", "sid16_replikasi"]
    # 4 x 2 = 8 points, / max(10, 20) = 0.4 SID points, / 250 x 100 = 0.16 IID points
    assert gains[0].iid_points == Decimal("0.16")

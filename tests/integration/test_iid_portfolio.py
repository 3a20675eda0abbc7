"""The SQL portfolio figures equal the pure-function figures on the same data."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.enums import Outcome, Stage, VerificationStatus
from domain.iid.catalogue import catalogue_for_year
from domain.iid.portfolio import (
    claim_levels,
    figures_by_unit,
    portfolio_figures,
    sync_weights,
)
from domain.iid.scoring import Basis, InnovationLevels, region_score
from domain.iid.urusan import basic_service_names
from domain.models import IndicatorClaim, Innovation, RegionIndicator
from kinanti.db import make_engine
from tests.conftest import BACKENDS
from tests.support import postgres, snapshots
from tests.support.factories import Factory

STATUSES = [VerificationStatus.ACCEPTED] * 3 + [
    VerificationStatus.PENDING,
    VerificationStatus.REJECTED,
]
Q = Decimal("0.000001")


def _claims(session: Session, year: int, innovation: Innovation | None, rng: random.Random) -> None:
    catalogue = catalogue_for_year(year)
    aspect = "sid" if innovation else "spd"
    for ind in catalogue.indicators(aspect):
        if rng.random() < 0.15:
            continue
        level = rng.randint(1, 3)
        status = rng.choice(STATUSES)
        verified = rng.randint(1, level) if status is VerificationStatus.ACCEPTED else None
        session.add(
            IndicatorClaim(
                year=year,
                aspect=aspect,
                innovation_id=innovation.id if innovation else None,
                indicator=ind.code,
                claimed_level=level,
                status=status,
                verified_level=verified,
            )
        )


def _portfolio(session: Session, make: Factory, year: int, n_units: int = 3) -> dict[str, list]:
    rng = random.Random(year)
    units = [make.unit() for _ in range(n_units)]
    made: dict[str, list] = {"counted": [], "not_counted": []}
    for i in range(14):
        unit = units[i % n_units]
        urusan = basic_service_names()[i % 6]
        inv = make.innovation(unit, year=year, urusan_main=urusan, urusan_other=["Pariwisata"])
        kind = i % 7
        if kind in (0, 1, 2):
            inv.stage = Stage.REPORTING
        elif kind == 3:
            inv.stage = Stage.DEPLOYMENT
            inv.implementation_start = dt.date(year, 2, 1)
        elif kind == 4:
            inv.stage = Stage.REPLICATION
            inv.outcome = Outcome.DISCONTINUED
        elif kind == 5:
            inv.stage = Stage.DEPLOYMENT  # no implementation yet: not reported
        else:
            inv.stage = Stage.REPORTING
            inv.outcome = Outcome.REJECTED
        session.flush()
        _claims(session, year, inv, rng)
        made["counted" if kind in (0, 1, 2, 3, 4) else "not_counted"].append(inv)
    _claims(session, year, None, rng)
    session.flush()
    return made


def _pure(session: Session, year: int, innovations: list[Innovation], basis: Basis) -> object:
    catalogue = catalogue_for_year(year)
    sid = claim_levels(session, year, basis)
    spd = claim_levels(session, year, basis, aspect="spd").get(None, {})
    items = [
        InnovationLevels(i.code, sid.get(i.id, {}), (i.urusan_main, *i.urusan_other))
        for i in innovations
    ]
    return region_score(catalogue, spd, items, basis)


@pytest.mark.parametrize("year", [2023, 2026])
def test_sql_portfolio_equals_pure_scoring(session: Session, make: Factory, year: int) -> None:
    made = _portfolio(session, make, year)
    figures = portfolio_figures(session, year)
    assert sorted(f.code for f in figures.innovations) == sorted(i.code for i in made["counted"])
    for basis, got in ((Basis.CLAIMED, figures.claimed), (Basis.VERIFIED, figures.verified)):
        want = _pure(session, year, made["counted"], basis)
        assert got.n == want.n == 10
        for attr in ("spd", "sid_sum", "sid", "count_term", "iid"):
            assert getattr(got, attr).quantize(Q) == getattr(want, attr).quantize(Q), attr
        assert got.band is want.band
    assert figures.claimed.iid >= figures.verified.iid


def test_sql_figures_by_unit_equal_pure_scoring_per_unit(session: Session, make: Factory) -> None:
    made = _portfolio(session, make, 2023)
    groups = {g.unit_id: g for g in figures_by_unit(session, 2023)}
    by_unit: dict[int, list[Innovation]] = {}
    for inv in made["counted"]:
        by_unit.setdefault(inv.unit_id, []).append(inv)
    assert set(groups) == set(by_unit)
    for unit_id, invs in by_unit.items():
        want = _pure(session, 2023, invs, Basis.VERIFIED)
        assert groups[unit_id].verified.iid.quantize(Q) == want.iid.quantize(Q)


def test_per_innovation_scores_and_missing_mandatory(session: Session, make: Factory) -> None:
    inv = make.innovation(year=2023)
    inv.stage = Stage.REPORTING
    session.flush()
    for code, level, status in [
        ("sid01_regulasi", 3, VerificationStatus.ACCEPTED),  # 9 / 9
        ("sid20_kualitas", 3, VerificationStatus.REJECTED),  # 0 / 0
        ("sid18_kemanfaatan", 2, VerificationStatus.PENDING),  # 6 / 0
    ]:
        session.add(
            IndicatorClaim(
                year=2023,
                aspect="sid",
                innovation_id=inv.id,
                indicator=code,
                claimed_level=level,
                status=status,
            )
        )
    session.flush()
    (figure,) = portfolio_figures(session, 2023).innovations
    assert (figure.sid_claimed, figure.sid_verified) == (15, 9)
    assert figure.mandatory_missing_claimed == 3  # sid02, sid17, sid20 (rejected)
    assert figure.mandatory_missing_verified == 4


def test_weights_follow_the_catalogue(session: Session) -> None:
    catalogue = catalogue_for_year(2024)
    sync_weights(session, catalogue)
    row = session.scalar(
        select(RegionIndicator).where(
            RegionIndicator.year == 2024, RegionIndicator.indicator == "sid20_kualitas"
        )
    )
    assert row is not None
    row.weight = Decimal(9)
    session.add(RegionIndicator(year=2024, aspect="sid", indicator="sid99_old", weight=1))
    session.flush()
    assert sync_weights(session, catalogue) == 2
    assert sync_weights(session, catalogue) == 0
    assert Decimal(row.weight) == 4


# --- the figures kept per revision (the IID page asks for them on every view) ----------


@pytest.fixture(params=BACKENDS)
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a database of its own: these tests commit, the shared one rolls back."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'kinanti.db'}"
        else:
            url = stack.enter_context(postgres.temporary_database())
        snapshots.shared().migrated(url)  # upgrade(url), by copy of a database migrated once
        engine = make_engine(url)
        stack.callback(engine.dispose)
        yield engine


def _counted_city(engine: Engine, year: int) -> None:
    with Session(engine) as session, session.begin():
        _portfolio(session, Factory(session), year)


def test_figures_are_kept_until_what_they_read_changes(fresh_engine: Engine) -> None:
    year = 2026
    _counted_city(fresh_engine, year)
    with Session(fresh_engine) as session:
        first = portfolio_figures(session, year)
        assert portfolio_figures(session, year) is first  # kept: the same revision
    with Session(fresh_engine) as session:
        assert portfolio_figures(session, year) is first  # and across sessions

    with Session(fresh_engine) as session, session.begin():  # a verifier rejects a claim
        claim = session.scalars(
            select(IndicatorClaim)
            .where(IndicatorClaim.aspect == "sid", IndicatorClaim.status == "accepted")
            .order_by(IndicatorClaim.id)
        ).first()
        assert claim is not None
        claim.status = VerificationStatus.REJECTED
    with Session(fresh_engine) as session:
        second = portfolio_figures(session, year)
    assert second is not first
    assert second.verified.as_dict() != first.verified.as_dict()

    with Session(fresh_engine) as session, session.begin():  # an innovation stops counting
        counted = session.get_one(Innovation, second.innovations[0].id)
        counted.outcome = Outcome.WITHDRAWN
    with Session(fresh_engine) as session:
        third = portfolio_figures(session, year)
    assert [f.id for f in third.innovations] == [f.id for f in second.innovations[1:]]

    with Session(fresh_engine) as session, session.begin():  # a claim is removed
        session.delete(session.scalars(select(IndicatorClaim).limit(1)).one())
    with Session(fresh_engine) as session:
        assert portfolio_figures(session, year) is not third

    # what is kept equals what is computed afresh
    with fresh_engine.connect() as connection, Session(bind=connection) as session:
        uncached = portfolio_figures(session, year)  # a connection-bound session keeps none
    with Session(fresh_engine) as session:
        assert portfolio_figures(session, year) == uncached


def test_kept_figures_expire(fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import domain.iid.portfolio as portfolio

    _counted_city(fresh_engine, 2026)
    with Session(fresh_engine) as session:
        first = portfolio_figures(session, 2026)
        monkeypatch.setattr(portfolio, "FIGURES_MAX_AGE", 0.0)
        again = portfolio_figures(session, 2026)
    assert again is not first
    assert again == first

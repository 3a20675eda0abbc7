"""Tasks of IID scoring: one piece of I/O each, reloading in their own session."""

from __future__ import annotations

from typing import Any

from prefect import task

from domain.iid.portfolio import portfolio_figures
from kinanti.db import get_engine, unit_of_work


@task(name="score-portfolio", retries=2, retry_delay_seconds=[1, 5])
def score_portfolio(year: int) -> dict[str, Any]:
    """The region's IID for ``year`` (claimed and verified) as a small summary."""
    with unit_of_work(get_engine()) as session:
        figures = portfolio_figures(session, year)
    return {
        "year": year,
        "claimed": figures.claimed.as_dict(),
        "verified": figures.verified.as_dict(),
    }

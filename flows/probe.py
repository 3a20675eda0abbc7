"""A trivial flow started by an event: checks that the runner picks up event-triggered work
(``kinanti.probe.requested``) and measures Prefect's own floor in ``bench/lifecycle.py``."""

from __future__ import annotations

from prefect import flow


@flow(name="kinanti-probe")
def probe(token: str = "") -> str:
    """Do nothing but finish; the run's existence is the answer."""
    return token

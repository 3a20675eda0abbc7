from __future__ import annotations

import pytest
from prefect import flow


@flow
def _add(a: int, b: int) -> int:
    return a + b


@pytest.mark.prefect
def test_a_real_flow_runs_against_the_test_api(prefect_api: str) -> None:
    assert prefect_api.startswith("http")
    assert _add(1, 2) == 3

"""The deployments are declared once (``flows.deployments``); ``prefect.yaml`` says the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flows.deployments import DEPLOYMENTS
from kinanti.settings import Settings

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


def _declared() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(PREFECT_YAML.read_text())
    return {d["name"]: d for d in document["deployments"]}


def test_prefect_yaml_declares_exactly_the_deployments_kinanti_serves() -> None:
    declared = _declared()
    assert sorted(declared) == sorted(d.name for d in DEPLOYMENTS)
    for spec in DEPLOYMENTS:
        entry = declared[spec.name]
        assert entry["entrypoint"] == spec.entrypoint, spec.name
        assert entry["description"] == spec.description, spec.name
        assert entry["work_pool"]["name"] == "kinanti", spec.name


def test_prefect_yaml_schedules_match_and_use_the_region_time_zone() -> None:
    zone = Settings().timezone
    for spec in DEPLOYMENTS:
        schedules = _declared()[spec.name].get("schedules") or []
        expected: list[dict[str, Any]] = []
        if spec.every_seconds is not None:
            expected.append({"interval": spec.every_seconds})
        if spec.cron is not None:
            expected.append({"cron": spec.cron, "timezone": zone})
        assert schedules == expected, spec.name


def test_prefect_yaml_triggers_match() -> None:
    for spec in DEPLOYMENTS:
        triggers = _declared()[spec.name].get("triggers") or []
        if spec.trigger is None:
            assert triggers == [], spec.name
            continue
        (trigger,) = triggers
        assert trigger["expect"] == list(spec.trigger.expect)
        assert trigger["match"] == spec.trigger.match
        assert trigger["parameters"] == spec.trigger.parameters


def test_every_entrypoint_names_a_flow() -> None:
    from prefect import Flow

    for spec in DEPLOYMENTS:
        assert isinstance(spec.load_flow(), Flow), spec.entrypoint


def test_each_stage_flow_has_its_own_subflow_key() -> None:
    """Prefect matches a resumed run's subflow calls to earlier runs by a key made of the
    function's name and code: each stage must have its own, or a resumed development call
    would be answered by the planning run."""
    from prefect.tasks import _generate_task_key

    from flows.lifecycle import STAGE_FLOWS

    keys = {_generate_task_key(f.fn) for f in STAGE_FLOWS.values()}
    assert len(keys) == len(STAGE_FLOWS)


def test_each_adoption_step_has_its_work_its_flow_and_its_own_subflow_key() -> None:
    from prefect.tasks import _generate_task_key

    from domain.adoptions import ADOPTION_STEP_WORK
    from domain.enums import ReplicationStage
    from flows.replication import STEP_FLOWS

    assert set(ADOPTION_STEP_WORK) == set(STEP_FLOWS) == set(ReplicationStage)
    keys = {_generate_task_key(f.fn) for f in STEP_FLOWS.values()}
    assert len(keys) == len(STEP_FLOWS)

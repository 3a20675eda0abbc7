"""The lifecycle engine end to end: real Prefect server (test harness), a real runner
process serving the deployments, a real Kinanti database on SQLite and on PostgreSQL.

All scenarios run at once under one runner (each is one innovation); the tests then read
what happened. Gates are decided through the same paths people use: ``kinanti decide``'s
function (checks, then resumes the suspended run) and the Prefect API's resume with a
run input, exactly as the UI's form sends it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from domain.enums import GateDecisionKind, Outcome, Stage
from domain.errors import NotAuthorizedError
from domain.models import (
    GateDecisionRecord,
    GateRequest,
    Innovation,
    OutboxMessage,
    StageHistory,
    StageWork,
)
from domain.progress import Step
from kinanti.db import get_engine, unit_of_work
from kinanti.demo import actors
from kinanti.orchestration.gates import decide
from kinanti.orchestration.handoff import LIFECYCLE_DEPLOYMENT, start_pending
from kinanti.orchestration.runtime import spawn_runner, stop_process_group, wait_for_deployments
from kinanti.settings import get_settings
from tests.conftest import BACKENDS
from tests.support.engine_support import (
    HEAD,
    OPERATOR,
    REVIEWER,
    REVIEWER_2,
    Scenario,
    cancel_open_runs,
    kinanti_env,
    load_city,
    new_database,
    play,
    submit,
    wait_until,
)

#: How long a decision may take to be recorded by the resumed run (a bound, not a sleep: a
#: loaded 2-core machine needs far more than the second or two a quiet one does)
DECISION_WAIT = 120.0

pytestmark = [pytest.mark.e2e, pytest.mark.prefect]

ALL_STAGES = [Stage.PLANNING, Stage.DEVELOPMENT, Stage.DEPLOYMENT, Stage.REPORTING]


@dataclass
class World:
    home: Path
    final: dict[str, Step]
    notes: dict[str, Any] = field(default_factory=dict)


def _approve(step: Step, *, rng: random.Random, reviewer: str | None = None) -> None:
    engine, settings = get_engine(), get_settings()
    cast = actors.Cast.load(engine)
    if step.stage in (Stage.DEPLOYMENT, Stage.REPORTING):
        actors.prepare_for_gate(engine, settings, cast, step.code, step.stage, rng)
    receipt = decide(
        engine,
        step.code,
        GateDecisionKind.APPROVE,
        decider=reviewer or (HEAD if step.stage is Stage.REPORTING else REVIEWER),
        reason="Memenuhi kriteria",
        scorecard=actors.scorecard(rng) if step.stage is Stage.DEVELOPMENT else None,
        wait_seconds=DECISION_WAIT,
    )
    assert receipt.recorded and receipt.refusal is None, receipt


def _decision_code(step: Step, person_email: str) -> str:
    """A one-time decision code for the Prefect UI form, as the portal issues it to a
    signed-in person."""
    from domain import gates, queries
    from domain.models import GateRequest

    with unit_of_work() as session:
        gate = session.get_one(GateRequest, step.gate_id)
        person = queries.get_person(session, person_email)
        return gates.issue_decision_proof(session, gate, person, channel="ui")


def _ui_input(step: Step, proof: str, decision: str = "approve", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "decision": decision,
        "reason": "Diputus lewat UI",
        "proof": proof,
        **extra,
    }
    if step.stage is Stage.DEVELOPMENT and decision == "approve":
        data.update(renewal=4, benefit=4, no_burden=5, authority=5, replicable=4)
    return data


# one world per backend, built once (under xdist: on one worker, see tests/conftest.py)
@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    home = tmp_path_factory.mktemp(f"engine-{request.param}")
    rng = random.Random(11)
    with new_database(request.param, home) as url, kinanti_env(home, url):
        load_city()
        codes = {
            "happy": submit("HAPPY-PATH", "DINKES"),
            "revise": submit("REVISE-FIRST", "DISDIK"),
            "reject": submit("REJECT-DEV", "DKP"),
            "ui": submit("VIA-UI", "DISKOMINFO"),
            "twice": submit("TWICE", "DPUPR"),
            "retrigger": submit("RETRIGGER", "RSUD"),
            "own": submit("OWN-UNIT", "BRIDA"),
        }
        notes: dict[str, Any] = {
            "twice_errors": [],
            "retrigger_runs": [],
            "own_refusals": [],
            "forged_refusals": [],
        }
        cancel_open_runs()
        runner = spawn_runner(get_settings(), prefect_api, only="lifecycle")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT], runner)
            start_pending(get_engine())

            def on_revise_gate(step: Step) -> None:
                if step.stage is Stage.PLANNING and step.round == 1:
                    decide(
                        get_engine(),
                        step.code,
                        GateDecisionKind.REVISE,
                        decider=REVIEWER,
                        reason="Lengkapi data dasar",
                        wait_seconds=DECISION_WAIT,
                    )
                else:
                    _approve(step, rng=rng)

            def on_revise_unit(step: Step) -> None:
                officer = "inovasi.disdik@mataramkota.go.id"
                actors.fix_and_resubmit(get_engine(), step.code, officer)
                start_pending(get_engine(), codes=[step.code])

            def on_reject_gate(step: Step) -> None:
                if step.stage is Stage.DEVELOPMENT:
                    decide(
                        get_engine(),
                        step.code,
                        GateDecisionKind.REJECT,
                        decider=REVIEWER_2,
                        reason="Tumpang tindih dengan inovasi lain",
                        wait_seconds=DECISION_WAIT,
                    )
                else:
                    _approve(step, rng=rng)

            def on_ui_gate(step: Step) -> None:
                engine, settings = get_engine(), get_settings()
                if step.stage is Stage.PLANNING and step.gate_attempts == 0:
                    # anyone who reaches the Prefect API types a Brida reviewer's address:
                    # Prefect's input schema has no such field and refuses it outright
                    forged = {"decision": "approve", "reviewer_email": REVIEWER}
                    try:
                        resume_flow_run(UUID(step.gate_flow_run_id), run_input=forged)
                    except RuntimeError as exc:
                        notes["forged_refusals"].append(str(exc))
                    # without a decision code it reaches Kinanti, which refuses and records it
                    resume_flow_run(UUID(step.gate_flow_run_id), run_input={"decision": "approve"})
                    return
                if step.stage is Stage.PLANNING and step.gate_attempts == 1:
                    # an officer of another unit, without a reviewer role, with their own code
                    officer_code = _decision_code(step, "inovasi.dkp@mataramkota.go.id")
                    bad = _ui_input(step, officer_code)
                    resume_flow_run(UUID(step.gate_flow_run_id), run_input=bad)
                    return
                if step.stage in (Stage.DEPLOYMENT, Stage.REPORTING):
                    actors.prepare_for_gate(
                        engine, settings, actors.Cast.load(engine), step.code, step.stage, rng
                    )
                who = HEAD if step.stage is Stage.REPORTING else REVIEWER_2
                data = _ui_input(step, _decision_code(step, who))
                resume_flow_run(UUID(step.gate_flow_run_id), run_input=data)

            def on_twice_gate(step: Step) -> None:
                if step.stage is Stage.PLANNING:
                    data = _ui_input(step, _decision_code(step, REVIEWER))
                    resume_flow_run(UUID(step.gate_flow_run_id), run_input=data)
                    try:
                        resume_flow_run(UUID(step.gate_flow_run_id), run_input=data)
                    except Exception as exc:  # the run is no longer paused
                        notes["twice_errors"].append(type(exc).__name__)
                else:
                    _approve(step, rng=rng)

            def on_retrigger_gate(step: Step) -> None:
                if step.stage is Stage.PLANNING and not notes["retrigger_runs"]:
                    run = run_deployment(
                        LIFECYCLE_DEPLOYMENT,
                        parameters={"innovation_code": step.code},
                        timeout=120,
                        as_subflow=False,
                    )
                    notes["retrigger_runs"].append(
                        (str(run.id), run.state.result() if run.state else None)
                    )
                _approve(step, rng=rng)

            def on_own_gate(step: Step) -> None:
                try:  # a Brida reviewer deciding Brida's own innovation
                    decide(
                        get_engine(),
                        step.code,
                        GateDecisionKind.APPROVE,
                        decider=REVIEWER,
                        reason="",
                        wait_seconds=0,
                    )
                except NotAuthorizedError as exc:
                    notes["own_refusals"].append(exc.code)
                from kinanti.cli.engine import _cancel_run  # what `kinanti withdraw` does

                with unit_of_work() as session:
                    from domain import innovations, queries

                    innovation = queries.get_innovation(session, step.code, for_update=True)
                    innovations.end_innovation(
                        session,
                        innovation,
                        Outcome.WITHDRAWN,
                        actor=OPERATOR,
                        reason="Butuh peninjau independen",
                    )
                _cancel_run(step.gate_flow_run_id)

            final = play(
                [
                    Scenario(codes["happy"], lambda s: _approve(s, rng=rng)),
                    Scenario(codes["revise"], on_revise_gate, on_revise_unit),
                    Scenario(codes["reject"], on_reject_gate),
                    Scenario(codes["ui"], on_ui_gate),
                    Scenario(codes["twice"], on_twice_gate),
                    Scenario(codes["retrigger"], on_retrigger_gate),
                    Scenario(codes["own"], on_own_gate),
                ],
                timeout=900,
            )
            from prefect import get_client
            from prefect.client.schemas.filters import (
                FlowRunFilter,
                FlowRunFilterState,
                FlowRunFilterStateType,
            )
            from prefect.client.schemas.objects import StateType

            def quiet() -> bool:
                busy = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]
                with get_client(sync_client=True) as client:
                    return (
                        client.count_flow_runs(
                            flow_run_filter=FlowRunFilter(
                                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=busy))
                            )
                        )
                        == 0
                    )

            wait_until(quiet, 90, "flow runs to finish")
            yield World(home, final, notes)
        finally:
            stop_process_group(runner)


def _history(code: str) -> list[tuple[str | None, str, str | None]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(StageHistory.from_stage, StageHistory.to_stage, StageHistory.outcome)
            .join(Innovation, Innovation.id == StageHistory.innovation_id)
            .where(Innovation.code == code)
            .order_by(StageHistory.id)
        ).all()
    return [(f.value if f else None, t.value, o.value if o else None) for f, t, o in rows]


FULL_PATH = [
    (None, "planning", None),
    ("planning", "development", None),
    ("development", "deployment", None),
    ("deployment", "reporting", None),
    ("reporting", "replication", None),
]


def test_happy_path_reaches_replication_with_one_history_row_per_move(world: World) -> None:
    assert world.final["HAPPY-PATH"].action == "finished"
    assert _history("HAPPY-PATH") == FULL_PATH
    with unit_of_work() as session:
        innovation = session.scalar(select(Innovation).where(Innovation.code == "HAPPY-PATH"))
        assert innovation is not None and innovation.replicable
        assert innovation.trial_start and innovation.implementation_start


def test_happy_path_emails_are_written_once_each_as_files(world: World) -> None:
    with unit_of_work() as session:
        keys = list(
            session.scalars(
                select(OutboxMessage.key)
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(Innovation.code == "HAPPY-PATH")
            )
        )
        statuses = set(
            session.scalars(
                select(OutboxMessage.status)
                .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
                .where(Innovation.code == "HAPPY-PATH")
            )
        )
    assert len(keys) == len(set(keys)) >= 12  # gate waiting, decided, stage entered x4+
    assert {s.value for s in statuses} == {"sent"}
    files = list((world.home / "outbox").glob("*HAPPY-PATH*.eml"))
    assert len(files) == len(keys)


def test_stage_flow_runs_carry_code_title_and_unit_and_stage_tags(world: World) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_="HAPPY-PATH")), limit=50
        )
    names = {r.name for r in runs}
    assert "HAPPY-PATH · Inovasi Happy-Path" in names
    stage_runs = [r for r in runs if r.name.endswith("· development")]
    assert stage_runs and {"unit:DINKES", "stage:development"} <= set(stage_runs[0].tags)


def test_every_change_is_announced_as_a_prefect_event_of_the_innovation(world: World) -> None:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        response = client.request(
            "POST",
            "/events/filter",
            json={
                "filter": {
                    "resource": {"id": ["kinanti.innovation.HAPPY-PATH"]},
                    "occurred": {"since": "2000-01-01T00:00:00Z"},
                },
                "limit": 50,
            },
        )
    events = response.json()["events"]
    names = {e["event"] for e in events}
    assert {
        "kinanti.innovation.submitted",
        "kinanti.innovation.stage-entered",
        "kinanti.innovation.gate-opened",
        "kinanti.innovation.gate-decided",
        "kinanti.innovation.open-for-replication",
    } <= names
    entered = [e for e in events if e["event"] == "kinanti.innovation.stage-entered"]
    assert {e["resource"]["kinanti.stage"] for e in entered} == {
        "development",
        "deployment",
        "reporting",
        "replication",
    }
    assert any(r["prefect.resource.id"] == "kinanti.unit.DINKES" for r in entered[0]["related"])


def test_revise_sends_back_to_the_unit_and_the_resubmission_reopens_the_gate(world: World) -> None:
    assert world.final["REVISE-FIRST"].action == "finished"
    assert _history("REVISE-FIRST") == FULL_PATH
    with unit_of_work() as session:
        gates = session.execute(
            select(GateRequest.round, GateRequest.status)
            .join(Innovation, Innovation.id == GateRequest.innovation_id)
            .where(Innovation.code == "REVISE-FIRST", GateRequest.stage == Stage.PLANNING)
            .order_by(GateRequest.round)
        ).all()
        work = session.scalar(
            select(func.count(StageWork.id))
            .join(Innovation, Innovation.id == StageWork.innovation_id)
            .where(Innovation.code == "REVISE-FIRST", StageWork.stage == Stage.PLANNING)
        )
    assert [(r, s.value) for r, s in gates] == [(1, "revise"), (2, "approved")]
    assert work == 2


def test_reject_ends_the_innovation_at_its_gate(world: World) -> None:
    step = world.final["REJECT-DEV"]
    assert step.action == "ended" and step.outcome is Outcome.REJECTED
    assert _history("REJECT-DEV")[-1] == ("development", "development", "rejected")


def test_a_resume_without_proof_of_identity_is_refused_and_the_innovation_does_not_move(
    world: World,
) -> None:
    """A forged resume (a typed reviewer's address, no decision code) is refused and
    recorded; so is a real code of someone without the role; a reviewer's code decides."""
    assert world.final["VIA-UI"].action == "finished"
    with unit_of_work() as session:
        rows = session.execute(
            select(
                GateDecisionRecord.accepted,
                GateDecisionRecord.channel,
                GateDecisionRecord.refusal_code,
            )
            .join(GateRequest, GateRequest.id == GateDecisionRecord.gate_id)
            .join(Innovation, Innovation.id == GateRequest.innovation_id)
            .where(Innovation.code == "VIA-UI", GateRequest.stage == Stage.PLANNING)
            .order_by(GateDecisionRecord.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (False, "prefect", "gate.identity_unproven"),
        (False, "ui", "gate.wrong_role"),
        (True, "ui", None),
    ]
    assert _history("VIA-UI") == FULL_PATH  # the refused resumes moved nothing
    assert len(world.notes["forged_refusals"]) == 1
    assert "reviewer_email" in world.notes["forged_refusals"][0]


def test_self_approval_is_refused_before_resuming(world: World) -> None:
    assert world.notes["own_refusals"]
    assert world.notes["own_refusals"] == ["gate.own_unit"]
    step = world.final["OWN-UNIT"]
    assert step.outcome is Outcome.WITHDRAWN
    with unit_of_work() as session:
        records = session.scalar(
            select(func.count(GateDecisionRecord.id))
            .join(GateRequest, GateRequest.id == GateDecisionRecord.gate_id)
            .join(Innovation, Innovation.id == GateRequest.innovation_id)
            .where(Innovation.code == "OWN-UNIT")
        )
    assert records == 0  # refused at the edge: nothing reached the flow


def test_a_decision_given_twice_moves_the_innovation_once(world: World) -> None:
    assert world.notes["twice_errors"], "the second resume must be refused"
    assert _history("TWICE") == FULL_PATH


def test_a_retriggered_lifecycle_run_does_not_double_a_transition_or_an_email(
    world: World,
) -> None:
    ((_run_id, result),) = world.notes["retrigger_runs"]
    assert result["status"] == "gate-waits-elsewhere"
    assert _history("RETRIGGER") == FULL_PATH
    with unit_of_work() as session:
        waiting = session.scalar(
            select(func.count(OutboxMessage.id))
            .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
            .where(Innovation.code == "RETRIGGER", OutboxMessage.template == "gate_waiting")
        )
        reviewers_per_gate = session.scalar(
            select(func.count(OutboxMessage.id))
            .join(Innovation, Innovation.id == OutboxMessage.innovation_id)
            .where(Innovation.code == "HAPPY-PATH", OutboxMessage.template == "gate_waiting")
        )
    assert waiting == reviewers_per_gate
    assert json.dumps(result)

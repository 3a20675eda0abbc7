"""Adoptions as Prefect flows, end to end: a real Prefect server (the test harness), a real
runner serving the ``lifecycle`` and ``adoption`` deployments, a real Kinanti database on
SQLite and on PostgreSQL.

One world per backend plays every scenario, then the tests read what happened:

- interest (model fasilitasi) -> persiapan books a Klinik Kinanti facilitation -> the gate
  (a resume without a decision code is refused first) -> approved -> the replica enters its
  own lifecycle at planning;
- that replica carried through its lifecycle to replication, offered, and replicated again
  (kerja sama, with its agreement): a replica of a replica;
- a rejected adoption;
- a second interest from the same unit while its first waits at the gate, refused;
- the derived Replikasi level: two adoptions by the same other region count once, the
  replica inside the city is counted apart, rejected evidence is not counted.

Gates are decided as people decide them: ``kinanti replication decide``'s function (rules
checked, a one-time proof issued, the suspended run resumed) and a raw Prefect resume.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from domain import replication as rep
from domain.enums import (
    AdoptionModel,
    AdoptionStatus,
    GateDecisionKind,
    ReplicationStage,
    Stage,
    StageStartStatus,
    VerificationStatus,
)
from domain.errors import ConflictError
from domain.evidence import EvidenceStore
from domain.models import (
    Adoption,
    AdoptionStart,
    Consultation,
    DomainEventRecord,
    Innovation,
    OutboxMessage,
    StageStart,
)
from domain.progress import Step
from kinanti.db import get_engine, unit_of_work
from kinanti.demo import actors
from kinanti.demo.run import record_at_stage
from kinanti.orchestration.gates import decide, decide_adoption
from kinanti.orchestration.handoff import ADOPTION_DEPLOYMENT, LIFECYCLE_DEPLOYMENT
from kinanti.orchestration.runs import paused_runs
from kinanti.orchestration.runtime import spawn_runner, stop_process_group, wait_for_deployments
from kinanti.publish import publish
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
    step_of,
    submit,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.prefect]

#: A bound on each wait (not a sleep): a loaded 2-core machine needs far more than a quiet one
WAIT = 180.0

ORIGIN = "SEHAT-BERSAMA"
ORIGIN_OWNER = "kepala.pkm.pagesangan@mataramkota.go.id"
AMPENAN = ("PKM-AMPENAN", "inovasi.pkm.ampenan@mataramkota.go.id")
SANDUBAYA = ("KEC-SANDUBAYA", "inovasi.kec.sandubaya@mataramkota.go.id")
DISKOMINFO = ("DISKOMINFO", "inovasi.diskominfo@mataramkota.go.id")
LOMBOK_BARAT = rep.Region("Kabupaten Lombok Barat", "52.01", "inovasi@lombokbaratkab.go.id")
LOMBOK_TENGAH = rep.Region("Kabupaten Lombok Tengah", "52.02", "inovasi@lomboktengahkab.go.id")
LETTER = rep.EvidenceIn(link="https://jdih.example.go.id/surat-permohonan-replikasi.pdf")
OFFER = rep.OfferIn.model_validate(
    {
        "prerequisites": {
            "staff": "Dua tenaga kesehatan terlatih dan satu operator data",
            "budget": "APBD unit pereplikasi untuk pelatihan dan kunjungan",
            "tools": "Aplikasi pencatatan dan tablet",
            "rules": "SK kepala unit tentang tim layanan",
        },
        "readiness_statement": "Puskesmas Pagesangan siap mendampingi replikasi.",
        "materials": {
            "guideline": "Pedoman replikasi",
            "sop": "SOP layanan",
            "training": "Pelatihan dua hari",
        },
    }
)


@dataclass
class World:
    adoptions: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def _store() -> EvidenceStore:
    settings = get_settings()
    return EvidenceStore(settings.resolved_evidence_dir, max_bytes=settings.evidence_max_bytes)


def _interest(code: str, model: AdoptionModel, *, unit: tuple[str, str] | None = None,
              region: rep.Region | None = None) -> int:  # fmt: skip
    with unit_of_work() as session:
        adoption, result = rep.register_interest(
            session, _store(), code, model=model, letter=LETTER,
            actor=unit[1] if unit else OPERATOR, adopter_unit=unit[0] if unit else None,
            region=region,
        )  # fmt: skip
        committed, adoption_id = result.committed(session), adoption.id
    publish(committed)
    return adoption_id


def _offer(code: str, actor: str) -> None:
    with unit_of_work() as session:
        _, result = rep.offer_replication(session, code, OFFER, actor=actor)
        committed = result.committed(session)
    publish(committed)


def _adoption(adoption_id: int) -> Adoption:
    with unit_of_work() as session:
        adoption = session.get_one(Adoption, adoption_id)
        session.expunge(adoption)
        return adoption


def _waits_at_gate(adoption_id: int, attempts: int = 0) -> bool:
    adoption = _adoption(adoption_id)
    run = adoption.gate_flow_run_id
    return bool(
        adoption.gate_opened_at
        and run
        and adoption.gate_attempts == attempts
        and run in paused_runs([run])
    )


def _adoption_runs_settled(adoption_id: int) -> bool:
    with unit_of_work() as session:
        open_rows = session.scalars(
            select(AdoptionStart.id).where(
                AdoptionStart.adoption_id == adoption_id,
                AdoptionStart.status != StageStartStatus.DONE,
            )
        ).all()
    return not open_rows


def _decide(adoption_id: int, decision: GateDecisionKind, reason: str = "Memenuhi kriteria",
            decider: str = REVIEWER) -> rep.Adoption:  # fmt: skip
    attempts = _adoption(adoption_id).gate_attempts
    wait_until(lambda: _waits_at_gate(adoption_id, attempts), WAIT,
               f"adoption #{adoption_id} at its gate")  # fmt: skip
    receipt = decide_adoption(
        get_engine(), adoption_id, decision, decider=decider, reason=reason, wait_seconds=WAIT
    )
    assert receipt.recorded and receipt.refusal is None, receipt
    if decision is GateDecisionKind.APPROVE:  # the same run goes on to its next step
        wait_until(lambda: len(_adoption(adoption_id).steps) == 2, WAIT,
                   f"adoption #{adoption_id}'s perencanaan step")  # fmt: skip
    return _adoption(adoption_id)


def _complete(adoption_id: int, *, accept: bool) -> None:
    """Brida records another region's implementation evidence, a verifier checks it."""
    with unit_of_work() as session:
        result = rep.complete_adoption(
            session, _store(), adoption_id, actor=OPERATOR,
            evidence=rep.EvidenceIn(link=f"https://jdih.example.go.id/pks-{adoption_id}.pdf"),
        )  # fmt: skip
        committed = result.committed(session)
    publish(committed)
    wait_until(lambda: ReplicationStage.EVALUASI.value in _adoption(adoption_id).steps, WAIT,
               f"adoption #{adoption_id}'s evaluasi step")  # fmt: skip
    with unit_of_work() as session:
        result = rep.verify_adoption_evidence(
            session, adoption_id, accept=accept, actor=HEAD,
            reason=None if accept else "Dokumen PKS tidak ditandatangani",
        )  # fmt: skip
        committed = result.committed(session)
    publish(committed)


def _approve_gate(step: Step, rng: random.Random) -> None:
    """The replica's own lifecycle gates, approved as a reviewer does (``kinanti decide``)."""
    engine, settings = get_engine(), get_settings()
    if step.stage in (Stage.DEPLOYMENT, Stage.REPORTING):
        actors.prepare_for_gate(engine, settings, actors.Cast.load(engine), step.code,
                                step.stage, rng)  # fmt: skip
    receipt = decide(
        engine, step.code, GateDecisionKind.APPROVE,
        decider=HEAD if step.stage is Stage.REPORTING else REVIEWER_2,
        reason="Memenuhi kriteria",
        scorecard=actors.scorecard(rng) if step.stage is Stage.DEVELOPMENT else None,
        wait_seconds=WAIT,
    )  # fmt: skip
    assert receipt.recorded and receipt.refusal is None, receipt


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from prefect.flow_runs import resume_flow_run

    home = tmp_path_factory.mktemp(f"replication-{request.param}")
    rng = random.Random(7)
    world = World()
    with new_database(request.param, home) as url, kinanti_env(home, url):
        load_city()
        submit(ORIGIN, "PKM-PAGESANGAN", title="Sehat Bersama", urusan_main="Kesehatan")
        record_at_stage(get_engine(), get_settings(), ORIGIN, Stage.REPLICATION, rng)
        _offer(ORIGIN, ORIGIN_OWNER)
        cancel_open_runs()
        runner = spawn_runner(get_settings(), prefect_api, only="lifecycle,adoption")
        try:
            wait_for_deployments([LIFECYCLE_DEPLOYMENT, ADOPTION_DEPLOYMENT], runner)
            ids = world.adoptions
            ids["facilitated"] = _interest(ORIGIN, AdoptionModel.FASILITASI, unit=AMPENAN)
            ids["rejected"] = _interest(ORIGIN, AdoptionModel.MANDIRI, unit=DISKOMINFO)
            ids["barat-1"] = _interest(ORIGIN, AdoptionModel.MANDIRI, region=LOMBOK_BARAT)
            ids["tengah"] = _interest(ORIGIN, AdoptionModel.MANDIRI, region=LOMBOK_TENGAH)

            facilitated = ids["facilitated"]
            wait_until(lambda: _waits_at_gate(facilitated), WAIT, "the facilitated gate")
            try:  # the same unit asks again while its first interest waits at the gate
                _interest(ORIGIN, AdoptionModel.MANDIRI, unit=AMPENAN)
            except ConflictError as exc:
                world.notes["second_interest"] = exc
            # anyone who reaches the Prefect API resumes the gate without a decision code
            resume_flow_run(UUID(_adoption(facilitated).gate_flow_run_id or ""),
                            run_input={"decision": "approve"})  # fmt: skip
            wait_until(lambda: _waits_at_gate(facilitated, 1), WAIT, "the refused resume")
            world.notes["facilitated"] = _decide(facilitated, GateDecisionKind.APPROVE)
            world.notes["rejected"] = _decide(
                ids["rejected"], GateDecisionKind.REJECT, "Prasyarat tenaga belum tersedia",
                decider=REVIEWER_2,
            )  # fmt: skip
            _decide(ids["barat-1"], GateDecisionKind.APPROVE)
            _decide(ids["tengah"], GateDecisionKind.APPROVE)
            _complete(ids["barat-1"], accept=True)
            _complete(ids["tengah"], accept=False)
            # a second agency of the same other region, once the first adoption is done
            ids["barat-2"] = _interest(ORIGIN, AdoptionModel.MANDIRI, region=LOMBOK_BARAT)
            _decide(ids["barat-2"], GateDecisionKind.APPROVE)
            _complete(ids["barat-2"], accept=True)

            # the replica runs its own lifecycle to replication; then it is replicated again
            replica = world.notes["facilitated"].replica_id
            with unit_of_work() as session:
                replica_code = session.get_one(Innovation, replica).code
            world.notes["replica_code"] = replica_code
            world.notes["final"] = play(
                [Scenario(replica_code, lambda s: _approve_gate(s, rng))], timeout=WAIT * 4
            )
            _offer(replica_code, AMPENAN[1])
            ids["second-level"] = _interest(replica_code, AdoptionModel.KERJA_SAMA, unit=SANDUBAYA)
            with unit_of_work() as session:
                rep.attach_agreement(
                    session, _store(), ids["second-level"], actor=SANDUBAYA[1],
                    agreement=rep.EvidenceIn(link="https://jdih.example.go.id/pks-sandubaya.pdf"),
                )  # fmt: skip
            world.notes["second-level"] = _decide(ids["second-level"], GateDecisionKind.APPROVE)
            grandchild = world.notes["second-level"].replica_id
            with unit_of_work() as session:
                world.notes["grandchild_code"] = session.get_one(Innovation, grandchild).code
            wait_until(lambda: step_of(world.notes["grandchild_code"]).action == "gate", WAIT,
                       "the grandchild's planning gate")  # fmt: skip
            for key in ("facilitated", "rejected", "second-level", "barat-2"):
                wait_until(lambda k=key: _adoption_runs_settled(ids[k]), WAIT, f"{key} settles")
            yield world
        finally:
            stop_process_group(runner)


def test_a_facilitated_interest_passes_the_gate_and_its_replica_enters_its_own_lifecycle(
    world: World,
) -> None:
    adoption = _adoption(world.adoptions["facilitated"])
    assert adoption.status is AdoptionStatus.APPROVED
    assert adoption.stage is ReplicationStage.PERENCANAAN_PENGEMBANGAN
    assert set(adoption.steps) == {"persiapan", "perencanaan_pengembangan"}
    assert adoption.decided_by == REVIEWER
    with unit_of_work() as session:
        consultation = session.scalars(
            select(Consultation).where(Consultation.adoption_id == adoption.id)
        ).one()
        origin = session.scalar(select(Innovation).where(Innovation.code == ORIGIN))
        replica = session.get_one(Innovation, adoption.replica_id)
        assert consultation.stage is Stage.REPLICATION and consultation.mentor_id is not None
        assert consultation.unit_id == replica.unit_id  # booked with the adopter
        assert origin is not None and replica.origin_id == origin.id
        assert replica.title == origin.title  # the origin's name is kept
        first_start = session.scalars(
            select(StageStart).where(StageStart.innovation_id == replica.id)
            .order_by(StageStart.id)
        ).first()  # fmt: skip
        assert first_start is not None and first_start.stage is Stage.PLANNING
        assert first_start.flow_run_id  # the durable hand-off was started as a run
        templates = {
            (m.recipient_email, m.context.get("step"))
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.template == "replication_step")
            )
            if m.context.get("adoption_id") == adoption.id
        }
    for side in (ORIGIN_OWNER, AMPENAN[1]):  # both sides told at each step
        assert {(side, s) for s in ("interest", "gate", "approved", "planning")} <= templates


def test_a_resume_without_a_decision_code_is_refused_and_the_gate_keeps_waiting(
    world: World,
) -> None:
    adoption = _adoption(world.adoptions["facilitated"])
    assert adoption.gate_attempts == 2  # the refused resume, then the decision
    with unit_of_work() as session:
        refusals = [
            e.payload
            for e in session.scalars(
                select(DomainEventRecord).where(
                    DomainEventRecord.name == "kinanti.replication.decision-refused"
                )
            )
            if e.payload["adoption_id"] == adoption.id
        ]
    assert [r["refusal_code"] for r in refusals] == ["gate.identity_unproven"]


def test_the_replica_of_a_replica_is_in_the_lineage_with_models_and_stages(world: World) -> None:
    replica_code, grandchild_code = world.notes["replica_code"], world.notes["grandchild_code"]
    assert world.notes["final"][replica_code].action == "finished"  # through its lifecycle
    with unit_of_work() as session:
        tree = rep.lineage(session, grandchild_code)
    assert tree.label.startswith(ORIGIN)
    (child,) = [c for c in tree.children if c.label.startswith(replica_code)]
    assert (child.model, child.stage) == ("fasilitasi", "replication")
    (grandchild,) = child.children
    assert grandchild.label.startswith(grandchild_code)
    assert (grandchild.model, grandchild.stage) == ("kerja_sama", "planning")
    assert _adoption(world.adoptions["second-level"]).agreement is not None


def test_a_rejected_adoption_ends_its_flow_and_creates_no_replica(world: World) -> None:
    adoption = _adoption(world.adoptions["rejected"])
    assert adoption.status is AdoptionStatus.REJECTED
    assert adoption.replica_id is None and adoption.reason == "Prasyarat tenaga belum tersedia"
    assert set(adoption.steps) == {"persiapan"}
    with unit_of_work() as session:
        replicas = session.scalars(
            select(Innovation.code).where(Innovation.origin_id.is_not(None))
        ).all()
    assert len(replicas) == 2  # the facilitated replica and the replica of the replica


def test_a_second_interest_while_one_is_open_is_refused_with_a_clear_message(
    world: World,
) -> None:
    error = world.notes["second_interest"]
    assert error.code == "replication.interest_open"
    assert error.params["adoption"] == world.adoptions["facilitated"]
    with unit_of_work() as session:
        from domain.models import Unit

        ampenan = session.scalar(select(Unit.id).where(Unit.code == AMPENAN[0]))
        mine = session.scalars(select(Adoption.id).where(Adoption.adopter_unit_id == ampenan))
        assert list(mine) == [world.adoptions["facilitated"]]


def test_the_derived_level_counts_other_regions_once_and_only_with_accepted_evidence(
    world: World,
) -> None:
    with unit_of_work() as session:
        origin = session.scalar(select(Innovation).where(Innovation.code == ORIGIN))
        assert origin is not None
        derived = rep.derived_replication(session, [origin.id])[origin.id]
    assert derived.other_regions == ("52.01",)  # two adoptions by Lombok Barat count once
    assert derived.level == 1
    assert derived.inside_city == 1  # the replica at Puskesmas Ampenan: shown apart
    tengah = _adoption(world.adoptions["tengah"])
    assert tengah.evidence_status is VerificationStatus.REJECTED  # Lombok Tengah not counted
    assert {_adoption(world.adoptions[k]).status for k in ("barat-1", "barat-2")} == {
        AdoptionStatus.COMPLETED
    }
    assert set(_adoption(world.adoptions["barat-2"]).steps) == {
        "persiapan", "perencanaan_pengembangan", "evaluasi"
    }  # fmt: skip

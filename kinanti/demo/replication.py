"""The demo's replication: one innovation that finished its lifecycle is offered, another
unit asks to replicate it (Klinik Kinanti facilitating), and the scripted reviewer decides
at the adoption's gate through the same path as ``kinanti replication decide``; the replica
then starts its own lifecycle at planning. Everything goes through the adoption flow."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from domain import replication as rep
from domain.enums import AdoptionModel, GateDecisionKind, StageStartStatus
from domain.evidence import EvidenceStore
from domain.models import Adoption, Innovation, StageStart, Unit
from kinanti.db import unit_of_work
from kinanti.demo.actors import Cast, unit_officer
from kinanti.orchestration.gates import decide_adoption
from kinanti.orchestration.runs import paused_runs
from kinanti.publish import publish
from kinanti.settings import Settings

DEMO_OFFER = rep.OfferIn.model_validate(
    {
        "prerequisites": {
            "staff": "Dua petugas pelaksana dan satu operator data (data contoh)",
            "budget": "Anggaran unit pereplikasi untuk pelatihan dan sarana",
            "tools": "Aplikasi dan perangkat yang dipakai unit asal",
            "rules": "SK kepala unit tentang tim pelaksana",
        },
        "readiness_statement": "Unit asal siap mendampingi replikasi (data contoh demo).",
        "materials": {
            "guideline": "Pedoman replikasi",
            "sop": "SOP layanan",
            "training": "Pelatihan dua hari",
        },
    }
)


@dataclass(frozen=True)
class DemoReplication:
    origin: str
    adopter: str
    adoption_id: int
    replica: str | None


def _wait(what: str, timeout: float, check: object) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TimeoutError(f"demo replication: {what} did not happen within {timeout:.0f} s")


def replicate_one(
    engine: Engine, settings: Settings, origin: str, *, seed: int, timeout: float
) -> DemoReplication:
    """Carry one replication of ``origin`` through its flow (runner serving ``adoption``
    and ``lifecycle`` must be up)."""
    rng = random.Random(f"{seed}:replication:{origin}")
    cast = Cast.load(engine)
    store = EvidenceStore(settings.resolved_evidence_dir, settings.evidence_max_bytes)
    with unit_of_work(engine) as session:
        _, offered = rep.offer_replication(
            session, origin, DEMO_OFFER, actor=unit_officer(engine, cast, origin)
        )
        innovation = session.scalar(select(Innovation).where(Innovation.code == origin))
        assert innovation is not None
        owner = session.get_one(Unit, innovation.unit_id)
        sides = {owner.id, owner.parent_id}
        candidates = [
            u
            for u in session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code))
            if u.id in cast.officers and u.id not in sides and u.parent_id not in {owner.id}
        ]
        adopter = rng.choice(candidates)
        adoption, interest = rep.register_interest(
            session, store, origin, model=AdoptionModel.FASILITASI,
            letter=rep.EvidenceIn(link="https://jdih.example.go.id/demo/surat-permohonan.pdf"),
            actor=cast.officers[adopter.id], adopter_unit=adopter.code,
        )  # fmt: skip
        adoption_id, adopter_code = adoption.id, adopter.code
        committed = offered.committed(session) | interest.committed(session)
    publish(committed, engine=engine)

    def at_gate() -> bool:
        with unit_of_work(engine) as session:
            run = session.get_one(Adoption, adoption_id).gate_flow_run_id
        return bool(run) and run in paused_runs([run or ""])

    _wait("the adoption's gate", timeout, at_gate)
    decide_adoption(
        engine, adoption_id, GateDecisionKind.APPROVE, decider=rng.choice(cast.reviewers),
        reason="Prasyarat terpenuhi; Klinik Kinanti mendampingi (peninjau otomatis)",
        wait_seconds=timeout,
    )  # fmt: skip
    with unit_of_work(engine) as session:
        replica_id = session.get_one(Adoption, adoption_id).replica_id
        replica = session.get(Innovation, replica_id) if replica_id else None
        replica_code = replica.code if replica else None

    def replica_waits_at_planning() -> bool:
        with unit_of_work(engine) as session:
            start = session.scalars(
                select(StageStart).where(StageStart.innovation_id == replica_id)
            ).first()
            gate_run = None
            if start is not None and start.status is not StageStartStatus.PENDING:
                from domain import queries

                replica_row = session.get_one(Innovation, replica_id)
                gate = queries.current_gate(session, replica_row)
                gate_run = gate.flow_run_id if gate else None
        return bool(gate_run) and gate_run in paused_runs([gate_run or ""])

    if replica_id is not None:
        _wait("the replica's planning gate", timeout, replica_waits_at_planning)
    return DemoReplication(origin, adopter_code, adoption_id, replica_code)

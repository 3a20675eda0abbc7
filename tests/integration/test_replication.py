"""Replication on a real database (SQLite and PostgreSQL): offers, adoptions, replicas,
lineage and the derived Replikasi level."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import replication as rep
from domain.enums import (
    AdoptionModel,
    AdoptionStatus,
    Language,
    ReplicationStage,
    Role,
    Stage,
    StageStartStatus,
    VerificationStatus,
)
from domain.errors import ConflictError, NotAuthorizedError, ValidationError
from domain.evidence import EvidenceStore
from domain.models import (
    Adoption,
    DomainEventRecord,
    Innovation,
    OutboxMessage,
    StageHistory,
    StageStart,
    Unit,
)
from tests.support.factories import Factory

PDF = b"%PDF-1.4 surat permohonan replikasi\n"
OFFER = rep.OfferIn.model_validate(
    {
        "prerequisites": {
            "staff": "Dua petugas terlatih",
            "budget": "APBD unit pereplikasi",
            "tools": "Aplikasi dan tablet",
            "rules": "SK kepala unit",
        },
        "readiness_statement": "Unit pemilik siap mendampingi replikasi.",
        "materials": {"guideline": "Pedoman replikasi", "sop": "SOP layanan", "training": "2 hari"},
    }
)


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", max_bytes=100_000)


@pytest.fixture
def letter(tmp_path: Path) -> rep.EvidenceIn:
    path = tmp_path / "surat.pdf"
    path.write_bytes(PDF)
    return rep.EvidenceIn(file=path)


class City:
    def __init__(self, make: Factory) -> None:
        self.owner = make.unit("DINKES", name="Dinas Kesehatan")
        self.adopter = make.unit("PKM-AMPENAN", name="Puskesmas Ampenan")
        self.third = make.unit("PKM-MATARAM", name="Puskesmas Mataram")
        self.brida = make.unit("BRIDA", name="Brida")
        self.reviewer = make.person("reviewer@brida.go.id", roles=[Role.REVIEWER], unit=self.brida)
        self.head = make.person("kepala@brida.go.id", roles=[Role.HEAD_OF_BRIDA], unit=self.brida)
        self.operator = make.person(
            "operator@brida.go.id", roles=[Role.BRIDA_OPERATOR], unit=self.brida
        )
        self.owner_officer = make.person(
            "inovasi@dinkes.go.id", roles=[Role.UNIT_OFFICER], unit=self.owner
        )
        self.adopter_officer = make.person(
            "inovasi@pkm-ampenan.go.id", roles=[Role.UNIT_OFFICER], unit=self.adopter
        )
        self.third_officer = make.person(
            "inovasi@pkm-mataram.go.id", roles=[Role.UNIT_OFFICER], unit=self.third
        )


@pytest.fixture
def city(make: Factory) -> City:
    return City(make)


def _reported(make: Factory, unit: Unit) -> Innovation:
    innovation = make.innovation(unit)
    innovation.stage = Stage.REPLICATION  # as the lifecycle leaves it after reporting
    innovation.replicable = True
    make.session.flush()
    return innovation


def _offered(session: Session, make: Factory, city: City) -> Innovation:
    origin = _reported(make, city.owner)
    rep.offer_replication(session, origin.code, OFFER, actor=city.owner_officer.email)
    return origin


def _region_interest(
    session: Session, store: EvidenceStore, origin: Innovation, code: str, name: str
) -> Adoption:
    adoption, _ = rep.register_interest(
        session,
        store,
        origin.code,
        model=AdoptionModel.MANDIRI,
        letter=rep.EvidenceIn(link="https://jdih.example.go.id/surat.pdf"),
        actor="operator@brida.go.id",
        region=rep.Region(name, code, f"inovasi@{code.replace('.', '')}.go.id"),
    )
    return adoption


def _complete(
    session: Session, store: EvidenceStore, adoption: Adoption, *, accept: bool = True
) -> None:
    rep.decide_adoption(session, adoption.id, "approve", actor="reviewer@brida.go.id")
    rep.complete_adoption(
        session,
        store,
        adoption.id,
        evidence=rep.EvidenceIn(link="https://jdih.example.go.id/pks.pdf"),
        actor="operator@brida.go.id",
    )
    rep.verify_adoption_evidence(
        session,
        adoption.id,
        accept=accept,
        actor="kepala@brida.go.id",
        reason=None if accept else "dokumen tidak ditandatangani",
    )


def test_an_offer_before_reporting_is_refused_with_a_clear_message(
    session: Session, make: Factory, city: City
) -> None:
    innovation = make.innovation(city.owner)
    with pytest.raises(ConflictError) as caught:
        rep.offer_replication(session, innovation.code, OFFER, actor=city.owner_officer.email)
    assert caught.value.code == "replication.not_reported"
    assert "belum lulus tahap pelaporan" in caught.value.message(Language.ID)
    assert "has not passed reporting" in caught.value.message(Language.EN)
    assert session.scalar(select(rep.ReplicationOffer.id)) is None


def test_interest_then_approval_creates_a_replica_in_its_own_lifecycle(
    session: Session, make: Factory, city: City, store: EvidenceStore, letter: rep.EvidenceIn
) -> None:
    origin = _offered(session, make, city)
    adoption, result = rep.register_interest(
        session,
        store,
        origin.code,
        model=AdoptionModel.FASILITASI,
        letter=letter,
        actor=city.adopter_officer.email,
        adopter_unit=city.adopter.code,
        adaptations={"goals": "Mempercepat layanan di wilayah Ampenan."},
    )
    assert adoption.stage is ReplicationStage.PERSIAPAN
    assert adoption.status is AdoptionStatus.INTERESTED
    assert adoption.letter["sha256"] and Path(adoption.letter["file_path"]).exists()
    assert result.outbox_ids  # both sides and Brida are told

    with pytest.raises(NotAuthorizedError) as caught:
        rep.decide_adoption(session, adoption.id, "approve", actor=city.operator.email)
    assert caught.value.code == "replication.wrong_role"

    result = rep.decide_adoption(session, adoption.id, "approve", actor=city.head.email)
    replica = session.get_one(Innovation, adoption.replica_id)
    assert adoption.status is AdoptionStatus.APPROVED
    assert adoption.stage is ReplicationStage.PERENCANAAN_PENGEMBANGAN
    assert replica.origin_id == origin.id
    assert replica.unit_id == city.adopter.id
    assert replica.title == origin.title  # the origin's name is kept
    assert replica.stage is Stage.PLANNING
    assert replica.goals == "Mempercepat layanan di wilayah Ampenan."
    assert replica.design == origin.design
    assert adoption.adaptations == {"goals": "Mempercepat layanan di wilayah Ampenan."}
    handoffs = list(
        session.scalars(select(StageStart).where(StageStart.innovation_id == replica.id))
    )
    assert [(h.stage, h.status) for h in handoffs] == [(Stage.PLANNING, StageStartStatus.PENDING)]
    assert [h.id for h in result.handoffs] == [handoffs[0].id]
    history = session.scalars(select(StageHistory).where(StageHistory.innovation_id == replica.id))
    assert [(h.from_stage, h.to_stage) for h in history] == [(None, Stage.PLANNING)]
    names = {e.name for e in result.events}
    assert {"kinanti.innovation.submitted", "kinanti.replication.approved"} <= names
    recipients = set(
        session.scalars(select(OutboxMessage.recipient_email).where(
            OutboxMessage.id.in_(result.outbox_ids)))
    )  # fmt: skip
    assert {"inovasi@dinkes.go.id", "inovasi@pkm-ampenan.go.id"} <= recipients


def test_a_replica_of_a_replica_is_in_the_lineage(
    session: Session, make: Factory, city: City, store: EvidenceStore, letter: rep.EvidenceIn
) -> None:
    origin = _offered(session, make, city)
    first, _ = rep.register_interest(
        session, store, origin.code, model="mandiri", letter=letter,
        actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
    )  # fmt: skip
    rep.decide_adoption(session, first.id, "approve", actor=city.reviewer.email)
    replica = session.get_one(Innovation, first.replica_id)
    replica.stage = Stage.REPLICATION  # as its own lifecycle leaves it after reporting
    session.flush()
    rep.offer_replication(session, replica.code, OFFER, actor=city.adopter_officer.email)
    second, _ = rep.register_interest(
        session, store, replica.code, model="kerja_sama", letter=letter,
        actor=city.third_officer.email, adopter_unit=city.third.code,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        rep.decide_adoption(session, second.id, "approve", actor=city.reviewer.email)
    assert caught.value.code == "replication.agreement_required"
    rep.decide_adoption(
        session, second.id, "approve", actor=city.reviewer.email, store=store,
        agreement=rep.EvidenceIn(link="https://jdih.example.go.id/pks-ampenan-mataram.pdf"),
    )  # fmt: skip
    grandchild = session.get_one(Innovation, second.replica_id)
    assert grandchild.origin_id == replica.id and grandchild.title == origin.title

    tree = rep.lineage(session, grandchild.code)  # from any node: the whole tree
    assert tree.label.startswith(origin.code)
    assert [c.label.split()[0] for c in tree.children] == [replica.code]
    assert tree.children[0].model == "mandiri"
    assert [c.label.split()[0] for c in tree.children[0].children] == [grandchild.code]
    assert tree.children[0].children[0].model == "kerja_sama"
    assert tree.children[0].children[0].stage == "planning"


def test_a_rejected_adoption_creates_nothing(
    session: Session, make: Factory, city: City, store: EvidenceStore, letter: rep.EvidenceIn
) -> None:
    origin = _offered(session, make, city)
    adoption, _ = rep.register_interest(
        session, store, origin.code, model="mandiri", letter=letter,
        actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        rep.decide_adoption(session, adoption.id, "reject", actor=city.reviewer.email)
    assert caught.value.code == "gate.reason_required"
    result = rep.decide_adoption(
        session, adoption.id, "reject", actor=city.reviewer.email, reason="prasyarat belum ada"
    )
    assert adoption.status is AdoptionStatus.REJECTED and adoption.replica_id is None
    assert session.scalar(select(Innovation.id).where(Innovation.origin_id == origin.id)) is None
    assert [e.name for e in result.events] == ["kinanti.replication.rejected"]
    with pytest.raises(ConflictError) as again:
        rep.decide_adoption(session, adoption.id, "approve", actor=city.reviewer.email)
    assert again.value.code == "replication.decided_already"
    # after a rejection the same unit may ask again
    rep.register_interest(
        session, store, origin.code, model="mandiri", letter=letter,
        actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
    )  # fmt: skip


def test_a_second_open_interest_is_refused_with_a_clear_message(
    session: Session, make: Factory, city: City, store: EvidenceStore, letter: rep.EvidenceIn
) -> None:
    origin = _offered(session, make, city)
    rep.register_interest(
        session, store, origin.code, model="mandiri", letter=letter,
        actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
    )  # fmt: skip
    with pytest.raises(ConflictError) as caught:
        rep.register_interest(
            session, store, origin.code, model="fasilitasi", letter=letter,
            actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
        )  # fmt: skip
    assert caught.value.code == "replication.interest_open"
    assert "sudah memiliki minat replikasi" in caught.value.message(Language.ID)
    assert session.query(Adoption).count() == 1
    first = _region_interest(session, store, origin, "52.01", "Kabupaten Lombok Barat")
    with pytest.raises(ConflictError):
        _region_interest(session, store, origin, "52.01", "Kabupaten Lombok Barat")
    assert first.id


def test_the_derived_level_counts_distinct_other_regions_with_accepted_evidence(
    session: Session, make: Factory, city: City, store: EvidenceStore, letter: rep.EvidenceIn
) -> None:
    origin = _offered(session, make, city)
    inside, _ = rep.register_interest(
        session, store, origin.code, model="mandiri", letter=letter,
        actor=city.adopter_officer.email, adopter_unit=city.adopter.code,
    )  # fmt: skip
    _complete(session, store, inside)  # inside the city: counted apart
    a = _region_interest(session, store, origin, "52.01", "Kabupaten Lombok Barat")
    _complete(session, store, a)
    # a second adoption in the same region (another of its agencies), after the first ended
    b = _region_interest(session, store, origin, "52.01", "Kabupaten Lombok Barat")
    _complete(session, store, b)
    rejected = _region_interest(session, store, origin, "52.02", "Kabupaten Lombok Tengah")
    _complete(session, store, rejected, accept=False)
    pending = _region_interest(session, store, origin, "52.03", "Kabupaten Lombok Timur")
    rep.decide_adoption(session, pending.id, "approve", actor="reviewer@brida.go.id")

    derived = rep.derived_replication(session)[origin.id]
    assert derived.other_regions == ("52.01",)
    assert derived.level == 1
    assert derived.inside_city == 1
    assert rejected.evidence_status is VerificationStatus.REJECTED
    assert "1 other region(s) (52.01)" in derived.note()

    tengah = session.get_one(Adoption, rejected.id)
    tengah.evidence_status = VerificationStatus.ACCEPTED
    session.flush()
    assert rep.derived_replication(session)[origin.id].level == 2
    events = session.scalars(
        select(DomainEventRecord.name).where(DomainEventRecord.innovation_id == origin.id)
    )
    assert "kinanti.replication.verified" in set(events)


def test_the_derived_level_replaces_a_typed_claim_in_scoring(
    session: Session, make: Factory, city: City, store: EvidenceStore
) -> None:
    from domain.evidence import claim_indicator
    from domain.iid.portfolio import claim_levels, portfolio_figures
    from domain.iid.scoring import Basis

    origin = _offered(session, make, city)
    claim_indicator(
        session, store, code=origin.code, indicator=rep.REPLICATION_INDICATOR, level=3,
        actor=city.owner_officer.email, link="https://jdih.example.go.id/klaim.pdf",
    )  # fmt: skip
    before = {f.code: f for f in portfolio_figures(session, origin.year).innovations}
    assert before[origin.code].replication_source == "derived"
    assert before[origin.code].sid_claimed == 0  # no other region yet: level 0, not 3
    _complete(session, store, _region_interest(session, store, origin, "52.01", "Lombok Barat"))
    figure = {f.code: f for f in portfolio_figures(session, origin.year).innovations}[origin.code]
    assert figure.sid_claimed == 3 and figure.sid_verified == 3  # weight 3 x level 1
    assert figure.replication_note is not None
    assert "replaces the typed-in claim (level 3)" in figure.replication_note
    levels = claim_levels(session, origin.year, Basis.CLAIMED)
    assert levels[origin.id][rep.REPLICATION_INDICATOR] == 1

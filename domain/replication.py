"""Replication (replikasi): offers, adoptions, replicas, lineage and the derived level.

- An innovation that passed reporting (stage replication, or marked ``replicable``) can be
  offered, stating its prerequisites, the owner unit's readiness and the materials.
- An adopter (a unit of the city, or another region by name, Kemendagri code and contact)
  registers interest with a request letter as evidence, in one of three models (mandiri,
  kerja sama, fasilitasi). Brida (reviewer / head of Brida) approves or rejects.
- Approved inside the city, a **replica** is created: a new innovation owned by the
  adopter, linked to its origin, its profile copied from the origin (adapted fields
  recorded), keeping the origin's name, entering its own lifecycle at planning through the
  same change record as a submission. For another region the adoption is recorded with its
  agreement and implementation evidence; no innovation is created.
- Incoming replication (this city adopting another region's innovation) is recorded with
  the origin's region and name.
- The Replikasi level of an origin (IID indicator 16) is derived: distinct other regions
  among completed adoptions with accepted evidence (1 / 2 / 3 or more); replicas inside the
  city are counted apart.

Every step writes domain events and emails to both sides; functions never commit.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.access import ADOPTION_DECIDERS
from domain.changes import (
    ChangeResult,
    emails,
    finish_adoption_starts,
    request_adoption_start,
)
from domain.enums import (
    AdoptionModel,
    AdoptionStatus,
    GateDecisionKind,
    Language,
    ReplicationStage,
    Role,
    Stage,
    VerificationStatus,
)
from domain.errors import (
    ConflictError,
    NotAuthorizedError,
    NotFoundError,
    ValidationError,
)
from domain.evidence import VERIFIER_ROLES, EvidenceStore, check_link
from domain.models import (
    Adoption,
    Innovation,
    Person,
    ReplicationOffer,
    Unit,
    utcnow,
)
from domain.outbox import Recipient, people_with_roles, unit_recipients
from domain.queries import get_innovation, get_person, get_row, get_unit, person_roles
from domain.schemas import InnovationIn
from domain.submission import _PROFILE_FIELDS, submit_innovation

#: The IID indicator the derived level replaces (weight 3).
REPLICATION_INDICATOR = "sid16_replikasi"
#: Who decides an adoption (the gate where Brida decides).
DECIDER_ROLES = ADOPTION_DECIDERS
BRIDA_ROLES = frozenset({Role.BRIDA_OPERATOR, Role.REVIEWER, Role.HEAD_OF_BRIDA})
OPEN_STATUSES = (AdoptionStatus.INTERESTED, AdoptionStatus.APPROVED)
#: Profile fields an adopter may adapt (the name and identity are kept).
ADAPTABLE_FIELDS = frozenset(_PROFILE_FIELDS) - {"title", "year", "initiator", "jenis", "bentuk"}
TEMPLATE = "replication_step"

_REGION_CODE = re.compile(r"^\d{2}(\.\d{2})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Prerequisites(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    staff: str = Field(min_length=3, description="People and skills the adopter needs")
    budget: str = Field(min_length=3, description="The budget the adopter provides")
    tools: str = Field(min_length=3, description="Equipment and applications")
    rules: str = Field(min_length=3, description="Regulations the adopter must issue")


class Materials(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    guideline: str = Field(min_length=3, description="Replication guideline (pedoman)")
    sop: str = Field(min_length=3, description="Standard operating procedure")
    training: str = Field(min_length=3, description="Training the adopter gets")


class OfferIn(BaseModel):
    """An offer file (``kinanti replication offer CODE --file offer.yaml``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    prerequisites: Prerequisites
    readiness_statement: str = Field(min_length=10, description="The owner unit's statement")
    materials: Materials


@dataclass(frozen=True)
class Region:
    """Another region: name, Kemendagri code (``52.01``) and a contact email."""

    name: str
    code: str
    contact: str

    def checked(self) -> Region:
        name, code, contact = self.name.strip(), self.code.strip(), self.contact.strip()
        if not name:
            raise ValidationError(code="replication.region_invalid", field="name", value=name)
        if not _REGION_CODE.match(code):
            raise ValidationError(code="replication.region_invalid", field="code", value=code)
        if not _EMAIL.match(contact):
            raise ValidationError(code="replication.region_invalid", field="contact", value=contact)
        return Region(name, code, contact.lower())


@dataclass(frozen=True)
class EvidenceIn:
    """One piece of evidence: a file (checked and stored by ``domain.evidence``) or a link."""

    file: Path | None = None
    link: str | None = None

    def store(self, store: EvidenceStore, *, year: int, owner: str, what: str) -> dict[str, Any]:
        if (self.file is None) == (self.link is None):
            raise ValidationError(code="replication.evidence_one", what=what)
        if self.link is not None:
            return {"link": check_link(self.link)}
        assert self.file is not None
        stored = store.store(self.file, year=year, owner=owner)
        return {
            "file_path": str(stored.path),
            "file_name": stored.name,
            "sha256": stored.sha256,
            "size": stored.size,
        }


# --- reading ----------------------------------------------------------------------------


def get_adoption(session: Session, adoption_id: int, *, for_update: bool = False) -> Adoption:
    return get_row(
        session, Adoption, adoption_id, "replication.adoption_unknown",
        for_update=for_update, adoption=adoption_id,
    )  # fmt: skip


def offer_of(session: Session, innovation: Innovation) -> ReplicationOffer | None:
    return session.scalar(
        select(ReplicationOffer).where(ReplicationOffer.innovation_id == innovation.id)
    )


def passed_reporting(innovation: Innovation) -> bool:
    return innovation.outcome is None and (
        innovation.stage is Stage.REPLICATION or innovation.replicable
    )


def _person_with(session: Session, actor: str, roles: frozenset[Role]) -> Person:
    person = get_person(session, actor)
    if not person.active or not person_roles(session, person) & roles:
        raise NotAuthorizedError(
            code="replication.wrong_role",
            email=person.email,
            roles=", ".join(sorted(r.value for r in roles)),
        )
    return person


def _unit_ids(unit: Unit) -> set[int]:
    return {unit.id} | ({unit.parent_id} if unit.parent_id else set())


def _speaks_for(session: Session, person: Person, unit: Unit) -> bool:
    return person.unit_id in _unit_ids(unit) or bool(person_roles(session, person) & BRIDA_ROLES)


# --- notifications ----------------------------------------------------------------------


def _adopter_label(session: Session, adoption: Adoption) -> str:
    if adoption.adopter_unit_id is not None:
        return get_unit(session, adoption.adopter_unit_id).name
    return f"{adoption.region_name} ({adoption.region_code})"


def _notify(
    session: Session,
    result: ChangeResult,
    adoption: Adoption,
    origin: Innovation | None,
    step: str,
) -> None:
    """Events and emails to both sides (the origin's unit and the adopter) and Brida."""
    recipients: list[Recipient] = list(people_with_roles(session, BRIDA_ROLES))
    if origin is not None:
        recipients += unit_recipients(session, get_unit(session, origin.unit_id))
    if adoption.adopter_unit_id is not None:
        recipients += unit_recipients(session, get_unit(session, adoption.adopter_unit_id))
    elif adoption.region_contact:
        recipients.append(Recipient(adoption.region_contact, adoption.region_name, Language.ID))
    replica = session.get(Innovation, adoption.replica_id) if adoption.replica_id else None
    payload = {
        "adoption_id": adoption.id,
        "step": step,
        "model": adoption.model.value,
        "stage": adoption.stage.value,
        "status": adoption.status.value,
        "replica": replica.code if replica else None,
    }
    result.event(session, f"kinanti.replication.{step}", origin, payload)
    context = {
        **payload,
        "origin_code": origin.code if origin else None,
        "origin_title": origin.title if origin else adoption.origin_name,
        "adopter_name": _adopter_label(session, adoption),
        "reason": adoption.reason if step in ("approved", "rejected") else None,
    }
    seen: set[str] = set()
    for language in Language:
        batch = [r for r in recipients if r.language is language and r.email not in seen]
        seen.update(r.email for r in batch)
        emails(
            session,
            result,
            event_key=f"replication-{step}:{adoption.id}",
            template=TEMPLATE,
            recipients=batch,
            context=context,
            innovation=origin,
        )


def _origin_of(session: Session, adoption: Adoption) -> Innovation | None:
    if adoption.offer_id is None:
        return None
    offer = session.get_one(ReplicationOffer, adoption.offer_id)
    return session.get_one(Innovation, offer.innovation_id)


# --- offering ---------------------------------------------------------------------------


def record_passed_reporting(session: Session, code: str, *, basis: str) -> ChangeResult:
    """The importer (a trusted channel: a file an operator loads on the server) records
    that an innovation passed reporting before Kinanti ran its lifecycle, e.g. in an earlier
    year's IID report named in ``basis``: it becomes ``replicable``; its stage is kept.

    Only ``kinanti.importers.replications`` calls it (a test holds it there): everywhere
    else, passing reporting is the lifecycle's own state (the replication stage, whose work
    marks the innovation replicable), so no person can mark it by hand.
    """
    basis = basis.strip()
    if not basis:
        raise ValidationError(code="replication.basis_required")
    innovation = get_innovation(session, code)
    result = ChangeResult()
    if innovation.replicable:
        return result
    innovation.replicable = True
    result.event(
        session,
        "kinanti.innovation.replicable-recorded",
        innovation,
        {"channel": "import", "basis": basis},
    )
    return result


def offer_replication(
    session: Session, code: str, data: OfferIn, *, actor: str
) -> tuple[ReplicationOffer, ChangeResult]:
    """Offer an innovation for replication (or update its offer)."""
    innovation = get_innovation(session, code)
    if not passed_reporting(innovation):
        raise ConflictError(
            code="replication.not_reported",
            innovation=innovation.code,
            stage=innovation.stage.value,
        )
    person = get_person(session, actor)
    unit = get_unit(session, innovation.unit_id)
    if not _speaks_for(session, person, unit):
        raise NotAuthorizedError(code="replication.not_owner", email=person.email, unit=unit.code)
    result = ChangeResult()
    values = {
        "prerequisites": data.prerequisites.model_dump(),
        "readiness_statement": data.readiness_statement,
        "materials": data.materials.model_dump(),
    }
    offer = offer_of(session, innovation)
    if offer is None:
        offer = ReplicationOffer(innovation_id=innovation.id, offered_by=person.email, **values)
        session.add(offer)
    elif all(getattr(offer, k) == v for k, v in values.items()) and offer.active:
        return offer, result
    else:
        for name, value in values.items():
            setattr(offer, name, value)
        offer.active = True
    session.flush()
    result.event(
        session,
        "kinanti.replication.offered",
        innovation,
        {"offer_id": offer.id, "actor": person.email},
    )
    return offer, result


# --- adoption ---------------------------------------------------------------------------


def _check_adaptations(adaptations: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(adaptations) - ADAPTABLE_FIELDS)
    if "title" in unknown:
        raise ValidationError(code="replication.name_kept")
    if unknown:
        raise ValidationError(
            code="replication.not_adaptable",
            fields=unknown,
            allowed=", ".join(sorted(ADAPTABLE_FIELDS)),
        )
    return dict(adaptations)


def _open_interest(
    session: Session, offer: ReplicationOffer, unit: Unit | None, region: Region | None
) -> Adoption | None:
    stmt = select(Adoption).where(Adoption.offer_id == offer.id, Adoption.status.in_(OPEN_STATUSES))
    if unit is not None:
        stmt = stmt.where(Adoption.adopter_unit_id == unit.id)
    else:
        assert region is not None
        stmt = stmt.where(Adoption.region_code == region.code)
    return session.scalars(stmt).first()


def _added(
    session: Session, adoption: Adoption, origin: Innovation | None, step: str
) -> tuple[Adoption, ChangeResult]:
    session.add(adoption)
    session.flush()
    result = ChangeResult()
    _notify(session, result, adoption, origin, step)
    return adoption, result


def register_interest(
    session: Session,
    store: EvidenceStore,
    code: str,
    *,
    model: AdoptionModel | str,
    letter: EvidenceIn,
    actor: str,
    adopter_unit: str | None = None,
    region: Region | None = None,
    adaptations: dict[str, Any] | None = None,
) -> tuple[Adoption, ChangeResult]:
    """An adopter asks to replicate ``code`` with a request letter (surat permohonan
    replikasi / kaji tiru). A second open interest of the same adopter is refused."""
    model = AdoptionModel(model)
    if (adopter_unit is None) == (region is None):
        raise ValidationError(code="replication.adopter_one")
    innovation = get_innovation(session, code)
    offer = offer_of(session, innovation)
    if offer is None or not offer.active:
        raise ConflictError(code="replication.no_offer", innovation=innovation.code)
    person = get_person(session, actor)
    unit: Unit | None = None
    if adopter_unit is not None:
        unit = session.scalar(select(Unit).where(Unit.code == adopter_unit.strip().upper()))
        if unit is None or not unit.active:
            raise NotFoundError(code="replication.unit_unknown", unit=adopter_unit)
        if unit.id in _unit_ids(get_unit(session, innovation.unit_id)):
            raise ValidationError(code="replication.own_innovation", unit=unit.code)
        if not _speaks_for(session, person, unit):
            raise NotAuthorizedError(
                code="replication.not_owner", email=person.email, unit=unit.code
            )
    else:
        assert region is not None
        region = region.checked()
        _person_with(session, actor, BRIDA_ROLES)
    changes = _check_adaptations(adaptations or {}) if unit is not None else {}
    existing = _open_interest(session, offer, unit, region)
    if existing is not None:
        raise ConflictError(
            code="replication.interest_open",
            adopter=unit.code if unit else f"{region.name} ({region.code})" if region else "-",
            innovation=innovation.code,
            adoption=existing.id,
            status=existing.status.value,
        )
    stored = letter.store(store, year=innovation.year, owner=innovation.code, what="letter")
    adoption = Adoption(
        offer_id=offer.id,
        model=model,
        stage=ReplicationStage.PERSIAPAN,
        status=AdoptionStatus.INTERESTED,
        adopter_unit_id=unit.id if unit else None,
        region_name=region.name if region else None,
        region_code=region.code if region else None,
        region_contact=region.contact if region else None,
        letter=stored,
        adaptations=changes,
        registered_by=person.email,
    )
    adoption, result = _added(session, adoption, innovation, "interest")
    request_adoption_start(session, adoption, result)  # its flow: persiapan, then the gate
    return adoption, result


def record_incoming(
    session: Session,
    store: EvidenceStore,
    *,
    unit_code: str,
    origin_region: Region,
    origin_name: str,
    model: AdoptionModel | str,
    letter: EvidenceIn,
    actor: str,
) -> tuple[Adoption, ChangeResult]:
    """This city (``unit_code``) adopts another region's innovation ``origin_name``."""
    person = _person_with(session, actor, BRIDA_ROLES)
    region = origin_region.checked()
    if not origin_name.strip():
        raise ValidationError(code="replication.origin_name_required")
    unit = session.scalar(select(Unit).where(Unit.code == unit_code.strip().upper()))
    if unit is None:
        raise NotFoundError(code="replication.unit_unknown", unit=unit_code)
    stored = letter.store(store, year=utcnow().year, owner=unit.code, what="letter")
    adoption = Adoption(
        offer_id=None,
        model=AdoptionModel(model),
        adopter_unit_id=unit.id,
        origin_region_name=region.name,
        origin_region_code=region.code,
        region_contact=region.contact,
        origin_name=origin_name.strip(),
        letter=stored,
        registered_by=person.email,
    )
    return _added(session, adoption, None, "incoming")


def _replica_code(session: Session, origin: Innovation, unit: Unit) -> str:
    base = f"{origin.code}-{unit.code}"[:36]
    code, n = base, 1
    while session.scalar(select(Innovation.id).where(Innovation.code == code)) is not None:
        n += 1
        code = f"{base}-{n}"
    return code


def _create_replica(
    session: Session, adoption: Adoption, origin: Innovation, unit: Unit, actor: str
) -> tuple[Innovation, ChangeResult]:
    values = {name: getattr(origin, name) for name in _PROFILE_FIELDS}
    values.update(adoption.adaptations)
    values["year"] = utcnow().year
    data = InnovationIn.model_validate(
        {
            **values,
            "code": _replica_code(session, origin, unit),
            "unit": unit.code,
            "origin": origin.code,
            "title": origin.title,  # the replication rules keep the origin's name
        }
    )
    replica, _, result = submit_innovation(session, data, actor=actor)
    return replica, result


def check_adoption_decision(
    session: Session,
    adoption: Adoption,
    decision: GateDecisionKind,
    reason: str | None,
    person: Person,
    *,
    agreement_given: bool = False,
) -> None:
    """The rules of an adoption decision, in one place; raise the error that refuses it.

    Only a reviewer or the head of Brida decides, never from a unit on either side; a
    rejection needs a reason; a kerja sama approval needs its agreement (PKS / Nota
    Kesepakatan). Called by ``decide_adoption`` and, to report a refusal before anything is
    resumed, by the CLI and the portal (``kinanti.orchestration.gates``).
    """
    if decision is GateDecisionKind.REVISE:
        raise ValidationError(code="replication.decision_invalid", decision=decision.value)
    if adoption.status is not AdoptionStatus.INTERESTED:
        raise ConflictError(
            code="replication.decided_already", adoption=adoption.id, status=adoption.status
        )
    if not person.active or not person_roles(session, person) & DECIDER_ROLES:
        raise NotAuthorizedError(
            code="replication.wrong_role",
            email=person.email,
            roles=", ".join(sorted(r.value for r in DECIDER_ROLES)),
        )
    origin = _origin_of(session, adoption)
    sides = set()
    if origin is not None:
        sides |= _unit_ids(get_unit(session, origin.unit_id))
    if adoption.adopter_unit_id is not None:
        sides |= _unit_ids(get_unit(session, adoption.adopter_unit_id))
    if person.unit_id in sides:
        raise NotAuthorizedError(code="replication.own_side", email=person.email)
    if decision is GateDecisionKind.REJECT and not (reason or "").strip():
        raise ValidationError(code="gate.reason_required", decision=decision.value)
    if (
        decision is GateDecisionKind.APPROVE
        and adoption.model is AdoptionModel.KERJA_SAMA
        and adoption.agreement is None
        and not agreement_given
    ):
        raise ValidationError(code="replication.agreement_required")


def attach_agreement(
    session: Session, store: EvidenceStore, adoption_id: int, agreement: EvidenceIn, *, actor: str
) -> ChangeResult:
    """Record the adoption's agreement (PKS / Nota Kesepakatan) before Brida decides."""
    adoption = get_adoption(session, adoption_id, for_update=True)
    _check_adopter_side(session, adoption, actor)
    if adoption.status not in OPEN_STATUSES:
        raise ConflictError(
            code="replication.wrong_step", adoption=adoption.id, stage=adoption.stage.value
        )
    _store_agreement(session, store, adoption, agreement)
    session.flush()
    result = ChangeResult()
    result.event(
        session,
        "kinanti.replication.agreement-recorded",
        _origin_of(session, adoption),
        {"adoption_id": adoption.id, "actor": actor},
    )
    return result


def _store_agreement(
    session: Session, store: EvidenceStore, adoption: Adoption, agreement: EvidenceIn
) -> None:
    origin = _origin_of(session, adoption)
    owner = origin.code if origin else get_unit(session, adoption.adopter_unit_id or 0).code
    year = origin.year if origin else utcnow().year
    adoption.agreement = agreement.store(store, year=year, owner=owner, what="agreement")


def decide_adoption(
    session: Session,
    adoption_id: int,
    decision: GateDecisionKind | str,
    *,
    actor: str,
    reason: str | None = None,
    agreement: EvidenceIn | None = None,
    store: EvidenceStore | None = None,
    flow_run_id: str | None = None,
    continue_in_run: bool = False,
) -> ChangeResult:
    """Brida approves or rejects an adoption (its gate). Approval inside the city creates
    the replica at planning with its pending hand-off; for another region it records the
    agreement (required for kerja sama). The adoption's flow goes on to perencanaan dan
    pengembangan: in the run that waited at the gate (``continue_in_run``), or a new one.

    ``actor`` is a person the caller has proven (``domain.adoptions.decide_adoption_gate``
    for anything resumed through Prefect) or a trusted channel names (the importer).
    """
    decision = GateDecisionKind(decision)
    adoption = get_adoption(session, adoption_id, for_update=True)
    person = get_person(session, actor)
    check_adoption_decision(
        session, adoption, decision, reason, person, agreement_given=agreement is not None
    )
    origin = _origin_of(session, adoption)
    reason = (reason or "").strip() or None
    result = ChangeResult()
    adoption.decided_by, adoption.decided_at, adoption.reason = person.email, utcnow(), reason
    if decision is GateDecisionKind.REJECT:
        adoption.status = AdoptionStatus.REJECTED
        finish_adoption_starts(session, adoption)
        session.flush()
        _notify(session, result, adoption, origin, "rejected")
        return result
    if agreement is not None:
        if store is None:
            raise ValidationError(code="replication.evidence_one", what="agreement")
        _store_agreement(session, store, adoption, agreement)
    adoption.status = AdoptionStatus.APPROVED
    adoption.stage = ReplicationStage.PERENCANAAN_PENGEMBANGAN
    if origin is not None and adoption.adopter_unit_id is not None:
        unit = get_unit(session, adoption.adopter_unit_id)
        replica, created = _create_replica(session, adoption, origin, unit, person.email)
        result.extend(created)
        adoption.replica_id = replica.id
    finish_adoption_starts(session, adoption)
    request_adoption_start(session, adoption, result, flow_run_id if continue_in_run else None)
    session.flush()
    _notify(session, result, adoption, origin, "approved")
    return result


def advance_adoption(session: Session, adoption_id: int, *, actor: str) -> ChangeResult:
    """The adopter starts carrying out the replication (perencanaan -> replikasi)."""
    adoption = get_adoption(session, adoption_id, for_update=True)
    _check_adopter_side(session, adoption, actor)
    if (
        adoption.status is not AdoptionStatus.APPROVED
        or adoption.stage is not ReplicationStage.PERENCANAAN_PENGEMBANGAN
    ):
        raise ConflictError(
            code="replication.wrong_step", adoption=adoption.id, stage=adoption.stage.value
        )
    adoption.stage = ReplicationStage.REPLIKASI
    result = ChangeResult()
    finish_adoption_starts(session, adoption)
    request_adoption_start(session, adoption, result)  # its flow: the replikasi step
    session.flush()
    _notify(session, result, adoption, _origin_of(session, adoption), "replicating")
    return result


def _check_adopter_side(session: Session, adoption: Adoption, actor: str) -> Person:
    person = get_person(session, actor)
    if adoption.adopter_unit_id is not None:
        unit = get_unit(session, adoption.adopter_unit_id)
        if not _speaks_for(session, person, unit):
            raise NotAuthorizedError(
                code="replication.not_owner", email=person.email, unit=unit.code
            )
    elif not person_roles(session, person) & BRIDA_ROLES:
        raise NotAuthorizedError(
            code="replication.wrong_role",
            email=person.email,
            roles=", ".join(sorted(r.value for r in BRIDA_ROLES)),
        )
    return person


def complete_adoption(
    session: Session,
    store: EvidenceStore,
    adoption_id: int,
    *,
    evidence: EvidenceIn,
    actor: str,
) -> ChangeResult:
    """Evaluasi manfaat dan dampak is done: record the implementation evidence (its
    verification by a Brida verifier stays pending)."""
    adoption = get_adoption(session, adoption_id, for_update=True)
    person = _check_adopter_side(session, adoption, actor)
    if adoption.status is not AdoptionStatus.APPROVED:
        raise ConflictError(
            code="replication.wrong_step", adoption=adoption.id, stage=adoption.stage.value
        )
    origin = _origin_of(session, adoption)
    owner = origin.code if origin else get_unit(session, adoption.adopter_unit_id or 0).code
    year = origin.year if origin else utcnow().year
    adoption.evidence = evidence.store(store, year=year, owner=owner, what="evidence")
    adoption.evidence_status = VerificationStatus.PENDING
    adoption.stage = ReplicationStage.EVALUASI
    adoption.status = AdoptionStatus.COMPLETED
    adoption.completed_at = utcnow()
    adoption.registered_by = adoption.registered_by or person.email
    result = ChangeResult()
    finish_adoption_starts(session, adoption)
    request_adoption_start(session, adoption, result)  # its flow: evaluasi manfaat dan dampak
    session.flush()
    _notify(session, result, adoption, origin, "completed")
    return result


def verify_adoption_evidence(
    session: Session, adoption_id: int, *, accept: bool, actor: str, reason: str | None = None
) -> ChangeResult:
    """A Brida verifier accepts or rejects (with a reason) a completed adoption's evidence."""
    person = _person_with(session, actor, VERIFIER_ROLES)
    adoption = get_adoption(session, adoption_id, for_update=True)
    if adoption.status is not AdoptionStatus.COMPLETED or adoption.evidence is None:
        raise ConflictError(
            code="replication.wrong_step", adoption=adoption.id, stage=adoption.stage.value
        )
    reason = (reason or "").strip() or None
    if not accept and reason is None:
        raise ValidationError(code="gate.reason_required", decision="reject")
    adoption.evidence_status = (
        VerificationStatus.ACCEPTED if accept else VerificationStatus.REJECTED
    )
    adoption.evidence_verified_by = person.email
    adoption.evidence_reason = reason
    session.flush()
    result = ChangeResult()
    _notify(session, result, adoption, _origin_of(session, adoption), "verified")
    return result


# --- the derived Replikasi level -------------------------------------------------------


@dataclass(frozen=True)
class DerivedReplication:
    """The derived Replikasi level of one origin, and why."""

    innovation_id: int
    other_regions: tuple[str, ...]
    inside_city: int

    @property
    def level(self) -> int:
        return min(3, len(self.other_regions))

    def note(self, language: Language = Language.EN) -> str:
        regions = ", ".join(self.other_regions) or "-"
        if language is Language.ID:
            return (
                f"diturunkan dari replikasi selesai dengan bukti diterima: "
                f"{len(self.other_regions)} daerah lain ({regions}); "
                f"{self.inside_city} replika di dalam kota tidak dihitung"
            )
        return (
            f"derived from completed replications with accepted evidence: "
            f"{len(self.other_regions)} other region(s) ({regions}); "
            f"{self.inside_city} replica(s) inside the city not counted"
        )


def derived_replication(
    session: Session, innovation_ids: Iterable[int] | None = None
) -> dict[int, DerivedReplication]:
    """The derived level of every offered innovation (or of ``innovation_ids``)."""
    stmt = select(
        ReplicationOffer.innovation_id,
        Adoption.region_code,
        Adoption.adopter_unit_id,
        Adoption.status,
        Adoption.evidence_status,
    ).outerjoin(Adoption, Adoption.offer_id == ReplicationOffer.id)
    if innovation_ids is not None:
        stmt = stmt.where(ReplicationOffer.innovation_id.in_(list(innovation_ids)))
    regions: dict[int, set[str]] = defaultdict(set)
    inside: dict[int, int] = defaultdict(int)
    offered: set[int] = set()
    for innovation_id, region, unit_id, status, evidence in session.execute(stmt):
        offered.add(innovation_id)
        if unit_id is not None and status in (AdoptionStatus.APPROVED, AdoptionStatus.COMPLETED):
            inside[innovation_id] += 1
        if (
            region is not None
            and status is AdoptionStatus.COMPLETED
            and evidence is VerificationStatus.ACCEPTED
        ):
            regions[innovation_id].add(region)
    return {i: DerivedReplication(i, tuple(sorted(regions[i])), inside[i]) for i in sorted(offered)}


# --- lineage and catalogue -------------------------------------------------------------


@dataclass
class LineageNode:
    """One node of a lineage tree: an innovation of the city or another region's adoption."""

    label: str
    stage: str
    outcome: str | None = None
    model: str | None = None
    region: str | None = None
    unit: str | None = None
    status: str | None = None
    #: a replica's adoption step (persiapan ... evaluasi), beside its own lifecycle stage
    step: str | None = None
    children: list[LineageNode] = field(default_factory=list)

    def facts(self) -> list[str]:
        """What the CLI and the report show beside the label, in this order."""
        values = (self.outcome, self.model, self.step, self.status, self.region, self.unit)
        return [self.stage, *(v for v in values if v)]

    def walk(self, depth: int = 0) -> Iterable[tuple[int, LineageNode]]:
        """The tree depth-first, with each node's depth (the root is 0)."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


def _innovation_node(session: Session, innovation: Innovation, seen: set[int]) -> LineageNode:
    seen.add(innovation.id)
    unit = get_unit(session, innovation.unit_id)
    node = LineageNode(
        label=f"{innovation.code} {innovation.title}",
        stage=innovation.stage.value,
        outcome=innovation.outcome.value if innovation.outcome else None,
        unit=unit.code,
    )
    offer = offer_of(session, innovation)
    replica_ids: set[int] = set()
    if offer is not None:
        for adoption in session.scalars(
            select(Adoption).where(Adoption.offer_id == offer.id).order_by(Adoption.id)
        ):
            replica = session.get(Innovation, adoption.replica_id) if adoption.replica_id else None
            if replica is not None and replica.id not in seen:
                replica_ids.add(replica.id)
                child = _innovation_node(session, replica, seen)
                child.step = adoption.stage.value
            elif adoption.adopter_unit_id is not None:
                adopter = get_unit(session, adoption.adopter_unit_id)
                child = LineageNode(
                    label=adopter.name, stage=adoption.stage.value, unit=adopter.code
                )
            else:
                child = LineageNode(
                    label=f"{adoption.region_name}",
                    stage=adoption.stage.value,
                    region=adoption.region_code,
                )
            child.model, child.status = adoption.model.value, _status_of(adoption)
            node.children.append(child)
    for other in session.scalars(
        select(Innovation).where(Innovation.origin_id == innovation.id).order_by(Innovation.code)
    ):
        if other.id not in replica_ids and other.id not in seen:
            node.children.append(_innovation_node(session, other, seen))
    return node


def _status_of(adoption: Adoption) -> str:
    if adoption.status is AdoptionStatus.COMPLETED and adoption.evidence_status is not None:
        return f"{adoption.status.value}, evidence {adoption.evidence_status.value}"
    return adoption.status.value


def _first_origin(session: Session, innovation: Innovation) -> Innovation:
    """Climb the origin links to the first origin inside the city (cycles stop it)."""
    seen = {innovation.id}
    while innovation.origin_id is not None and innovation.origin_id not in seen:
        innovation = session.get_one(Innovation, innovation.origin_id)
        seen.add(innovation.id)
    return innovation


def lineage(session: Session, code: str) -> LineageNode:
    """The tree origin -> replicas -> replicas of replicas (and other regions' adoptions),
    starting from ``code``'s first origin inside the city."""
    return _innovation_node(session, _first_origin(session, get_innovation(session, code)), set())


@dataclass(frozen=True)
class LineageTree:
    """One origin's whole tree, with its derived Replikasi level (other regions only)."""

    root: LineageNode
    derived: DerivedReplication


def lineage_trees(session: Session) -> list[LineageTree]:
    """The tree of every origin of the city: innovations offered for replication or with
    replicas, each climbed to its first origin, once."""
    offered = set(session.scalars(select(ReplicationOffer.innovation_id)))
    parents = {
        i
        for i in session.scalars(
            select(Innovation.origin_id).where(Innovation.origin_id.is_not(None))
        )
        if i is not None
    }
    roots: dict[int, Innovation] = {}
    for innovation_id in sorted(offered | parents):
        root = _first_origin(session, session.get_one(Innovation, innovation_id))
        roots[root.id] = root
    return [_tree(session, root) for root in sorted(roots.values(), key=lambda i: i.code)]


def lineage_tree(session: Session, code: str) -> LineageTree:
    """``lineage`` with the first origin's derived Replikasi level."""
    return _tree(session, _first_origin(session, get_innovation(session, code)))


def _tree(session: Session, root: Innovation) -> LineageTree:
    derived = derived_replication(session, [root.id]).get(root.id)
    node = _innovation_node(session, root, set())
    return LineageTree(node, derived or DerivedReplication(root.id, (), 0))


def incoming(session: Session) -> list[LineageNode]:
    """This city's adoptions of other regions' innovations."""
    nodes = []
    for adoption in session.scalars(
        select(Adoption).where(Adoption.offer_id.is_(None)).order_by(Adoption.id)
    ):
        unit = get_unit(session, adoption.adopter_unit_id or 0)
        nodes.append(
            LineageNode(
                label=f"{adoption.origin_name}",
                stage=adoption.stage.value,
                model=adoption.model.value,
                region=f"{adoption.origin_region_name} ({adoption.origin_region_code})",
                unit=unit.code,
                status=_status_of(adoption),
            )
        )
    return nodes


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    title: str
    owner: str
    urusan: str
    benefits: str | None
    stage: str
    year: int
    replicas_inside_city: int
    other_regions: int
    replikasi_level: int
    prerequisites: dict[str, str]
    materials: dict[str, str]


def catalogue(session: Session) -> list[CatalogueEntry]:
    """Active offers (the SID score is added by the caller, which scores the IID)."""
    derived = derived_replication(session)
    entries = []
    rows = session.execute(
        select(ReplicationOffer, Innovation, Unit)
        .join(Innovation, Innovation.id == ReplicationOffer.innovation_id)
        .join(Unit, Unit.id == Innovation.unit_id)
        .where(ReplicationOffer.active.is_(True), Innovation.outcome.is_(None))
        .order_by(Innovation.code)
    )
    for offer, innovation, unit in rows:
        d = derived[innovation.id]
        entries.append(
            CatalogueEntry(
                code=innovation.code,
                title=innovation.title,
                owner=unit.name,
                urusan=innovation.urusan_main,
                benefits=innovation.benefits,
                stage=innovation.stage.value,
                year=innovation.year,
                replicas_inside_city=d.inside_city,
                other_regions=len(d.other_regions),
                replikasi_level=d.level,
                prerequisites=dict(offer.prerequisites),
                materials=dict(offer.materials),
            )
        )
    return entries


__all__ = [
    "ADAPTABLE_FIELDS",
    "REPLICATION_INDICATOR",
    "CatalogueEntry",
    "DerivedReplication",
    "EvidenceIn",
    "LineageNode",
    "LineageTree",
    "OfferIn",
    "Region",
    "advance_adoption",
    "attach_agreement",
    "catalogue",
    "check_adoption_decision",
    "complete_adoption",
    "decide_adoption",
    "derived_replication",
    "incoming",
    "lineage",
    "lineage_tree",
    "lineage_trees",
    "offer_replication",
    "record_incoming",
    "record_passed_reporting",
    "register_interest",
    "verify_adoption_evidence",
]

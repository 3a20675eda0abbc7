"""Importing replications recorded before Kinanti ran them (``kinanti replication import``).

A file (YAML or JSON, ``examples/mataram/replications.yaml``) has four sections:

- ``passed_reporting``: innovations that passed reporting in an earlier IID report, with
  the report as ``basis``. This is the one trusted channel for that fact
  (``domain.replication.record_passed_reporting``): an operator loads the file on the
  server. Everywhere else passing reporting is the lifecycle's own state;
- ``offers``: what an adopter needs and gets (``OfferIn``), and who offers it;
- ``adoptions``: each adoption of an offer, in order: the interest (a unit of the city or
  another region), Brida's decision, and how far it went (``advanced``, ``completed`` with
  its implementation evidence, the evidence's verification). An adoption names its
  innovation by code, or (``replica_of``) as the replica an earlier adoption of the file
  made, so that a replica of a replica needs no generated code;
- ``incoming``: this city adopting another region's innovation.

The whole file is validated at the edge (every problem at once, each naming the section,
the entry and the field) and cross-checked against the registry; then it is written in the
caller's one transaction through the same domain functions the CLI and the flows call. A
problem while writing stops the import and nothing is written. Re-importing the file changes
nothing (an adoption with the same innovation and adopter is left as it is).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import replication as rep
from domain.changes import ChangeResult
from domain.enums import AdoptionModel
from domain.errors import KinantiError
from domain.evidence import EvidenceStore
from domain.models import Adoption, Innovation, Person, Unit
from domain.safe_yaml import load_json, load_yaml, read_bounded
from kinanti.importers.validation import ImportReport, describe_error, fail

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PassedReportingIn(BaseModel):
    model_config = _STRICT

    code: str = Field(min_length=1, max_length=40)
    basis: str = Field(min_length=5, max_length=300, description="The report it passed in")


class OfferEntry(rep.OfferIn):
    code: str = Field(min_length=1, max_length=40)
    offered_by: str = Field(min_length=3, max_length=254)


class RegionIn(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=2, max_length=20)
    contact: str = Field(min_length=3, max_length=254)

    def region(self) -> rep.Region:
        return rep.Region(self.name, self.code, self.contact)


class AdoptionIn(BaseModel):
    model_config = _STRICT

    key: str = Field(min_length=1, max_length=40, description="Names the entry in this file")
    innovation: str | None = Field(None, max_length=40)
    replica_of: str | None = Field(None, max_length=40, description="An earlier entry's key")
    adopter_unit: str | None = Field(None, max_length=32)
    region: RegionIn | None = None
    model: AdoptionModel
    registered_by: str = Field(min_length=3, max_length=254)
    letter: str = Field(min_length=8, max_length=1000, description="Link to the request letter")
    adaptations: dict[str, Any] = Field(default_factory=dict)
    agreement: str | None = Field(None, max_length=1000)
    decision: Literal["approve", "reject"] | None = None
    decided_by: str | None = Field(None, max_length=254)
    reason: str | None = Field(None, max_length=2000)
    advanced: bool = False
    completed: str | None = Field(None, max_length=1000, description="Evidence link")
    completed_by: str | None = Field(None, max_length=254)
    verified: Literal["accept", "reject"] | None = None
    verified_by: str | None = Field(None, max_length=254)
    verification_reason: str | None = Field(None, max_length=2000)
    replica_passed_reporting: str | None = Field(
        None, max_length=300, description="Basis: the replica passed reporting (this report)"
    )
    replica_offer: rep.OfferIn | None = None
    replica_offered_by: str | None = Field(None, max_length=254)

    @model_validator(mode="after")
    def _consistent(self) -> AdoptionIn:
        if (self.innovation is None) == (self.replica_of is None):
            raise ValueError("give exactly one of 'innovation' and 'replica_of'")
        if (self.adopter_unit is None) == (self.region is None):
            raise ValueError("give exactly one of 'adopter_unit' and 'region'")
        if (self.decision is None) != (self.decided_by is None):
            raise ValueError("'decision' and 'decided_by' go together")
        if self.decision != "approve" and (self.advanced or self.completed):
            raise ValueError("only an approved adoption is advanced or completed")
        if self.verified and not (self.completed and self.verified_by):
            raise ValueError("'verified' needs 'completed' and 'verified_by'")
        if self.replica_offer is not None and not self.replica_offered_by:
            raise ValueError("'replica_offer' needs 'replica_offered_by'")
        if (self.replica_passed_reporting or self.replica_offer) and self.adopter_unit is None:
            raise ValueError("only a unit of the city gets a replica")
        return self


class IncomingIn(BaseModel):
    model_config = _STRICT

    unit: str = Field(min_length=1, max_length=32)
    origin_region: RegionIn
    origin_name: str = Field(min_length=1, max_length=200)
    model: AdoptionModel
    letter: str = Field(min_length=8, max_length=1000)
    registered_by: str = Field(min_length=3, max_length=254)
    agreement: str | None = Field(None, max_length=1000, description="Link to the PKS")
    decided_by: str | None = Field(None, max_length=254, description="Brida approved it")
    reason: str | None = Field(None, max_length=2000)
    advanced: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> IncomingIn:
        if self.advanced and not self.decided_by:
            raise ValueError("only an approved incoming replication is advanced")
        return self


class ReplicationsFile(BaseModel):
    model_config = _STRICT

    passed_reporting: list[PassedReportingIn] = Field(default_factory=list, max_length=500)
    offers: list[OfferEntry] = Field(default_factory=list, max_length=500)
    adoptions: list[AdoptionIn] = Field(default_factory=list, max_length=2000)
    incoming: list[IncomingIn] = Field(default_factory=list, max_length=500)


def read_replications(path: Path) -> ReplicationsFile:
    """Read and validate the file (every problem at once); nothing is written."""
    if not path.is_file():
        raise fail(path.name, [f"{path}: file not found"])
    text = read_bounded(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise fail(path.name, [f"unsupported file type {suffix or '(none)'!r}; use .yaml/.json"])
    data = load_json(text, path.name) if suffix == ".json" else load_yaml(text, path.name)
    try:
        return ReplicationsFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise fail(path.name, [describe_error(e) for e in exc.errors()]) from None


def _references(session: Session, doc: ReplicationsFile, name: str) -> list[str]:
    """What the file names that the registry does not hold (or the file itself, for keys)."""
    units = set(session.scalars(select(Unit.code)))
    people = set(session.scalars(select(Person.email)))
    codes = set(session.scalars(select(Innovation.code)))
    problems: list[str] = []

    def check(where: str, kind: str, value: str | None, known: set[str]) -> None:
        if value is not None and value not in known:
            problems.append(f"{name}: {where}: {kind} {value!r} is not registered")

    for i, passed in enumerate(doc.passed_reporting, 1):
        check(f"passed_reporting[{i}].code", "innovation", passed.code, codes)
    for i, offer in enumerate(doc.offers, 1):
        check(f"offers[{i}].code", "innovation", offer.code, codes)
        check(f"offers[{i}].offered_by", "person", offer.offered_by, people)
    keys: set[str] = set()
    for i, a in enumerate(doc.adoptions, 1):
        at = f"adoptions[{i}] ({a.key})"
        if a.key in keys:
            problems.append(f"{name}: {at}: the key {a.key!r} is used twice")
        if a.replica_of is not None and a.replica_of not in keys:
            problems.append(f"{name}: {at}: replica_of {a.replica_of!r} names no earlier entry")
        keys.add(a.key)
        check(f"{at}.innovation", "innovation", a.innovation, codes)
        check(f"{at}.adopter_unit", "unit", a.adopter_unit, units)
        for field in (
            "registered_by",
            "decided_by",
            "completed_by",
            "verified_by",
            "replica_offered_by",
        ):
            check(f"{at}.{field}", "person", getattr(a, field), people)
    for i, entry in enumerate(doc.incoming, 1):
        check(f"incoming[{i}].unit", "unit", entry.unit, units)
        check(f"incoming[{i}].registered_by", "person", entry.registered_by, people)
        check(f"incoming[{i}].decided_by", "person", entry.decided_by, people)
    return problems


def _existing(session: Session, code: str, a: AdoptionIn) -> Adoption | None:
    """The adoption this entry made on an earlier import: same innovation, same adopter (a
    unit, or the same agency of another region: its region code and contact)."""
    innovation = session.scalar(select(Innovation).where(Innovation.code == code))
    offer = rep.offer_of(session, innovation) if innovation else None
    if offer is None:
        return None
    stmt = select(Adoption).where(Adoption.offer_id == offer.id)
    if a.region is None:
        unit_id = select(Unit.id).where(Unit.code == a.adopter_unit).scalar_subquery()
        stmt = stmt.where(Adoption.adopter_unit_id == unit_id)
    else:
        stmt = stmt.where(
            Adoption.region_code == a.region.code,
            Adoption.region_contact == a.region.contact.lower(),
        )
    return session.scalars(stmt.order_by(Adoption.id)).first()


def _adopt(
    session: Session, store: EvidenceStore, a: AdoptionIn, code: str, result: ChangeResult
) -> tuple[Adoption, bool]:
    """One adoption entry through the domain's steps; ``False`` if it was there already."""
    existing = _existing(session, code, a)
    if existing is not None:
        return existing, False
    adoption, done = rep.register_interest(
        session,
        store,
        code,
        model=a.model,
        letter=rep.EvidenceIn(link=a.letter),
        actor=a.registered_by,
        adopter_unit=a.adopter_unit,
        region=a.region.region() if a.region else None,
        adaptations=a.adaptations,
    )
    result.extend(done)
    if a.agreement:
        result.extend(
            rep.attach_agreement(
                session, store, adoption.id, rep.EvidenceIn(link=a.agreement), actor=a.registered_by
            )
        )
    if a.decision is None:
        return adoption, True
    result.extend(
        rep.decide_adoption(
            session, adoption.id, a.decision, actor=a.decided_by or "", reason=a.reason
        )
    )
    if a.advanced:
        result.extend(rep.advance_adoption(session, adoption.id, actor=a.registered_by))
    if a.completed:
        result.extend(
            rep.complete_adoption(
                session,
                store,
                adoption.id,
                evidence=rep.EvidenceIn(link=a.completed),
                actor=a.completed_by or a.registered_by,
            )
        )
    if a.verified:
        result.extend(
            rep.verify_adoption_evidence(
                session,
                adoption.id,
                accept=a.verified == "accept",
                actor=a.verified_by or "",
                reason=a.verification_reason,
            )
        )
    return adoption, True


def import_replications(
    session: Session, doc: ReplicationsFile, name: str, store: EvidenceStore
) -> tuple[ImportReport, ChangeResult]:
    """Write the file's replications in the caller's transaction (all or nothing)."""
    problems = _references(session, doc, name)
    if problems:
        raise fail(name, problems)
    result = ChangeResult()
    created = unchanged = 0
    replicas: dict[str, str] = {}
    section = "passed_reporting"
    try:
        for passed in doc.passed_reporting:
            result.extend(rep.record_passed_reporting(session, passed.code, basis=passed.basis))
        section = "offers"
        for offer in doc.offers:
            _, done = rep.offer_replication(session, offer.code, offer, actor=offer.offered_by)
            result.extend(done)
        for i, a in enumerate(doc.adoptions, 1):
            section = f"adoptions[{i}] ({a.key})"
            code = a.innovation or replicas[a.replica_of or ""]
            adoption, new = _adopt(session, store, a, code, result)
            created, unchanged = created + new, unchanged + (not new)
            replica = session.get(Innovation, adoption.replica_id) if adoption.replica_id else None
            if replica is None:
                continue
            replicas[a.key] = replica.code
            if a.replica_passed_reporting:
                result.extend(
                    rep.record_passed_reporting(
                        session, replica.code, basis=a.replica_passed_reporting
                    )
                )
            if a.replica_offer is not None:
                _, done = rep.offer_replication(
                    session, replica.code, a.replica_offer, actor=a.replica_offered_by or ""
                )
                result.extend(done)
        for i, entry in enumerate(doc.incoming, 1):
            section = f"incoming[{i}]"
            if _incoming_exists(session, entry):
                unchanged += 1
                continue
            adoption, done = rep.record_incoming(
                session,
                store,
                unit_code=entry.unit,
                origin_region=entry.origin_region.region(),
                origin_name=entry.origin_name,
                model=entry.model,
                letter=rep.EvidenceIn(link=entry.letter),
                actor=entry.registered_by,
            )
            result.extend(done)
            if entry.agreement:
                agreement = rep.EvidenceIn(link=entry.agreement)
                result.extend(
                    rep.attach_agreement(
                        session, store, adoption.id, agreement, actor=entry.registered_by
                    )
                )
            if entry.decided_by:
                result.extend(
                    rep.decide_adoption(
                        session, adoption.id, "approve", actor=entry.decided_by, reason=entry.reason
                    )
                )
            if entry.advanced:
                result.extend(rep.advance_adoption(session, adoption.id, actor=entry.registered_by))
            created += 1
    except KinantiError as exc:
        raise fail(name, [f"{name}: {section}: {exc}"]) from exc
    session.flush()
    report = ImportReport(file=name, kind="replications", created=created, unchanged=unchanged)
    return report, result


def _incoming_exists(session: Session, entry: IncomingIn) -> bool:
    return (
        session.scalar(
            select(Adoption.id)
            .join(Unit, Unit.id == Adoption.adopter_unit_id)
            .where(
                Adoption.offer_id.is_(None),
                Unit.code == entry.unit,
                Adoption.origin_name == entry.origin_name,
                Adoption.origin_region_code == entry.origin_region.code,
            )
        )
        is not None
    )

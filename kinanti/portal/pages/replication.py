"""Replication pages: the catalogue (searchable by urusan and by kind of unit), an offer with
its lineage and suggested adopters, registering a unit's interest with its request letter
(through the evidence store's checks), and Brida's decision at an adoption's gate (the same
decision path as ``kinanti replication decide``: rules checked, one-time proof, resume)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import replication as rep
from domain.access import REGION, Action, Actor, UnitScope, adoption_scope, can, unit_scope
from domain.enums import AdoptionModel, AdoptionStatus, GateDecisionKind, Language, UnitKind
from domain.errors import ConflictError, KinantiError
from domain.matching import suggest_adopters
from domain.models import Adoption, Innovation, ReplicationOffer, Unit
from domain.queries import get_innovation
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.delivery import hand_off
from kinanti.portal.forms import FieldError, Opt, Reason, _Form, parse
from kinanti.portal.pages.common import NO_UNIT
from kinanti.portal.texts import t
from kinanti.portal.uploads import file_or_link, received, uploaded

router = APIRouter()


class CatalogueRow(BaseModel):
    code: str
    title: str
    owner: str
    owner_kind: str
    urusan: str
    benefits: str | None
    inside_city: int
    other_regions: int
    level: int


class MyAdoption(BaseModel):
    """An adoption the signed-in person is concerned with: one to decide (Brida), or one of
    their unit's, as the origin's owner or as the adopter."""

    id: int
    code: str
    title: str
    adopter: str
    stage: str
    status: AdoptionStatus
    may_decide: bool


class CataloguePage(web.Listing[CatalogueRow]):
    mine: list[MyAdoption] = []
    urusan: str = ""
    kind: str = ""
    urusan_options: list[str] = []
    kind_options: list[str] = []


_Catalogue = Annotated[Actor, Depends(web.allowed(Action.VIEW_CATALOGUE, "replication"))]


@router.get("/replication", response_class=HTMLResponse)
def catalogue(
    request: Request, actor: _Catalogue, urusan: str = "", kind: str = "", page: str = "1"
) -> Response:
    """Active offers, filtered by urusan and by the owner's kind of unit (OPD / UPTD)."""
    paging = web.paging(request, page)
    with unit_of_work(web.engine_of(request)) as session:
        entries = rep.catalogue(session)
        kinds = {c: k.value for c, k in session.execute(select(Unit.name, Unit.kind))}
        mine = _my_adoptions(session, actor)
    rows = [
        CatalogueRow(
            code=e.code, title=e.title, owner=e.owner, owner_kind=kinds.get(e.owner, ""),
            urusan=e.urusan, benefits=e.benefits, inside_city=e.replicas_inside_city,
            other_regions=e.other_regions, level=e.replikasi_level,
        )
        for e in entries
    ]  # fmt: skip
    options = sorted({r.urusan for r in rows})
    chosen = [
        r for r in rows if (not urusan or r.urusan == urusan) and (not kind or r.owner_kind == kind)
    ]
    context = CataloguePage(
        items=paging.slice(chosen), **paging.fields(len(chosen)),
        urusan=urusan if urusan in options else "", kind=kind if kind in _KINDS else "",
        urusan_options=options, kind_options=list(_KINDS), mine=mine,
    )  # fmt: skip
    return web.render(request, "replication_catalogue.html", context)


_KINDS = [k.value for k in UnitKind]
MY_ADOPTIONS = 20


def _adopter(session: Session, adoption: Adoption) -> str:
    """Who replicates: the adopting unit, or the other region."""
    if adoption.adopter_unit_id:
        return session.get_one(Unit, adoption.adopter_unit_id).name
    return f"{adoption.region_name} ({adoption.region_code})"


def _gate_open(adoption: Adoption) -> bool:
    """Whether the adoption waits at its gate for Brida's decision."""
    return adoption.status is AdoptionStatus.INTERESTED and bool(adoption.gate_opened_at)


def _my_adoptions(session: Session, actor: Actor) -> list[MyAdoption]:
    """The open adoptions the actor may decide, or those of the actor's unit (either side):
    the portal's side of "both sides are told at each step"."""
    rows = session.execute(
        select(Adoption, Innovation)
        .join(ReplicationOffer, ReplicationOffer.id == Adoption.offer_id)
        .join(Innovation, Innovation.id == ReplicationOffer.innovation_id)
        .where(Adoption.status.in_([AdoptionStatus.INTERESTED, AdoptionStatus.APPROVED]))
        .order_by(Adoption.id.desc())
        .limit(200)
    ).all()
    found: list[MyAdoption] = []
    for adoption, origin in rows:
        scope = adoption_scope(session, adoption, origin)
        gate_open = _gate_open(adoption)
        may_decide = gate_open and can(actor, Action.DECIDE_ADOPTION, scope)
        if not may_decide and actor.unit_id not in scope.side_ids:
            continue
        adopter = _adopter(session, adoption)
        found.append(
            MyAdoption(
                id=adoption.id, code=origin.code, title=origin.title, adopter=adopter,
                stage=adoption.stage.value, status=adoption.status, may_decide=may_decide,
            )
        )  # fmt: skip
        if len(found) == MY_ADOPTIONS:
            break
    return found


class AdoptionRow(BaseModel):
    id: int
    adopter: str
    model: AdoptionModel
    stage: str
    status: AdoptionStatus
    gate_open: bool
    may_decide: bool


class OfferPage(BaseModel):
    code: str
    title: str
    owner: str
    urusan: str
    benefits: str | None
    readiness: str
    prerequisites: dict[str, str]
    materials: dict[str, str]
    lineage: list[tuple[int, str, str]]
    level: int
    level_note: str
    suggestions: list[dict[str, str]]
    adoptions: list[AdoptionRow]
    units: list[tuple[str, str]]  # the units the actor may register interest for
    models: list[str]
    max_mb: float
    done: str | None = None
    errors: list[FieldError] = []
    values: dict[str, Any] = {}


def _offer_context(
    request: Request, session: Session, actor: Actor, code: str, lang: Language
) -> OfferPage:
    innovation = get_innovation(session, code)
    offer = rep.offer_of(session, innovation)
    if offer is None or not offer.active:
        raise ConflictError(code="replication.no_offer", innovation=innovation.code)
    owner = session.get_one(Unit, innovation.unit_id)
    tree = rep.lineage_tree(session, innovation.code)
    settings = web.settings_of(request)
    today = dt.datetime.now(settings.zone).date()
    found = suggest_adopters(
        session, year=today.year, today=today, rules=settings.compliance_rules(),
        codes=[innovation.code],
    ).get(innovation.code, [])  # fmt: skip
    from kinanti.cli.replication import reason_text

    adoptions = []
    for adoption in session.scalars(
        select(Adoption).where(Adoption.offer_id == offer.id).order_by(Adoption.id)
    ):
        scope = adoption_scope(session, adoption, innovation)
        adopter = _adopter(session, adoption)
        gate_open = _gate_open(adoption)
        adoptions.append(
            AdoptionRow(
                id=adoption.id, adopter=adopter, model=adoption.model,
                stage=adoption.stage.value, status=adoption.status, gate_open=gate_open,
                may_decide=gate_open and can(actor, Action.DECIDE_ADOPTION, scope),
            )
        )  # fmt: skip
    units = [
        (u.code, u.name)
        for u in session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code))
        if u.id not in (owner.id, owner.parent_id)
        and can(actor, Action.REGISTER_INTEREST, UnitScope(u.id, u.parent_id))
    ]
    return OfferPage(
        code=innovation.code, title=innovation.title, owner=owner.name,
        urusan=innovation.urusan_main, benefits=innovation.benefits,
        readiness=offer.readiness_statement, prerequisites=dict(offer.prerequisites),
        materials=dict(offer.materials),
        lineage=[(d, n.label, ", ".join(n.facts())) for d, n in tree.root.walk()],
        level=tree.derived.level, level_note=tree.derived.note(lang),
        suggestions=[
            {"unit": s.unit_code, "name": s.unit_name,
             "why": "; ".join(reason_text(r.code, r.values, lang) for r in s.reasons)}
            for s in found
        ],
        adoptions=adoptions, units=units, models=[m.value for m in AdoptionModel],
        max_mb=web.megabytes(settings.evidence_max_bytes),
    )  # fmt: skip


def _offer_page(
    request: Request,
    actor: Actor,
    code: str,
    errors: list[FieldError] | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
) -> Response:
    web.require(request, actor, Action.VIEW_CATALOGUE, REGION, code)
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        page = _offer_context(request, session, actor, code, lang)
    page.errors, page.values, page.done = errors or [], values or {}, done
    status = 400 if errors else 200
    return web.render(request, "replication_offer.html", page, status=status)


@router.get("/replication/{code}", response_class=HTMLResponse)
def offer_page(
    request: Request, code: str, actor: web.SignedIn, done: str | None = None
) -> Response:
    return _offer_page(request, actor, code, done=done)


class InterestForm(_Form):
    adopter_unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    model: AdoptionModel
    letter_link: Annotated[Annotated[str, StringConstraints(max_length=1000)] | None, Opt] = None


@router.post("/replication/{code}/interest", response_class=HTMLResponse)
def register_interest(
    request: Request, code: str, actor: web.SignedIn, post: web.Posted
) -> Response:
    """A unit asks to replicate ``code`` with its request letter (a file, checked and stored
    by the evidence store, or a link)."""
    lang = post.lang
    form, errors = parse(InterestForm, post.data, lang)
    upload = uploaded(post, "letter")
    if form is not None:
        errors = file_or_link(upload, form.letter_link, "letter", lang)
    if form is None or errors:
        return _offer_page(request, actor, code, errors, dict(post.data))
    with unit_of_work(web.engine_of(request)) as session:
        unit = session.scalar(select(Unit).where(Unit.code == form.adopter_unit.upper()))
        scope = unit_scope(session, unit.id) if unit else None
    if scope is None or not can(actor, Action.REGISTER_INTEREST, scope):
        web.require(request, actor, Action.REGISTER_INTEREST, scope or NO_UNIT, code)
    with received(request, upload) as (store, path):
        letter = rep.EvidenceIn(file=path, link=None if upload else form.letter_link)
        try:
            with unit_of_work(web.engine_of(request)) as session:
                adoption, result = rep.register_interest(
                    session, store, code, model=form.model, letter=letter, actor=actor.email,
                    adopter_unit=form.adopter_unit,
                )  # fmt: skip
                committed = result.committed(session)
                audit.add(session, audit.INTEREST_REGISTERED, actor=actor.email,
                          client=web.client_of(request), target=f"{code}/{adoption.id}",
                          model=form.model.value)  # fmt: skip
        except KinantiError as exc:
            message = t("err.interest_refused", lang, why=exc.message(lang))
            return _offer_page(request, actor, code, [FieldError("letter", message)],
                               dict(post.data))  # fmt: skip
    hand_off(request, committed)
    return RedirectResponse(f"/replication/{code.upper()}?done=interest", status_code=303)


# ---------------------------------------------------------------- the adoption's gate


class AdoptionGatePage(BaseModel):
    id: int
    code: str
    title: str
    adopter: str
    model: AdoptionModel
    description: str
    errors: list[FieldError] = []
    values: dict[str, Any] = {}


class AdoptionDecisionForm(_Form):
    decision: Literal["approve", "reject"]
    reason: Reason = ""


def _adoption_scope_for(request: Request, actor: Actor, adoption_id: int) -> str:
    """The origin's code once ``actor`` may decide this adoption (refused otherwise)."""
    with unit_of_work(web.engine_of(request)) as session:
        adoption = rep.get_adoption(session, adoption_id)
        origin = (
            session.get_one(
                Innovation, session.get_one(ReplicationOffer, adoption.offer_id).innovation_id
            )
            if adoption.offer_id
            else None
        )
        scope = adoption_scope(session, adoption, origin)
        web.require(request, actor, Action.DECIDE_ADOPTION, scope, f"adoption/{adoption_id}")
        return origin.code if origin else "-"


def _adoption_gate_page(
    request: Request,
    actor: Actor,
    adoption_id: int,
    errors: list[FieldError] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    from domain.adoptions import describe_adoption_gate

    code = _adoption_scope_for(request, actor, adoption_id)
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        adoption = rep.get_adoption(session, adoption_id)
        origin = get_innovation(session, code)
        adopter = _adopter(session, adoption)
        page = AdoptionGatePage(
            id=adoption.id, code=origin.code, title=origin.title, adopter=adopter,
            model=adoption.model,
            description=describe_adoption_gate(session, adoption.id, lang),
            errors=errors or [], values=values or {},
        )  # fmt: skip
    return web.render(request, "adoption_gate.html", page, status=400 if errors else 200)


@router.get("/replication/adoptions/{adoption_id}", response_class=HTMLResponse)
def adoption_gate(request: Request, adoption_id: int, actor: web.SignedIn) -> Response:
    return _adoption_gate_page(request, actor, adoption_id)


@router.post("/replication/adoptions/{adoption_id}", response_class=HTMLResponse)
def decide_adoption(
    request: Request, adoption_id: int, actor: web.SignedIn, post: web.Posted
) -> Response:
    """The signed-in reviewer decides the adoption's gate: the rules are checked, a one-time
    proof is issued to them and the waiting adoption run is resumed with it."""
    from kinanti.orchestration.gates import decide_adoption as decide

    code = _adoption_scope_for(request, actor, adoption_id)
    lang = post.lang
    form, errors = parse(AdoptionDecisionForm, post.data, lang)
    if form is None:
        return _adoption_gate_page(request, actor, adoption_id, errors, dict(post.data))
    engine = web.engine_of(request)
    decision = GateDecisionKind(form.decision)
    try:
        receipt = decide(engine, adoption_id, decision, decider=actor.email, reason=form.reason,
                         channel="portal")  # fmt: skip
        refusal = receipt.refusal
    except KinantiError as exc:
        refusal = exc.message(lang)
    audit.record(
        engine, audit.DECISION if refusal is None else audit.DECISION_REFUSED,
        actor=actor.email, client=web.client_of(request), target=f"adoption/{adoption_id}",
        decision=decision.value, why=refusal,
    )  # fmt: skip
    if refusal is not None:
        message = t("err.decision_refused", lang, why=refusal)
        return _adoption_gate_page(request, actor, adoption_id,
                                   [FieldError("decision", message)], dict(post.data))  # fmt: skip
    return RedirectResponse(f"/replication/{code}?done={decision.value}", status_code=303)

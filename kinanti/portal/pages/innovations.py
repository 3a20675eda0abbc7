"""Unit officers' pages: my unit's innovations, a new proposal, revise and resubmit,
indicator evidence, my unit's compliance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import compliance, lifecycle
from domain.access import Action, Actor, can, innovation_scope, unit_scope
from domain.enums import GateStatus, Stage
from domain.errors import KinantiError
from domain.evidence import claim_indicator, list_claims, verify_claim
from domain.iid.catalogue import catalogue_for_year
from domain.lifecycle import STAGE_ORDER
from domain.models import GateRequest, Innovation, Unit
from domain.queries import get_innovation, proposal_problems_of
from domain.submission import resubmit, submit_innovation
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.portal import web
from kinanti.portal.delivery import hand_off
from kinanti.portal.forms import (
    EvidenceForm,
    FieldError,
    ProposalForm,
    ResubmitForm,
    VerifyForm,
    errors_of,
    parse,
)
from kinanti.portal.pages.common import NO_UNIT, UnitOption, unit_options, units_for
from kinanti.portal.texts import t
from kinanti.portal.uploads import file_or_link, received, uploaded
from kinanti.views import InnovationDetail, innovation_detail
from notifications.render import Labels

router = APIRouter()


# ---------------------------------------------------------------- what is needed next


class NextStep(BaseModel):
    """What the unit must do next (or that it waits for Brida)."""

    kind: str  # ended | revise | gate | work
    text: str
    due: dt.datetime | None = None


def next_step(
    innovation: Innovation,
    gate: GateRequest | None,
    labels: Labels,
    reason: str | None = None,
) -> NextStep:
    lang = labels.language
    if innovation.outcome is not None:
        return NextStep(kind="ended", text=t(f"next.ended.{innovation.outcome.value}", lang))
    if innovation.revision_requested:
        return NextStep(kind="revise", text=t("next.revise", lang, reason=reason or "-"))
    if gate is not None and gate.status is GateStatus.OPEN:
        return NextStep(
            kind="gate",
            text=t("next.gate", lang, stage=labels.stage(innovation.stage)),
            due=gate.due_at,
        )
    action, timing = labels.guidance(innovation.stage)
    return NextStep(kind="work", text=f"{action} ({timing})")


def owned_unit_ids(session: Session, actor: Actor) -> list[int] | None:
    """Units whose innovations ``actor`` sees (``None``: all of them, for Brida)."""
    if can(actor, Action.VIEW_CITY) or can(actor, Action.REVIEW_GATES):
        return None
    if actor.unit_id is None:
        return []
    children = session.scalars(select(Unit.id).where(Unit.parent_id == actor.unit_id))
    return [actor.unit_id, *children]


# ---------------------------------------------------------------- list


class InnovationItem(BaseModel):
    code: str
    title: str
    unit: str
    year: int
    stage: Stage
    next: NextStep


class InnovationList(web.Listing[InnovationItem]):
    can_propose: bool


@router.get("/innovations", response_class=HTMLResponse)
def list_page(request: Request, actor: web.SignedIn, page: str = "1") -> Response:
    paging = web.paging(request, page)
    with unit_of_work(web.engine_of(request)) as session:
        units = owned_unit_ids(session, actor)
        stmt = select(Innovation, Unit.code).join(Unit, Unit.id == Innovation.unit_id)
        count = select(func.count(Innovation.id))
        if units is not None:
            stmt = stmt.where(Innovation.unit_id.in_(units))
            count = count.where(Innovation.unit_id.in_(units))
        total = session.scalar(count) or 0
        rows = session.execute(
            paging.window(stmt.order_by(Innovation.updated_at.desc(), Innovation.id.desc()))
        ).all()
        gates = _open_gates(session, [i.id for i, _ in rows])
        items = [
            InnovationItem(
                code=i.code,
                title=i.title,
                unit=code,
                year=i.year,
                stage=i.stage,
                next=next_step(i, gates.get(i.id), web.labels_of(request)),
            )
            for i, code in rows
        ]
        can_propose = actor.unit_id is not None and can(
            actor, Action.PROPOSE, unit_scope(session, actor.unit_id)
        )
    page_ = InnovationList(items=items, can_propose=can_propose, **paging.fields(total))
    return web.render(request, "innovations.html", page_)


def _open_gates(session: Session, innovation_ids: list[int]) -> dict[int, GateRequest]:
    if not innovation_ids:
        return {}
    return {
        g.innovation_id: g
        for g in session.scalars(
            select(GateRequest).where(
                GateRequest.innovation_id.in_(innovation_ids),
                GateRequest.status == GateStatus.OPEN,
            )
        )
    }


# ---------------------------------------------------------------- one innovation


class TimelineStep(BaseModel):
    stage: Stage
    state: str  # done | current | todo
    entered: dt.datetime | None = None


class InnovationPage(BaseModel):
    detail: InnovationDetail
    timeline: list[TimelineStep]
    next: NextStep
    revise_reason: str | None
    claims: list[dict[str, Any]]
    can_edit: bool
    can_claim: bool
    can_verify: bool
    can_decide: bool
    problems: list[str]


def _latest_revise_reason(detail: InnovationDetail) -> str | None:
    revised = [g for g in detail.gates if g.status == GateStatus.REVISE.value]
    return revised[-1].reason if revised else None


def _timeline(detail: InnovationDetail) -> list[TimelineStep]:
    entered: dict[str, dt.datetime] = {}
    for h in detail.history:
        entered.setdefault(h.to_stage, h.occurred_at)
    current = STAGE_ORDER.index(Stage(detail.stage))
    return [
        TimelineStep(
            stage=stage,
            state="done" if i < current else "current" if i == current else "todo",
            entered=entered.get(stage.value),
        )
        for i, stage in enumerate(STAGE_ORDER)
    ]


def _innovation_for(
    request: Request, session: Session, actor: Actor, code: str, action: Action
) -> Innovation:
    innovation = get_innovation(session, code)
    web.require(request, actor, action, innovation_scope(session, innovation), innovation.code)
    return innovation


@router.get("/innovations/new", response_class=HTMLResponse)
def new_page(request: Request, actor: web.SignedIn) -> Response:
    return _proposal_form(request, actor, {}, [])


@router.get("/innovations/{code}", response_class=HTMLResponse)
def innovation_page(request: Request, code: str, actor: web.SignedIn) -> Response:
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        innovation = _innovation_for(request, session, actor, code, Action.VIEW_INNOVATION)
        scope = innovation_scope(session, innovation)
        detail = innovation_detail(session, innovation.code)
        gate = _open_gates(session, [innovation.id]).get(innovation.id)
        reason = _latest_revise_reason(detail)
        claims = [v.__dict__ for v in list_claims(session, innovation.code, lang=lang.value)]
        from domain.access import gate_scope

        page = InnovationPage(
            detail=detail,
            timeline=_timeline(detail),
            next=next_step(innovation, gate, web.labels_of(request), reason),
            revise_reason=reason if innovation.revision_requested else None,
            claims=claims,
            can_edit=can(actor, Action.EDIT_INNOVATION, scope),
            can_claim=can(actor, Action.CLAIM_EVIDENCE, scope),
            can_verify=can(actor, Action.VERIFY_EVIDENCE, scope),
            can_decide=gate is not None
            and can(actor, Action.DECIDE_GATE, gate_scope(session, innovation)),
            problems=list(proposal_problems_of(innovation, lang)),
        )
    return web.render(request, "innovation.html", page)


# ---------------------------------------------------------------- new proposal


class ProposalPage(BaseModel):
    values: dict[str, str]
    errors: list[FieldError]
    units: list[UnitOption]
    design_words: int
    action: str
    revise_reason: str | None = None
    locked: bool = False  # code and unit are fixed (a revision)


class CheckPage(BaseModel):
    form: ProposalForm
    fields: dict[str, str]
    unit_name: str
    problems: list[str]


def _unit_choices(session: Session, actor: Actor) -> list[UnitOption]:
    units = owned_unit_ids(session, actor)
    if units is not None:
        return unit_options(session, set(units).__contains__)
    return unit_options(session) if can(actor, Action.MANAGE_REGISTRY) else []


def _proposal_form(
    request: Request, actor: Actor, values: dict[str, str], errors: list[FieldError]
) -> Response:
    units = units_for(request, actor, Action.PROPOSE, "new proposal", _unit_choices)
    defaults = {"year": str(dt.date.today().year), "unit": units[0].code if units else ""}
    page = ProposalPage(
        values={**defaults, **values},
        errors=errors,
        units=units,
        design_words=len(values.get("design", "").split()),
        action="/innovations/new",
    )
    return web.render(request, "proposal.html", page, status=400 if errors else 200)


@dataclass
class CheckedProposal:
    """A new proposal validated against the form, the domain's schema and the unit."""

    data: dict[str, str]
    form: ProposalForm | None = None
    unit: Unit | None = None
    errors: list[FieldError] = field(default_factory=list)


def _check_proposal(
    request: Request, session: Session, actor: Actor, data: dict[str, Any]
) -> CheckedProposal:
    """Parse and check a new proposal (nothing is written); refuse another unit's."""
    lang = web.language_of(request)
    checked = CheckedProposal(data)
    checked.form, checked.errors = parse(ProposalForm, checked.data, lang)
    if checked.form is None:
        return checked
    code = checked.form.code.upper()
    checked.unit = session.scalar(select(Unit).where(Unit.code == checked.form.unit.upper()))
    if checked.unit is None:
        checked.errors = [FieldError("unit", t("err.choose", lang, label=t("field.unit", lang)))]
        return checked
    web.require(request, actor, Action.PROPOSE, unit_scope(session, checked.unit.id), code)
    try:
        checked.form.to_innovation()
    except ValidationError as exc:  # the domain's own schema (e.g. the code's characters)
        checked.errors = errors_of(exc, lang)
        return checked
    if session.scalar(select(Innovation.id).where(Innovation.code == code)):
        checked.errors = [FieldError("code", t("err.code_taken", lang))]
    return checked


@router.post("/innovations/new", response_class=HTMLResponse)
def check_answers(request: Request, actor: web.SignedIn, post: web.Posted) -> Response:
    """The answers, checked, on one page before submitting (GOV.UK "check your answers")."""
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        checked = _check_proposal(request, session, actor, dict(post.data))
    form, unit = checked.form, checked.unit
    if checked.errors or form is None or unit is None:
        return _proposal_form(request, actor, checked.data, checked.errors)
    fields = form.to_innovation().model_dump(include=_PROBLEM_FIELDS)
    page = CheckPage(
        form=form,
        fields=form.as_fields(),
        unit_name=unit.name,
        problems=list(lifecycle.proposal_problems(language=lang, **fields)),
    )
    return web.render(request, "check_answers.html", page)


_PROBLEM_FIELDS = {"title", "design", "goals", "benefits", "budget", "urusan_main", "tematik"}


@router.post("/innovations/new/edit", response_class=HTMLResponse)
def change_answers(request: Request, actor: web.SignedIn, post: web.Posted) -> Response:
    """Back from "check your answers" to the form, with the answers kept."""
    return _proposal_form(request, actor, dict(post.data), [])


@router.post("/innovations/new/confirm", response_class=HTMLResponse)
def submit_proposal(request: Request, actor: web.SignedIn, post: web.Posted) -> Response:
    """Submit the checked proposal: the domain's submission, in one transaction."""
    with unit_of_work(web.engine_of(request)) as session:
        checked = _check_proposal(request, session, actor, dict(post.data))
        if checked.errors or checked.form is None:
            return _proposal_form(request, actor, checked.data, checked.errors)
        innovation, _created, result = submit_innovation(
            session, checked.form.to_innovation(), actor=actor.email
        )
        code, committed = innovation.code, result.committed(session)
    hand_off(request, committed)
    return RedirectResponse(f"/innovations/{code}?submitted=1", status_code=303)


# ---------------------------------------------------------------- revise and resubmit


def _values_of(detail: InnovationDetail) -> dict[str, str]:
    raw = detail.model_dump()
    values = {
        k: str(raw[k])
        for k in (
            "code", "title", "unit", "year", "initiator", "initiator_name", "jenis", "bentuk",
            "urusan_main", "tematik", "trial_start", "implementation_start", "design", "goals",
            "benefits", "results", "budget",
        )
        if raw.get(k) is not None
    }  # fmt: skip
    values["urusan_other"] = ", ".join(detail.urusan_other)
    if detail.consultation_requested:
        values["consultation_requested"] = "on"
    return values


def _revise_page(
    request: Request, code: str, values: dict[str, str] | None, errors: list[FieldError]
) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        detail = innovation_detail(session, code)
    values = values if values is not None else _values_of(detail)
    values.update(code=detail.code, unit=detail.unit)
    page = ProposalPage(
        values=values,
        errors=errors,
        units=[UnitOption(code=detail.unit, name=detail.unit_name)],
        design_words=len(values.get("design", "").split()),
        action=f"/innovations/{detail.code}/revise",
        revise_reason=_latest_revise_reason(detail),
        locked=True,
    )
    return web.render(request, "proposal.html", page, status=400 if errors else 200)


@router.get("/innovations/{code}/revise", response_class=HTMLResponse)
def revise_page(request: Request, code: str, actor: web.SignedIn) -> Response:
    with unit_of_work(web.engine_of(request)) as session:
        innovation = _innovation_for(request, session, actor, code, Action.EDIT_INNOVATION)
        code = innovation.code
    return _revise_page(request, code, None, [])


@router.post("/innovations/{code}/revise", response_class=HTMLResponse)
def revise(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
    data, lang = dict(post.data), post.lang
    with unit_of_work(web.engine_of(request)) as session:
        innovation = _innovation_for(request, session, actor, code, Action.EDIT_INNOVATION)
        unit = session.get_one(Unit, innovation.unit_id)
        code = innovation.code
    data.update(code=code, unit=unit.code)
    form, errors = parse(ProposalForm, data, lang)
    note, note_errors = parse(ResubmitForm, data, lang)
    if form is None or note is None:
        return _revise_page(request, code, data, errors + note_errors)
    try:
        with unit_of_work(web.engine_of(request)) as session:
            _same, _created, updated = submit_innovation(
                session, form.to_innovation(), actor=actor.email
            )
            innovation = get_innovation(session, code, for_update=True)
            result = resubmit(session, innovation, actor=actor.email, note=note.note)
            result.extend(updated)
            committed = result.committed(session)
    except KinantiError as exc:
        return _revise_page(
            request, code, data, [FieldError("", t("err.refused", lang, why=exc.message(lang)))]
        )
    hand_off(request, committed)
    return RedirectResponse(f"/innovations/{code}?resubmitted=1", status_code=303)


# ---------------------------------------------------------------- evidence


class IndicatorRow(BaseModel):
    code: str
    name: str
    mandatory: bool
    claim: dict[str, Any] | None


class EvidencePage(BaseModel):
    code: str
    title: str
    year: int
    rows: list[IndicatorRow]
    errors: list[FieldError]
    values: dict[str, str]
    can_claim: bool
    can_verify: bool
    max_mb: float
    done: str | None = None


def _evidence_page(
    request: Request,
    actor: Actor,
    code: str,
    errors: list[FieldError],
    values: dict[str, str],
    done: str | None = None,
) -> Response:
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        innovation = _innovation_for(request, session, actor, code, Action.VIEW_INNOVATION)
        scope = innovation_scope(session, innovation)
        claims = {
            v.indicator: v.__dict__ for v in list_claims(session, innovation.code, lang=lang.value)
        }
        catalogue = catalogue_for_year(innovation.year)
        rows = [
            IndicatorRow(
                code=i.code,
                name=i.name.in_lang(lang.value),
                mandatory=i.mandatory,
                claim=claims.get(i.code),
            )
            for i in catalogue.sid
        ]
        page = EvidencePage(
            code=innovation.code,
            title=innovation.title,
            year=innovation.year,
            rows=rows,
            errors=errors,
            values=values,
            can_claim=can(actor, Action.CLAIM_EVIDENCE, scope),
            can_verify=can(actor, Action.VERIFY_EVIDENCE, scope),
            max_mb=web.megabytes(web.settings_of(request).evidence_max_bytes),
            done=done,
        )
    return web.render(request, "evidence.html", page, status=400 if errors else 200)


@router.get("/innovations/{code}/evidence", response_class=HTMLResponse)
def evidence_page(
    request: Request, code: str, actor: web.SignedIn, done: str | None = None
) -> Response:
    return _evidence_page(request, actor, code, [], {}, done)


def _checked_code(request: Request, actor: Actor, code: str, action: Action) -> str:
    """The innovation's code once ``actor`` may do ``action`` on it (refused otherwise)."""
    with unit_of_work(web.engine_of(request)) as session:
        return _innovation_for(request, session, actor, code, action).code


@dataclass(frozen=True)
class EvidenceChange:
    """One evidence change and where its refusal is shown."""

    apply: Callable[[Session], object]
    event: str
    target: str
    field: str
    message: str  # texts key taking ``why``
    detail: dict[str, Any]


def _change_evidence(
    request: Request, actor: Actor, code: str, post: web.Post, change: EvidenceChange
) -> Response:
    """Apply the change and its audit row in one transaction, or show why it was refused."""
    try:
        with unit_of_work(web.engine_of(request)) as session:
            change.apply(session)
            audit.add(session, change.event, actor=actor.email, client=web.client_of(request),
                      target=change.target, **change.detail)  # fmt: skip
    except KinantiError as exc:
        message = t(change.message, post.lang, why=exc.message(post.lang).splitlines()[0])
        errors = [FieldError(change.field, message)]
        return _evidence_page(request, actor, code, errors, dict(post.data))
    done = change.target.rsplit("/", 1)[-1]
    return RedirectResponse(f"/innovations/{code}/evidence?done={done}", status_code=303)


@router.post("/innovations/{code}/evidence", response_class=HTMLResponse)
def claim(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
    """Claim a level with a file (through the evidence store's checks) or a link."""
    upload = uploaded(post, "file")
    code = _checked_code(request, actor, code, Action.CLAIM_EVIDENCE)
    form, errors = parse(EvidenceForm, post.data, post.lang)
    if form is not None:
        errors = file_or_link(upload, form.link, "file", post.lang)
    if form is None or errors:
        return _evidence_page(request, actor, code, errors, dict(post.data))
    with received(request, upload) as (store, path):
        change = EvidenceChange(
            apply=lambda session: claim_indicator(
                session, store, code=code, indicator=form.indicator, level=form.level,
                actor=actor.email, file=path, link=form.link,
            ),
            event=audit.EVIDENCE_CLAIMED,
            target=f"{code}/{form.indicator}",
            field="file" if upload else "link",
            message="err.evidence_refused",
            detail={"level": form.level},
        )  # fmt: skip
        return _change_evidence(request, actor, code, post, change)


@router.post("/innovations/{code}/evidence/{indicator}/verify", response_class=HTMLResponse)
def verify(
    request: Request, code: str, indicator: str, actor: web.SignedIn, post: web.Posted
) -> Response:
    """Accept or reject a claim with a note (the domain's verification)."""
    code = _checked_code(request, actor, code, Action.VERIFY_EVIDENCE)
    form, errors = parse(VerifyForm, post.data, post.lang)
    if form is None:
        return _evidence_page(request, actor, code, errors, dict(post.data))
    change = EvidenceChange(
        apply=lambda session: verify_claim(
            session, code=code, indicator=indicator, decision=form.decision,
            actor=actor.email, reason=form.note,
        ),
        event=audit.EVIDENCE_VERIFIED,
        target=f"{code}/{indicator}",
        field="note",
        message="err.refused",
        detail={"decision": form.decision},
    )  # fmt: skip
    return _change_evidence(request, actor, code, post, change)


# ---------------------------------------------------------------- my unit's compliance


class CompliancePage(web.ListPage):
    year: int
    rows: list[dict[str, Any]]


@router.get("/compliance", response_class=HTMLResponse)
def my_compliance(request: Request, actor: web.SignedIn) -> Response:
    """My unit's (and its UPTDs') yearly obligation and what would make it compliant."""
    with unit_of_work(web.engine_of(request)) as session:
        units = owned_unit_ids(session, actor)
        scope = unit_scope(session, actor.unit_id) if actor.unit_id else NO_UNIT
        web.require(request, actor, Action.VIEW_UNIT, scope, "compliance")
        year, rows = yearly_compliance(request, session)
        codes = set(session.scalars(select(Unit.code).where(Unit.id.in_(units or []))))
    mine = [r.as_dict() for r in rows if units is None or r.unit_code in codes]
    page = CompliancePage(year=year, rows=mine, total=len(mine))
    return web.render(request, "compliance.html", page)


def yearly_compliance(
    request: Request, session: Session
) -> tuple[int, list[compliance.UnitCompliance]]:
    """Every active unit's status this year, by the domain's rules and the settings."""
    settings = web.settings_of(request)
    today = dt.datetime.now(settings.zone).date()
    rows = compliance.evaluate(
        session,
        year=today.year,
        today=today,
        rules=settings.compliance_rules(),
    )
    return today.year, rows

"""Reviewers' pages: the inbox of open gates, the gate page and its decision."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.access import Action, Actor, gate_scope
from domain.enums import GateDecisionKind, GateStatus, Language, Role, Stage
from domain.errors import KinantiError
from domain.evidence import list_claims
from domain.lifecycle import GATE_CHECKLIST, GATE_DECIDERS
from domain.models import Evaluation, GateRequest, Innovation, Unit
from domain.queries import get_innovation, open_gate_of, proposal_problems_of
from kinanti.db import unit_of_work
from kinanti.portal import audit, web
from kinanti.portal.forms import SCORE_FIELDS, DecisionForm, FieldError, parse
from kinanti.portal.texts import t

router = APIRouter()


class InboxItem(BaseModel):
    code: str
    title: str
    unit: str
    stage: Stage
    round: int
    opened_at: dt.datetime
    due_at: dt.datetime | None
    escalate_at: dt.datetime
    overdue: bool


class InboxPage(web.ListPage):
    items: list[InboxItem]


def _stages_for(actor: Actor) -> list[Stage]:
    return [s for s, roles in GATE_DECIDERS.items() if actor.roles & roles]


def open_gates_for(actor: Actor) -> Any:
    """The open gates ``actor`` may decide: their roles' stages, never their own unit's."""
    stmt = (
        select(GateRequest, Innovation.code, Innovation.title, Unit.code)
        .join(Innovation, Innovation.id == GateRequest.innovation_id)
        .join(Unit, Unit.id == Innovation.unit_id)
        .where(
            GateRequest.status == GateStatus.OPEN,
            GateRequest.stage == Innovation.stage,
            GateRequest.stage.in_(_stages_for(actor)),
        )
    )
    if actor.unit_id is not None:
        stmt = stmt.where(
            Unit.id != actor.unit_id,
            or_(Unit.parent_id.is_(None), Unit.parent_id != actor.unit_id),
        )
    return stmt


@router.get("/gates", response_class=HTMLResponse)
def inbox(request: Request, page: str = "1", actor: Actor = Depends(web.signed_in)) -> Response:
    web.require(request, actor, Action.REVIEW_GATES, _region(), "inbox")
    settings = web.settings_of(request)
    paging = web.paging(request, page)
    size, number = paging.size, paging.number
    escalate = dt.timedelta(days=settings.escalate_after_days)
    now = dt.datetime.now(dt.UTC)
    stmt = open_gates_for(actor)
    with unit_of_work(web.engine_of(request)) as session:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = session.execute(
            stmt.order_by(GateRequest.opened_at, GateRequest.id).limit(size).offset(paging.offset)
        ).all()
    items = [
        InboxItem(
            code=code,
            title=title,
            unit=unit,
            stage=g.stage,
            round=g.round,
            opened_at=g.opened_at,
            due_at=g.due_at,
            escalate_at=g.opened_at + escalate,
            overdue=bool(g.due_at and g.due_at < now) or g.opened_at + escalate < now,
        )
        for g, code, title, unit in rows
    ]
    pages = paging.pages(total)
    return web.render(
        request, "inbox.html", InboxPage(items=items, page=number, pages=pages, total=total)
    )


def _region() -> Any:
    from domain.access import REGION

    return REGION


class GatePage(BaseModel):
    code: str
    title: str
    unit: str
    unit_name: str
    stage: Stage
    round: int
    opened_at: dt.datetime
    due_at: dt.datetime | None
    profile: dict[str, Any]
    checklist: list[str]
    problems: list[str]
    claims: list[dict[str, Any]]
    scorecards: list[dict[str, Any]]
    needs_scorecard: bool
    score_fields: list[str]
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    refusal: str | None = None


def _gate_page(
    request: Request,
    actor: Actor,
    code: str,
    errors: list[FieldError] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        innovation = get_innovation(session, code)
        web.require(
            request, actor, Action.DECIDE_GATE, gate_scope(session, innovation), innovation.code
        )
        gate = open_gate_of(session, innovation)
        page = _gate_context(session, innovation, gate, lang)
    page.errors, page.values = errors or [], values or {}
    return web.render(request, "gate.html", page, status=status)


def _gate_context(
    session: Session, innovation: Innovation, gate: GateRequest, lang: Language
) -> GatePage:
    unit = session.get_one(Unit, innovation.unit_id)
    scorecards = [
        {"evaluator": e.evaluator, "scores": e.scores, "total": str(e.total)}
        for e in session.scalars(
            select(Evaluation)
            .where(Evaluation.innovation_id == innovation.id)
            .order_by(Evaluation.id)
        )
    ]
    return GatePage(
        code=innovation.code,
        title=innovation.title,
        unit=unit.code,
        unit_name=unit.name,
        stage=gate.stage,
        round=gate.round,
        opened_at=gate.opened_at,
        due_at=gate.due_at,
        profile={
            "jenis": innovation.jenis.value,
            "bentuk": innovation.bentuk.value,
            "urusan_main": innovation.urusan_main,
            "tematik": innovation.tematik or "-",
            "budget": str(innovation.budget) if innovation.budget is not None else "-",
            "goals": innovation.goals or "-",
            "benefits": innovation.benefits or "-",
            "design_words": str(len((innovation.design or "").split())),
            "adopting_act": innovation.adopting_act.value if innovation.adopting_act else "-",
        },
        checklist=list(GATE_CHECKLIST[gate.stage][lang]),
        problems=list(proposal_problems_of(innovation, lang))
        if gate.stage is Stage.PLANNING
        else [],
        claims=[v.__dict__ for v in list_claims(session, innovation.code, lang=lang.value)],
        scorecards=scorecards,
        needs_scorecard=gate.stage is Stage.DEVELOPMENT,
        score_fields=list(SCORE_FIELDS),
    )


@router.get("/gates/{code}", response_class=HTMLResponse)
def gate_page(request: Request, code: str, actor: Actor = Depends(web.signed_in)) -> Response:
    return _gate_page(request, actor, code)


@router.post("/gates/{code}", response_class=HTMLResponse)
def decide_gate(
    request: Request,
    code: str,
    actor: Actor = Depends(web.signed_in),
    post: web.Post = Depends(web.posted),
) -> Response:
    """The signed-in reviewer's decision: approve, revise or reject with a reason."""
    code = _gate_code(request, actor, code)
    data, lang = dict(post.data), post.lang
    form, errors = parse(DecisionForm, data, lang)
    scorecard = None
    if form is not None:
        try:
            scorecard = form.scorecard()
        except Exception:
            errors = [FieldError("renewal", t("err.scorecard", lang))]
    if form is None or errors:
        return _gate_page(request, actor, code, errors, data, status=400)
    return _decide(request, actor, code, form.decision, form.reason, scorecard, data)


def _gate_code(request: Request, actor: Actor, code: str) -> str:
    """The innovation's code once ``actor`` may decide its gate (refused otherwise)."""
    with unit_of_work(web.engine_of(request)) as session:
        innovation = get_innovation(session, code)
        scope = gate_scope(session, innovation)
        web.require(request, actor, Action.DECIDE_GATE, scope, innovation.code)
        return innovation.code


def _decide(
    request: Request,
    actor: Actor,
    code: str,
    decision: GateDecisionKind,
    reason: str,
    scorecard: Any,
    data: dict[str, str],
) -> Response:
    """The signed-in reviewer decides: the rules are checked and the waiting run resumed."""
    from kinanti.orchestration.gates import decide

    lang = web.language_of(request)
    engine = web.engine_of(request)
    try:
        receipt = decide(
            engine, code, decision, decider=actor.email, reason=reason, scorecard=scorecard,
            channel="portal",
        )  # fmt: skip
    except KinantiError as exc:
        audit.record(
            engine, audit.DECISION_REFUSED, actor=actor.email, client=web.client_of(request),
            target=code, decision=decision.value, why=str(exc),
        )  # fmt: skip
        message = t("err.decision_refused", lang, why=str(exc))
        return _gate_page(request, actor, code, [FieldError("decision", message)], data, 400)
    audit.record(
        engine, audit.DECISION if receipt.refusal is None else audit.DECISION_REFUSED,
        actor=actor.email, client=web.client_of(request), target=code, decision=decision.value,
        via=receipt.via, recorded=receipt.recorded, why=receipt.refusal,
    )  # fmt: skip
    if receipt.refusal:
        message = t("err.decision_refused", lang, why=receipt.refusal)
        return _gate_page(request, actor, code, [FieldError("decision", message)], data, 400)
    return RedirectResponse(f"/innovations/{code}?decided={decision.value}", status_code=303)


def reviewers_roles() -> frozenset[Role]:
    return frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR})

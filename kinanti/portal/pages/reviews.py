"""Reviewers' pages: the inbox of open gates, the gate page and its decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.access import Action, Actor, GateScope, can, gate_scope
from domain.assignment import (
    By,
    claim_gate,
    eligible_people,
    hand_back_gate,
    owner_unit_ids,
    reassign_gate,
)
from domain.changes import ChangeResult
from domain.enums import GateDecisionKind, GateStatus, Language, Role, Stage
from domain.errors import KinantiError, NotAuthorizedError
from domain.evidence import list_claims
from domain.lifecycle import GATE_CHECKLIST, GATE_DECIDERS
from domain.models import (
    Evaluation,
    GateAssignmentRecord,
    GateRequest,
    Innovation,
    Person,
    Unit,
)
from domain.queries import get_innovation, open_gate_of, proposal_problems_of
from kinanti import audit
from kinanti.db import unit_of_work
from kinanti.i18n import rupiah
from kinanti.portal import web
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
    assignee: str | None = None
    mine: bool = False
    can_claim: bool = False


class InboxPage(web.Listing[InboxItem]):
    done: str | None = None


def _stages_for(actor: Actor) -> list[Stage]:
    """The stages whose gates ``actor`` may decide, or (an operator) reassign: all."""
    if can(actor, Action.ASSIGN_GATE):
        return list(GATE_DECIDERS)
    return [s for s, roles in GATE_DECIDERS.items() if actor.roles & roles]


def open_gates_for(actor: Actor) -> Any:
    """The open gates in ``actor``'s queue: their roles' stages, never their own unit's;
    with each gate its innovation, unit and assignee."""
    stmt = (
        select(GateRequest, Innovation.code, Innovation.title, Unit.code, Person)
        .join(Innovation, Innovation.id == GateRequest.innovation_id)
        .join(Unit, Unit.id == Innovation.unit_id)
        .outerjoin(Person, Person.id == GateRequest.assignee_id)
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


_Inbox = Annotated[Actor, Depends(web.allowed(Action.REVIEW_GATES, "inbox"))]


@router.get("/gates", response_class=HTMLResponse)
def inbox(request: Request, actor: _Inbox, page: str = "1", done: str | None = None) -> Response:
    settings = web.settings_of(request)
    paging = web.paging(request, page)
    escalate = dt.timedelta(days=settings.escalate_after_days)
    now = dt.datetime.now(dt.UTC)
    stmt = open_gates_for(actor)
    with unit_of_work(web.engine_of(request)) as session:
        total, rows = paging.rows(session, stmt, GateRequest.opened_at, GateRequest.id)
        unit_ids = {
            iid: (uid, parent)
            for iid, uid, parent in session.execute(
                select(Innovation.id, Unit.id, Unit.parent_id)
                .join(Unit, Unit.id == Innovation.unit_id)
                .where(Innovation.id.in_([g.innovation_id for g, *_ in rows]))
            ).tuples()
        }
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
            assignee=assignee.name if assignee is not None else None,
            mine=g.assignee_id == actor.person_id,
            can_claim=g.assignee_id is None and can(actor, Action.CLAIM_GATE, _scope(g, unit_ids)),
        )
        for g, code, title, unit, assignee in rows
    ]
    inbox_page = InboxPage(items=items, done=_done(done), **paging.fields(total))
    return web.render(request, "inbox.html", inbox_page)


def _scope(gate: GateRequest, unit_ids: dict[int, tuple[int, int | None]]) -> GateScope:
    unit_id, parent_id = unit_ids[gate.innovation_id]
    return GateScope(unit_id, parent_id, stage=gate.stage, assignee_id=gate.assignee_id)


def _done(value: str | None) -> str | None:
    """A finished assignment change to confirm (only the known ones)."""
    return value if value in _DONE else None


_DONE = ("claimed", "handed_back", "reassigned")


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
    assignment: AssignmentPanel | None = None
    can_decide: bool = True
    done: str | None = None


class AssignmentPanel(BaseModel):
    """Who answers for the gate, what the signed-in person may change, its history."""

    assignee: str | None
    mine: bool
    can_claim: bool
    can_hand_back: bool
    can_assign: bool
    eligible: list[tuple[str, str]]
    history: list[dict[str, Any]]


def _gate_page(
    request: Request,
    actor: Actor,
    code: str,
    errors: list[FieldError] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    lang = web.language_of(request)
    with unit_of_work(web.engine_of(request)) as session:
        innovation = get_innovation(session, code)
        gate = open_gate_of(session, innovation)
        scope = gate_scope(session, innovation, gate)
        can_decide = can(actor, Action.DECIDE_GATE, scope)
        if not can_decide and not can(actor, Action.ASSIGN_GATE, scope):
            web.require(request, actor, Action.DECIDE_GATE, scope, innovation.code)
        page = _gate_context(session, innovation, gate, lang)
        page.assignment = _assignment_panel(session, actor, innovation, gate, scope)
    page.errors, page.values = errors or [], values or {}
    page.can_decide, page.done = can_decide, _done(done)
    return web.render(request, "gate.html", page, status=status)


def _assignment_panel(
    session: Session, actor: Actor, innovation: Innovation, gate: GateRequest, scope: GateScope
) -> AssignmentPanel:
    assignee = session.get(Person, gate.assignee_id) if gate.assignee_id else None
    may_assign = can(actor, Action.ASSIGN_GATE, scope)
    unit = session.get_one(Unit, innovation.unit_id)
    eligible = (
        [(p.email, p.name) for p in eligible_people(session, gate.stage, owner_unit_ids(unit))]
        if may_assign
        else []
    )
    names = {p.id: p.name for p in session.scalars(select(Person).join(
        GateAssignmentRecord, GateAssignmentRecord.assignee_id == Person.id
    ).where(GateAssignmentRecord.gate_id == gate.id))}  # fmt: skip
    history = [
        {
            "kind": r.kind.value,
            "assignee": names.get(r.assignee_id) if r.assignee_id else None,
            "actor": r.actor,
            "at": r.occurred_at,
            "reason": r.reason,
        }
        for r in session.scalars(
            select(GateAssignmentRecord)
            .where(GateAssignmentRecord.gate_id == gate.id)
            .order_by(GateAssignmentRecord.id)
        )
    ]
    claimable = can(actor, Action.CLAIM_GATE, scope)
    return AssignmentPanel(
        assignee=f"{assignee.name} ({assignee.email})" if assignee else None,
        mine=assignee is not None and assignee.id == actor.person_id,
        can_claim=claimable and assignee is None,
        can_hand_back=claimable and assignee is not None and assignee.id == actor.person_id,
        can_assign=may_assign,
        eligible=eligible,
        history=history,
    )


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
            "budget": rupiah(innovation.budget, lang),
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
def gate_page(
    request: Request, code: str, actor: web.SignedIn, done: str | None = None
) -> Response:
    return _gate_page(request, actor, code, done=done)


# ---------------------------------------------------------------- assignment


@router.post("/gates/{code}/claim", response_class=HTMLResponse)
def claim(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
    """The signed-in reviewer takes an unassigned gate."""
    return _assignment(request, actor, code, post, "claimed",
                       lambda s, by: claim_gate(s, code, by))  # fmt: skip


@router.post("/gates/{code}/hand-back", response_class=HTMLResponse)
def hand_back(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
    """The signed-in assignee gives the gate back to the role's queue."""
    note = _note(post)
    return _assignment(request, actor, code, post, "handed_back",
                       lambda s, by: hand_back_gate(s, code, by, note))  # fmt: skip


@router.post("/gates/{code}/assign", response_class=HTMLResponse)
def assign(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
    """A Brida operator reassigns the gate to an eligible reviewer."""
    to, note = str(post.data.get("to") or ""), _note(post)
    if not to.strip():
        message = t("err.choose", post.lang, label=t("gate.assign_to", post.lang))
        return _gate_page(request, actor, code, [FieldError("to", message)], status=400)
    return _assignment(request, actor, code, post, "reassigned",
                       lambda s, by: reassign_gate(s, code, to, by, note))  # fmt: skip


def _note(post: web.Post) -> str | None:
    value = post.data.get("note")
    return value[:2000] if isinstance(value, str) else None


def _assignment(
    request: Request,
    actor: Actor,
    code: str,
    post: web.Post,
    done: str,
    change: Callable[[Session, By], ChangeResult],
) -> Response:
    """Apply an assignment change and its audit row in one transaction, then publish; a
    refusal is shown on the gate page in the person's language (and audited)."""
    from kinanti.portal.delivery import hand_off

    engine, client = web.engine_of(request), web.client_of(request)
    try:
        with unit_of_work(engine) as session:
            result = change(session, By(actor, channel="portal"))
            audit.add(session, audit.GATE_ASSIGNMENT, actor=actor.email, client=client,
                      target=code, change=done)  # fmt: skip
            committed = result.committed(session)
    except KinantiError as exc:
        audit.record(engine, audit.GATE_ASSIGNMENT_REFUSED, actor=actor.email, client=client,
                     target=code, change=done, code=exc.code)  # fmt: skip
        message = t("err.refused", post.lang, why=exc.message(post.lang))
        status = 403 if isinstance(exc, NotAuthorizedError) else 409
        # the gate page shows why; who may not even see the gate gets the refused page
        return _gate_page(request, actor, code, [FieldError("", message)], status=status)
    hand_off(request, committed)
    back = (
        f"/gates?done={done}" if post.data.get("back") == "inbox" else f"/gates/{code}?done={done}"
    )
    return RedirectResponse(back, status_code=303)


@router.post("/gates/{code}", response_class=HTMLResponse)
def decide_gate(request: Request, code: str, actor: web.SignedIn, post: web.Posted) -> Response:
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
            target=code, decision=decision.value, why=str(exc), code=exc.code,
        )  # fmt: skip
        message = t("err.decision_refused", lang, why=exc.message(lang))
        return _gate_page(request, actor, code, [FieldError("decision", message)], data, 400)
    audit.record(
        engine, audit.DECISION if receipt.refusal is None else audit.DECISION_REFUSED,
        actor=actor.email, client=web.client_of(request), target=code, decision=decision.value,
        via=receipt.via, recorded=receipt.recorded, why=receipt.refusal,
    )  # fmt: skip
    if receipt.refusal:
        message = t("err.decision_refused", lang, why=receipt.refusal_message(lang))
        return _gate_page(request, actor, code, [FieldError("decision", message)], data, 400)
    return RedirectResponse(f"/innovations/{code}?decided={decision.value}", status_code=303)


def reviewers_roles() -> frozenset[Role]:
    return frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR})

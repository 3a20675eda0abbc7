"""Who may do what: one function, ``can(actor, action, scope)``, for the portal and the CLI.

Pure rules, no I/O: the caller reads the signed-in (or ``--as``) person once into an
:class:`Actor` and the object into a scope. ``require`` raises ``NotAuthorizedError``.

The rules (a person may hold several roles; any role that allows an action allows it):

- ``brida_operator``: sees everything; manages units, people and roles; may act for a unit
  (claim evidence, revise and resubmit) like the unit's own officer; claims the region's SPD
  evidence.
- ``head_of_brida``: sees everything; escalations, the city's figures, final approvals.
- ``reviewer``: sees every innovation (read only), the gates to review and the evidence to
  verify.
- ``unit_officer``: sees and edits only its own unit's innovations; an OPD's officer also
  those of the UPTDs under that OPD (the OPD answers for its UPTDs, as the gate rules
  already treat the parent OPD as an owner). A UPTD's officer sees only its UPTD.
- ``unit_head``: sees its unit's (and its UPTDs') innovations and compliance, read only.
- ``innovator``: sees the consultations it mentors; records its own mentoring visits.
- Replication (issue 10): every signed-in person of a unit or of Brida sees the catalogue
  of offers; a unit's officer (or a Brida operator for any unit) registers a unit's
  interest; a reviewer or the head of Brida decides an adoption's gate, never from a unit on
  either side of it (``AdoptionScope``).

Klinik Kinanti (the desk): Brida's operators and its head book consultations for any unit,
a unit's officer for its own unit. The operators, the head of Brida and the consultation's
mentor manage it (reschedule, cancel, notes, attendance, follow-ups). A follow-up is
completed by its owner, or by whoever manages its consultation or visit. A mentoring visit is
recorded by the innovator who made it (or an operator); Brida sees every visit, the unit its
own, the innovator theirs. Brida's operators triage the public form's requests.

Gate assignment (each open gate has at most one assignee, ``domain.assignment``): whoever may
be a gate's assignee (``domain.lifecycle.GATE_ASSIGNEES``: reviewers; the head of Brida for
the final approval), and is not of the owning unit, may claim it or hand it back; a Brida
operator may reassign any gate. Whether the gate is free or one's own is the change's check.

Deciding a gate is not decided here alone: the gate rules (``domain.lifecycle``: role per
stage, never one's own unit, what approval needs) still apply when the decision is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Language, Role, Stage
from domain.errors import NotAuthorizedError
from domain.lifecycle import GATE_ASSIGNEES, GATE_DECIDERS
from domain.models import (
    Adoption,
    Consultation,
    FollowUp,
    GateRequest,
    Innovation,
    MentoringVisit,
    Person,
    PersonRole,
    Unit,
)

BRIDA_ROLES = frozenset({Role.BRIDA_OPERATOR, Role.HEAD_OF_BRIDA, Role.REVIEWER})
VERIFIER_ROLES = frozenset({Role.BRIDA_OPERATOR, Role.REVIEWER, Role.HEAD_OF_BRIDA})
#: Who decides an adoption (``domain.replication.DECIDER_ROLES``, the same roles).
ADOPTION_DECIDERS = frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA})


class Action(StrEnum):
    """Everything a page or command may be refused."""

    VIEW_INNOVATION = "view_innovation"
    PROPOSE = "propose"  # submit a new proposal for a unit
    EDIT_INNOVATION = "edit_innovation"  # revise the profile, resubmit
    CLAIM_EVIDENCE = "claim_evidence"
    VERIFY_EVIDENCE = "verify_evidence"
    REVIEW_GATES = "review_gates"  # the inbox
    DECIDE_GATE = "decide_gate"
    CLAIM_GATE = "claim_gate"  # take an unassigned gate, or hand one's own back
    ASSIGN_GATE = "assign_gate"  # an operator's reassignment to any eligible reviewer
    VIEW_UNIT = "view_unit"  # a unit's compliance and innovation list
    VIEW_CITY = "view_city"  # the city's IID, every unit's compliance, the report
    VIEW_ESCALATIONS = "view_escalations"
    VIEW_CONSULTATION = "view_consultation"
    MANAGE_REGISTRY = "manage_registry"  # units, people, roles
    BOOK_CONSULTATION = "book_consultation"
    MANAGE_CONSULTATION = "manage_consultation"  # reschedule, cancel, notes, follow-ups
    COMPLETE_FOLLOW_UP = "complete_follow_up"
    RECORD_VISIT = "record_visit"
    VIEW_VISIT = "view_visit"
    TRIAGE_PUBLIC = "triage_public"  # the public form's requests
    VIEW_CATALOGUE = "view_catalogue"  # the replication catalogue and an offer's page
    REGISTER_INTEREST = "register_interest"  # a unit asks to replicate an innovation
    DECIDE_ADOPTION = "decide_adoption"  # Brida's decision at an adoption's gate


@dataclass(frozen=True)
class Actor:
    """The person acting, read once: id, email, unit and roles."""

    person_id: int
    email: str
    name: str
    unit_id: int | None
    roles: frozenset[Role]
    active: bool = True

    def has(self, *roles: Role) -> bool:
        return self.active and bool(self.roles & set(roles))


@dataclass(frozen=True)
class UnitScope:
    """Something owned by a unit (an innovation, a unit's compliance, a new proposal)."""

    unit_id: int
    parent_unit_id: int | None = None

    @property
    def owner_ids(self) -> frozenset[int]:
        return frozenset({self.unit_id} | ({self.parent_unit_id} if self.parent_unit_id else set()))


@dataclass(frozen=True)
class GateScope(UnitScope):
    """An open gate of an innovation owned by a unit, at ``stage``."""

    stage: Stage = Stage.PLANNING
    assignee_id: int | None = None


@dataclass(frozen=True)
class ConsultationScope(UnitScope):
    """A Klinik Kinanti consultation (mentored by ``mentor_id``)."""

    mentor_id: int | None = None


@dataclass(frozen=True)
class VisitScope(UnitScope):
    """A mentoring visit to a unit by ``innovator_id``."""

    innovator_id: int | None = None


@dataclass(frozen=True)
class FollowUpScope(UnitScope):
    """A follow-up owned by ``owner_id``, of a consultation mentored by ``mentor_id`` or a
    visit made by that innovator."""

    owner_id: int | None = None
    mentor_id: int | None = None


@dataclass(frozen=True)
class AdoptionScope(UnitScope):
    """An adoption: the origin's unit (``unit_id``, ``parent_unit_id``) and the adopter's
    unit, when the adopter is a unit of the city."""

    adopter_unit_id: int | None = None
    adopter_parent_id: int | None = None

    @property
    def side_ids(self) -> frozenset[int]:
        adopter = {self.adopter_unit_id, self.adopter_parent_id} - {None}
        return self.owner_ids | frozenset(i for i in adopter if i is not None)


@dataclass(frozen=True)
class RegionScope:
    """The region itself (SPD evidence, the city's figures, the registry)."""


REGION = RegionScope()
Scope = UnitScope | RegionScope


def _own_unit(actor: Actor, scope: UnitScope) -> bool:
    return actor.unit_id is not None and actor.unit_id in scope.owner_ids


def can(actor: Actor, action: Action, scope: Scope = REGION) -> bool:
    """Whether ``actor`` may do ``action`` on ``scope`` (see the module docstring)."""
    if not actor.active:
        return False
    operator = actor.has(Role.BRIDA_OPERATOR)
    brida = actor.has(*BRIDA_ROLES)
    if action in (Action.MANAGE_REGISTRY, Action.ASSIGN_GATE):
        return operator
    if action in (Action.VIEW_CITY, Action.VIEW_ESCALATIONS):
        return actor.has(Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR)
    if action is Action.REVIEW_GATES:
        return actor.has(Role.REVIEWER, Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR)
    if action is Action.VERIFY_EVIDENCE:
        return actor.has(*VERIFIER_ROLES)
    desk = actor.has(Role.BRIDA_OPERATOR, Role.HEAD_OF_BRIDA)
    if action is Action.TRIAGE_PUBLIC:
        return desk
    if action is Action.VIEW_CATALOGUE:
        return brida or actor.unit_id is not None
    if action is Action.DECIDE_ADOPTION:
        sides = scope.side_ids if isinstance(scope, AdoptionScope) else frozenset()
        return actor.has(*ADOPTION_DECIDERS) and actor.unit_id not in sides
    if isinstance(scope, RegionScope):
        # the region's own evidence (SPD) is Brida's operators' to claim
        return action is Action.CLAIM_EVIDENCE and operator
    own = _own_unit(actor, scope)
    if action is Action.DECIDE_GATE:
        stage = scope.stage if isinstance(scope, GateScope) else None
        deciders = GATE_DECIDERS.get(stage, frozenset()) if stage else frozenset()
        return not own and bool(actor.roles & deciders)
    if action is Action.CLAIM_GATE:
        stage = scope.stage if isinstance(scope, GateScope) else None
        assignees = GATE_ASSIGNEES.get(stage, frozenset()) if stage else frozenset()
        return not own and bool(actor.roles & assignees)
    if action in (
        Action.PROPOSE,
        Action.EDIT_INNOVATION,
        Action.CLAIM_EVIDENCE,
        Action.REGISTER_INTEREST,
    ):
        return operator or (own and actor.has(Role.UNIT_OFFICER))
    if action in (Action.VIEW_INNOVATION, Action.VIEW_UNIT):
        return brida or (own and actor.has(Role.UNIT_OFFICER, Role.UNIT_HEAD))
    unit_people = own and actor.has(Role.UNIT_OFFICER, Role.UNIT_HEAD)
    mentor = (
        isinstance(scope, ConsultationScope | FollowUpScope) and scope.mentor_id == actor.person_id
    )
    if action is Action.VIEW_CONSULTATION:
        return brida or mentor or unit_people
    if action is Action.BOOK_CONSULTATION:
        return desk or (own and actor.has(Role.UNIT_OFFICER))
    if action is Action.MANAGE_CONSULTATION:
        return desk or (mentor and actor.has(Role.INNOVATOR))
    if action is Action.COMPLETE_FOLLOW_UP:
        owner = isinstance(scope, FollowUpScope) and scope.owner_id == actor.person_id
        return desk or owner or (mentor and actor.has(Role.INNOVATOR))
    visitor = isinstance(scope, VisitScope) and scope.innovator_id == actor.person_id
    if action is Action.RECORD_VISIT:
        return operator or (visitor and actor.has(Role.INNOVATOR))
    if action is Action.VIEW_VISIT:
        return brida or visitor or unit_people
    return False


def require(actor: Actor, action: Action, scope: Scope = REGION, what: str = "") -> None:
    """Raise ``NotAuthorizedError`` unless ``can(actor, action, scope)``."""
    if not can(actor, action, scope):
        raise NotAuthorizedError(
            code="access.refused",
            email=actor.email,
            action=ACTION_NAMES[action],
            what={Language.EN: f" on {what}", Language.ID: f" pada {what}"} if what else "",
        )


#: What each action is called in a refusal (``access.refused``), per language.
ACTION_NAMES: dict[Action, dict[Language, str]] = {
    action: {Language.ID: id_name, Language.EN: en_name}
    for action, (id_name, en_name) in {
        Action.VIEW_INNOVATION: ("melihat inovasi", "view innovation"),
        Action.PROPOSE: ("mengajukan proposal", "propose"),
        Action.EDIT_INNOVATION: ("mengubah inovasi", "edit innovation"),
        Action.CLAIM_EVIDENCE: ("mengklaim bukti dukung", "claim evidence"),
        Action.VERIFY_EVIDENCE: ("memverifikasi bukti dukung", "verify evidence"),
        Action.REVIEW_GATES: ("meninjau gerbang", "review gates"),
        Action.DECIDE_GATE: ("memutus gerbang", "decide gate"),
        Action.CLAIM_GATE: ("mengambil atau mengembalikan gerbang", "claim or hand back gate"),
        Action.ASSIGN_GATE: ("menugaskan gerbang", "assign gate"),
        Action.VIEW_UNIT: ("melihat unit", "view unit"),
        Action.VIEW_CITY: ("melihat angka kota", "view city"),
        Action.VIEW_ESCALATIONS: ("melihat eskalasi", "view escalations"),
        Action.VIEW_CONSULTATION: ("melihat konsultasi", "view consultation"),
        Action.MANAGE_REGISTRY: ("mengelola registri", "manage registry"),
        Action.BOOK_CONSULTATION: ("memesan konsultasi", "book a consultation"),
        Action.MANAGE_CONSULTATION: ("mengelola konsultasi", "manage consultation"),
        Action.COMPLETE_FOLLOW_UP: ("menyelesaikan tindak lanjut", "complete follow-up"),
        Action.RECORD_VISIT: ("mencatat kunjungan pendampingan", "record mentoring visit"),
        Action.VIEW_VISIT: ("melihat kunjungan pendampingan", "view mentoring visit"),
        Action.TRIAGE_PUBLIC: ("memilah permohonan masyarakat", "triage public requests"),
        Action.VIEW_CATALOGUE: ("melihat katalog replikasi", "view the replication catalogue"),
        Action.REGISTER_INTEREST: ("mendaftarkan minat replikasi", "register replication interest"),
        Action.DECIDE_ADOPTION: ("memutus replikasi", "decide an adoption"),
    }.items()
}


# ---------------------------------------------------------------- reading actors and scopes


def actor_of(session: Session, person: Person) -> Actor:
    """The ``Actor`` of a registered person (one query for the roles)."""
    roles = frozenset(
        session.scalars(select(PersonRole.role).where(PersonRole.person_id == person.id))
    )
    return Actor(person.id, person.email, person.name, person.unit_id, roles, person.active)


def unit_scope(session: Session, unit_id: int) -> UnitScope:
    parent = session.scalar(select(Unit.parent_id).where(Unit.id == unit_id))
    return UnitScope(unit_id, parent)


def innovation_scope(session: Session, innovation: Innovation) -> UnitScope:
    return unit_scope(session, innovation.unit_id)


def gate_scope(
    session: Session, innovation: Innovation, gate: GateRequest | None = None
) -> GateScope:
    """The open gate of ``innovation`` (at its stage), with its assignee when ``gate`` is
    given."""
    scope = unit_scope(session, innovation.unit_id)
    return GateScope(
        scope.unit_id,
        scope.parent_unit_id,
        stage=innovation.stage,
        assignee_id=gate.assignee_id if gate is not None else None,
    )


def consultation_scope(session: Session, consultation: Consultation) -> ConsultationScope:
    scope = unit_scope(session, consultation.unit_id)
    return ConsultationScope(scope.unit_id, scope.parent_unit_id, mentor_id=consultation.mentor_id)


def visit_scope(session: Session, visit: MentoringVisit) -> VisitScope:
    return unit_visit_scope(session, visit.unit_id, visit.innovator_id)


def unit_visit_scope(session: Session, unit_id: int, innovator_id: int) -> VisitScope:
    """A mentoring visit to ``unit_id`` by ``innovator_id`` (recorded, or to be)."""
    scope = unit_scope(session, unit_id)
    return VisitScope(scope.unit_id, scope.parent_unit_id, innovator_id=innovator_id)


def follow_up_scope(session: Session, follow_up: FollowUp) -> FollowUpScope:
    """The follow-up's owner, and the unit and mentor of its consultation or visit."""
    parent: ConsultationScope | VisitScope
    if follow_up.consultation_id is not None:
        parent = consultation_scope(
            session, session.get_one(Consultation, follow_up.consultation_id)
        )
        mentor = parent.mentor_id
    else:
        assert follow_up.visit_id is not None
        parent = visit_scope(session, session.get_one(MentoringVisit, follow_up.visit_id))
        mentor = parent.innovator_id
    return FollowUpScope(
        parent.unit_id, parent.parent_unit_id, owner_id=follow_up.owner_id, mentor_id=mentor
    )


def adoption_scope(
    session: Session, adoption: Adoption, origin: Innovation | None
) -> AdoptionScope:
    """The scope of an adoption: its origin's unit and its adopter's unit."""
    owner = unit_scope(session, origin.unit_id) if origin is not None else UnitScope(0)
    adopter = unit_scope(session, adoption.adopter_unit_id) if adoption.adopter_unit_id else None
    return AdoptionScope(
        owner.unit_id,
        owner.parent_unit_id,
        adopter_unit_id=adopter.unit_id if adopter else None,
        adopter_parent_id=adopter.parent_unit_id if adopter else None,
    )

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
- ``innovator``: sees the consultations it mentors.
- Replication (issue 10): every signed-in person of a unit or of Brida sees the catalogue
  of offers; a unit's officer (or a Brida operator for any unit) registers a unit's
  interest; a reviewer or the head of Brida decides an adoption's gate, never from a unit on
  either side of it (``AdoptionScope``).

Deciding a gate is not decided here alone: the gate rules (``domain.lifecycle``: role per
stage, never one's own unit, what approval needs) still apply when the decision is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Role, Stage
from domain.errors import NotAuthorizedError
from domain.lifecycle import GATE_DECIDERS
from domain.models import Adoption, Consultation, Innovation, Person, PersonRole, Unit

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
    VIEW_UNIT = "view_unit"  # a unit's compliance and innovation list
    VIEW_CITY = "view_city"  # the city's IID, every unit's compliance, the report
    VIEW_ESCALATIONS = "view_escalations"
    VIEW_CONSULTATION = "view_consultation"
    MANAGE_REGISTRY = "manage_registry"  # units, people, roles
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


@dataclass(frozen=True)
class ConsultationScope(UnitScope):
    """A Klinik Kinanti consultation (mentored by ``mentor_id``)."""

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
    if action is Action.MANAGE_REGISTRY:
        return operator
    if action in (Action.VIEW_CITY, Action.VIEW_ESCALATIONS):
        return actor.has(Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR)
    if action is Action.REVIEW_GATES:
        return actor.has(Role.REVIEWER, Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR)
    if action is Action.VERIFY_EVIDENCE:
        return actor.has(*VERIFIER_ROLES)
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
    if action in (
        Action.PROPOSE,
        Action.EDIT_INNOVATION,
        Action.CLAIM_EVIDENCE,
        Action.REGISTER_INTEREST,
    ):
        return operator or (own and actor.has(Role.UNIT_OFFICER))
    if action in (Action.VIEW_INNOVATION, Action.VIEW_UNIT):
        return brida or (own and actor.has(Role.UNIT_OFFICER, Role.UNIT_HEAD))
    if action is Action.VIEW_CONSULTATION:
        mentor = isinstance(scope, ConsultationScope) and scope.mentor_id == actor.person_id
        return brida or mentor or (own and actor.has(Role.UNIT_OFFICER, Role.UNIT_HEAD))
    return False


def require(actor: Actor, action: Action, scope: Scope = REGION, what: str = "") -> None:
    """Raise ``NotAuthorizedError`` unless ``can(actor, action, scope)``."""
    if not can(actor, action, scope):
        raise NotAuthorizedError(
            f"{actor.email} may not {action.value.replace('_', ' ')}"
            + (f" on {what}" if what else "")
        )


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


def gate_scope(session: Session, innovation: Innovation) -> GateScope:
    scope = unit_scope(session, innovation.unit_id)
    return GateScope(scope.unit_id, scope.parent_unit_id, stage=innovation.stage)


def consultation_scope(session: Session, consultation: Consultation) -> ConsultationScope:
    scope = unit_scope(session, consultation.unit_id)
    return ConsultationScope(scope.unit_id, scope.parent_unit_id, mentor_id=consultation.mentor_id)


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

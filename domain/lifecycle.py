"""The lifecycle as data: stages, the moves between them, who decides each gate.

Pure rules; no I/O. ``domain.gates`` and the other change modules apply them to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain import messages
from domain.enums import GateDecisionKind, Language, Outcome, Role, Stage
from domain.errors import (
    IllegalTransitionError,
    InnovationClosedError,
    NotAuthorizedError,
    RequirementMissingError,
)
from domain.profile import MIN_DESIGN_WORDS as MIN_DESIGN_WORDS
from domain.profile import GapKind, ProfileFields, profile_gaps

STAGE_ORDER: tuple[Stage, ...] = (
    Stage.PLANNING,
    Stage.DEVELOPMENT,
    Stage.DEPLOYMENT,
    Stage.REPORTING,
    Stage.REPLICATION,
)

#: Forward moves between stages. Every forward move passes the gate of the stage it leaves.
TRANSITIONS: Mapping[Stage, frozenset[Stage]] = {
    Stage.PLANNING: frozenset({Stage.DEVELOPMENT}),
    Stage.DEVELOPMENT: frozenset({Stage.DEPLOYMENT}),
    Stage.DEPLOYMENT: frozenset({Stage.REPORTING}),
    Stage.REPORTING: frozenset({Stage.REPLICATION}),
    Stage.REPLICATION: frozenset(),
}

#: Stages that end in a gate (a human decision before the next stage).
GATED_STAGES: frozenset[Stage] = frozenset(s for s, nxt in TRANSITIONS.items() if nxt)

#: Terminal outcomes and the stages they may be reached from.
OUTCOME_FROM: Mapping[Outcome, frozenset[Stage]] = {
    Outcome.REJECTED: GATED_STAGES,
    Outcome.WITHDRAWN: frozenset({Stage.PLANNING, Stage.DEVELOPMENT, Stage.DEPLOYMENT}),
    Outcome.DISCONTINUED: frozenset({Stage.DEPLOYMENT, Stage.REPORTING, Stage.REPLICATION}),
}

_BRIDA_REVIEW = frozenset({Role.REVIEWER, Role.BRIDA_OPERATOR, Role.HEAD_OF_BRIDA})

#: Who may decide the gate at the end of each stage. The last gate before replication is the
#: head of Brida's final approval.
GATE_DECIDERS: Mapping[Stage, frozenset[Role]] = {
    Stage.PLANNING: _BRIDA_REVIEW,
    Stage.DEVELOPMENT: _BRIDA_REVIEW,
    Stage.DEPLOYMENT: frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA}),
    Stage.REPORTING: frozenset({Role.HEAD_OF_BRIDA}),
}


#: Who may be a gate's one assignee (assigned when it opens, claimed, reassigned): the
#: reviewers, or for the final approval (reporting) the head of Brida, who alone decides it.
GATE_ASSIGNEES: Mapping[Stage, frozenset[Role]] = {
    stage: (roles & {Role.REVIEWER}) or (roles - {Role.BRIDA_OPERATOR})
    for stage, roles in GATE_DECIDERS.items()
}


def next_stage(stage: Stage) -> Stage | None:
    """The stage after ``stage`` in the lifecycle, or ``None`` after the last one."""
    following = TRANSITIONS[stage]
    return next(iter(following)) if following else None


def check_transition(current: Stage, target: Stage, outcome: Outcome | None) -> None:
    """Raise a named error unless ``current -> target`` is in the transition table."""
    if outcome is not None:
        raise InnovationClosedError(
            code="lifecycle.ended_move", outcome=outcome.value, target=target.value
        )
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in TRANSITIONS[current]) or messages.words(
            "tidak ada (tahap terakhir)", "none (last stage)"
        )
        raise IllegalTransitionError(
            code="lifecycle.move_refused",
            current=current.value,
            target=target.value,
            allowed=allowed,
        )


def check_outcome(current: Stage, outcome: Outcome, existing: Outcome | None) -> None:
    """Raise a named error unless ``outcome`` may end an innovation at ``current``."""
    if existing is not None:
        raise InnovationClosedError(code="lifecycle.ended_already", outcome=existing.value)
    if current not in OUTCOME_FROM[outcome]:
        allowed = ", ".join(s.value for s in STAGE_ORDER if s in OUTCOME_FROM[outcome])
        raise IllegalTransitionError(
            code="lifecycle.outcome_refused",
            current=current.value,
            outcome=outcome.value,
            allowed=allowed,
        )


@dataclass(frozen=True)
class GateFacts:
    """What the gate rules need to know, read from the database by the service layer."""

    stage: Stage
    decider_roles: frozenset[Role]
    decider_unit_ids: frozenset[int]
    owner_unit_ids: frozenset[int]  # the owning unit and, for a UPTD, its parent OPD
    proposal_problems: tuple[str, ...]
    has_trial_scorecard: bool
    has_adopting_act: bool
    evidence_count: int
    missing_mandatory_indicators: tuple[str, ...]
    #: the proposal's problems in each language (for the refusal's message)
    proposal_problems_by_language: Mapping[Language, tuple[str, ...]] | None = None


Guard = Callable[[GateFacts], RequirementMissingError | None]


def _proposal_complete(facts: GateFacts) -> RequirementMissingError | None:
    if facts.proposal_problems:
        problems = facts.proposal_problems_by_language or {Language.EN: facts.proposal_problems}
        return RequirementMissingError(code="gate.proposal_incomplete", problems=dict(problems))
    return None


def _trial_scorecard(facts: GateFacts) -> RequirementMissingError | None:
    if not facts.has_trial_scorecard:
        return RequirementMissingError(code="gate.scorecard_missing")
    return None


def _adopting_act_and_evidence(facts: GateFacts) -> RequirementMissingError | None:
    if not facts.has_adopting_act:
        return RequirementMissingError(code="gate.act_missing")
    if facts.evidence_count == 0:
        return RequirementMissingError(code="gate.evidence_missing")
    return None


def _mandatory_indicators(facts: GateFacts) -> RequirementMissingError | None:
    if facts.missing_mandatory_indicators:
        return RequirementMissingError(
            code="gate.mandatory_missing", indicators=", ".join(facts.missing_mandatory_indicators)
        )
    return None


#: What must be present before a gate may be approved (revise and reject need nothing).
APPROVAL_GUARDS: Mapping[Stage, tuple[Guard, ...]] = {
    Stage.PLANNING: (_proposal_complete,),
    Stage.DEVELOPMENT: (_trial_scorecard,),
    Stage.DEPLOYMENT: (_adopting_act_and_evidence,),
    Stage.REPORTING: (_mandatory_indicators,),
}


def check_gate_decision(facts: GateFacts, decision: GateDecisionKind) -> None:
    """Raise ``NotAuthorizedError`` or ``RequirementMissingError`` if the decision is refused.

    The error's ``code`` is the typed reason (``gate.wrong_role``, ``gate.own_unit``,
    ``gate.scorecard_missing``, ...).
    """
    allowed = GATE_DECIDERS[facts.stage]
    if not facts.decider_roles & allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise NotAuthorizedError(code="gate.wrong_role", stage=facts.stage.value, roles=names)
    if facts.decider_unit_ids & facts.owner_unit_ids:
        raise NotAuthorizedError(code="gate.own_unit")
    if decision is GateDecisionKind.APPROVE:
        problems = [p for guard in APPROVAL_GUARDS[facts.stage] if (p := guard(facts))]
        if len(problems) == 1:
            raise problems[0]
        if problems:
            parts = {lang: [p.message(lang) for p in problems] for lang in Language}
            raise RequirementMissingError(code="gate.requirements_missing", parts=parts)


def proposal_problems(
    *,
    title: str,
    design: str | None,
    goals: str | None,
    benefits: str | None,
    budget: object | None,
    urusan_main: str | None,
    tematik: str | None,
    language: Language = Language.EN,
) -> tuple[str, ...]:
    """What a proposal lacks before the planning gate (national profile, PP 38/2017), in
    ``language`` (English for errors; the unit's language for the revise reason it gets).
    The checks are ``domain.profile.profile_gaps``; this words them."""
    fields = ProfileFields(
        title=title,
        design=design,
        goals=goals,
        benefits=benefits,
        budget=None if budget is None else Decimal(str(budget)),
        urusan_main=urusan_main or "",
        tematik=tematik,
    )
    problems: list[str] = []
    params: dict[str, object]
    for gap in profile_gaps(fields):
        if gap.kind is GapKind.DESIGN_WORDS:
            code, params = "proposal.design", {"words": gap.words, "min": gap.minimum}
        elif gap.kind is GapKind.NO_BUDGET:
            code, params = "proposal.budget", {}
        else:
            code, params = "proposal.empty", {"name": messages.FIELD_NAMES[gap.field]}
        text = messages.render(code, language, params)
        assert text is not None, code
        problems.append(text)
    return tuple(problems)


#: Checklist shown to reviewers at each gate (the Prefect form and the email).
GATE_CHECKLIST: dict[Stage, dict[Language, tuple[str, ...]]] = {
    Stage.PLANNING: {
        Language.ID: (
            "Proposal lengkap: isian profil dan rancang bangun minimal 300 kata",
            "Lima kriteria: kebaruan, bermanfaat, tidak membebani, dalam kewenangan, "
            "dapat direplikasi",
            "Anggaran dan tujuan realistis",
        ),
        Language.EN: (
            "Proposal complete: profile fields and a design narrative of 300+ words",
            "The five criteria: renewal, benefit, no extra burden, within authority, replicable",
            "Budget and goals are realistic",
        ),
    },
    Stage.DEVELOPMENT: {
        Language.ID: (
            "Uji coba sudah dimulai dan scorecard-nya diisi",
            "Rata-rata scorecard minimal 3 pada lima kriteria",
        ),
        Language.EN: (
            "Trial (uji coba) has started and its scorecard is filed",
            "Scorecard average of at least 3 on the five criteria",
        ),
    },
    Stage.DEPLOYMENT: {
        Language.ID: (
            "Dasar hukum penerapan (SK / Perkada / Perda) tercatat",
            "Bukti penerapan terlampir",
        ),
        Language.EN: (
            "Adopting act (SK / Perkada / Perda) is recorded",
            "Implementation evidence is attached",
        ),
    },
    Stage.REPORTING: {
        Language.ID: (
            "Indikator IID wajib memiliki bukti dukung",
            "Skor SID tahun berjalan sudah dihitung; persetujuan akhir oleh Kepala Brida",
        ),
        Language.EN: (
            "Mandatory IID indicators have evidence",
            "SID score for the year is computed; final approval by the head of Brida",
        ),
    },
}

"""The lifecycle table (domain.lifecycle): every stage pair, every outcome, every gate rule."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from domain import lifecycle
from domain.enums import GateDecisionKind, Outcome, Role, Stage
from domain.errors import (
    IllegalTransitionError,
    InnovationClosedError,
    NotAuthorizedError,
    RequirementMissingError,
)

LEGAL_MOVES = {
    (Stage.PLANNING, Stage.DEVELOPMENT),
    (Stage.DEVELOPMENT, Stage.DEPLOYMENT),
    (Stage.DEPLOYMENT, Stage.REPORTING),
    (Stage.REPORTING, Stage.REPLICATION),
}
ALL_PAIRS = list(itertools.product(Stage, Stage))


def test_every_stage_appears_in_the_transition_table() -> None:
    assert set(lifecycle.TRANSITIONS) == set(Stage)
    assert set(lifecycle.STAGE_ORDER) == set(Stage)
    targets = set().union(*lifecycle.TRANSITIONS.values())
    assert targets == set(Stage) - {Stage.PLANNING}  # planning is only entered by submission


def test_every_gated_stage_has_deciders_and_approval_guards() -> None:
    assert set(lifecycle.GATE_DECIDERS) == lifecycle.GATED_STAGES
    assert set(lifecycle.APPROVAL_GUARDS) == lifecycle.GATED_STAGES
    assert Stage.REPLICATION not in lifecycle.GATED_STAGES


def test_the_last_gate_is_decided_by_the_head_of_brida_only() -> None:
    assert lifecycle.GATE_DECIDERS[Stage.REPORTING] == frozenset({Role.HEAD_OF_BRIDA})


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=lambda s: s.value)
def test_only_the_next_stage_is_a_legal_move(current: Stage, target: Stage) -> None:
    if (current, target) in LEGAL_MOVES:
        lifecycle.check_transition(current, target, None)
    else:
        with pytest.raises(IllegalTransitionError, match=f"from {current.value} to"):
            lifecycle.check_transition(current, target, None)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL_MOVES))
@pytest.mark.parametrize("outcome", list(Outcome))
def test_an_ended_innovation_cannot_move_even_along_a_legal_edge(
    current: Stage, target: Stage, outcome: Outcome
) -> None:
    with pytest.raises(InnovationClosedError, match=outcome.value):
        lifecycle.check_transition(current, target, outcome)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (Stage.PLANNING, Stage.DEVELOPMENT),
        (Stage.DEVELOPMENT, Stage.DEPLOYMENT),
        (Stage.DEPLOYMENT, Stage.REPORTING),
        (Stage.REPORTING, Stage.REPLICATION),
        (Stage.REPLICATION, None),
    ],
)
def test_next_stage_follows_the_order(stage: Stage, expected: Stage | None) -> None:
    assert lifecycle.next_stage(stage) is expected


OUTCOME_ALLOWED = {
    Outcome.REJECTED: {Stage.PLANNING, Stage.DEVELOPMENT, Stage.DEPLOYMENT, Stage.REPORTING},
    Outcome.WITHDRAWN: {Stage.PLANNING, Stage.DEVELOPMENT, Stage.DEPLOYMENT},
    Outcome.DISCONTINUED: {Stage.DEPLOYMENT, Stage.REPORTING, Stage.REPLICATION},
}


@pytest.mark.parametrize(("outcome", "stage"), list(itertools.product(Outcome, Stage)))
def test_outcomes_are_reachable_only_from_their_stages(outcome: Outcome, stage: Stage) -> None:
    if stage in OUTCOME_ALLOWED[outcome]:
        lifecycle.check_outcome(stage, outcome, None)
    else:
        with pytest.raises(IllegalTransitionError, match=f"cannot be {outcome.value}"):
            lifecycle.check_outcome(stage, outcome, None)


@pytest.mark.parametrize("existing", list(Outcome))
def test_an_innovation_ends_only_once(existing: Outcome) -> None:
    with pytest.raises(InnovationClosedError):
        lifecycle.check_outcome(Stage.DEPLOYMENT, Outcome.DISCONTINUED, existing)


def _facts(stage: Stage, **changes: object) -> lifecycle.GateFacts:
    facts = lifecycle.GateFacts(
        stage=stage,
        decider_roles=frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA}),
        decider_unit_ids=frozenset({1}),
        owner_unit_ids=frozenset({7, 3}),
        proposal_problems=(),
        has_trial_scorecard=True,
        has_adopting_act=True,
        evidence_count=2,
        missing_mandatory_indicators=(),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("stage", sorted(lifecycle.GATED_STAGES))
@pytest.mark.parametrize("decision", list(GateDecisionKind))
def test_a_qualified_outside_reviewer_may_decide_every_gate(
    stage: Stage, decision: GateDecisionKind
) -> None:
    lifecycle.check_gate_decision(_facts(stage), decision)


@pytest.mark.parametrize("stage", sorted(lifecycle.GATED_STAGES))
def test_a_reviewer_from_the_owning_unit_or_its_parent_is_refused(stage: Stage) -> None:
    for own in (7, 3):
        with pytest.raises(NotAuthorizedError) as refused:
            lifecycle.check_gate_decision(
                _facts(stage, decider_unit_ids=frozenset({own})), GateDecisionKind.REJECT
            )
        assert refused.value.code == "gate.own_unit"


@pytest.mark.parametrize(("stage", "role"), list(itertools.product(Stage, Role)))
def test_only_the_roles_of_the_table_may_decide(stage: Stage, role: Role) -> None:
    if stage not in lifecycle.GATED_STAGES:
        return
    facts = _facts(stage, decider_roles=frozenset({role}))
    if role in lifecycle.GATE_DECIDERS[stage]:
        lifecycle.check_gate_decision(facts, GateDecisionKind.REVISE)
    else:
        with pytest.raises(NotAuthorizedError) as refused:
            lifecycle.check_gate_decision(facts, GateDecisionKind.REVISE)
        assert refused.value.code == "gate.wrong_role"
        assert stage.value in refused.value.message("id")  # told in Bahasa Indonesia too


@pytest.mark.parametrize(
    ("stage", "changes", "code"),
    [
        (
            Stage.PLANNING,
            {"proposal_problems": ("goals (tujuan) is empty",)},
            "gate.proposal_incomplete",
        ),
        (Stage.DEVELOPMENT, {"has_trial_scorecard": False}, "gate.scorecard_missing"),
        (Stage.DEPLOYMENT, {"has_adopting_act": False}, "gate.act_missing"),
        (Stage.DEPLOYMENT, {"evidence_count": 0}, "gate.evidence_missing"),
        (Stage.REPORTING, {"missing_mandatory_indicators": ("sid01",)}, "gate.mandatory_missing"),
    ],
)
def test_approval_needs_the_stage_requirements_but_revise_and_reject_do_not(
    stage: Stage, changes: dict[str, object], code: str
) -> None:
    facts = _facts(stage, **changes)
    with pytest.raises(RequirementMissingError) as refused:
        lifecycle.check_gate_decision(facts, GateDecisionKind.APPROVE)
    assert refused.value.code == code
    lifecycle.check_gate_decision(facts, GateDecisionKind.REVISE)
    lifecycle.check_gate_decision(facts, GateDecisionKind.REJECT)


def test_a_refusal_reads_in_the_readers_language() -> None:
    facts = _facts(Stage.REPORTING, missing_mandatory_indicators=("sid01", "sid02"))
    with pytest.raises(RequirementMissingError) as refused:
        lifecycle.check_gate_decision(facts, GateDecisionKind.APPROVE)
    assert refused.value.message("id") == (
        "indikator IID wajib belum memiliki bukti dukung: sid01, sid02"
    )
    assert refused.value.message("en") == str(refused.value)
    assert str(refused.value) == "mandatory IID indicators lack evidence: sid01, sid02"


def test_a_complete_proposal_has_no_problems() -> None:
    words = " ".join(["kata"] * lifecycle.MIN_DESIGN_WORDS)
    assert (
        lifecycle.proposal_problems(
            title="Maharestu",
            design=words,
            goals="g",
            benefits="b",
            budget=1,
            urusan_main="Kesehatan",
            tematik="Non Tematik",
        )
        == ()
    )


def test_an_empty_proposal_lists_every_missing_part() -> None:
    problems = lifecycle.proposal_problems(
        title=" ",
        design="terlalu pendek",
        goals=None,
        benefits="",
        budget=None,
        urusan_main=None,
        tematik=None,
    )
    joined = "\n".join(problems)
    for part in ("2 words", "goals", "benefits", "urusan", "tematik", "budget", "name"):
        assert part in joined

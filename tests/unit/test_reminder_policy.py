"""The reminder policy as pure rules: when a gate is reminded or escalated, and who hears."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.enums import Role, Stage
from domain.reminders import (
    ESCALATION_ROLES,
    GateNudges,
    ReminderPolicy,
    gate_nudges,
    reminder_roles,
    revision_reminder_due,
    waiting_days,
)

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
POLICY = ReminderPolicy(
    remind_after=dt.timedelta(days=3),
    escalate_after=dt.timedelta(days=7),
    revision_after=dt.timedelta(days=5),
)
DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("waited", "reminded", "escalated", "expected"),
    [
        (1 * DAY, False, False, GateNudges(remind=False, escalate=False)),
        (3 * DAY, False, False, GateNudges(remind=True, escalate=False)),
        (4 * DAY, True, False, GateNudges(remind=False, escalate=False)),
        (7 * DAY, True, False, GateNudges(remind=False, escalate=True)),
        (8 * DAY, False, False, GateNudges(remind=True, escalate=True)),
        (9 * DAY, True, True, GateNudges(remind=False, escalate=False)),
    ],
)
def test_a_gate_is_reminded_once_then_escalated_once(
    waited: dt.timedelta, reminded: bool, escalated: bool, expected: GateNudges
) -> None:
    done = NOW - DAY
    nudges = gate_nudges(
        POLICY,
        NOW,
        opened_at=NOW - waited,
        reminded_at=done if reminded else None,
        escalated_at=done if escalated else None,
    )
    assert nudges == expected


def test_nothing_is_escalated_before_the_reminder_delay_even_if_configured_shorter() -> None:
    eager = ReminderPolicy(remind_after=5 * DAY, escalate_after=2 * DAY, revision_after=DAY)
    early = gate_nudges(eager, NOW, opened_at=NOW - 3 * DAY, reminded_at=None, escalated_at=None)
    assert early == GateNudges(remind=False, escalate=False)


@pytest.mark.parametrize(
    ("decided_days_ago", "reminded", "due"),
    [(4, False, False), (5, False, True), (9, True, False), (None, False, False)],
)
def test_a_unit_asked_to_revise_is_reminded_once_after_the_delay(
    decided_days_ago: int | None, reminded: bool, due: bool
) -> None:
    decided = None if decided_days_ago is None else NOW - decided_days_ago * DAY
    reminded_at = NOW - DAY if reminded else None
    assert revision_reminder_due(POLICY, NOW, decided_at=decided, reminded_at=reminded_at) is due


def test_reminders_go_to_the_deciders_but_operators_only_as_a_fallback() -> None:
    for stage in (Stage.PLANNING, Stage.DEVELOPMENT, Stage.DEPLOYMENT, Stage.REPORTING):
        preferred, everyone = reminder_roles(stage)
        assert Role.BRIDA_OPERATOR not in preferred and preferred <= everyone
    assert reminder_roles(Stage.PLANNING) == (
        frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA}),
        frozenset({Role.REVIEWER, Role.HEAD_OF_BRIDA, Role.BRIDA_OPERATOR}),
    )
    assert reminder_roles(Stage.REPORTING)[0] == frozenset({Role.HEAD_OF_BRIDA})
    assert reminder_roles(Stage.REPLICATION) == (frozenset(), frozenset())
    assert frozenset({Role.HEAD_OF_BRIDA}) == ESCALATION_ROLES


def test_waiting_days_counts_whole_days_and_never_goes_negative() -> None:
    assert waiting_days(NOW - dt.timedelta(days=4, hours=23), NOW) == 4
    assert waiting_days(NOW + DAY, NOW) == 0

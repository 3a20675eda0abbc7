"""Two reviewers deciding the same gate at the same moment, each in its own transaction,
on SQLite and PostgreSQL: exactly one wins, the other is told the gate was decided already
(in Bahasa Indonesia), and the innovation moves once (one history row, one set of emails).

PostgreSQL serialises the two on the gate's row lock (``SELECT ... FOR UPDATE``); SQLite,
where ``FOR UPDATE`` is a no-op, on its single database write lock, which
``domain.gates.decide_gate`` takes before it reads the gate.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain import gates
from domain.enums import GateDecisionKind, Role, Stage
from domain.errors import GateNotOpenError, KinantiError
from domain.models import GateDecisionRecord, Innovation, OutboxMessage, StageHistory
from kinanti.db import make_engine, unit_of_work
from tests.support import snapshots
from tests.support.factories import Factory

REASON = "sesuai kriteria"


@pytest.fixture
def race_engine(empty_database_url: str) -> Iterator[Engine]:
    snapshots.shared().migrated(empty_database_url)  # upgrade(), by copy of one migrated once
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def _gate_with_two_reviewers(engine: Engine) -> tuple[int, str, list[str]]:
    with Session(engine) as session, session.begin():
        make = Factory(session)
        brida = make.unit("BRIDA-R", name="Badan Riset dan Inovasi Daerah")
        reviewers = [make.person(roles=[Role.REVIEWER], unit=brida).email for _ in range(2)]
        innovation = make.innovation(code="BALAPAN-1")
        gate, _ = gates.open_gate(
            session,
            innovation,
            round_=1,
            flow_run_id=None,
            timeout=dt.timedelta(days=14),
            notify_reviewers=False,
        )
        session.flush()
        return gate.id, innovation.code, reviewers


def _decide(engine: Engine, gate_id: int, reviewer: str, hold: float = 0.0) -> None:
    command = gates.DecisionCommand(
        GateDecisionKind.APPROVE, reason=REASON, channel="cli", decider=reviewer
    )
    with unit_of_work(engine) as session:
        outcome = gates.decide_gate(session, gate_id, command, continue_in_run=False)
        assert outcome.accepted, outcome.refusal
        time.sleep(hold)  # the winner keeps its transaction open while the other one reads


def _race(engine: Engine, gate_id: int, reviewers: list[str], *, staggered: bool) -> list[object]:
    """Both decide; ``staggered``: the second starts while the first's transaction is open."""
    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def reviewer(index: int) -> None:
        try:
            start.wait(timeout=30)
            if staggered and index == 1:
                time.sleep(0.2)
            _decide(engine, gate_id, reviewers[index], hold=0.6 if staggered and index == 0 else 0)
            results[index] = "won"
        except BaseException as exc:  # collected and asserted on below
            results[index] = exc

    threads = [threading.Thread(target=reviewer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


@pytest.mark.parametrize("staggered", [False, True], ids=["same-moment", "inside-open-txn"])
def test_two_reviewers_deciding_one_gate_at_once_one_wins_the_other_is_told(
    race_engine: Engine, staggered: bool
) -> None:
    gate_id, code, reviewers = _gate_with_two_reviewers(race_engine)

    results = _race(race_engine, gate_id, reviewers, staggered=staggered)

    assert sorted(map(type, results), key=str) == sorted([str, GateNotOpenError], key=str), results
    loser = next(r for r in results if isinstance(r, KinantiError))
    assert isinstance(loser, GateNotOpenError) and loser.code == "gate.decided_already"
    assert "sudah diputus" in loser.message("id")
    assert code in loser.message("id") and loser.message("id") != loser.message("en")
    with Session(race_engine) as session:
        innovation = session.scalars(select(Innovation).where(Innovation.code == code)).one()
        assert innovation.stage is Stage.DEVELOPMENT
        moves = session.scalar(
            select(func.count(StageHistory.id)).where(
                StageHistory.innovation_id == innovation.id,
                StageHistory.to_stage == Stage.DEVELOPMENT,
            )
        )
        decisions = session.scalar(
            select(func.count(GateDecisionRecord.id)).where(GateDecisionRecord.gate_id == gate_id)
        )
        decided_emails = session.scalars(
            select(OutboxMessage.recipient_email).where(
                OutboxMessage.template == "gate_decided",
                OutboxMessage.innovation_id == innovation.id,
            )
        ).all()
    assert moves == 1
    assert decisions == 1
    assert decided_emails and len(decided_emails) == len(set(decided_emails))

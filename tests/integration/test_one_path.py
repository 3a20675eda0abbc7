"""Every gate decision goes through one decision function, and every committed change through
one publish function, whichever way it arrives: the CLI, a resumed Prefect run, the
reconciler. Checked twice: in the code (who calls what), and at run time against a real
Prefect API and database, with the two functions wrapped (they still do their real work)."""

from __future__ import annotations

import ast
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "kinanti", "flows", "tasks", "notifications")


class _CallFinder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.stack: list[str] = ["<module>"]
        self.found: list[tuple[str, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        target = node.func
        name = target.attr if isinstance(target, ast.Attribute) else None
        name = target.id if isinstance(target, ast.Name) else name
        if name:
            self.found.append((self.stack[-1], name))
        self.generic_visit(node)


def _calls() -> Iterator[tuple[str, str, str]]:
    """(file, innermost enclosing function, called name) for every call in production code."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            finder = _CallFinder()
            finder.visit(ast.parse(path.read_text(), filename=str(path)))
            rel = path.relative_to(ROOT).as_posix()
            for func, name in finder.found:
                yield rel, func, name


def _callers(name: str) -> set[tuple[str, str]]:
    return {(file, func) for file, func, called in _calls() if called == name}


def test_only_the_publish_path_announces_events_and_starts_hand_offs() -> None:
    assert _callers("announce") == {("kinanti/publish.py", "publish")}
    assert _callers("start_pending") == {("kinanti/publish.py", "publish")}
    # besides publish, only the scheduled dispatcher and `kinanti outbox send` deliver mail
    assert _callers("deliver_pending") == {
        ("kinanti/publish.py", "publish"),
        ("tasks/notify.py", "deliver_outbox"),
        ("kinanti/cli/notify.py", "send"),
    }


def test_only_the_decision_function_records_decisions_and_checks_their_rules() -> None:
    assert _callers("GateDecisionRecord") == {("domain/gates.py", "decide_gate")}
    assert _callers("check_gate_decision") == {("domain/gates.py", "check_decision")}
    assert {file for file, _ in _callers("check_decision")} == {
        "domain/gates.py",  # decide_gate itself
        "kinanti/orchestration/gates.py",  # before resuming (CLI, portal)
    }


class _Spy:
    """Wraps a function everywhere it is referenced; counts calls by the caller's module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        self.calls: Counter[str] = Counter()
        original: Callable[..., Any] = getattr(module, name)

        def spy(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_globals.get("__name__", "?")
            self.calls[caller] += 1
            return original(*args, **kwargs)

        for loaded in list(sys.modules.values()):
            for attribute, value in list(vars(loaded).items() if loaded else []):
                if value is original:
                    monkeypatch.setattr(loaded, attribute, spy)


@pytest.mark.prefect
def test_cli_decision_prefect_resume_and_reconciler_share_one_decision_and_publish_path(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    import domain.gates
    import kinanti.publish
    from domain import progress, queries
    from domain.enums import GateDecisionKind, Stage, StageStartStatus
    from domain.models import GateDecisionRecord, Innovation, StageStart
    from domain.stages import StageParams, complete_stage
    from flows.lifecycle import innovation_lifecycle
    from kinanti.cli import app
    from kinanti.db import get_engine, unit_of_work
    from kinanti.orchestration.reconcile import reconcile
    from kinanti.settings import get_settings
    from tasks.lifecycle import apply_gate_decision, publish_change
    from tests.support.engine_support import REVIEWER, kinanti_env, load_city, new_database, submit

    monkeypatch.setenv("PREFECT_API_URL", prefect_api)  # as an operator's shell has it
    with new_database("sqlite", tmp_path) as url, kinanti_env(tmp_path, url):
        load_city()
        innovation_lifecycle.to_deployment(name="lifecycle").apply()
        codes = [submit(f"ONE-PATH-{i}", "DINKES") for i in (1, 2, 3)]
        settings = get_settings()
        params = StageParams(
            dt.timedelta(days=14), None, dt.datetime.now(settings.zone).date(), settings.zone
        )
        with unit_of_work() as session:
            gate_ids = [
                complete_stage(session, queries.get_innovation(session, c), 1, params).gate_id
                for c in codes
            ]
        decide_spy = _Spy(monkeypatch, domain.gates, "decide_gate")
        publish_spy = _Spy(monkeypatch, kinanti.publish, "publish")

        # 1. the CLI (`kinanti decide`); no run waits at the gate, so it applies it itself
        result = CliRunner().invoke(app, ["decide", codes[0], "approve", "--as", REVIEWER])
        assert result.exit_code == 0, result.output

        # 2. a resumed Prefect run: what the lifecycle flow runs after the resume
        with unit_of_work() as session:
            gate = session.get_one(domain.gates.GateRequest, gate_ids[1])
            person = queries.get_person(session, REVIEWER)
            proof = domain.gates.issue_decision_proof(session, gate, person, channel="ui")
        assert gate_ids[1] is not None
        run_id = str(uuid.uuid4())  # the resumed run (it does not exist in this Prefect)
        decided = apply_gate_decision.fn(gate_ids[1], GateDecisionKind.APPROVE, "", proof, run_id)
        publish_change.fn(decided.committed)

        # 3. the reconciler replacing a run that died (its hand-off row names no live run)
        with unit_of_work() as session:
            row = session.scalar(
                select(StageStart)
                .join(Innovation, Innovation.id == StageStart.innovation_id)
                .where(Innovation.code == codes[2])
            )
            assert row is not None
            row.status, row.flow_run_id = StageStartStatus.STARTED, None
        report = reconcile(get_engine(), stuck_after=dt.timedelta(seconds=0))
        assert report.replaced and report.started
        with unit_of_work(get_engine()) as session:
            for code in codes[:2]:
                assert progress.next_step(session, code).stage is Stage.DEVELOPMENT
            channels = list(session.scalars(select(GateDecisionRecord.channel)))
        assert sorted(channels) == ["cli", "ui"]

    assert decide_spy.calls == {
        "kinanti.orchestration.gates": 1,  # the CLI's decision (run lost: applied here)
        "tasks.lifecycle": 1,  # the resumed run's
    }
    assert publish_spy.calls == {
        "kinanti.orchestration.gates": 1,
        "tasks.lifecycle": 1,
        "kinanti.orchestration.reconcile": 1,
    }

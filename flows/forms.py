"""What the lifecycle's and the adoptions' flows share: waiting at a gate for a human
decision, stage flows that each have a function of their own, and publishing what a task
committed.

A gate waits with ``suspend_flow_run(wait_for_input=...)``: no process is kept while a
human decides. On resume Prefect re-executes the flow body from the top, so a suspension
has a key derived from the gate and its decision attempts (a replayed suspension returns the
input already given), and a run that takes over a gate from a dead run applies the input
that run was given instead of asking again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar

from prefect import Flow, get_run_logger
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import Field
from sqlalchemy.orm import Session

from domain.changes import Committed
from kinanti.db import get_engine, unit_of_work
from kinanti.orchestration.runs import recover_decision
from kinanti.settings import get_settings
from tasks.lifecycle import publish_change

#: Text without control characters (``domain.schemas.CONTROL_CHARACTERS``): in the form's
#: JSON schema, so Prefect's API refuses such a resume before the run sees it.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

DecisionForm = TypeVar("DecisionForm", bound=RunInput)

#: A decision's reason, as a resume form takes it (required to revise or reject).
DecisionReason = Annotated[
    str,
    Field(
        max_length=2000,
        pattern=NO_CONTROL_CHARACTERS,
        description="Alasan (wajib untuk revise / reject; required to revise or reject)",
    ),
]
#: The one-time decision code that proves who decides (``domain.gates.issue_proof``).
DecisionProofCode = Annotated[
    str,
    Field(
        max_length=200,
        pattern=NO_CONTROL_CHARACTERS,
        description="Kode keputusan sekali pakai dari portal Kinanti (decision code from the "
        "Kinanti portal, where you sign in)",
    ),
]


class WaitingGate(Protocol):
    """Where a gate stands, as the database says (``domain.progress.Step``,
    ``domain.adoptions.AdoptionStep``): its decision attempts so far, the run waiting there."""

    @property
    def gate_attempts(self) -> int: ...

    @property
    def gate_flow_run_id(self) -> str | None: ...


def wait_for_decision(
    form: type[DecisionForm],
    gate: str,
    step: WaitingGate,
    run_id: str,
    *,
    claim: Callable[[Session], None],
    describe: Callable[[], str],
) -> DecisionForm:
    """Suspend at a gate until a decision arrives (or take the one a dead run was given).

    The suspension's key is ``gate`` (which gate) and ``step``'s decision attempts;
    ``step.gate_flow_run_id`` is the run the database says waits at the gate; ``claim``
    records this run there (in a transaction of its own); ``describe`` gives the form's
    markdown. The wait is the installation's gate timeout.
    """
    key = f"{gate}-{step.gate_attempts}"
    waiting_run_id = step.gate_flow_run_id
    previous = waiting_run_id if waiting_run_id != run_id else None
    recovered = recover_decision(previous, key) if previous else None
    with unit_of_work(get_engine()) as session:
        claim(session)
    if recovered is not None:
        get_run_logger().warning("Keputusan yang diberikan ke flow run %s dipulihkan", previous)
        return form.model_validate(recovered)
    initial = form.with_initial_data(description=describe(), reason="", proof="")
    return suspend_flow_run(
        wait_for_input=initial,
        key=key,
        timeout=int(dt.timedelta(days=get_settings().gate_timeout_days).total_seconds()),
    )


def publish(committed: Committed) -> None:
    """Publish what a task committed (the ``publish-change`` task), if it committed anything."""
    if committed:
        publish_change(committed)


class StageFlow(Flow[..., dict[str, Any]]):
    """A stage flow. Its parameters are plain strings and numbers, so they are stored as they
    are: Prefect's default serializer goes through FastAPI's ``jsonable_encoder``, whose
    import alone costs a quarter of a CPU second in every flow process."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(isinstance(v, str | int | float | bool | None) for v in parameters.values()):
            return dict(parameters)
        return super().serialize_parameters(parameters)


def stage_flow(
    name: str, description: str, body: Callable[..., dict[str, Any]], run_name: str
) -> StageFlow:
    """A flow named ``name`` running ``body`` under a function name of its own.

    Prefect tracks a subflow run by a task keyed on its function's name and code, and after a
    resume it matches the re-executed body's subflow calls to earlier runs by that key: flows
    sharing one function would share one key, and a resumed run's second stage could be
    answered by its first stage's run. So each stage flow gets its own function name.
    """

    def stage_fn(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return body(*args, **kwargs)

    stage_fn.__name__ = stage_fn.__qualname__ = f"run_{name.replace('-', '_')}"
    stage_fn.__doc__ = description
    stage_fn.__signature__ = _signature_of(body)  # type: ignore[attr-defined]
    return StageFlow(fn=stage_fn, name=name, description=description, flow_run_name=run_name)


def _signature_of(fn: Callable[..., Any]) -> Any:
    import inspect

    return inspect.signature(fn)

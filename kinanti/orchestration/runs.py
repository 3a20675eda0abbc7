"""Prefect adapters for flow runs: whether a run is alive at a gate, the input a dead run
was given, tags, which runs are paused. Used by the lifecycle flow, the reconciler, the
CLI and the demo, so they agree on what "a live run waits at this gate" means."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from prefect.client.schemas.objects import FlowRun, StateType

#: States of a run that is (or will be) executed or waiting; the rest are final.
LIVE_STATES = frozenset(
    {
        StateType.SCHEDULED,
        StateType.PENDING,
        StateType.RUNNING,
        StateType.PAUSED,
        StateType.CANCELLING,
    }
)


class _ReadsRuns(Protocol):
    def read_flow_run(self, flow_run_id: UUID) -> FlowRun: ...


def is_live(run: FlowRun | None, *, now: dt.datetime | None = None) -> bool:
    """True when ``run`` is alive: not final, and not a pause whose wait ran out (such a
    gate is reopened by the next run)."""
    if run is None or run.state is None or run.state.type not in LIVE_STATES:
        return False
    if run.state.type is StateType.PAUSED:
        timeout = run.state.state_details.pause_timeout
        if timeout is not None and timeout < (now or dt.datetime.now(dt.UTC)):
            return False
    return True


def live_run_at_gate(
    client: _ReadsRuns, gate_flow_run_id: str | None, *, other_than: str | None
) -> str | None:
    """The id of the live run recorded at a gate, unless it is ``other_than``; else None."""
    from prefect.exceptions import ObjectNotFound

    if not gate_flow_run_id or gate_flow_run_id == other_than:
        return None
    try:
        run = client.read_flow_run(UUID(gate_flow_run_id))
    except ObjectNotFound:
        return None
    return gate_flow_run_id if is_live(run) else None


def gate_waits_elsewhere(gate_flow_run_id: str | None, my_flow_run_id: str) -> str | None:
    """Inside a flow run: another live run already waiting at this gate, if any."""
    if not gate_flow_run_id or gate_flow_run_id == my_flow_run_id:
        return None  # no API call when the gate names no other run
    from prefect.context import SyncClientContext

    with SyncClientContext.get_or_create() as context:
        return live_run_at_gate(context.client, gate_flow_run_id, other_than=my_flow_run_id)


def recover_decision(previous_run_id: str, pause_key: str) -> dict[str, Any] | None:
    """The decision a reviewer gave to a run that died before recording it, if any.

    Prefect keeps a resumed run's input on that run (key ``suspended-<pause key>-response``),
    so the run that takes over the gate applies it instead of asking again.
    """
    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_base_key

    keyset = keyset_from_base_key(f"suspended-{pause_key}")
    value = read_flow_run_input(key=keyset["response"], flow_run_id=UUID(previous_run_id))
    return value if isinstance(value, dict) else None


def tag_flow_run(flow_run_id: str, tags: list[str]) -> None:
    """Tag a flow run after it started (a stage flow: unit and stage, for filtering).

    Not done with ``prefect.tags()``: tags in that context reach the run's task runs too,
    and a tagged task run acquires tag concurrency slots (one API round trip each).
    """
    from prefect.context import SyncClientContext

    with SyncClientContext.get_or_create() as context:  # the run's own client
        context.client.update_flow_run(UUID(flow_run_id), tags=tags)


def paused_runs(flow_run_ids: Iterable[str]) -> set[str]:
    """Which of these flow runs are paused (suspended at a gate), in one API call."""
    ids = [UUID(i) for i in flow_run_ids]
    if not ids:
        return set()
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=ids),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
            ),
            limit=200,
        )
    return {str(r.id) for r in runs}

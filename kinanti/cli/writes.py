"""The CLI's write commands record who ran them: the ``--as`` person and the OS user.

The CLI is an operator's tool on the server: ``--as`` names whom the change is made for,
the operating-system account proves who typed it. Every write command runs its change in
``cli_write``: one transaction that also appends an audit row (``cli_write``: the command,
the ``--as`` person, the OS user, the target); a change that fails writes neither.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from kinanti import audit
from kinanti.db import unit_of_work


def os_user() -> str:
    """The operating-system user running this command (its uid when it has no name)."""
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@contextmanager
def cli_write(
    command: str, actor: str | None, target: str | None = None, **detail: Any
) -> Iterator[Session]:
    """One unit of work for the CLI's ``command``: the change made in it and its audit row
    (``actor`` is the ``--as`` person, if any) commit together."""
    with unit_of_work() as session:
        yield session
        audit.add(
            session,
            audit.CLI_WRITE,
            actor=actor,
            client="cli",
            target=target,
            command=command,
            os_user=os_user(),
            **detail,
        )


def record_cli_write(command: str, actor: str | None, target: str | None, **detail: Any) -> None:
    """The audit row alone, for a command whose change ran in a transaction of its own
    (``kinanti gates reopen``)."""
    with cli_write(command, actor, target, **detail):
        pass

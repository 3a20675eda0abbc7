"""Options that many commands take, declared once as ``Annotated`` aliases.

- ``Actor``: the required ``--as EMAIL``, the registered person a change is made for (their
  roles decide, as in the portal; ``kinanti.cli.writes`` records the OS user beside it).
  Use it as ``actor: Actor = ...``. A command whose ``--as`` must be a particular person
  (a reviewer, the gate's assignee, ...) declares its own, saying so in its help.
- ``JsonOutput``: ``--json``, machine-readable output instead of text or a table. Use it as
  ``as_json: JsonOutput = False``.
"""

from __future__ import annotations

from typing import Annotated

import typer

Actor = Annotated[str, typer.Option("--as", help="Email of the registered person acting")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON (machine-readable)")]

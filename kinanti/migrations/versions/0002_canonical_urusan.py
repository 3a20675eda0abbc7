"""Data: urusan stored under their canonical names (UU 23/2014 art. 12, issue 12)

Every innovation's ``urusan_main`` and ``urusan_other`` are mapped to the canonical names
of the official list (``domain/iid/urusan.yaml``: tolerant matching and aliases). A value
that names no affair stops the migration, listing every such innovation and value, and
nothing is changed: correct them (``kinanti innovations submit`` with the fixed file, or
SQL) and run ``kinanti db upgrade`` again.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from domain.iid.urusan import lookup, suggestions_for

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class UnmappedUrusanError(RuntimeError):
    """Some stored urusan name no affair of the official list."""


def _others(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # JSON text on some drivers
        value = json.loads(value)
    return [str(v) for v in value]


def upgrade() -> None:
    conn = op.get_bind()
    innovations = sa.table(
        "innovations",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("urusan_main", sa.String),
        sa.column("urusan_other", sa.JSON),
    )
    rows = conn.execute(
        sa.select(
            innovations.c.id,
            innovations.c.code,
            innovations.c.urusan_main,
            innovations.c.urusan_other,
        ).order_by(innovations.c.code)
    ).all()
    unmapped: list[str] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        names = [row.urusan_main, *_others(row.urusan_other)]
        canonical: list[str] = []
        for name in names:
            found = lookup(name)
            if found is None:
                near = ", ".join(suggestions_for(name)) or "-"
                unmapped.append(f"{row.code}: {name!r} (nearest: {near})")
            else:
                canonical.append(found.name)
        if len(canonical) != len(names):
            continue
        main, others = canonical[0], list(dict.fromkeys(canonical[1:]))
        if main != row.urusan_main or others != _others(row.urusan_other):
            updates.append({"row_id": row.id, "main": main, "others": others})
    if unmapped:
        raise UnmappedUrusanError(
            f"{len(unmapped)} urusan value(s) name no government affair of UU 23/2014 "
            "art. 12; nothing was changed. Correct them and run `kinanti db upgrade` again:\n"
            + "\n".join(unmapped)
        )
    for item in updates:
        conn.execute(
            innovations.update()
            .where(innovations.c.id == item["row_id"])
            .values(urusan_main=item["main"], urusan_other=item["others"])
        )


def downgrade() -> None:
    """Nothing to undo: the canonical names are valid spellings of the same affairs."""

"""Gate assignment: each gate's one assignee, the history of its assignees, and the
parameters of a refused decision (so the refusal reads in each person's language)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import domain.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gate_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_gate_requests_assignee_id_people"), "people", ["assignee_id"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_gate_requests_assignee_id"), ["assignee_id"], unique=False
        )
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal_params", sa.JSON(), nullable=True))
    op.create_table(
        "gate_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gate_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "assigned",
                "claimed",
                "handed_back",
                "reassigned",
                name="assignmentkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("os_user", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", domain.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["people.id"], name=op.f("fk_gate_assignments_assignee_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["gate_id"],
            ["gate_requests.id"],
            name=op.f("fk_gate_assignments_gate_id_gate_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["people.id"], name=op.f("fk_gate_assignments_previous_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_assignments")),
    )
    with op.batch_alter_table("gate_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_assignments_gate_id"), ["gate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gate_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_assignments_gate_id"))
    op.drop_table("gate_assignments")
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_column("refusal_params")
    with op.batch_alter_table("gate_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_requests_assignee_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_gate_requests_assignee_id_people"), type_="foreignkey"
        )
        batch_op.drop_column("assignee_id")

"""Adoptions run as flows (issue 10): step work, the adoption's gate, its hand-offs

- ``adoptions`` gains ``steps`` (the work each replication step did), the gate's times, the
  flow run waiting at it, its decision attempts, and the facilitating consultation;
- ``adoption_starts``: the durable hand-off of an adoption's flow (like ``stage_starts``);
- ``decision_proofs`` may prove a decision on an adoption (``adoption_id``) instead of a
  lifecycle gate (``gate_id`` becomes optional).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STEPS = ("persiapan", "perencanaan_pengembangan", "replikasi", "evaluasi")
_START_STATUSES = ("pending", "started", "done")


def upgrade() -> None:
    with op.batch_alter_table("adoptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("steps", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("gate_opened_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("gate_due_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("gate_flow_run_id", sa.String(length=64)))
        batch_op.add_column(
            sa.Column("gate_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("adoptions", schema=None) as batch_op:
        batch_op.alter_column("steps", server_default=None)
        batch_op.alter_column("gate_attempts", server_default=None)

    op.create_table(
        "adoption_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adoption_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(*_STEPS, name="replicationstage", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*_START_STATUSES, name="stagestartstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["adoption_id"], ["adoptions.id"], name=op.f("fk_adoption_starts_adoption_id_adoptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adoption_starts")),
        sa.UniqueConstraint(
            "adoption_id", "step", "attempt", name=op.f("uq_adoption_starts_adoption_id_step_attempt")
        ),
    )
    with op.batch_alter_table("adoption_starts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_adoption_starts_adoption_id"), ["adoption_id"], unique=False
        )

    with op.batch_alter_table("decision_proofs", schema=None) as batch_op:
        batch_op.alter_column("gate_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("adoption_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decision_proofs_adoption_id_adoptions"),
            "adoptions",
            ["adoption_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_decision_proofs_adoption_id"), ["adoption_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("decision_proofs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_proofs_adoption_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_decision_proofs_adoption_id_adoptions"), type_="foreignkey"
        )
        batch_op.drop_column("adoption_id")
        batch_op.alter_column("gate_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("adoption_starts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adoption_starts_adoption_id"))
    op.drop_table("adoption_starts")
    with op.batch_alter_table("adoptions", schema=None) as batch_op:
        for column in (
            "gate_attempts",
            "gate_flow_run_id",
            "gate_due_at",
            "gate_opened_at",
            "steps",
        ):
            batch_op.drop_column(column)

"""Klinik Kinanti desk (issue 10, item 5): attendees, follow-ups as rows, mentoring visits,
public requests; a consultation may be about a replication (an adoption).

Data: every consultation's free-text ``follow_ups`` list becomes ``follow_ups`` rows (owned
by the consultation's mentor, when it has one; no due date, so they are never reminded
until someone sets one), and a consultation's mentor becomes an attendee (innovator).
Then the JSON column is dropped. The downgrade writes the open texts back.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import domain.models
from domain.models import utcnow

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mentoring_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("innovator_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("innovation_id", sa.Integer(), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", domain.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", domain.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["innovation_id"],
            ["innovations.id"],
            name=op.f("fk_mentoring_visits_innovation_id_innovations"),
        ),
        sa.ForeignKeyConstraint(
            ["innovator_id"], ["people.id"], name=op.f("fk_mentoring_visits_innovator_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_mentoring_visits_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentoring_visits")),
    )
    with op.batch_alter_table("mentoring_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mentoring_visits_innovator_id"), ["innovator_id"], unique=False
        )
        batch_op.create_index(
            "ix_mentoring_visits_unit_on", ["unit_id", "visited_on"], unique=False
        )

    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("consultation", "idea", name="publicrequestkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("community", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "language",
            sa.Enum("id", "en", name="language", native_enum=False, length=4),
            nullable=False,
        ),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "proposed",
                "closed",
                name="publicrequeststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("handled_by", sa.String(length=254), nullable=True),
        sa.Column("handled_at", domain.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("innovation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", domain.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["innovation_id"],
            ["innovations.id"],
            name=op.f("fk_public_requests_innovation_id_innovations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_requests")),
        sa.UniqueConstraint("reference", name=op.f("uq_public_requests_reference")),
    )
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_public_requests_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "consultation_attendees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "brida", "innovator", "unit", name="attendeerole", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("present", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_attendees_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_consultation_attendees_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_attendees")),
        sa.UniqueConstraint(
            "consultation_id",
            "person_id",
            name=op.f("uq_consultation_attendees_consultation_id_person_id"),
        ),
    )
    with op.batch_alter_table("consultation_attendees", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_attendees_consultation_id"),
            ["consultation_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_attendees_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "done", "closed", name="followupstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=254), nullable=True),
        sa.Column("created_at", domain.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", domain.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=254), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=True),
        sa.Column("reminded_at", domain.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", domain.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(consultation_id IS NULL) <> (visit_id IS NULL)", name=op.f("ck_follow_ups_one_parent")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_follow_ups_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name=op.f("fk_follow_ups_owner_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["mentoring_visits.id"],
            name=op.f("fk_follow_ups_visit_id_mentoring_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_ups_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_follow_ups_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_follow_ups_status_due", ["status", "due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_visit_id"), ["visit_id"], unique=False)

    # Read the old lists first: on SQLite a batch recreates ``consultations`` (its DROP
    # would cascade to rows already written in the new tables).
    legacy = _legacy_follow_ups()
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adoption_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("booked_by", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_consultations_adoption_id"), ["adoption_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_adoption_id_adoptions"),
            "adoptions",
            ["adoption_id"],
            ["id"],
        )

    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_column("follow_ups")
        batch_op.alter_column("sequence", server_default=None)
    _follow_ups_to_rows(legacy)


def _texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # JSON text on some drivers
        value = json.loads(value) if value.strip() else []
    if not isinstance(value, list):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]


_consultations = sa.table(
    "consultations",
    sa.column("id", sa.Integer),
    sa.column("mentor_id", sa.Integer),
    sa.column("follow_ups", sa.JSON),
)
_follow_ups = sa.table(
    "follow_ups",
    sa.column("consultation_id", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("owner_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_by", sa.String),
    sa.column("created_at", domain.models.UTCDateTime(timezone=True)),
)
_attendees = sa.table(
    "consultation_attendees",
    sa.column("consultation_id", sa.Integer),
    sa.column("person_id", sa.Integer),
    sa.column("role", sa.String),
)


def _legacy_follow_ups() -> list[tuple[int, int | None, Any]]:
    rows = op.get_bind().execute(
        sa.select(_consultations.c.id, _consultations.c.mentor_id, _consultations.c.follow_ups)
    )
    return [(cid, mentor_id, value) for cid, mentor_id, value in rows]


def _follow_ups_to_rows(rows: list[tuple[int, int | None, Any]]) -> None:
    conn = op.get_bind()
    now = utcnow()
    follow_ups = [
        {
            "consultation_id": cid,
            "text": text,
            "owner_id": mentor_id,
            "status": "open",
            "created_by": "migration 0003",
            "created_at": now,
        }
        for cid, mentor_id, value in rows
        for text in _texts(value)
    ]
    if follow_ups:
        conn.execute(sa.insert(_follow_ups), follow_ups)
    attendees = [
        {"consultation_id": cid, "person_id": mentor_id, "role": "innovator"}
        for cid, mentor_id, _ in rows
        if mentor_id is not None
    ]
    if attendees:
        conn.execute(sa.insert(_attendees), attendees)


def downgrade() -> None:
    conn = op.get_bind()
    open_texts: dict[int, list[str]] = {}
    for cid, text in conn.execute(
        sa.text(
            "SELECT consultation_id, text FROM follow_ups "
            "WHERE consultation_id IS NOT NULL AND status = 'open' ORDER BY id"
        )
    ):
        open_texts.setdefault(cid, []).append(text)
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_ups", sa.JSON(), nullable=False, server_default="[]"))
    for cid, texts in open_texts.items():
        conn.execute(
            sa.update(_consultations).where(_consultations.c.id == cid).values(follow_ups=texts)
        )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_adoption_id_adoptions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_consultations_adoption_id"))
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("booked_by")
        batch_op.drop_column("sequence")
        batch_op.drop_column("place")
        batch_op.drop_column("adoption_id")

    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_visit_id"))
        batch_op.drop_index("ix_follow_ups_status_due")
        batch_op.drop_index(batch_op.f("ix_follow_ups_owner_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_consultation_id"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("consultation_attendees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_attendees_person_id"))
        batch_op.drop_index(batch_op.f("ix_consultation_attendees_consultation_id"))

    op.drop_table("consultation_attendees")
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_public_requests_status_created")

    op.drop_table("public_requests")
    with op.batch_alter_table("mentoring_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_mentoring_visits_unit_on")
        batch_op.drop_index(batch_op.f("ix_mentoring_visits_innovator_id"))

    op.drop_table("mentoring_visits")

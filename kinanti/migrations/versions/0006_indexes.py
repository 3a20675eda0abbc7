"""Indexes: the portfolio revision, and the foreign keys pages look up by

- ``indicator_claims (year, updated_at)`` and ``innovations (updated_at)``: the city's IID
  figures are kept per revision of what they are computed from
  (``domain.iid.portfolio.portfolio_revision``), read from these indexes;
- one index per foreign key that pages and queues search by and that had none (PostgreSQL
  does not index foreign keys by itself): an innovation's replicas (``origin_id``), a
  unit's people, consultations and visits, a mentor's consultations, a reviewer's gates,
  an adoption's adopter and replica, a public request's innovation.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (index name, columns)
INDEXES: dict[str, list[tuple[str, list[str]]]] = {
    "adoptions": [
        ("ix_adoptions_adopter_unit_id", ["adopter_unit_id"]),
        ("ix_adoptions_replica_id", ["replica_id"]),
    ],
    "consultations": [
        ("ix_consultations_mentor_id", ["mentor_id"]),
        ("ix_consultations_unit_id", ["unit_id"]),
    ],
    "gate_assignments": [("ix_gate_assignments_assignee_id", ["assignee_id"])],
    "indicator_claims": [("ix_indicator_claims_year_updated_at", ["year", "updated_at"])],
    "innovations": [
        ("ix_innovations_origin_id", ["origin_id"]),
        ("ix_innovations_updated_at", ["updated_at"]),
    ],
    "mentoring_visits": [
        ("ix_mentoring_visits_innovation_id", ["innovation_id"]),
        ("ix_mentoring_visits_unit_id", ["unit_id"]),
    ],
    "people": [("ix_people_unit_id", ["unit_id"])],
    "public_requests": [("ix_public_requests_innovation_id", ["innovation_id"])],
}


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes:
                batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, indexes in reversed(INDEXES.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _columns in reversed(indexes):
                batch_op.drop_index(name)

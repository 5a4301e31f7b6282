"""refusals found nothing: a refused pull's metrics are SQL NULL

A snapshot of a refused pull was written with the JSON value `null` in its metrics
(SQLAlchemy's JSON type writes None so by default), which `IS NOT NULL` reads as found:
a report then took the refusal for the publication's last figures and read zeros. The
column now writes SQL NULL for None, and the refusals stored before are set so.

Revision ID: c7e9b1d3f5a7
Revises: b5d7f9a1c3e5
Create Date: 2026-11-30 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c7e9b1d3f5a7"
down_revision: str | None = "b5d7f9a1c3e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE metric_snapshot SET metrics = NULL WHERE error IS NOT NULL")


def downgrade() -> None:
    pass  # SQL NULL reads as None as the JSON null did

"""conversions through short links: the link, its publication and the click

An event may name the short link a reader came through (its code) or the click itself
(the `pub_click` value the redirect gave the landing page): the conversion keeps the
link, its publication and the click, so a publication's results and a member's clicks
can be counted.

Revision ID: e3a5c7e9b1d4
Revises: d1f3a5b7c9e2
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3a5c7e9b1d4"
down_revision: str | None = "d1f3a5b7c9e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversion") as batch:
        batch.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("publication_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("click_key", sa.String(length=32), nullable=True))
        batch.create_foreign_key("fk_conversion_link", "tracked_link", ["link_id"], ["id"])
        batch.create_foreign_key(
            "fk_conversion_publication", "publication", ["publication_id"], ["id"]
        )
    op.create_index("ix_conversion_publication", "conversion", ["publication_id"])


def downgrade() -> None:
    op.drop_index("ix_conversion_publication", table_name="conversion")
    with op.batch_alter_table("conversion") as batch:
        batch.drop_constraint("fk_conversion_publication", type_="foreignkey")
        batch.drop_constraint("fk_conversion_link", type_="foreignkey")
        batch.drop_column("click_key")
        batch.drop_column("publication_id")
        batch.drop_column("link_id")

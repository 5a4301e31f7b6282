"""interactions by campaign: the campaign an interaction's publication served, on its row

A campaign's report counts its members' interactions (new and returning members,
cohorts, relays): found through their publication's post, every report joined each
interaction to two tables (a second on SQLite for a hundred thousand of them). The row
now carries its campaign, as a click does, with an index that answers those counts.

Revision ID: d9f1a3c5e7b9
Revises: c7e9b1d3f5a7
Create Date: 2026-11-30 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d9f1a3c5e7b9"
down_revision: str | None = "c7e9b1d3f5a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_interaction_campaign", "campaign", ["campaign_id"], ["id"])
    op.execute(
        """
        UPDATE interaction SET campaign_id = (
            SELECT post.campaign_id FROM publication JOIN post ON post.id = publication.post_id
            WHERE publication.id = interaction.publication_id
        )
        WHERE publication_id IS NOT NULL
        """
    )
    op.create_index(
        "ix_interaction_campaign",
        "interaction",
        ["campaign_id", "occurred_at", "member_id", "kind"],
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_campaign", table_name="interaction")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_constraint("fk_interaction_campaign", type_="foreignkey")
        batch.drop_column("campaign_id")

"""interactions by member: who each interaction's author is, kept on the row

An interaction is a member's when its author is one of their identities. The engine
kept the tie only in the join (by account id or by handle, at every read): a merge
had to be followed through identities, and an erased member's interactions stopped
being anyone's, so the counts of active members fell when a person asked to be
forgotten. The row now carries its member: set when it is stored, when an identity is
given to a member, moved on a merge, kept (anonymous) on an erasure.

Existing rows are tied from the identities as they stand, and each member's first
sighting moves back to their earliest interaction.

Revision ID: a3c5e7f9b1d3
Revises: f5b7d9a1c3e6
Create Date: 2026-11-30 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3c5e7f9b1d3"
down_revision: str | None = "f5b7d9a1c3e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BY_KEY = """
UPDATE interaction SET member_id = (
    SELECT mi.member_id FROM member_identity mi
    WHERE mi.workspace_id = interaction.workspace_id
      AND mi.platform = interaction.platform
      AND mi.key = {key}
)
WHERE member_id IS NULL AND {present}
"""


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_interaction_member", "member", ["member_id"], ["id"])
    op.create_index("ix_interaction_member", "interaction", ["member_id", "occurred_at"])
    op.execute(
        _BY_KEY.format(key="'id:' || interaction.author_id", present="author_id IS NOT NULL")
    )
    op.execute(
        _BY_KEY.format(
            key="'@' || lower(ltrim(interaction.author_handle, '@'))",
            present="author_handle IS NOT NULL",
        )
    )
    op.execute(
        """
        UPDATE member SET first_seen_at = (
            SELECT min(i.occurred_at) FROM interaction i WHERE i.member_id = member.id
        )
        WHERE EXISTS (
            SELECT 1 FROM interaction i
            WHERE i.member_id = member.id AND i.occurred_at < member.first_seen_at
        )
        """
    )


def downgrade() -> None:
    op.drop_index("ix_interaction_member", table_name="interaction")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_constraint("fk_interaction_member", type_="foreignkey")
        batch.drop_column("member_id")

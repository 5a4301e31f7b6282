"""one channel per platform account in a workspace, held by the database

The API refuses a second channel for an account (a 409 naming the first); two requests at
the same moment could both pass that check. The unique index makes the database refuse
the second. Rows made before the API refused them may hold such pairs: the index is then
not made (a warning names them, to merge by hand) and the API's check still applies.

Revision ID: a1b2c3d4e5f6
Revises: c3d9e1f5a7b2
Create Date: 2026-11-29 16:30:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1b2c3d4e5f6"
down_revision: str | None = "c3d9e1f5a7b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    twins = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT workspace_id, platform, external_account_id, COUNT(*) FROM channel "
                "GROUP BY workspace_id, platform, external_account_id HAVING COUNT(*) > 1"
            )
        )
        .all()
    )
    if twins:
        log.warning(
            "channels sharing one account (workspace, platform, account, count): %s; the "
            "unique index ux_channel_account is not made until they are merged",
            twins,
        )
        return
    op.create_index(
        "ux_channel_account",
        "channel",
        ["workspace_id", "platform", "external_account_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_channel_account", table_name="channel", if_exists=True)

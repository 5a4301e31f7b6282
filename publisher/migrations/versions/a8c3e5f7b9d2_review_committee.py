"""the review committee: policies, revisions, comments, webhooks; an append-only audit log;
a campaign's link tracking and a key's time zone

Revision ID: a8c3e5f7b9d2
Revises: f2a4c6e8b0d1
Create Date: 2026-11-25 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import publisher.db

revision: str = "a8c3e5f7b9d2"
down_revision: str | None = "f2a4c6e8b0d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
APPEND_ONLY = "the audit log is append-only: events cannot be changed or deleted"


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("time_zone", String(length=64), nullable=True))
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("tracking", sa.JSON(), nullable=True))
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("post_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_event_post_id_post", "post", ["post_id"], ["id"])
        batch.create_index("ix_event_post_id", ["post_id"])
    op.create_table(
        "post_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("api_key.id"), nullable=True),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("post_id", "revision", name="uq_post_revision"),
    )
    op.create_index("ix_post_revision_post_id", "post_revision", ["post_id"])
    op.create_table(
        "review_policy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_by", String(length=100), nullable=False),
        sa.Column("updated_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_review_policy_workspace_id", "review_policy", ["workspace_id"])
    op.create_index("ix_review_policy_campaign_id", "review_policy", ["campaign_id"])
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("post.id"), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("comment.id"), nullable=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("api_key.id"), nullable=True),
        sa.Column("body", String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comment_workspace_id", "comment", ["workspace_id"])
    op.create_index("ix_comment_post_id", "comment", ["post_id"])
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("url", String(length=2048), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("description", String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_workspace_id", "webhook", ["workspace_id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("webhook_id", sa.Integer(), sa.ForeignKey("webhook.id"), nullable=False),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspace.id"), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=True),
        sa.Column("topic", String(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", publisher.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", String(), nullable=True),
        sa.Column(
            "redelivery_of", sa.Integer(), sa.ForeignKey("webhook_delivery.id"), nullable=True
        ),
        sa.Column("delivered_at", publisher.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", publisher.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_delivery_webhook_id", "webhook_delivery", ["webhook_id"])
    op.create_index("ix_webhook_delivery_workspace_id", "webhook_delivery", ["workspace_id"])
    op.create_index(
        "ix_webhook_delivery_status_next", "webhook_delivery", ["status", "next_attempt_at"]
    )
    _append_only()


def _append_only() -> None:
    """The database itself refuses to change or delete an audit event, whoever asks."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
            "FOR EACH ROW EXECUTE FUNCTION event_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER event_no_{action.lower()} BEFORE {action} ON event "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER event_append_only ON event")
        op.execute("DROP FUNCTION event_append_only()")
    else:
        op.execute("DROP TRIGGER event_no_update")
        op.execute("DROP TRIGGER event_no_delete")
    for table in ("webhook_delivery", "webhook", "comment", "review_policy", "post_revision"):
        op.drop_table(table)
    with op.batch_alter_table("event") as batch:
        batch.drop_index("ix_event_post_id")
        batch.drop_constraint("fk_event_post_id_post", type_="foreignkey")
        batch.drop_column("data")
        batch.drop_column("post_id")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("tracking")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("time_zone")

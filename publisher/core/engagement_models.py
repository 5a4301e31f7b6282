"""Engagement's table models: what the platforms said of published posts, pull by pull."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from publisher.core.db import UTCDateTime


class MetricSnapshot(SQLModel, table=True):
    """A publication's metrics as one pull found them (summed over a thread's parts), or
    why that pull got nothing: a refusal is a row with its `error`, never a zero."""

    __tablename__ = "metric_snapshot"
    __table_args__ = (Index("ix_metric_snapshot_publication_taken", "publication_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    publication_id: int = Field(foreign_key="publication.id")
    pull_id: int | None = Field(default=None, foreign_key="metric_pull.id")
    taken_at: datetime = Field(sa_type=UTCDateTime)
    metrics: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = Field(default=None, max_length=2000)


class MetricPull(SQLModel, table=True):
    """One pull job's requests to a channel's platform: the read budget counts `calls`."""

    __tablename__ = "metric_pull"
    __table_args__ = (Index("ix_metric_pull_channel_at", "channel_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    channel_id: int = Field(foreign_key="channel.id")
    at: datetime = Field(sa_type=UTCDateTime)
    publications: int = 0
    calls: int = 0
    error: str | None = Field(default=None, max_length=2000)

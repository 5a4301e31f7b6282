"""The OAuth "connect an account" grants in progress (publisher/plan/connect.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary, String
from sqlmodel import Field, SQLModel

from publisher.core.db import UTCDateTime, utcnow


class OAuthGrant(SQLModel, table=True):
    """One "connect an account" in progress: the state the platform sends back, who asked
    (workspace, key), the sealed PKCE verifier; used once, within its lifetime."""

    __tablename__ = "oauth_grant"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    platform: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    redirect_uri: str = Field(max_length=2000)
    verifier: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""Forgotten identities: a member's personal data erased on request stays erased. Each
identity erasure deletes is kept as a digest only (SHA-256 of the workspace, the
network and the key: it names no one, and confirms a guess only to whoever reads the
database); an author it names is stored anonymous (no account, handle, name or words)
and makes no member. An account id names its author; a handle does only when the
erased member was known by no account id there, or by this one (a handle changes
hands). Your systems giving one of those identities to a member again lifts them: they
came back."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from publisher.core.models import ForgottenIdentity, MemberIdentity
from publisher.engage.authors import handle_key


def digest(workspace_id: int, platform: str, key: str) -> str:
    return hashlib.sha256(f"{workspace_id}\n{platform}\n{key}".encode()).hexdigest()


def remember(session: Session, identities: Sequence[MemberIdentity], *, now: datetime) -> None:
    """Keep the digests of an erased member's identities (`member_id`: who they were)."""
    for identity in identities:
        kept = digest(identity.workspace_id, identity.platform, identity.key)
        known = select(ForgottenIdentity.id).where(
            ForgottenIdentity.workspace_id == identity.workspace_id,
            ForgottenIdentity.platform == identity.platform,
            ForgottenIdentity.digest == kept,
        )
        if session.scalar(known) is None:  # one erased before: it stays theirs
            session.add(
                ForgottenIdentity(
                    workspace_id=identity.workspace_id,
                    member_id=identity.member_id,
                    platform=identity.platform,
                    by_handle=identity.key.startswith("@"),
                    digest=kept,
                    created_at=now,
                )
            )
    session.flush()


def lift(session: Session, workspace_id: int, platform: str, key: str) -> None:
    """Your systems gave this identity to a member: the person it was is no longer
    forgotten on that network (their other identities there neither)."""
    kept = session.scalar(
        select(ForgottenIdentity).where(
            ForgottenIdentity.workspace_id == workspace_id,
            ForgottenIdentity.platform == platform,
            ForgottenIdentity.digest == digest(workspace_id, platform, key),
        )
    )
    if kept is not None:
        session.execute(
            delete(ForgottenIdentity).where(
                ForgottenIdentity.member_id == kept.member_id,
                ForgottenIdentity.platform == platform,
            )
        )


def names(
    session: Session,
    workspace_id: int,
    platform: str,
    author_id: str | None,
    author_handle: str | None,
) -> bool:
    """Whether this author is someone whose data was erased."""

    def found(key: str) -> ForgottenIdentity | None:
        return session.scalar(
            select(ForgottenIdentity).where(
                ForgottenIdentity.workspace_id == workspace_id,
                ForgottenIdentity.platform == platform,
                ForgottenIdentity.digest == digest(workspace_id, platform, key),
            )
        )

    if author_id and found(f"id:{author_id}") is not None:
        return True
    if not author_handle or not author_handle.strip("@"):
        return False
    by_handle = found(handle_key(author_handle))
    if by_handle is None:
        return False
    if not author_id:
        return True
    # Known by account ids there: the handle names them only from one of those.
    ids = select(ForgottenIdentity.id).where(
        ForgottenIdentity.member_id == by_handle.member_id,
        ForgottenIdentity.platform == platform,
        ForgottenIdentity.by_handle.is_(False),
    )
    return session.scalar(ids.limit(1)) is None

"""Forgotten people: a member's personal data erased on request stays erased. Their
interactions are blanked (`blank`); each identity the erasure deletes is kept as a digest
only (SHA-256 of the workspace, the network and the key: it names no one, and confirms
a guess only to whoever reads the database). An author it names is stored anonymous (no
account, handle, name or words; the platform's id a digest, `opaque`) and makes no
member. An account id names its author; a handle does only when the erased member was
known by no account id there (a handle changes hands). Your systems giving their account
id to a member again lifts them on that network (they came back); their handle, only the
handle when they had an account id there."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, delete, select, update
from sqlmodel import Session

from publisher.core.models import Conversion, ForgottenIdentity, Interaction, MemberIdentity
from publisher.engage.authors import authored_by, handle_key

OPAQUE = "sha256:"  # what a forgotten interaction's platform id starts with


def digest(workspace_id: int, platform: str, key: str) -> str:
    """The digest an identity is kept as: SHA-256 of the workspace, network and key."""
    return hashlib.sha256(f"{workspace_id}\n{platform}\n{key}".encode()).hexdigest()


def opaque(external_id: str) -> str:
    """A forgotten interaction's platform id, kept only to know it again (a Facebook post
    id holds its author's account id): SHA-256 of it."""
    if external_id.startswith(OPAQUE):
        return external_id
    return OPAQUE + hashlib.sha256(external_id.encode()).hexdigest()


def blank(session: Session, ids: Sequence[int], identities: Sequence[MemberIdentity]) -> None:
    """Who the erased members `ids` were and what they wrote, in their interactions (theirs,
    and any their identities wrote that were tied to no one): gone, the platform's id of
    each kept as a digest (`opaque`), the post only when it is a publication's. The
    interactions (kind, time, publication, member: anonymous now) stay, for the counts."""
    theirs = Interaction.member_id.in_(ids)
    for identity in identities:
        theirs = theirs | (Interaction.member_id.is_(None) & authored_by(identity))
    rows = session.execute(select(Interaction.id, Interaction.external_id).where(theirs)).all()
    if not rows:
        return
    table = Interaction.__table__
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("row"))
        .values(
            external_id=bindparam("opaque"),
            post_id=case((table.c.publication_id.is_(None), None), else_=table.c.post_id),
            author_id=None,
            author_handle=None,
            author_name=None,
            text=None,
        ),
        [{"row": row.id, "opaque": opaque(row.external_id)} for row in rows],
    )


def result_key(workspace_id: int, key: str) -> str:
    """An erased member's result's Idempotency-Key as kept: a digest (the key is yours,
    and may name them: "signup-alice@example.org"); a retry is still known by it."""
    return OPAQUE + hashlib.sha256(f"{workspace_id}\n{key}".encode()).hexdigest()


def blank_results(session: Session, ids: Sequence[int]) -> None:
    """The erased members' results keep nothing of yours that could name them: the
    Idempotency-Key a digest (`result_key`), the digest of the body (which held their
    name and your id for them) gone. Kind, value, time and attribution stay, for the
    counts."""
    rows = session.execute(
        select(Conversion.id, Conversion.workspace_id, Conversion.idempotency_key).where(
            Conversion.member_id.in_(ids), Conversion.idempotency_key.not_like(f"{OPAQUE}%")
        )
    ).all()
    if rows:
        table = Conversion.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row"))
            .values(idempotency_key=bindparam("kept"), request_digest=""),
            [{"row": r.id, "kept": result_key(r.workspace_id, r.idempotency_key)} for r in rows],
        )


def remember(session: Session, identities: Sequence[MemberIdentity], *, now: datetime) -> None:
    """Keep the digests of an erased member's identities (`member_id`: who they were)."""
    for identity in identities:
        kept = digest(identity.workspace_id, identity.platform, identity.key)
        if _kept(session, identity.workspace_id, identity.platform, kept) is None:
            session.add(  # (one erased before stays the first one's)
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
    """Your systems gave this identity to a member. An account id: the person it was is
    no longer forgotten on that network (their handles there neither). A handle: only
    it, when the person was known by an account id there (the handle may have changed
    hands; their account stays forgotten)."""
    kept = _kept(session, workspace_id, platform, digest(workspace_id, platform, key))
    if kept is None:
        return
    if kept.by_handle and _has_account(session, kept.member_id, platform):
        session.delete(kept)
        session.flush()
        return
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
) -> str | None:
    """What names this author as someone whose data was erased: "account" (their account
    id), "handle", or None."""
    if author_id and _kept(session, workspace_id, platform, _of(workspace_id, platform, author_id)):
        return "account"
    if not author_handle or not author_handle.strip("@"):
        return None
    key = handle_key(author_handle)
    by_handle = _kept(session, workspace_id, platform, digest(workspace_id, platform, key))
    if by_handle is None:
        return None
    # Known by account ids there: the handle names them only from one of those.
    if author_id and _has_account(session, by_handle.member_id, platform):
        return None
    return "handle"


def _of(workspace_id: int, platform: str, account_id: str) -> str:
    return digest(workspace_id, platform, f"id:{account_id}")


def _kept(
    session: Session, workspace_id: int, platform: str, kept: str
) -> ForgottenIdentity | None:
    return session.scalar(
        select(ForgottenIdentity).where(
            ForgottenIdentity.workspace_id == workspace_id,
            ForgottenIdentity.platform == platform,
            ForgottenIdentity.digest == kept,
        )
    )


def _has_account(session: Session, member_id: int, platform: str) -> bool:
    """Whether the erased member was known by an account id on the platform."""
    ids = select(ForgottenIdentity.id).where(
        ForgottenIdentity.member_id == member_id,
        ForgottenIdentity.platform == platform,
        ForgottenIdentity.by_handle.is_(False),
    )
    return session.scalar(ids.limit(1)) is not None

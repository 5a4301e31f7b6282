"""Whose an interaction is: the member one of whose identities (their account id on the
network, else their @handle) its author is. The tie is kept on the interaction, made
when the interaction is stored and when an identity is given to a member, so a merge
moves it and an erasure keeps it (anonymous): the counts of members stay true."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from publisher.core.models import Interaction, Member, MemberIdentity


def handle_key(handle: str) -> str:
    """A handle as identities keep it: lower case, without its @."""
    return "@" + handle.removeprefix("@").lower()


def member_of(
    session: Session,
    workspace_id: int,
    platform: str,
    author_id: str | None,
    author_handle: str | None,
) -> int | None:
    """The member this author is, by account id first (a handle can change hands)."""
    keys = []
    if author_id:
        keys.append(f"id:{author_id}")
    if author_handle and author_handle.strip("@"):
        keys.append(handle_key(author_handle))
    for key in keys:
        found = session.scalar(
            select(MemberIdentity.member_id).where(
                MemberIdentity.workspace_id == workspace_id,
                MemberIdentity.platform == platform,
                MemberIdentity.key == key,
            )
        )
        if found is not None:
            return found
    return None


def seen(session: Session, member_id: int, at: datetime) -> None:
    """The member was active at `at`: their first sighting is no later than that."""
    session.execute(
        update(Member)
        .where(Member.id == member_id, Member.first_seen_at > at)
        .values(first_seen_at=at)
        .execution_options(synchronize_session="fetch")
    )


def claim(session: Session, identity: MemberIdentity) -> None:
    """The interactions by the author this identity names, not yet anyone's, become its
    member's (what they did before the engine knew who they were counts as theirs)."""
    on = (
        (Interaction.workspace_id == identity.workspace_id)
        & (Interaction.platform == identity.platform)
        & Interaction.member_id.is_(None)
    )
    if identity.key.startswith("id:"):
        theirs = Interaction.author_id == identity.key.removeprefix("id:")
    else:  # handles as the network wrote them: any case, with or without the @
        theirs = func.lower(func.ltrim(Interaction.author_handle, "@")) == identity.key[1:]
    session.execute(
        update(Interaction)
        .where(on & theirs)
        .values(member_id=identity.member_id)
        .execution_options(synchronize_session=False)
    )
    earliest = session.scalar(
        select(func.min(Interaction.occurred_at)).where(Interaction.member_id == identity.member_id)
    )
    if earliest is not None:
        seen(session, identity.member_id, earliest)

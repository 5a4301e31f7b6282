"""Whose an interaction is: the member one of whose identities (their account id on the
network, else their @handle) its author is, made from the author if no member is (their
first interaction makes them a member of the community, known by their account there).
The tie is kept on the interaction, made when the interaction is stored and when an
identity is given to a member, so a merge moves it and an erasure keeps it (anonymous):
the counts of members stay true."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.models import Interaction, Member, MemberIdentity

# What an identity given through the API may be (IdentityIn): the same for one the
# engine makes from a webhook's author, so either can be named back.
ACCOUNT_ID = re.compile(r"[\x21-\x7e]{1,190}")
HANDLE = re.compile(r"@?[A-Za-z0-9_.]{1,190}")


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
        if found is not None and not (
            key.startswith("@")
            and author_id
            and _other_account(session, found, platform, author_id)
        ):
            return found
    return None


def _other_account(session: Session, member_id: int, platform: str, author_id: str) -> bool:
    """Whether the member is known on the platform by another account than this one (a
    handle can change hands: the account id says who the author is)."""
    ids = session.scalars(
        select(MemberIdentity.key).where(
            MemberIdentity.member_id == member_id,
            MemberIdentity.platform == platform,
            MemberIdentity.key.like("id:%"),
        )
    ).all()
    return bool(ids) and f"id:{author_id}" not in ids


def author_member(
    session: Session,
    workspace_id: int,
    platform: str,
    author_id: str | None,
    author_handle: str | None,
    author_name: str | None,
    *,
    at: datetime,
    now: datetime,
) -> int | None:
    """The member this author is, made (known by their account id and handle there) if
    no member is yet; None when the author is no one the engine could name again."""
    found = member_of(session, workspace_id, platform, author_id, author_handle)
    if found is not None:
        return standing(session, found)
    keys = []
    if author_id and ACCOUNT_ID.fullmatch(author_id):
        keys.append(f"id:{author_id}")
    if author_handle and HANDLE.fullmatch(author_handle):
        key = handle_key(author_handle)
        held = select(MemberIdentity.id).where(
            MemberIdentity.workspace_id == workspace_id,
            MemberIdentity.platform == platform,
            MemberIdentity.key == key,
        )
        if session.scalar(held) is None:  # a handle another account had stays theirs
            keys.append(key)
    if not keys:
        return None
    try:
        with session.begin_nested():
            member = Member(
                workspace_id=workspace_id,
                name=(author_name or None) and author_name[:200],
                first_seen_at=at,
                created_at=now,
            )
            session.add(member)
            session.flush()
            made = [
                MemberIdentity(
                    workspace_id=workspace_id,
                    member_id=member.id,
                    platform=platform,
                    key=key,
                    created_at=now,
                )
                for key in keys
            ]
            session.add_all(made)
            session.flush()
    except IntegrityError:  # another delivery made them meanwhile
        return member_of(session, workspace_id, platform, author_id, author_handle)
    for identity in made:  # what they did before the engine kept who did it
        claim(session, identity)
    return member.id


def standing(session: Session, member_id: int) -> int:
    """The member that stands for this one now (itself, or the one it was folded into),
    its row held for share: a fold under way ends first, and the tie is to the member it
    kept."""
    for _ in range(20):  # a chain of merges this long is a bug, not a history
        merged = session.scalar(
            select(Member.merged_into).where(Member.id == member_id).with_for_update(read=True)
        )
        if merged is None:
            break
        member_id = merged
    return member_id


def erased(session: Session, member_id: int) -> bool:
    """Whether the member's data was erased (an erasure that held their row has ended)."""
    return session.scalar(select(Member.erased_at).where(Member.id == member_id)) is not None


def seen(session: Session, member_id: int, at: datetime) -> None:
    """The member was active at `at`: their first sighting is no later than that."""
    session.execute(
        update(Member)
        .where(Member.id == member_id, Member.first_seen_at > at)
        .values(first_seen_at=at)
        .execution_options(synchronize_session="fetch")
    )


def authored_by(identity: MemberIdentity):
    """The interactions in the identity's workspace whose author it names."""
    on = (Interaction.workspace_id == identity.workspace_id) & (
        Interaction.platform == identity.platform
    )
    if identity.key.startswith("id:"):
        return on & (Interaction.author_id == identity.key.removeprefix("id:"))
    # Handles as the network wrote them: any case, with or without the @; and when the
    # member is known by account ids there, only from those (a handle changes hands).
    ids = select(func.substr(MemberIdentity.key, 4)).where(
        MemberIdentity.member_id == identity.member_id,
        MemberIdentity.platform == identity.platform,
        MemberIdentity.key.like("id:%"),
    )
    theirs = Interaction.author_id.is_(None) | Interaction.author_id.in_(ids) | ~ids.exists()
    handle = func.lower(func.ltrim(Interaction.author_handle, "@"))
    return on & (handle == identity.key[1:]) & theirs


def claim(session: Session, identity: MemberIdentity) -> None:
    """The interactions by the author this identity names, not yet anyone's, become its
    member's (what they did before the engine knew who they were counts as theirs)."""
    session.execute(
        update(Interaction)
        .where(Interaction.member_id.is_(None), authored_by(identity))
        .values(member_id=identity.member_id)
        .execution_options(synchronize_session=False)
    )
    earliest = session.scalar(
        select(func.min(Interaction.occurred_at)).where(Interaction.member_id == identity.member_id)
    )
    if earliest is not None:
        seen(session, identity.member_id, earliest)

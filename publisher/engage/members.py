"""Members across networks: how each is known there (identities), what they did (their
interactions, results and the campaigns those served), opt-outs, and the two acts on
their identity that are explicit and audited: merging two members, and erasing one's
personal data on request (the row stays, anonymous, so every count stays true)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.errors import Conflict, ValidationFailed, field_error
from publisher.core.models import (
    Conversion,
    Interaction,
    Member,
    MemberIdentity,
)
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage import authors, forgotten
from publisher.engage.figures import label
from publisher.engage.schemas import ERASED, IdentityIn
from publisher.record import events

MAX_MERGES = 20  # a chain of merges this long is a bug, not a history
FOLDED = "known on the networks before your systems named them"


def key_of(identity: IdentityIn) -> str:
    """An identity's key: the account id, else the handle in lower case without its @."""
    if identity.account_id is not None:
        return f"id:{identity.account_id}"
    return authors.handle_key(identity.handle or "")


def current(session: Session, member: Member) -> Member:
    """The member that stands for `member`: itself, or the one it was merged into."""
    for _ in range(MAX_MERGES):
        if member.merged_into is None:
            return member
        member = session.get(Member, member.merged_into)
    raise Conflict(f"member {member.id}: merges go round in a circle")


def create_identities(
    session: Session,
    actor: Actor,
    member: Member,
    identities: Sequence[IdentityIn],
    *,
    now: datetime,
) -> None:
    """Know `member` by these identities too; one already theirs is left as it is; one a
    member the networks brought (unnamed by your systems) has makes that member this one
    (folded in, audited); one another named member has is a conflict (merge them, if they
    are the same person). A merged member's go to the one that stands for them."""
    actor.require(Permission.WRITE_CONTENT)
    member = current(session, member)
    if member.erased_at is not None and identities:
        raise Conflict(f"member {member.id}'s data was erased: give these to a new member")
    wanted = {(i.platform, key_of(i)): i for i in identities}  # the same one twice: once
    for (platform, key), identity in wanted.items():
        held = session.scalar(
            select(MemberIdentity)
            .where(
                MemberIdentity.workspace_id == actor.workspace_id,
                MemberIdentity.platform == platform,
                MemberIdentity.key == key,
            )
            .execution_options(populate_existing=True)  # a fold moved some: as they are now
        )
        if held is not None:
            if held.member_id == member.id:
                continue
            met = session.get(Member, held.member_id)
            if met.external_id is None and met.merged_into is None and met.erased_at is None:
                # Someone the networks brought, unnamed until now: this is who they are.
                fold(session, actor, member, met, now=now, reason=FOLDED)
                continue
            raise Conflict(
                f"{identity.platform} {key} is member {held.member_id}'s: merge the two "
                "members if they are the same person",
                member_id=held.member_id,
            )
        made = MemberIdentity(
            workspace_id=actor.workspace_id,
            member_id=member.id,
            platform=identity.platform,
            key=key,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(made)
        except IntegrityError as exc:  # taken at the same moment by another call
            raise Conflict(f"{identity.platform} {key} was just given to another member") from exc
        forgotten.lift(session, actor.workspace_id, platform, key)
        authors.claim(session, made)


def identities_of(session: Session, member_ids: Sequence[int]) -> dict[int, list[MemberIdentity]]:
    found: dict[int, list[MemberIdentity]] = {m: [] for m in member_ids}
    if member_ids:
        rows = session.scalars(
            select(MemberIdentity)
            .where(MemberIdentity.member_id.in_(member_ids))
            .order_by(MemberIdentity.id)
        )
        for row in rows:
            found[row.member_id].append(row)
    return found


def list_members(
    session: Session,
    actor: Actor,
    *,
    external_id: str | None = None,
    platform: str | None = None,
    account: IdentityIn | None = None,
    named: bool | None = None,
    limit: int = 100,
    after_id: int = 0,
) -> list[Member]:
    """The workspace's members in id order from after `after_id` (merged ones are the
    member that stands for them: not listed), filtered."""
    actor.require(Permission.READ)
    query = select(Member).where(
        Member.workspace_id == actor.workspace_id,
        Member.merged_into.is_(None),
        Member.id > after_id,
    )
    if external_id is not None:  # a merged member's id names the one that stands for them
        named_so = session.scalar(
            select(Member).where(
                Member.workspace_id == actor.workspace_id, Member.external_id == external_id
            )
        )
        query = query.where(Member.id == (current(session, named_so).id if named_so else -1))
    if named is not None:
        query = query.where(
            Member.external_id.is_not(None) if named else Member.external_id.is_(None)
        )
    if platform is not None:
        on = select(MemberIdentity.member_id).where(
            MemberIdentity.workspace_id == actor.workspace_id,
            MemberIdentity.platform == platform,
        )
        if account is not None:
            on = on.where(MemberIdentity.key == key_of(account))
        query = query.where(Member.id.in_(on))
    return list(session.scalars(query.order_by(Member.id).limit(limit)))


def update_opt_out(
    session: Session, actor: Actor, member_id: int, opted_out: bool, *, now: datetime
) -> Member:
    actor.require(Permission.WRITE_CONTENT)
    member = current(session, owned(session, Member, member_id, actor, noun="member"))
    if member.erased_at is not None:
        raise Conflict(f"member {member.id}'s data was erased: nothing more is kept of them")
    if opted_out and member.opted_out_at is None:
        member.opted_out_at = now
        _audit(session, member, "member.opted_out", now=now, actor=actor)
    elif not opted_out and member.opted_out_at is not None:
        member.opted_out_at = None
        _audit(session, member, "member.opted_in", now=now, actor=actor)
    return member


def merge_members(
    session: Session, actor: Actor, into_id: int, merged_id: int, *, reason: str, now: datetime
) -> Member:
    """`merged_id` is the same person as `into_id`: their identities, results and recruits
    become `into_id`'s, and what named the merged member (its external id, its referral
    code) names the other from now on. Audited, with the reason."""
    actor.require(Permission.MANAGE_MEMBERS)
    into = owned(session, Member, into_id, actor, noun="member")
    merged = owned(session, Member, merged_id, actor, noun="member")
    if into.id == merged.id:
        raise ValidationFailed(
            "a member cannot be merged into itself", [field_error("member_id", "the same member")]
        )
    for member in (into, merged):
        if member.merged_into is not None:
            raise Conflict(f"member {member.id} was merged into member {member.merged_into}")
        if member.erased_at is not None:
            raise Conflict(f"member {member.id}'s data was erased")
    return fold(session, actor, into, merged, now=now, reason=reason)


def fold(
    session: Session, actor: Actor, into: Member, merged: Member, *, now: datetime, reason: str
) -> Member:
    """Make `merged` the same person as `into`: identities, interactions, results and
    recruits move; audited with the reason. Both rows are held meanwhile: a webhook
    delivery tying an interaction to `merged` waits, then ties it to `into`."""
    session.execute(select(Member.id).where(Member.id.in_([into.id, merged.id])).with_for_update())
    session.execute(
        update(MemberIdentity)
        .where(MemberIdentity.member_id == merged.id)
        .values(member_id=into.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Interaction)
        .where(Interaction.member_id == merged.id)
        .values(member_id=into.id)
        .execution_options(synchronize_session=False)
    )
    for column in (Conversion.member_id, Conversion.referrer_id):
        session.execute(
            update(Conversion)
            .where(Conversion.workspace_id == actor.workspace_id, column == merged.id)
            .values({column.key: into.id})
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(Member)
        .where(Member.referred_by == merged.id, Member.id != into.id)
        .values(referred_by=into.id)
        .execution_options(synchronize_session=False)
    )
    into.first_seen_at = min(into.first_seen_at, merged.first_seen_at)
    into.name = into.name or merged.name
    if into.referred_by == merged.id:
        into.referred_by = None  # nobody recruits themselves
    if into.referred_by is None and merged.referred_by not in (None, into.id):
        into.referred_by = merged.referred_by
    if into.opted_out_at is None and merged.opted_out_at is not None:
        into.opted_out_at = merged.opted_out_at  # an opt-out is never lost in a merge
    merged.merged_into = into.id
    _audit(
        session,
        into,
        "member.merged",
        now=now,
        actor=actor,
        reason=reason,
        data={"member_id": into.id, "merged_member_id": merged.id},
    )
    session.flush()
    return into


def erase_member(
    session: Session, actor: Actor, member_id: int, *, reason: str, now: datetime
) -> Member:
    """Erase the member's personal data (and that of the members merged into it): names,
    your ids for them, their identities on the networks, their referral code, and who
    they are and what they wrote in their interactions. Their rows stay, anonymous: the
    results, the recruits and the interactions still count. Audited, with no personal data."""
    actor.require(Permission.MANAGE_MEMBERS)
    # Their row held first: a delivery tying an interaction to them (it holds the row for
    # share) ends before their interactions are blanked, or waits and finds them erased.
    member = owned(
        session,
        Member,
        member_id,
        actor,
        noun="member",
        with_for_update=True,
        populate_existing=True,
    )
    if member.merged_into is not None:
        raise Conflict(
            f"member {member.id} was merged into member {member.merged_into}: erase that one"
        )
    if member.erased_at is not None:
        return member  # erased already (a retried call): nothing more to do, or to audit
    people = [member, *_merged_into(session, member)]
    ids = [p.id for p in people]
    identities = session.scalars(
        select(MemberIdentity).where(MemberIdentity.member_id.in_(ids))
    ).all()
    forgotten.blank(session, ids, identities)
    forgotten.blank_results(session, ids)
    forgotten.remember(session, identities, now=now)
    for identity in identities:
        session.delete(identity)
    taken = set(  # a client's own id of this form, from before the form was reserved
        session.scalars(
            select(Member.external_id).where(
                Member.workspace_id == member.workspace_id,
                Member.external_id.in_([f"{ERASED}{i}" for i in ids]),
                Member.id.not_in(ids),
            )
        )
    )
    for person in people:
        person.name = None
        mark = f"{ERASED}{person.id}"
        person.external_id = None if mark in taken else mark
        person.referral_code = None
        person.erased_at = now
    _audit(
        session,
        member,
        "member.erased",
        now=now,
        actor=actor,
        reason=reason,
        data={"member_id": member.id, "members": ids, "identities": len(identities)},
    )
    session.flush()
    return member


def _merged_into(session: Session, member: Member) -> list[Member]:
    found, frontier = [], [member.id]
    while frontier:
        rows = session.scalars(select(Member).where(Member.merged_into.in_(frontier))).all()
        found += rows
        frontier = [r.id for r in rows]
    return found


def _audit(
    session: Session,
    member: Member,
    kind: str,
    *,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
    data: dict | None = None,
) -> None:
    events.record(
        session,
        workspace_id=member.workspace_id,
        kind=kind,
        actor=actor.label,
        now=now,
        reason=reason,
        data=data or {"member_id": member.id},
    )


@dataclass
class Summary:
    member: Member
    interactions: dict[str, int] = field(default_factory=dict)
    conversions: dict[str, int] = field(default_factory=dict)
    clicks: int = 0
    campaigns: list[int] = field(default_factory=list)
    recruits: int = 0
    last_seen_at: datetime | None = None


def get_summary(session: Session, actor: Actor, member_id: int) -> Summary:
    """What the member did: their interactions on the networks (tied to them when stored),
    the results reported for them, the clicks those came from, the campaigns they served,
    who they recruited."""
    actor.require(Permission.READ)
    member = current(session, owned(session, Member, member_id, actor, noun="member"))
    found = Summary(member)
    seen: list[datetime] = [member.first_seen_at]
    campaigns: set[int] = set()
    rows = session.execute(
        select(Interaction.kind, Interaction.occurred_at, Interaction.campaign_id).where(
            Interaction.member_id == member.id
        )
    ).all()
    found.interactions = dict(Counter(kind for kind, _, _ in rows))
    seen += [at for _, at, _ in rows]
    campaigns |= {c for _, _, c in rows if c is not None}
    results = session.execute(
        select(
            Conversion.kind,
            Conversion.name,
            Conversion.occurred_at,
            Conversion.click_key,
            Conversion.campaign_id,
        ).where(Conversion.member_id == member.id)
    ).all()
    found.conversions = dict(Counter(label(kind, name) for kind, name, *_ in results))
    found.clicks = len({click for *_, click, _ in results if click is not None})
    seen += [at for _, _, at, *_ in results]
    campaigns |= {c for *_, c in results if c is not None}
    found.campaigns = sorted(campaigns)
    recruited = select(Member.id).where(
        Member.referred_by == member.id, Member.merged_into.is_(None)
    )
    found.recruits = len(session.scalars(recruited).all())
    found.last_seen_at = max(seen)
    return found

"""Conversions and members: what the client's systems report as results (sign-ups,
referrals, subscriptions, purchases, their own kinds), attributed to a campaign, to a
member known by the client's id, and to the member whose referral code brought them.

A report carries an idempotency key: the same key with the same report is the same
conversion (a retried call counts once); the same key with another report is refused.
A member recruited through a referral code keeps who recruited them (the first one).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.engagement_models import TrackedLink
from publisher.core.errors import Conflict, ValidationFailed, field_error
from publisher.core.models import Campaign, Conversion, Member, MemberIdentity
from publisher.core.workspaces import Actor, Permission, mine, owned, visible
from publisher.engage import forgotten, members
from publisher.engage.schemas import EventIn, MemberIn
from publisher.plan import links

# Referral codes: 8 characters a person reads aloud without doubt (no 0/O, 1/I).
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# How far ahead of ours a client's clock may be: a result dated later is refused.
CLOCK_SLACK = timedelta(minutes=5)


def digest(data: EventIn) -> str:
    """What a report says, whatever its key order: a retry must say the same."""
    # Fields added since keys were first stored count only when given: a retry of a report
    # made before they existed must say the same.
    later = {name for name in ("link_code", "click") if getattr(data, name) is None}
    said = data.model_dump(mode="json", exclude=later)
    canonical = json.dumps(said, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_event(
    session: Session, actor: Actor, data: EventIn, *, key: str, now: datetime
) -> tuple[Conversion, bool]:
    """The conversion for `key` and whether it is new (False: a retry of the same one)."""
    actor.require(Permission.WRITE_CONTENT)
    said = digest(data)
    known = _by_key(session, actor, key)
    if known is not None:
        return _same(known, said), False
    link = _link(session, actor, data)
    campaign_id = data.campaign_id
    if link is not None and link.campaign_id is not None:
        if campaign_id not in (None, link.campaign_id):
            raise ValidationFailed(
                f"that short link is campaign {link.campaign_id}'s, not {campaign_id}'s",
                [field_error("campaign_id", "not the link's campaign")],
            )
        campaign_id = link.campaign_id
    if data.campaign_id is not None and mine(session, Campaign, data.campaign_id, actor) is None:
        raise ValidationFailed(
            f"no campaign {data.campaign_id}", [field_error("campaign_id", "no such campaign")]
        )
    referrer = None
    if data.referral_code is not None:
        referrer = session.scalar(
            select(Member).where(
                Member.workspace_id == actor.workspace_id,
                Member.referral_code == data.referral_code,
            )
        )
        if referrer is None:
            raise ValidationFailed(
                f"no member has the referral code {data.referral_code}",
                [field_error("referral_code", "no member has this code")],
            )
        referrer = members.current(session, referrer)  # merged: the member who stands for them
    at = (data.occurred_at or now).astimezone(UTC)
    if at > now + CLOCK_SLACK:  # what has not happened yet: a wrong clock or a wrong field
        raise ValidationFailed(
            f"occurred_at is after now ({now.isoformat()}): a result is reported once it happened",
            [field_error("occurred_at", "in the future")],
        )
    at = min(at, now)  # a client's clock a little ahead: now
    member = _member(session, actor, data.member, seen_at=at, now=now) if data.member else None
    if referrer is not None:  # naming the member may have folded the referrer into them
        referrer = members.current(session, referrer)
    if member is not None and referrer is not None:
        if member.id == referrer.id:
            raise ValidationFailed(
                "a member cannot recruit themselves",
                [field_error("referral_code", "the member's own code")],
            )
        if member.referred_by is None and not _recruited_by(session, referrer, member.id):
            member.referred_by = referrer.id  # the first who brought them keeps the credit
        if data.kind == "signup" and (
            member.referred_by != referrer.id or _signed_up_through(session, member, referrer)
        ):
            # A member is recruited once: a sign-up that recruits no one (brought in by
            # another, through the code of someone they brought, or signed up through this
            # code before) is a sign-up, no referral.
            referrer = None
    conversion = Conversion(
        workspace_id=actor.workspace_id,
        kind=data.kind,
        name=data.name,
        campaign_id=campaign_id,
        member_id=member.id if member else None,
        referrer_id=referrer.id if referrer else None,
        link_id=link.id if link else None,
        publication_id=link.publication_id if link else None,
        click_key=data.click,
        value_cents=data.value_cents,
        currency=data.currency,
        occurred_at=at,
        idempotency_key=key,
        request_digest=said,
        created_at=now,
    )
    try:
        with session.begin_nested():  # the same key at once: one wins, the other reads it
            session.add(conversion)
    except IntegrityError:
        known = _by_key(session, actor, key)
        if known is None:
            raise
        return _same(known, said), False
    return conversion, True


def _signed_up_through(session: Session, member: Member, referrer: Member) -> bool:
    """Whether the member's sign-up through this referrer's code was reported already."""
    return (
        session.scalar(
            select(Conversion.id)
            .where(
                Conversion.member_id == member.id,
                Conversion.kind == "signup",
                Conversion.referrer_id == referrer.id,
            )
            .limit(1)
        )
        is not None
    )


def _recruited_by(session: Session, member: Member, recruiter_id: int) -> bool:
    """Whether `member` was brought in, directly or down a line, by `recruiter_id`: then
    crediting them with recruiting their recruiter would make a circle."""
    seen = set()
    while member.referred_by is not None and member.id not in seen:
        if member.referred_by == recruiter_id:
            return True
        seen.add(member.id)
        member = session.get(Member, member.referred_by)
    return False


def _link(session: Session, actor: Actor, data: EventIn) -> TrackedLink | None:
    """The short link the event names, by its code or by a click through it."""
    code = data.link_code or (data.click[: links.CODE_LENGTH] if data.click else None)
    if code is None:
        return None
    found = visible(links.find(session, code), actor)
    if found is None:
        where = "link_code" if data.link_code else "click"
        raise ValidationFailed(
            f"no short link {code}", [field_error(where, "no short link has this code")]
        )
    return found


def link_codes(session: Session, found: Sequence[Conversion]) -> dict[int, str]:
    """The codes of the short links these conversions came through, by link id."""
    ids = {c.link_id for c in found if c.link_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(TrackedLink.id, TrackedLink.code).where(TrackedLink.id.in_(ids)))
    return {link_id: code for link_id, code in rows}


def _by_key(session: Session, actor: Actor, key: str) -> Conversion | None:
    """The result reported with this key (its member erased since: kept by its digest)."""
    kept = forgotten.result_key(actor.workspace_id, key)
    return session.scalar(
        select(Conversion).where(
            Conversion.workspace_id == actor.workspace_id,
            Conversion.idempotency_key.in_([key, kept]),
        )
    )


def _same(known: Conversion, said: str) -> Conversion:
    if known.request_digest == "":  # its member was erased: what it said is forgotten
        return known
    if known.request_digest != said:
        raise Conflict(
            "this Idempotency-Key was used for another event: a new event needs a new key",
            conversion_id=known.id,
        )
    return known


def _member(
    session: Session, actor: Actor, data: MemberIn, *, seen_at: datetime, now: datetime
) -> Member:
    found = session.scalar(
        select(Member).where(
            Member.workspace_id == actor.workspace_id, Member.external_id == data.external_id
        )
    )
    if found is not None:
        found = members.current(session, found)  # merged: the member who stands for them
        if found.erased_at is not None:
            raise Conflict(f"member {found.id}'s data was erased: nothing more is kept of them")
        members.create_identities(session, actor, found, data.identities, now=now)
        if data.name and not found.name:
            found.name = data.name
        found.first_seen_at = min(found.first_seen_at, seen_at)
        return found
    met = _met_on_the_networks(session, actor, data)
    if met is not None and _name(session, met, data.external_id):
        # Your id for someone the engine knew from their interactions: that member.
        met.name = met.name if data.name is None else data.name
        met.first_seen_at = min(met.first_seen_at, seen_at)
        members.create_identities(session, actor, met, data.identities, now=now)
        return met
    member = Member(
        workspace_id=actor.workspace_id,
        external_id=data.external_id,
        name=data.name,
        first_seen_at=seen_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
            members.create_identities(session, actor, member, data.identities, now=now)
    except IntegrityError:  # made at the same moment by another call
        return session.scalars(
            select(Member).where(
                Member.workspace_id == actor.workspace_id,
                Member.external_id == data.external_id,
            )
        ).one()
    return member


def _name(session: Session, member: Member, external_id: str) -> bool:
    """Give the unnamed member your id, unless another call named them first (or gave
    the id to another member) at the same moment."""
    try:
        with session.begin_nested():
            named = session.execute(
                update(Member)
                .where(
                    Member.id == member.id,
                    Member.external_id.is_(None),
                    Member.merged_into.is_(None),  # folded meanwhile: not theirs to name
                )
                .values(external_id=external_id)
                .execution_options(synchronize_session=False)
            ).rowcount
    except IntegrityError:
        return False
    session.refresh(member)
    return named == 1


def _met_on_the_networks(session: Session, actor: Actor, data: MemberIn) -> Member | None:
    """The member one of these identities names whom your systems have not named yet (the
    engine made them from their interactions), if any."""
    for identity in data.identities:
        held = session.scalar(
            select(Member)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(
                MemberIdentity.workspace_id == actor.workspace_id,
                MemberIdentity.platform == identity.platform,
                MemberIdentity.key == members.key_of(identity),
            )
        )
        if held is not None and held.external_id is None and held.merged_into is None:
            return held
    return None


def create_member(
    session: Session, actor: Actor, data: MemberIn, *, now: datetime
) -> tuple[Member, bool]:
    """The member the client knows by `external_id`, made if new (True)."""
    actor.require(Permission.WRITE_CONTENT)
    known = session.scalar(
        select(Member.id).where(
            Member.workspace_id == actor.workspace_id, Member.external_id == data.external_id
        )
    )
    member = _member(session, actor, data, seen_at=now, now=now)
    session.flush()
    return member, known is None


def get_member(session: Session, actor: Actor, member_id: int) -> Member:
    return owned(session, Member, member_id, actor, noun="member")


def create_referral_code(session: Session, actor: Actor, member_id: int) -> Member:
    """The member's referral code, made on first ask (the same one after)."""
    actor.require(Permission.WRITE_CONTENT)
    member = members.current(session, get_member(session, actor, member_id))
    if member.erased_at is not None:
        raise Conflict(f"member {member.id}'s data was erased: they get no code")
    while member.referral_code is None:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        try:
            with session.begin_nested():
                # Only if none yet: two first asks at once get the same code (the second
                # waits for the first's row, then finds it set), not the last one written.
                session.execute(
                    update(Member)
                    .where(Member.id == member.id, Member.referral_code.is_(None))
                    .values(referral_code=code)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:  # taken (1 in 10^12): another one
            continue
        session.refresh(member)  # ours, or the one a concurrent ask gave first
    return member


def list_recruits(
    session: Session, actor: Actor, member_id: int, *, limit: int = 100, after_id: int = 0
) -> list[Member]:
    """Who the member brought in, in the order they came, from after `after_id` (of a
    member merged into another, that one's: as its summary counts them)."""
    member = members.current(session, get_member(session, actor, member_id))
    query = select(Member).where(
        Member.referred_by == member.id,
        Member.merged_into.is_(None),  # a record merged into another: that one is the recruit
        Member.id > after_id,
    )
    return list(session.scalars(query.order_by(Member.id).limit(limit)))


def list_conversions(
    session: Session,
    actor: Actor,
    *,
    campaign_id: int | None = None,
    kind: str | None = None,
    member_id: int | None = None,
    publication_id: int | None = None,
    limit: int = 100,
    after_id: int = 0,
) -> list[Conversion]:
    query = select(Conversion).where(
        Conversion.workspace_id == actor.workspace_id, Conversion.id > after_id
    )
    if campaign_id is not None:
        query = query.where(Conversion.campaign_id == campaign_id)
    if kind is not None:
        query = query.where(Conversion.kind == kind)
    if member_id is not None:
        query = query.where(Conversion.member_id == member_id)
    if publication_id is not None:
        query = query.where(Conversion.publication_id == publication_id)
    return list(session.scalars(query.order_by(Conversion.id).limit(limit)))

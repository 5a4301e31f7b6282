"""A campaign's advocates: the members who relayed its publications (reposts: retweets and
quotes, as the platforms' webhooks said) and whose referral codes brought results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.core.engagement_models import Interaction
from publisher.core.models import Conversion, Member, Post, Publication


@dataclass(frozen=True)
class Advocate:
    member: Member
    referrals: int  # results their referral code brought
    relays: int  # their reposts of the campaign's publications

    @property
    def weight(self) -> int:
        return self.referrals + self.relays


def campaign_advocates(
    session: Session, campaign_id: int, start: datetime, end: datetime, top: int = 5
) -> list[Advocate]:
    """The `top` members by referrals and relays together in [start, end) (ties: more
    referrals, then the member first known), each counted under the member they were
    merged into (a repost two of its identities match counts once)."""
    referrals = _referrals(session, campaign_id, start, end)
    relayed = _relays(session, campaign_id, start, end)
    members = _with_roots(session, set(referrals) | {m for m, _ in relayed})
    counted_referrals: dict[int, int] = {}
    for member_id, count in referrals.items():
        root = members[member_id].id
        counted_referrals[root] = counted_referrals.get(root, 0) + count
    reposts: dict[int, set[int]] = {}
    for member_id, interaction_id in relayed:
        reposts.setdefault(members[member_id].id, set()).add(interaction_id)
    roots = {m.id: m for m in members.values()}
    found = [
        Advocate(roots[i], counted_referrals.get(i, 0), len(reposts.get(i, ())))
        for i in set(counted_referrals) | set(reposts)
    ]
    found.sort(key=lambda a: (-a.weight, -a.referrals, a.member.id))
    return found[:top]


def _referrals(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> dict[int, int]:
    return dict(
        session.execute(
            select(Conversion.referrer_id, func.count())
            .where(Conversion.campaign_id == campaign_id, Conversion.referrer_id.is_not(None))
            .where(Conversion.occurred_at >= start, Conversion.occurred_at < end)
            .group_by(Conversion.referrer_id)
        ).all()
    )


def _relays(
    session: Session, campaign_id: int, start: datetime, end: datetime
) -> list[tuple[int, int]]:
    """(member, repost) for each repost of the campaign's publications by a member (one of
    their identities was its author; an erased member's stay theirs, anonymous)."""
    return [
        (member_id, interaction_id)
        for member_id, interaction_id in session.execute(
            select(Interaction.member_id, Interaction.id)
            .join(Publication, Publication.id == Interaction.publication_id)
            .join(Post, Post.id == Publication.post_id)
            .where(Post.campaign_id == campaign_id, Interaction.kind == "repost")
            .where(Interaction.member_id.is_not(None))
            .where(Interaction.occurred_at >= start, Interaction.occurred_at < end)
        ).all()
    ]


def _with_roots(session: Session, ids: set[int]) -> dict[int, Member]:
    """Each member id found, and the member it now counts under (itself, or the one it
    was merged into, however many merges ago)."""
    known = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    roots: dict[int, Member] = {}
    for member_id, member in known.items():
        seen = {member.id}
        while member.merged_into is not None and member.merged_into not in seen:
            seen.add(member.merged_into)
            parent = session.get(Member, member.merged_into)
            if parent is None:
                break
            member = parent
        roots[member_id] = member
    return roots

"""A campaign's advocates: the members who relayed its publications (reposts: retweets and
quotes, as the platforms' webhooks said) and whose referral codes brought results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.core.engagement_models import Interaction
from publisher.core.models import Conversion, Member


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
    referrals, then the member first known). Counted per member in the database, each
    under the member it now names (a merge moves the results and reposts to the member
    kept), ranked here; only the top ones' rows are read."""
    referrals = _referrals(session, campaign_id, start, end)
    relays = _relays(session, campaign_id, start, end)
    ranked = sorted(
        set(referrals) | set(relays),
        key=lambda m: (-(referrals.get(m, 0) + relays.get(m, 0)), -referrals.get(m, 0), m),
    )[:top]
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ranked)))}
    return [Advocate(members[m], referrals.get(m, 0), relays.get(m, 0)) for m in ranked]


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


def _relays(session: Session, campaign_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """Each member's reposts of the campaign's publications (an erased member's stay
    theirs, anonymous)."""
    return dict(
        session.execute(
            select(Interaction.member_id, func.count())
            .where(Interaction.campaign_id == campaign_id, Interaction.kind == "repost")
            .where(Interaction.member_id.is_not(None))
            .where(Interaction.occurred_at >= start, Interaction.occurred_at < end)
            .group_by(Interaction.member_id)
        ).all()
    )

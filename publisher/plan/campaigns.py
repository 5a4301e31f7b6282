"""Campaigns: the recruitment, loyalty, awareness or engagement effort content serves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from publisher.core.models import Campaign
from publisher.core.workspaces import Actor, Permission, owned
from publisher.plan.schemas import CampaignCreate


def create_campaign(
    session: Session, actor: Actor, data: CampaignCreate, *, now: datetime
) -> Campaign:
    """A campaign in the actor's workspace."""
    actor.require(Permission.WRITE_CONTENT)
    campaign = Campaign(workspace_id=actor.workspace_id, created_at=now, **data.model_dump())
    session.add(campaign)
    session.flush()
    return campaign


DEFAULT_NAME = "Everyday posts"


def default_campaign(session: Session, actor: Actor, *, now: datetime) -> Campaign:
    """The workspace's default campaign, for posts written without one: made on first use
    (two first uses at once make one: the loser of the unique index reads the winner's)."""
    actor.require(Permission.WRITE_CONTENT)
    query = select(Campaign).where(Campaign.workspace_id == actor.workspace_id, Campaign.is_default)
    found = session.exec(query).first()
    if found is not None:
        return found
    campaign = Campaign(
        workspace_id=actor.workspace_id,
        name=DEFAULT_NAME,
        objective="awareness",
        goals={},
        is_default=True,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(campaign)
    except IntegrityError:
        return session.exec(query).one()
    return campaign


def get_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    """The actor's campaign, or NotFound (also for another workspace's campaign)."""
    return owned(session, Campaign, campaign_id, actor)


def list_campaigns(
    session: Session, actor: Actor, *, limit: int | None = None, after_id: int = 0
) -> list[Campaign]:
    """The workspace's campaigns in id order, from after `after_id`, `limit` at most."""
    query = select(Campaign).where(
        Campaign.workspace_id == actor.workspace_id, Campaign.id > after_id
    )
    return list(session.exec(query.order_by(Campaign.id).limit(limit)))

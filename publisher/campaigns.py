"""Campaigns: the recruitment, loyalty, awareness or engagement effort content serves."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from publisher.models import Campaign
from publisher.schemas import CampaignCreate
from publisher.workspaces import Actor, Permission, owned


def create_campaign(
    session: Session, actor: Actor, data: CampaignCreate, *, now: datetime
) -> Campaign:
    """A campaign in the actor's workspace."""
    actor.require(Permission.WRITE_CONTENT)
    campaign = Campaign(workspace_id=actor.workspace_id, created_at=now, **data.model_dump())
    session.add(campaign)
    session.flush()
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

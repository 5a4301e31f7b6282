"""Clicks through the engine's short links (publisher/plan/links.py): each recorded with
its time, the referring site's host and the kind of client (bots apart, by crawlerdetect's
maintained list), never an IP address."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from crawlerdetect import CrawlerDetect
from sqlalchemy import func, select
from sqlmodel import Session

from publisher.core.engagement_models import LinkClick, TrackedLink
from publisher.core.models import Publication
from publisher.core.workspaces import Actor, Permission, owned
from publisher.plan import links

_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|Windows Phone", re.IGNORECASE)
_detector = CrawlerDetect()


def agent_of(user_agent: str | None) -> str:
    """The kind of client: "bot", "mobile", "desktop", or "unknown" when it says nothing."""
    if not user_agent or not user_agent.strip():
        return "unknown"
    if _detector.isCrawler(user_agent):
        return "bot"
    return "mobile" if _MOBILE.search(user_agent) else "desktop"


def referrer_host(referrer: str | None) -> str | None:
    """The referring site's host alone (t.co, facebook.com): never its path or query."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    return host[:253] if host else None


def follow(
    session: Session,
    code: str,
    *,
    referrer: str | None,
    user_agent: str | None,
    now: datetime,
    count: bool = True,
) -> str | None:
    """Where the short link `code` leads, or None if there is no such link; the click is
    recorded unless `count` is false (a HEAD request, a link preview's check)."""
    link = links.find(session, code)
    if link is None:
        return None
    if count:
        agent = agent_of(user_agent)
        session.add(
            LinkClick(
                workspace_id=link.workspace_id,
                link_id=link.id,
                publication_id=link.publication_id,
                campaign_id=link.campaign_id,
                at=now,
                referrer_host=referrer_host(referrer),
                agent=agent,
                bot=agent == "bot",
            )
        )
    return link.target


@dataclass(frozen=True)
class LinkCount:
    link: TrackedLink
    clicks: int  # by people
    bots: int


def publication_links(session: Session, actor: Actor, publication_id: int) -> list[LinkCount]:
    """The short links a publication sent, with the clicks through each (bots apart)."""
    actor.require(Permission.READ)
    owned(session, Publication, publication_id, actor)
    found = session.execute(
        select(
            TrackedLink,
            func.count(LinkClick.id).filter(LinkClick.bot.is_(False)),
            func.count(LinkClick.id).filter(LinkClick.bot.is_(True)),
        )
        .outerjoin(LinkClick, LinkClick.link_id == TrackedLink.id)
        .where(TrackedLink.publication_id == publication_id)
        .group_by(TrackedLink.id)
        .order_by(TrackedLink.id)
    ).all()
    return [LinkCount(link, people, bots) for link, people, bots in found]


def clicks_by_agent(session: Session, link_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """For each link, its clicks by kind of client (bots included, as "bot")."""
    if not link_ids:
        return {}
    rows = session.execute(
        select(LinkClick.link_id, LinkClick.agent, func.count())
        .where(LinkClick.link_id.in_(link_ids))
        .group_by(LinkClick.link_id, LinkClick.agent)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for link_id, agent, count in rows:
        out.setdefault(link_id, {})[agent] = count
    return out

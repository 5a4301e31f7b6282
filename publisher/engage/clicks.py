"""Clicks through the engine's short links (publisher/plan/links.py): each recorded with
its time, the referring site's host and the kind of client (bots apart, by crawlerdetect's
maintained list), never an IP address.

Each click has its own key, the link's code then 22 random hex digits, and the reader
arrives with it (`pub_click=` on the link): when the client's site reports a result with
it (`POST /v1/events`, `click`), the result is the click's and the click the member's.
A click's key names no one; it is as private as the visit it stands for."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from crawlerdetect import CrawlerDetect
from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from publisher.core.engagement_models import LinkClick, TrackedLink
from publisher.core.models import Publication
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.click_writes import write
from publisher.plan import links

log = logging.getLogger(__name__)
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|Windows Phone", re.IGNORECASE)
_detector = CrawlerDetect()
CLICK_PARAMETER = "pub_click"  # the click's key, on the link a reader arrives at
CLICK_KEY = re.compile(rf"^[a-z2-7]{{{links.CODE_LENGTH}}}[0-9a-f]{{22}}$")
CODE = re.compile(rf"[a-z2-7]{{{links.CODE_LENGTH}}}")  # a short link's code, lower case


def new_click_key(code: str) -> str:
    """The link's code, then 22 random hex digits (88 bits): a result that names the
    click names its link at once, before the click's batch is written."""
    return code + secrets.token_hex(11)


def with_click(target: str, key: str) -> str:
    """`target` with the click's key added to its query (its fragment kept last), in place
    of one the link already carried (copied from a browser's address bar, say)."""
    parts = urlsplit(target)
    kept = [p for p in parts.query.split("&") if p and not p.startswith(f"{CLICK_PARAMETER}=")]
    query = "&".join(kept) + "&" if kept else ""
    added = urlencode({CLICK_PARAMETER: key})
    return urlunsplit(parts._replace(query=query + added))


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


@dataclass(frozen=True)
class Known:
    """What a redirect needs of a link (codes and targets never change: kept in memory)."""

    id: int
    workspace_id: int
    publication_id: int
    campaign_id: int | None
    target: str


class ClickBuffer:
    """Clicks wait in a Redis list and go to the database in batches (`flush`, a worker's
    background job the dispatcher hands over): a burst of clicks on a shared post is one
    INSERT a second, not a write transaction each, which on SQLite would queue the
    dispatcher and the workers behind the one writer. Each click carries its own key, so
    a batch written twice (a flush that died before trimming the list) counts once. With
    Redis down, a click is written at once."""

    def __init__(
        self,
        redis: Redis,
        *,
        name: str = "publish",
        known: int = 50_000,
        write: Callable[[], Session] | None = None,
        waiting_max: int = 200_000,
    ) -> None:
        self.redis = redis
        self.key = f"publisher:{name}:clicks"
        self._known: dict[str, Known] = {}
        self._known_max = known
        self._write = write  # a write session, for a click written at once
        # A flood that no worker writes (workers down, a bot looping on a link) stops
        # here, at about 50 MB, rather than filling the Redis that holds the job queue.
        self.waiting_max = waiting_max

    def cached(self, code: str) -> Known | None:
        """The link `code` if this process remembers it (no database read)."""
        return self._known.get(code)

    def link(self, session: Session, code: str) -> Known | None:
        if not CODE.fullmatch(code):
            return None  # no code is made of these: no need to ask the database
        found = self._known.get(code)
        if found is None:
            row = links.find(session, code)
            if row is None:
                return None  # not remembered: it may be written a moment from now
            found = Known(row.id, row.workspace_id, row.publication_id, row.campaign_id, row.target)
            if len(self._known) >= self._known_max:
                self._known.clear()
            self._known[code] = found
        return found

    def follow(
        self,
        session: Session,
        code: str,
        *,
        referrer: str | None,
        user_agent: str | None,
        now: datetime,
        count: bool = True,
    ) -> str | None:
        """Where the short link `code` sends the reader, or None if there is no such link;
        the click is recorded, its key on the link, unless `count` is false (a HEAD
        request, a link preview's check: the link as it is)."""
        link = self.link(session, code)
        if link is None:
            return None
        if not count:
            return link.target
        click, target = self.visit(link, code, referrer=referrer, user_agent=user_agent, now=now)
        try:
            if over := self.over_cap(self.redis.rpush(self.key, json.dumps(click)), 1):
                self.redis.rpop(self.key, over)
        except RedisError as exc:
            self.write_now([click], exc, session)
        return target

    @staticmethod
    def visit(
        link: Known, code: str, *, referrer: str | None, user_agent: str | None, now: datetime
    ) -> tuple[dict, str]:
        """The click a reader's visit makes, and where the reader goes: the link with the
        click's key, or for a crawler the link as it is (a new address per visit is
        nothing to index)."""
        agent = agent_of(user_agent)
        key = new_click_key(code)
        click = {
            "key": key,
            "workspace_id": link.workspace_id,
            "link_id": link.id,
            "publication_id": link.publication_id,
            "campaign_id": link.campaign_id,
            "at": now.isoformat(),
            "referrer_host": referrer_host(referrer),
            "agent": agent,
            "bot": agent == "bot",
        }
        return click, link.target if agent == "bot" else with_click(link.target, key)

    def over_cap(self, waiting: int, pushed: int) -> int:
        """How many of the `pushed` clicks just pushed (`waiting` in the list with them)
        their caller takes back (RPOP) past `waiting_max`: not counted, and said."""
        over = min(pushed, waiting - self.waiting_max)
        if over <= 0:
            return 0
        log.warning("%d click(s) not kept: %d wait to be written already", over, waiting - over)
        return over

    def write_now(self, clicks: list[dict], why: Exception, session: Session | None = None) -> None:
        """Redis is down: write the clicks at once, in a write transaction of their own
        (or, with no write sessions given, the caller's `session`); if that fails too, the
        readers are still sent on (the clicks are lost, and said)."""
        log.warning("%d click(s) written at once (Redis unavailable: %s)", len(clicks), why)
        try:
            if self._write is None:
                if session is None:
                    raise SQLAlchemyError("no session to write the clicks with")
                write(session, clicks)
                session.commit()
                return
            with self._write() as writer:
                write(writer, clicks)
                writer.commit()
        except SQLAlchemyError as exc:
            log.error("%d click(s) through the short links were lost: %s", len(clicks), exc)

    def waiting(self) -> int:
        return self.redis.llen(self.key)

    def flush(self, session: Session, *, batch: int = 500, budget_s: float = 5.0) -> int:
        """Write the clicks waiting, a batch at a time, for at most about `budget_s` (the
        next flush goes on); returns how many were written. One writer at a time, across
        processes (a Redis lock): two would both write the list's head, then each trim it,
        and the second trim would drop clicks nobody wrote. A small batch keeps each write
        transaction short (on SQLite the one writer's lock is shared with publishing)."""
        lock = self.redis.lock(f"{self.key}:writer", timeout=30)
        if not lock.acquire(blocking=False):
            return 0  # another process is writing them
        try:
            return self._flush(session, batch, time.monotonic() + budget_s, lock)
        finally:
            with contextlib.suppress(LockError):
                lock.release()

    def _flush(self, session: Session, batch: int, until: float, lock: Lock) -> int:
        written = 0
        while True:
            raw = self.redis.lrange(self.key, 0, batch - 1)
            if not raw:
                return written
            clicks = []
            for item in raw:
                try:
                    clicks.append(json.loads(item))
                except ValueError:
                    log.error("dropped an unreadable click record: %r", item[:200])
            write(session, clicks)
            session.commit()
            lock.reacquire()  # still ours (30 s from now): trim what was written
            self.redis.ltrim(self.key, len(raw), -1)
            written += len(clicks)
            if len(raw) < batch or time.monotonic() >= until:
                return written


@dataclass(frozen=True)
class LinkCount:
    link: TrackedLink
    clicks: int  # by people
    bots: int


def publication_links(
    session: Session, actor: Actor, publication_id: int, *, limit: int = 100, after_id: int = 0
) -> list[LinkCount]:
    """The short links a publication sent, with the clicks through each (bots apart), in
    the order they were made, from after `after_id`."""
    actor.require(Permission.READ)
    owned(session, Publication, publication_id, actor)
    found = session.execute(
        select(
            TrackedLink,
            func.count(LinkClick.id).filter(LinkClick.bot.is_(False)),
            func.count(LinkClick.id).filter(LinkClick.bot.is_(True)),
        )
        .outerjoin(LinkClick, LinkClick.link_id == TrackedLink.id)
        .where(TrackedLink.publication_id == publication_id, TrackedLink.id > after_id)
        .group_by(TrackedLink.id)
        .order_by(TrackedLink.id)
        .limit(limit)
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

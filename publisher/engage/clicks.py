"""Clicks through the engine's short links (publisher/plan/links.py): each recorded with
its time, the referring site's host and the kind of client (bots apart, by crawlerdetect's
maintained list), never an IP address.

Each click has its own key, the link's code then 22 random hex digits, and the reader
arrives with it (`pub_click=` on the link): when the client's site reports a result with
it (`POST /v1/events`, `click`), the result is the click's and the click the member's.
A click's key names no one; it is as private as the visit it stands for."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from crawlerdetect import CrawlerDetect
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Date, case, cast, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick, TrackedLink
from publisher.core.models import Publication
from publisher.core.workspaces import Actor, Permission, owned
from publisher.engage.figures import BUCKET_S, bucket_of
from publisher.plan import links

log = logging.getLogger(__name__)
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|Windows Phone", re.IGNORECASE)
_detector = CrawlerDetect()
CLICK_PARAMETER = "pub_click"  # the click's key, on the link a reader arrives at
CLICK_KEY = re.compile(rf"^[a-z2-7]{{{links.CODE_LENGTH}}}[0-9a-f]{{22}}$")


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
            if not self.kept(self.redis.rpush(self.key, json.dumps(click))):
                self.redis.rpop(self.key)
        except RedisError as exc:
            self.write_now(click, exc, session)
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

    def kept(self, waiting: int) -> bool:
        """Whether the click just pushed (`waiting` in the list with it) may stay: past
        `waiting_max` its caller takes it back (RPOP) and it is not counted, and said."""
        if waiting <= self.waiting_max:
            return True
        log.warning("click not kept: %d wait to be written already", waiting - 1)
        return False

    def write_now(self, click: dict, why: Exception, session: Session | None = None) -> None:
        """Redis is down: write the click at once, in a write transaction of its own (or,
        with no write sessions given, the caller's `session`); if that fails too, the
        reader is still sent on (the click is lost, and said)."""
        log.warning("click written at once (Redis unavailable: %s)", why)
        try:
            if self._write is None:
                if session is None:
                    raise SQLAlchemyError("no session to write the click with")
                write(session, [click])
                session.commit()
                return
            with self._write() as writer:
                write(writer, [click])
                writer.commit()
        except SQLAlchemyError as exc:
            log.error("a click through link %s was lost: %s", click["link_id"], exc)

    def waiting(self) -> int:
        return self.redis.llen(self.key)

    def flush(self, session: Session, *, batch: int = 3000) -> int:
        """Write the clicks waiting, a batch at a time; returns how many were written."""
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
            self.redis.ltrim(self.key, len(raw), -1)
            written += len(clicks)
            if len(raw) < batch:
                return written


def write(session: Session, clicks: list[dict]) -> None:
    """The clicks not written yet (each as `follow` records it, `at` an ISO text or a
    datetime), and those of a campaign added to its tallies (by publication and day, and
    by five minutes), in the caller's transaction: a tally counts exactly the clicks
    stored."""
    if not clicks:
        return
    rows = [{**c, "at": _instant(c["at"])} for c in clicks]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    written = session.execute(
        dialect.insert(LinkClick)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(LinkClick.campaign_id, LinkClick.publication_id, LinkClick.at, LinkClick.bot)
    ).all()
    days = Counter(
        (campaign_id, publication_id, at.astimezone(UTC).date(), bot)
        for campaign_id, publication_id, at, bot in written
        if campaign_id is not None
    )
    buckets = Counter(
        (campaign_id, bucket_of(at), bot)
        for campaign_id, _, at, bot in written
        if campaign_id is not None
    )
    by_day = ("campaign_id", "publication_id", "day", "bot")
    _add(session, dialect, ClickDay, by_day, days)
    _add(session, dialect, ClickBucket, ("campaign_id", "bucket", "bot"), buckets)


def _add(session: Session, dialect, table, names: tuple[str, ...], counts: Counter) -> None:
    """Add `counts` (keyed by the columns `names`, the table's unique key) to the tallies
    of `table` in one upsert."""
    if not counts:
        return  # every click was written before, or none was a campaign's
    # In one order: two writers meeting on the same tallies wait, never deadlock.
    rows = [{**dict(zip(names, key, strict=True)), "count": n} for key, n in sorted(counts.items())]
    added = dialect.insert(table).values(rows)
    session.execute(
        added.on_conflict_do_update(
            index_elements=list(names), set_={"count": table.count + added.excluded["count"]}
        )
    )


def tally_stored_clicks(session: Session) -> None:
    """The tallies made again from every click stored, in the caller's transaction: for
    clicks the batch writes never saw (loaded in bulk, or written by a process older than
    the tallies: `publisher db retally`)."""
    session.execute(delete(ClickDay))
    session.execute(delete(ClickBucket))
    if session.get_bind().dialect.name == "postgresql":
        day = cast(func.timezone("UTC", LinkClick.at), Date)
        bucket = func.to_timestamp(
            func.floor(func.extract("epoch", LinkClick.at) / BUCKET_S) * BUCKET_S
        )
    else:  # stored as text, "YYYY-MM-DD HH:MM:SS.ffffff" in UTC
        day = func.substr(LinkClick.at, 1, 10)
        fifth = case((func.substr(LinkClick.at, 16, 1) < "5", "0"), else_="5")
        bucket = func.substr(LinkClick.at, 1, 15) + fifth + ":00.000000"
    theirs = LinkClick.campaign_id.is_not(None)
    by_day = (LinkClick.campaign_id, LinkClick.publication_id, day, LinkClick.bot)
    session.execute(
        insert(ClickDay).from_select(
            ["campaign_id", "publication_id", "day", "bot", "count"],
            select(*by_day, func.count()).where(theirs).group_by(*by_day),
        )
    )
    by_bucket = (LinkClick.campaign_id, bucket, LinkClick.bot)
    session.execute(
        insert(ClickBucket).from_select(
            ["campaign_id", "bucket", "bot", "count"],
            select(*by_bucket, func.count()).where(theirs).group_by(*by_bucket),
        )
    )


def _instant(at: str | datetime) -> datetime:
    return at if isinstance(at, datetime) else datetime.fromisoformat(at)


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

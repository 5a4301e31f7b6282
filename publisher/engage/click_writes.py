"""Clicks written to the database: a batch of the clicks waiting in Redis (each once,
by its key) and the tallies reports read, in the same transaction, so a tally counts
exactly the clicks stored (publisher/engage/clicks.py buffers them)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Date, case, cast, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick
from publisher.engage.figures import BUCKET_S, bucket_of

_COLUMNS = {
    "key": "varchar",
    "workspace_id": "bigint",
    "link_id": "bigint",
    "publication_id": "bigint",
    "campaign_id": "bigint",
    "at": "timestamptz",
    "referrer_host": "varchar",
    "agent": "varchar",
    "bot": "boolean",
}
_UNNEST = text(
    f"INSERT INTO link_click ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS.items())
    + ") ON CONFLICT DO NOTHING RETURNING campaign_id, publication_id, at, bot"
)


def write(session: Session, clicks: list[dict]) -> None:
    """The clicks not written yet (each as `follow` records it, `at` an ISO text or a
    datetime), and those of a campaign added to its tallies (by publication and day, and
    by five minutes), in the caller's transaction: a tally counts exactly the clicks
    stored."""
    if not clicks:
        return
    rows = [{**c, "at": _instant(c["at"])} for c in clicks]
    if session.get_bind().dialect.name == "postgresql":
        dialect = postgresql
        # One short statement, its columns as arrays: psycopg converts it once (a VALUES
        # list of 500 rows was parsed again for every batch: half a flush's time).
        written = session.execute(
            _UNNEST, {name: [row.get(name) for row in rows] for name in _COLUMNS}
        ).all()
    else:
        dialect = sqlite
        # One statement for every batch (its parameters apart): compiled once per process,
        # where a VALUES list built per batch was compiled each time (most of a flush).
        written = session.execute(
            sqlite.insert(LinkClick)
            .on_conflict_do_nothing()
            .returning(
                LinkClick.campaign_id, LinkClick.publication_id, LinkClick.at, LinkClick.bot
            ),
            rows,
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

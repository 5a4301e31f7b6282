"""Reports (issue 15, "Tests and figures"): a 90-day campaign (900 publications, each
with two metrics pulls) with 1,000,000 clicks through its short links and a community of
10,000 members (100,000 interactions on its publications, 5,000 sign-ups): the time
`get_campaign_report` takes (median of 3), against a baseline measured on the same rows in
the same run: the clicks read out and counted in Python (what grouping in the database
saves). The short links' redirects: bench/redirects.py.

Ends with one JSON line.

    python bench/reports.py [--clicks 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import private_settings, seed_scheduled, seed_world  # noqa: E402
from publisher.core.db import make_engine, session_scope, utcnow  # noqa: E402
from publisher.core.engagement_models import Interaction, LinkClick, TrackedLink  # noqa: E402
from publisher.core.models import Conversion, Member, MetricSnapshot, Publication  # noqa: E402
from publisher.core.workspaces import Actor  # noqa: E402
from publisher.engage import reports  # noqa: E402
from publisher.engage.click_writes import tally_stored_clicks  # noqa: E402
from publisher.plan.links import LinkMaker  # noqa: E402

DAYS = 90
PER_DAY = 10
MEMBERS, INTERACTIONS, CONVERSIONS = 10_000, 100_000, 5_000
AGENTS = ("desktop", "mobile", "unknown", "bot")


def _target(publication_id: int) -> str:
    return f"https://acme-asso.fr/p/{publication_id}?utm_source=x"


def _seed(settings, world, clicks: int) -> tuple[int, str]:
    """A campaign's 90 days: publications published, two pulls each, a link each, and
    `clicks` clicks spread over the window. Returns (clicks written, one link's code)."""
    engine = make_engine(settings.effective_database_url)
    now = utcnow()
    start = now - timedelta(days=DAYS)
    times = [start + timedelta(hours=24 * i / PER_DAY) for i in range(DAYS * PER_DAY)]
    with session_scope(engine) as session:
        seed_scheduled(session, world, times, prefix="report")
        pubs = session.execute(select(Publication.id, Publication.scheduled_at)).all()
        for pid, at in pubs:
            session.execute(
                Publication.__table__.update()
                .where(Publication.id == pid)
                .values(status="published", published_at=at, external_id=str(pid))
            )
        session.execute(
            insert(MetricSnapshot),
            [
                {
                    "workspace_id": world.workspace_id,
                    "publication_id": pid,
                    "taken_at": at + timedelta(hours=hours),
                    "metrics": {"impressions": 100 * hours, "likes": hours, "shares": 1},
                }
                for pid, at in pubs
                for hours in (1, 24)
            ],
        )
        session.execute(
            insert(TrackedLink),
            [
                {
                    "workspace_id": world.workspace_id,
                    "publication_id": pid,
                    "campaign_id": world.campaign_id,
                    "code": LinkMaker("https://bench.example").code(pid, _target(pid)),
                    "target": _target(pid),
                    "created_at": at,
                }
                for pid, at in pubs
            ],
        )
    _seed_community(engine, world, start, now)
    links = {}
    with session_scope(engine) as session:
        links = dict(session.execute(select(TrackedLink.id, TrackedLink.publication_id)).all())
        first_code = session.execute(select(TrackedLink.code).limit(1)).scalar_one()
    link_ids = list(links)
    rng = random.Random(7)
    span = DAYS * 86400
    written = 0
    while written < clicks:
        batch = min(50_000, clicks - written)
        rows = []
        for n in range(batch):
            link = rng.choice(link_ids)
            agent = AGENTS[rng.randrange(len(AGENTS))]
            rows.append(
                {
                    "key": f"{written + n:032x}",
                    "workspace_id": world.workspace_id,
                    "link_id": link,
                    "publication_id": links[link],
                    "campaign_id": world.campaign_id,
                    "at": start + timedelta(seconds=rng.randrange(span)),
                    "referrer_host": "t.co",
                    "agent": agent,
                    "bot": agent == "bot",
                }
            )
        with session_scope(engine) as session:
            session.execute(insert(LinkClick), rows)
        written += batch
    with session_scope(engine) as session:
        tally_stored_clicks(session)  # as the engine's batch writes would have tallied them
    # As autovacuum leaves a table after a bulk load: statistics, and on PostgreSQL the
    # visibility map that lets an index-only scan skip the rows themselves.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return written, first_code


def _seed_community(engine, world, start, now) -> None:
    """The campaign's community: MEMBERS members (first seen over the half year before
    the window and during it), INTERACTIONS of theirs on its publications and CONVERSIONS
    results (what the report's new and returning members and cohorts are made of)."""
    rng = random.Random(11)
    span = int((now - start).total_seconds())
    with session_scope(engine) as session:
        pubs = session.execute(select(Publication.id, Publication.channel_id)).all()
        first = [start + timedelta(seconds=rng.randrange(-2 * span, span)) for _ in range(MEMBERS)]
        session.execute(
            insert(Member),
            [
                {"workspace_id": world.workspace_id, "external_id": f"m{n}",
                 "first_seen_at": at, "created_at": at}
                for n, at in enumerate(first)
            ],
        )  # fmt: skip
        ids = sorted(session.scalars(select(Member.id)).all())
        seen = dict(zip(ids, first, strict=True))

        def after_first(member: int):
            begin = max(seen[member], start)
            return begin + timedelta(
                seconds=rng.randrange(max(int((now - begin).total_seconds()), 1))
            )

        rows = []
        for n in range(INTERACTIONS):
            member, (pid, channel) = rng.choice(ids), rng.choice(pubs)
            rows.append(
                {"workspace_id": world.workspace_id, "channel_id": channel,
                 "publication_id": pid, "campaign_id": world.campaign_id, "platform": "x",
                 "kind": ("like", "reply", "repost")[n % 3],
                 "external_id": f"i{n}", "author_id": str(member), "member_id": member,
                 "occurred_at": after_first(member), "received_at": now}
            )  # fmt: skip
        for chunk in range(0, len(rows), 20_000):
            session.execute(insert(Interaction), rows[chunk : chunk + 20_000])
        session.execute(
            insert(Conversion),
            [
                {"workspace_id": world.workspace_id, "kind": "signup",
                 "campaign_id": world.campaign_id, "member_id": member,
                 "occurred_at": after_first(member), "idempotency_key": f"k{n}",
                 "request_digest": "0" * 64, "created_at": now}
                for n, member in enumerate(rng.sample(ids, CONVERSIONS))
            ],
        )  # fmt: skip


def _naive(session, campaign_id: int, start, end) -> tuple[int, Counter]:
    """The baseline: every click of the window read out, counted in Python."""
    rows = session.execute(
        select(LinkClick.at, LinkClick.bot, LinkClick.publication_id).where(
            LinkClick.campaign_id == campaign_id, LinkClick.at >= start, LinkClick.at < end
        )
    ).all()
    people = Counter(pid for _, bot, pid in rows if not bot)
    return len(rows), people


def measure_report(settings, world) -> dict[str, float]:
    engine = make_engine(settings.effective_database_url)
    actor = Actor(world.workspace_id, None, "admin")
    now = utcnow()
    start, end = now - timedelta(days=DAYS + 1), now + timedelta(minutes=1)
    timings, baseline = [], []
    for _ in range(3):
        with session_scope(engine) as session:
            began = time.perf_counter()
            found = reports.get_campaign_report(
                session, actor, world.campaign_id, start=start, end=end, now=now
            )
            timings.append(time.perf_counter() - began)
        with session_scope(engine) as session:
            began = time.perf_counter()
            _naive(session, world.campaign_id, start, end)
            baseline.append(time.perf_counter() - began)
    engine.dispose()
    totals = found.totals
    print(
        f"report: {totals.publications} publications, {totals.clicks:,} clicks by people, "
        f"{totals.bot_clicks:,} by bots, {len(found.by_day)} days, "
        f"{totals.new_members:,} new and {totals.returning_members:,} returning members, "
        f"{len(found.cohorts)} weekly cohorts: "
        f"{statistics.median(timings) * 1000:.0f} ms (baseline: clicks read and counted in "
        f"Python, {statistics.median(baseline) * 1000:.0f} ms)",
        flush=True,
    )
    return {
        "report_ms": round(statistics.median(timings) * 1000, 1),
        "baseline_report_ms": round(statistics.median(baseline) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    settings, redis_proc = private_settings(args.database_url)
    try:
        world = seed_world(settings, channels=20)
        began = time.monotonic()
        written, code = _seed(settings, world, args.clicks)
        print(f"seeded {written:,} clicks in {time.monotonic() - began:.0f} s", flush=True)
        figures = measure_report(settings, world)
    finally:
        redis_proc.terminate()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

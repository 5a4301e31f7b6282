"""Engagement: the metrics pull pass over 10,000 published publications whose first pull
is due, against the sandbox's X API (issue 15, "Tests and figures").

Measures the dispatcher's metrics step (lease the due ones, a job per channel batch)
and the workers' pulls (one GET /2/tweets per 100 posts, snapshots stored) until every
publication has its snapshot: publications pulled per second, and platform requests per
publication counted by the sandbox (target <= 0.02: batching). The baseline, measured in
the same run on a sample, is one request per publication (what a pull per post costs).
Then publications out one after another (2,000 over a day, over the 20 accounts: each
account's posts about a quarter of an hour apart) and the pass every minute of a simulated
day and an hour: requests per pull, with a request going out taking along the channel's
pulls due within a tenth of their point's age, and without (the baseline, the same run).
Report generation: bench/reports.py; the short-link redirects: bench/redirects.py.
Ends with one JSON line.

    python bench/engagement.py [--count 10000] [--sample 500] [--spread 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq import SimpleWorker  # noqa: E402
from sqlalchemy import bindparam, delete, func, select, update  # noqa: E402

from adapters.sandbox import Sandbox  # noqa: E402
from adapters.sandbox.x_common import user_id_of  # noqa: E402
from bench.common import X_TOKEN, private_settings, seed_scheduled, seed_world  # noqa: E402
from publisher import jobs  # noqa: E402
from publisher.core.db import session_scope, utcnow  # noqa: E402
from publisher.core.models import Channel, MetricPull, MetricSnapshot, Publication  # noqa: E402
from publisher.dispatcher import hand_over_pulls  # noqa: E402
from publisher.engage import metrics  # noqa: E402
from publisher.runtime import build_runtime  # noqa: E402

POST_ID_BASE = 1_900_000_000_000_000_000


def _published(runtime, world, sandbox, times: list) -> list[int]:
    """A publication out at each of `times`, each post on the sandbox's X ledger."""
    with session_scope(runtime.engine) as session:
        seed_scheduled(session, world, times, prefix="engagement")
        rows = session.execute(
            select(Publication.id, Publication.channel_id).order_by(Publication.id)
        ).all()
        tokens = {
            c.id: f"{X_TOKEN}-{c.external_account_id}" for c in session.scalars(select(Channel))
        }
        for n, (pub_id, channel_id) in enumerate(rows):
            post_id = str(POST_ID_BASE + pub_id)
            sandbox.ledger.accept("x", user_id_of(tokens[channel_id]), post_id, f"post {n}", None)
            sandbox.ledger.set_metrics("x", post_id, like_count=n % 50, impression_count=n)
        table = Publication.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("pid"))
            .values(
                status="published",
                external_id=bindparam("eid"),
                published_at=bindparam("out"),
                metrics_due_at=bindparam("out"),
            ),
            [
                {"pid": pub_id, "eid": str(POST_ID_BASE + pub_id), "out": out_at}
                for (pub_id, _), out_at in zip(rows, times, strict=True)
            ],
        )
    return [pub_id for pub_id, _ in rows]


def _lookups(sandbox) -> int:
    return sum(
        1 for e in sandbox.ledger.exchanges if e["method"] == "GET" and e["path"] == "/2/tweets"
    )


@contextmanager
def _engine(database_url: str | None) -> Iterator[tuple]:
    """A fresh engine (database, private Redis) against the sandbox's X, its 20 accounts
    seeded: (runtime, world, sandbox), all stopped after."""
    settings, redis_proc = private_settings(database_url)
    sandbox = Sandbox().start()
    try:
        settings = settings.with_(api_base_urls={"x": sandbox.x_url})
        world = seed_world(settings)
        runtime = build_runtime(settings)
        jobs.bind(runtime)
        yield runtime, world, sandbox
    finally:
        sandbox.stop()
        redis_proc.terminate()


def measure(count: int, database_url: str | None, sample: int) -> dict[str, float]:
    with _engine(database_url) as (runtime, world, sandbox):
        ids = _published(runtime, world, sandbox, [utcnow() - timedelta(hours=1)] * count)
        sandbox.ledger.exchanges = []
        worker = SimpleWorker(runtime.queue.queues, connection=runtime.redis)
        started = time.perf_counter()
        handed = 0
        while True:
            with runtime.session() as session:
                batch = hand_over_pulls(session, runtime, now=runtime.clock())
            if not batch:
                break
            handed += batch
            worker.work(burst=True)
        elapsed = time.perf_counter() - started
        with runtime.session() as session:
            stored = session.scalar(select(func.count(MetricSnapshot.id)))
            counted = session.scalar(
                select(func.count(MetricSnapshot.id)).where(MetricSnapshot.error.is_(None))
            )
        calls = _lookups(sandbox)
        # Baseline: one request per publication, as a pull per post would make.
        sandbox.ledger.exchanges = []
        with runtime.session() as session:  # each post asked with its own account's token
            asked = [
                (
                    runtime.adapter_for(
                        session.get(Channel, session.get(Publication, i).channel_id)
                    ),
                    str(POST_ID_BASE + i),
                )
                for i in ids[:sample]
            ]
        base_started = time.perf_counter()
        for adapter, post_id in asked:
            adapter.fetch_metrics([post_id])
        base_elapsed = time.perf_counter() - base_started
        base_calls = _lookups(sandbox)
        return {
            "publications": count,
            "snapshots": stored,
            "with_metrics": counted,
            "jobs": handed,
            "seconds": elapsed,
            "pull_per_s": count / elapsed,
            "calls_per_publication": calls / count,
            "baseline_pull_per_s": sample / base_elapsed,
            "baseline_calls_per_publication": base_calls / sample,
        }


def measure_spread(count: int, database_url: str | None) -> dict[str, float]:
    """`count` publications out one after another over a day (over the 20 accounts), the
    dispatcher's pass every minute of a simulated day and an hour: platform requests per
    publication pulled, with the pulls due soon taken along by a request going out anyway
    (metrics.EARLY_SHARE), and the baseline in the same run, without (only what is due
    that minute: a request for nearly every pull)."""
    share = metrics.EARLY_SHARE
    with _engine(database_url) as (runtime, world, sandbox):
        start = datetime(2027, 3, 1, tzinfo=UTC)
        step = timedelta(days=1) / count
        _published(runtime, world, sandbox, [start + n * step for n in range(count)])
        clock = [start]
        runtime.clock = lambda: clock[0]
        worker = SimpleWorker(runtime.queue.queues, connection=runtime.redis)
        got = {}
        for name, early in (("spread", share), ("baseline_spread", 10**12)):
            metrics.EARLY_SHARE = early
            sandbox.ledger.exchanges = []
            with session_scope(runtime.engine) as session:  # every schedule from its start
                session.execute(delete(MetricSnapshot))
                session.execute(delete(MetricPull))
                session.execute(
                    update(Publication).values(
                        metrics_step=0, metrics_failures=0, metrics_due_at=Publication.published_at
                    )
                )
            pulled = 0
            for minute in range(25 * 60 + 1):
                clock[0] = start + timedelta(minutes=minute)
                with runtime.session() as session:
                    handed = hand_over_pulls(session, runtime, now=clock[0])
                if handed:
                    worker.work(burst=True)
            with runtime.session() as session:
                pulled = session.scalar(select(func.count(MetricSnapshot.id)))
            got[f"{name}_pulls"] = pulled
            got[f"{name}_calls_per_pull"] = _lookups(sandbox) / pulled
        metrics.EARLY_SHARE = share  # as it was
        return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500, help="publications the baseline asks")
    parser.add_argument(
        "--spread", type=int, default=2000, help="publications out one after another over a day"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to create a throw-away database on (default: a SQLite file)",
    )
    args = parser.parse_args()
    got = measure(args.count, args.database_url, args.sample)
    assert got["snapshots"] == args.count, got  # every publication pulled, once
    got |= measure_spread(args.spread, args.database_url)
    print(
        f"{got['publications']:,} publications, first pull due: {got['jobs']} jobs, every "
        f"one pulled in {got['seconds']:.2f} s = {got['pull_per_s']:,.0f}/s; "
        f"{got['calls_per_publication']:.4f} platform requests per publication (target <= 0.02)"
    )
    print(
        f"baseline, one request per publication ({args.sample} asked): "
        f"{got['baseline_pull_per_s']:,.0f}/s, {got['baseline_calls_per_publication']:.2f} "
        f"requests per publication"
    )
    print(
        f"{args.spread:,} publications out one after another over a day, the pass every "
        f"minute for 25 hours: {got['spread_pulls']:,} pulls, "
        f"{got['spread_calls_per_pull']:.3f} requests per pull (the pulls due within a "
        f"tenth of their point's age taken along); baseline, only what is due that minute: "
        f"{got['baseline_spread_calls_per_pull']:.3f}"
    )
    print("report generation: bench/reports.py; the short-link redirects: bench/redirects.py")
    figures = {
        k: round(v, 4) if isinstance(v, float) else v
        for k, v in got.items()
        if k
        in (
            "pull_per_s",
            "calls_per_publication",
            "baseline_pull_per_s",
            "baseline_calls_per_publication",
            "publications",
            "spread_calls_per_pull",
            "baseline_spread_calls_per_pull",
            "spread_pulls",
        )
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

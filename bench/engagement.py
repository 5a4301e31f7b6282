"""Engagement: the metrics pull pass over 10,000 published publications whose first pull
is due, against the sandbox's X API (issue 15, "Tests and figures").

Measures the dispatcher's metrics step (lease the due ones, a job per channel batch)
and the workers' pulls (one GET /2/tweets per 100 posts, snapshots stored) until every
publication has its snapshot: publications pulled per second, and platform requests per
publication counted by the sandbox (target <= 0.02: batching). The baseline, measured in
the same run on a sample, is one request per publication (what a pull per post costs).
Report generation: bench/reports.py; the short-link redirects: bench/redirects.py.
Ends with one JSON line.

    python bench/engagement.py [--count 10000] [--sample 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rq import SimpleWorker  # noqa: E402
from sqlalchemy import bindparam, func, select, update  # noqa: E402

from adapters.sandbox import Sandbox  # noqa: E402
from adapters.sandbox.x_common import user_id_of  # noqa: E402
from bench.common import X_TOKEN, private_settings, seed_scheduled, seed_world  # noqa: E402
from publisher import jobs  # noqa: E402
from publisher.core.db import session_scope, utcnow  # noqa: E402
from publisher.core.models import Channel, MetricSnapshot, Publication  # noqa: E402
from publisher.dispatcher import hand_over_pulls  # noqa: E402
from publisher.runtime import build_runtime  # noqa: E402

POST_ID_BASE = 1_900_000_000_000_000_000


def _published(runtime, world, sandbox, count: int) -> list[int]:
    """`count` publications out an hour ago, each post on the sandbox's X ledger."""
    out_at = utcnow() - timedelta(hours=1)
    with session_scope(runtime.engine) as session:
        seed_scheduled(session, world, [out_at] * count, prefix="engagement")
        rows = session.execute(select(Publication.id, Publication.channel_id)).all()
        tokens = {
            c.id: f"{X_TOKEN}-{c.external_account_id}" for c in session.scalars(select(Channel))
        }
        for n, (pub_id, channel_id) in enumerate(rows):
            post_id = str(POST_ID_BASE + pub_id)
            sandbox.ledger.accept("x", user_id_of(tokens[channel_id]), post_id, f"post {n}", None)
            sandbox.ledger.set_metrics("x", post_id, like_count=n % 50, impression_count=n)
        session.execute(
            update(Publication).values(
                status="published", published_at=out_at, metrics_due_at=out_at
            )
        )
        session.connection().execute(
            update(Publication.__table__)
            .where(Publication.__table__.c.id == bindparam("pid"))
            .values(external_id=bindparam("eid")),
            [{"pid": pub_id, "eid": str(POST_ID_BASE + pub_id)} for pub_id, _ in rows],
        )
    return [pub_id for pub_id, _ in rows]


def _lookups(sandbox) -> int:
    return sum(
        1 for e in sandbox.ledger.exchanges if e["method"] == "GET" and e["path"] == "/2/tweets"
    )


def measure(count: int, database_url: str | None, sample: int) -> dict[str, float]:
    settings, redis_proc = private_settings(database_url)
    sandbox = Sandbox().start()
    try:
        settings = settings.with_(api_base_urls={"x": sandbox.x_url})
        world = seed_world(settings)
        runtime = build_runtime(settings)
        jobs.bind(runtime)
        ids = _published(runtime, world, sandbox, count)
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
    finally:
        sandbox.stop()
        redis_proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500, help="publications the baseline asks")
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to create a throw-away database on (default: a SQLite file)",
    )
    args = parser.parse_args()
    got = measure(args.count, args.database_url, args.sample)
    assert got["snapshots"] == args.count, got  # every publication pulled, once
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
        )
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Cost of one dispatcher pass with 100 and with 100,000 future publications in the database.

A pass is what the dispatcher does each time it wakes: hand over what is due (nothing, here)
and read the next due time. It must stay flat as the schedule grows: it reads what is due,
through the (status, due_at) index, not everything. The baseline, measured in the same run
on the same database, is the naive poll: load every scheduled publication and filter the
due ones in Python. Ends with one JSON line.

    python bench/dispatch_cost.py [--repeat 50] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.common import private_settings, seed_scheduled, seed_world  # noqa: E402
from publisher.core.db import make_engine, session_scope  # noqa: E402
from publisher.core.models import Publication  # noqa: E402
from publisher.deliver import dispatch
from publisher.deliver.transport import PublishQueue  # noqa: E402


def _timed_ms(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(total: int, repeat: int, database_url: str | None) -> tuple[float, float]:
    settings, redis_proc = private_settings(database_url)
    try:
        world = seed_world(settings)
        engine = make_engine(settings.effective_database_url)
        start = datetime.now(UTC) + timedelta(days=1)
        with session_scope(engine) as session:
            for first in range(0, total, 10_000):
                times = [
                    start + timedelta(seconds=i) for i in range(first, min(total, first + 10_000))
                ]
                seed_scheduled(session, world, times, prefix=f"future {first}")
        queue = PublishQueue(Redis.from_url(settings.redis_url))

        def engine_pass():
            with session_scope(engine) as session:
                now = datetime.now(UTC)
                assert dispatch.dispatch_due(session, queue, now=now) == 0
                assert dispatch.next_due_at(session, now=now) is not None

        def naive_pass():
            with session_scope(engine) as session:
                now = datetime.now(UTC)
                rows = (
                    session.execute(select(Publication).where(Publication.status == "scheduled"))
                    .scalars()
                    .all()
                )
                assert not [r for r in rows if r.due_at <= now]

        result = (_timed_ms(engine_pass, repeat), _timed_ms(naive_pass, max(3, repeat // 10)))
        engine.dispose()
        return result
    finally:
        redis_proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to create throw-away databases on (default: SQLite files)",
    )
    args = parser.parse_args()
    figures = {}
    for total in (100, 100_000):
        pass_ms, naive_ms = measure(total, args.repeat, args.database_url)
        figures[f"pass_ms_{total}"] = round(pass_ms, 3)
        figures[f"baseline_pass_ms_{total}"] = round(naive_ms, 3)
        print(
            f"{total:>7} future publications: dispatcher pass {pass_ms:.3f} ms (median of "
            f"{args.repeat}); naive poll {naive_ms:.1f} ms ({naive_ms / pass_ms:.0f}x)",
            flush=True,
        )
    print(
        f"growth 100 -> 100,000: engine {figures['pass_ms_100000'] / figures['pass_ms_100']:.1f}x,"
        f" naive {figures['baseline_pass_ms_100000'] / figures['baseline_pass_ms_100']:.0f}x"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

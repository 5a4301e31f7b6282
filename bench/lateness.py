"""Lateness and throughput of publishing, against plain RQ `enqueue_at` in the same run.

Loads (each against the sandbox at 50 ms latency, judged by the sandbox's own clock):
  spread: 2,000 publications spread evenly over 60 s
  burst:  2,000 publications due in the same instant
Engine: `publisher` dispatcher + N workers (processes). Baseline: the same publications as
RQ jobs enqueued with `enqueue_at` and run by N `rq worker --with-scheduler` processes
(SimpleWorker, like the engine's workers: the default forking worker is far slower).
Ends with one JSON line of the figures.

    python bench/lateness.py [--count 2000] [--spread-s 60] [--workers 4] [--skip-baseline]
                             [--loads spread,burst] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from sqlalchemy import select  # noqa: E402

from adapters.sandbox import Sandbox  # noqa: E402
from bench.common import X_TOKEN, private_settings, seed_scheduled, seed_world, summary  # noqa: E402
from publisher.core.db import make_engine, session_scope  # noqa: E402
from publisher.core.models import Post, Publication  # noqa: E402
from publisher.deliver.transport import PublishQueue  # noqa: E402
from publisher.stack import Stack  # noqa: E402

LATENCY_S = 0.05
LEAD_S = 5.0  # the first publication falls due this long after seeding


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _times(count: int, spread_s: float, start: datetime) -> list[datetime]:
    if spread_s <= 0:
        return [start] * count
    return [start + timedelta(seconds=spread_s * i / count) for i in range(count)]


def _collect(
    sandbox: Sandbox, texts: dict[str, datetime], timeout_s: float
) -> tuple[dict[str, float], int]:
    """Wait until every text is on the ledger, or until nothing new arrived for 30 s after
    the last due time. Returns lateness in ms by the sandbox's clock, and how many never
    arrived (a lost publication is a finding, not a crash of the benchmark)."""
    deadline = time.monotonic() + timeout_s
    last_due = max(texts.values())
    seen_count, last_progress = -1, time.monotonic()
    while time.monotonic() < deadline:
        seen = {a.text for a in sandbox.ledger.accepted() if a.text in texts}
        if len(seen) == len(texts):
            break
        if len(seen) != seen_count:
            seen_count, last_progress = len(seen), time.monotonic()
        elif datetime.now(UTC) > last_due and time.monotonic() - last_progress > 30:
            break
        time.sleep(0.2)
    accepted = [a for a in sandbox.ledger.accepted() if a.text in texts]
    if len({a.text for a in accepted}) != len(accepted):
        raise SystemExit("a publication reached the platform twice")
    lateness = {
        a.text: (datetime.fromisoformat(a.received_at) - texts[a.text]) / timedelta(milliseconds=1)
        for a in accepted
    }
    return lateness, len(texts) - len(accepted)


def _stages(engine, lateness: dict[str, float]) -> str:
    """Where the lateness of the slowest 1% went, by the publications' own times: the
    hand-over (negative: early), the claim, and the request after the claim."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Post.text, Publication.due_at, Publication.queued_at, Publication.claimed_at)
            .join(Post, Post.id == Publication.post_id)
            .where(Publication.claimed_at.is_not(None))
        ).all()
    ms = timedelta(milliseconds=1)
    stages = {
        text: ((queued - due) / ms, (claimed - due) / ms)
        for text, due, queued, claimed in rows
        if text in lateness and queued is not None
    }
    if not stages:
        return "stages: none recorded"
    slowest = sorted(stages, key=lateness.__getitem__)[-max(1, len(stages) // 100) :]

    def line(texts: list[str]) -> str:
        handed = statistics.median(stages[t][0] for t in texts)
        claimed = statistics.median(stages[t][1] for t in texts)
        sent = statistics.median(lateness[t] for t in texts)
        return f"handed over {handed:+.1f}, claimed {claimed:+.1f}, sent {sent:+.1f} ms"

    return f"stages (median after due): all: {line(list(stages))}; slowest 1%: {line(slowest)}"


def run_engine(
    sandbox: Sandbox,
    *,
    count: int,
    spread_s: float,
    workers: int,
    label: str,
    database_url: str | None = None,
) -> tuple[dict[str, float], int]:
    settings, redis_proc = private_settings(database_url)
    settings = settings.with_(api_base_urls={"x": sandbox.x_url})
    # X allows 200 posts per 15 minutes per account (the engine keeps each channel within
    # it): the accounts grow with the load, 100 publications each at most.
    world = seed_world(settings, channels=max(20, math.ceil(count / 100)))
    stack = Stack(
        settings, port=_free_port(), workers=workers, log_dir=settings.home / "logs"
    ).start()
    try:
        time.sleep(1.0)  # workers connected
        start = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        times = _times(count, spread_s, start)
        engine = make_engine(settings.effective_database_url)
        with session_scope(engine) as session:
            texts = seed_scheduled(session, world, times, prefix=f"engine {label}")
        redis = Redis.from_url(settings.redis_url)
        PublishQueue(redis).wake()
        lateness, lost = _collect(
            sandbox, dict(zip(texts, times, strict=True)), LEAD_S + spread_s + 120
        )
        print(f"engine   {label:6} {_stages(engine, lateness)}", flush=True)
        engine.dispose()
        return lateness, lost
    finally:
        stack.stop()
        redis_proc.terminate()


def run_baseline(
    sandbox: Sandbox, *, count: int, spread_s: float, workers: int, label: str
) -> tuple[dict[str, float], int]:
    settings, redis_proc = private_settings()
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "--with-scheduler",
                # RQ's default worker forks per job and imports tweepy in every fork (about
                # 12 jobs/s here): SimpleWorker, as the engine's workers, keeps it fair.
                "--worker-class",
                "rq.worker.SimpleWorker",
                "-u",
                settings.redis_url,
                "baseline",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(2.0)
        redis = Redis.from_url(settings.redis_url)
        queue = Queue("baseline", connection=redis)
        start = datetime.now(UTC) + timedelta(seconds=LEAD_S)
        times = _times(count, spread_s, start)
        texts = [f"baseline {label} {i}" for i in range(count)]
        with redis.pipeline() as pipe:
            for text, at in zip(texts, times, strict=True):
                queue.enqueue_at(
                    at, "bench.baseline.post_tweet", text, sandbox.x_url, X_TOKEN, pipeline=pipe
                )
            pipe.execute()
        return _collect(sandbox, dict(zip(texts, times, strict=True)), LEAD_S + spread_s + 300)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        redis_proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--spread-s", type=float, default=60.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="worker processes, for the engine and for the baseline",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=LATENCY_S * 1000,
        help="how long the sandbox takes to answer a post (X answers in 200-700 ms)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server to create throw-away databases on (default: SQLite files)",
    )
    parser.add_argument(
        "--loads", default="spread,burst", help="which loads to run: spread, burst or both"
    )
    args = parser.parse_args()

    sandbox = Sandbox().start()
    sandbox.ledger.latency_s["x"] = args.latency_ms / 1000
    figures: dict[str, float] = {}
    runs = [("engine", run_engine)] + ([] if args.skip_baseline else [("baseline", run_baseline)])
    for name, run in runs:
        prefix = "" if name == "engine" else "baseline_"
        earliest = []
        loads = [("spread", args.spread_s), ("burst", 0.0)]
        for load, spread in [(n, s) for n, s in loads if n in args.loads.split(",")]:
            options = {"database_url": args.database_url} if name == "engine" else {}
            by_text, lost = run(
                sandbox,
                count=args.count,
                spread_s=spread,
                workers=args.workers,
                label=load,
                **options,
            )
            lateness = list(by_text.values())
            stats = summary(lateness)
            rate = len(lateness) / max(stats["max"] / 1000, 1e-3)
            earliest.append(stats["earliest"])
            throughput = f"  {rate:.0f} publications/s" if load == "burst" else ""
            print(
                f"{name:8} {load:6} n={len(lateness)} lost={lost} p50={stats['p50']:.1f} ms "
                f"p99={stats['p99']:.1f} ms max={stats['max']:.1f} ms "
                f"earliest={stats['earliest']:.1f} ms{throughput}",
                flush=True,
            )
            figures[f"{prefix}{load}_lost"] = lost
            if load == "spread":
                figures[f"{prefix}spread_p50_ms"] = stats["p50"]
                figures[f"{prefix}spread_p99_ms"] = stats["p99"]
                figures[f"{prefix}spread_max_ms"] = stats["max"]
            else:
                figures[f"{prefix}burst_per_s"] = rate
        figures[f"{prefix}earliest_ms"] = min(earliest)
    sandbox.stop()
    if "baseline_spread_p99_ms" in figures:
        p99_ratio = figures["baseline_spread_p99_ms"] / figures["spread_p99_ms"]
        burst_ratio = figures["burst_per_s"] / figures["baseline_burst_per_s"]
        print(
            f"ratio: spread p99 baseline/engine {p99_ratio:.1f}x; "
            f"burst throughput engine/baseline {burst_ratio:.1f}x"
        )
    keys = [
        "spread_p50_ms",
        "spread_p99_ms",
        "spread_max_ms",
        "earliest_ms",
        "burst_per_s",
        "baseline_spread_p99_ms",
        "baseline_earliest_ms",
        "baseline_burst_per_s",
    ]
    print(json.dumps({k: round(figures[k], 1) for k in keys if k in figures}))


if __name__ == "__main__":
    main()

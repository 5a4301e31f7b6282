"""Short-link redirects (issue 15, "Tests and figures"): GET /l/{code} under 200
concurrent readers, against the engine as `publisher up` runs it (API, dispatcher, a
worker, the short links' server), on a campaign with `--clicks` clicks stored already.

  open loop: 2,000 redirects/s offered by 200 readers (bench/open_loop.py, a new
             connection each, latency from when each was due) to the short links' server:
             answered per second, p50, p99, max; the baseline, in the same run: the same
             load on the API's own /l/{code} (a thread per request).
  ceiling:   ApacheBench, 200 clients in a closed loop: the most the server answers.
  dispatch:  publications due while the readers click (20/s over 10 s, published to the
             sandbox) against the same number due on a quiet engine just before: their
             lateness p99, so click writes are seen not to slow the dispatcher.
  written:   how long after the last request every click is in the database.

Ends with one JSON line. `ab` comes from Debian's apache2-utils (installed when missing
and this runs as root).

    python bench/redirects.py [--clicks 100000] [--rate 2000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from adapters.sandbox import Sandbox  # noqa: E402
from bench.common import private_settings, seed_scheduled, seed_world, summary  # noqa: E402
from bench.lateness import _collect, _stages  # noqa: E402
from bench.reports import _seed  # noqa: E402
from publisher.core.db import make_engine, session_scope  # noqa: E402
from publisher.core.engagement_models import LinkClick  # noqa: E402
from publisher.deliver.transport import PublishQueue  # noqa: E402
from publisher.stack import Stack  # noqa: E402

CLIENTS, SECONDS, DUE_PER_S = 200, 10.0, 20


def _ab(url: str, requests: int, concurrency: int) -> tuple[float, float, int]:
    """(requests per second, p99 in ms, failed requests) as ApacheBench measures them."""
    out = subprocess.run(
        ["ab", "-q", "-n", str(requests), "-c", str(concurrency), "-s", "30", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"^\s*99%\s+(\d+)", out, re.MULTILINE).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    return rate, p99, failed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_ab() -> None:
    if shutil.which("ab"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "apache2-utils"], check=True)
    if not shutil.which("ab"):
        raise SystemExit("install ApacheBench (Debian: apt-get install apache2-utils)")


def _offer(url: str, rate: float, seconds: float = SECONDS) -> dict:
    """bench/open_loop.py in a process of its own (the sandbox's threads are in this one)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.open_loop", url, "--rate", str(rate)]
        + ["--clients", str(CLIENTS), "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _due_now(engine, world, sandbox, label: str, during=None) -> dict[str, float]:
    """DUE_PER_S publications a second for SECONDS, from 3 s on; `during` runs meanwhile
    (blocking). Their lateness by the sandbox's clock."""
    start = datetime.now(UTC) + timedelta(seconds=3)
    count = int(DUE_PER_S * SECONDS)
    times = [start + timedelta(seconds=i / DUE_PER_S) for i in range(count)]
    with session_scope(engine) as session:
        texts = seed_scheduled(session, world, times, prefix=f"redirects {label}")

    PublishQueue(Redis.from_url(world.settings.redis_url)).wake()
    if during is not None:
        during()
    lateness, lost = _collect(sandbox, dict(zip(texts, times, strict=True)), 3 + SECONDS + 60)
    if lost:
        raise SystemExit(f"{lost} publications due during the {label} window were not sent")
    print(f"publications due, {label}: {_stages(engine, lateness)}", flush=True)
    return summary(list(lateness.values()))


def _settle(engine) -> None:
    """After the bulk load, what autovacuum would do in its own time (on PostgreSQL it
    otherwise does it during the load, on the same two cores)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def _clicks(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(LinkClick)).scalar_one()


def measure(clicks: int, rate: float, database_url: str | None) -> dict[str, float]:
    sandbox = Sandbox().start()
    settings, redis_proc = private_settings(database_url)
    settings = settings.with_(api_base_urls={"x": sandbox.x_url})
    try:
        world = seed_world(settings, channels=20)
        _, code = _seed(settings, world, clicks)
        engine = make_engine(settings.effective_database_url)
        _settle(engine)
        stack = Stack(
            settings, port=_free_port(), workers=1, links_port=0, log_dir=settings.home / "logs"
        ).start()
        try:
            links, api = f"{stack.links_url}/l/{code}", f"{stack.api_url}/l/{code}"
            before = _clicks(engine)
            _ab(links, 500, 50)  # warm: the link remembered in every process
            _ab(api, 500, 50)
            quiet = _due_now(engine, world, sandbox, "quiet")
            found: dict[str, dict] = {}
            busy = _due_now(
                engine,
                world,
                sandbox,
                "busy",
                during=lambda: found.update(links=_offer(links, rate, SECONDS + 3)),
            )
            found["api"] = _offer(api, rate)
            ceiling, ceiling_p99, ceiling_failed = _ab(links, 20_000, CLIENTS)
            counted = 1000 + sum(found[k]["statuses"].get("302", 0) for k in found)
            counted += 20_000 - ceiling_failed
            began = time.monotonic()
            while _clicks(engine) - before < counted and time.monotonic() - began < 120:
                time.sleep(0.2)
            written_s, written = time.monotonic() - began, _clicks(engine) - before
        finally:
            stack.stop()
            engine.dispose()
    finally:
        redis_proc.terminate()
        sandbox.stop()
    mine, theirs = found["links"], found["api"]
    if mine["statuses"].get("302", 0) != mine["answered"]:
        raise SystemExit(f"the short links' server did not redirect: {mine['statuses']}")
    print(
        f"short links' server, {rate:,.0f}/s offered by {CLIENTS} readers: "
        f"{mine['per_s']:,.0f}/s answered, p50 {mine['p50_ms']} ms, p99 {mine['p99_ms']} ms, "
        f"max {mine['max_ms']} ms, {mine['failed']} failed\n"
        f"baseline, the API's /l/ under the same load: {theirs['per_s']:,.0f}/s answered, "
        f"p50 {theirs['p50_ms']} ms, p99 {theirs['p99_ms']} ms, {theirs['failed']} failed\n"
        f"ceiling (ab, {CLIENTS} clients, closed loop): {ceiling:,.0f}/s, p99 {ceiling_p99:.0f} "
        f"ms, {ceiling_failed} failed\n"
        f"publications due meanwhile ({DUE_PER_S}/s): lateness p99 {busy['p99']:.1f} ms, max "
        f"{busy['max']:.1f} ms; on the quiet engine before: p99 {quiet['p99']:.1f} ms, max "
        f"{quiet['max']:.1f} ms\n"
        f"every click written {written_s:.1f} s after the last request ({written:,} of "
        f"{counted:,})",
        flush=True,
    )
    return {
        "redirects_per_s": mine["per_s"],
        "redirect_p50_ms": mine["p50_ms"],
        "redirect_p99_ms": mine["p99_ms"],
        "redirect_max_ms": mine["max_ms"],
        "redirect_failed": mine["failed"],
        "baseline_api_redirects_per_s": theirs["per_s"],
        "baseline_api_redirect_p99_ms": theirs["p99_ms"],
        "baseline_api_redirect_failed": theirs["failed"],
        "ceiling_per_s": round(ceiling, 1),
        "dispatch_p99_busy_ms": round(busy["p99"], 1),
        "dispatch_p99_quiet_ms": round(quiet["p99"], 1),
        "clicks_written_after_s": round(written_s, 1),
        "clicks_not_written": counted - written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _ensure_ab()
    print(json.dumps(measure(args.clicks, args.rate, args.database_url)))


if __name__ == "__main__":
    main()

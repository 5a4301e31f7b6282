"""An open-loop HTTP load: `clients` readers, each sending GET `url` at its own steady
pace (`rate / clients` per second, phases spread at random), a new connection per request
as readers opening a link do. A request's latency runs from when it was *due*, not from
when it could be sent, so a server that falls behind is charged for the wait it causes
(ApacheBench and hey send the next request only after the last answer: with 200 clients
in that closed loop the mean latency is 200 / throughput whatever the server, and
hey's own scheduling added 20 ms at 200 workers here).

    python bench/open_loop.py URL [--rate 2000] [--clients 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    sent: int
    answered: int
    failed: int  # no answer, a broken one, or a 5xx
    statuses: dict[int, int]
    per_s: float  # answered per second over the run
    p50_ms: float
    p99_ms: float
    max_ms: float


async def _one(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await reader.readexactly(length)
        return status
    finally:
        writer.close()


async def _client(
    host: str, port: int, request: bytes, pace_s: float, start: float, end: float, out: list
) -> None:
    due = start + random.uniform(0, pace_s)
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Task] = set()

    async def send(due_at: float) -> None:
        try:
            status = await asyncio.wait_for(_one(host, port, request), timeout=30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
        out.append((status, loop.time() - due_at))

    while due < end:
        await asyncio.sleep(max(0.0, due - loop.time()))
        task = asyncio.create_task(send(due))  # due or not, the next goes at its time
        pending.add(task)
        task.add_done_callback(pending.discard)
        due += pace_s
    if pending:
        await asyncio.wait(pending)


async def _run(url: str, rate: float, clients: int, seconds: float) -> list[tuple[int, float]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: Mozilla/5.0 (iPhone; "
        "CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148\r\nReferer: https://t.co/\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    out: list[tuple[int, float]] = []
    pace = clients / rate
    await asyncio.gather(
        *(_client(host, port, request, pace, start, start + seconds, out) for _ in range(clients))
    )
    return out


def run(url: str, *, rate: float = 2000, clients: int = 200, seconds: float = 10) -> Load:
    """Offer `rate` requests per second from `clients` readers for `seconds`."""
    try:
        import uvloop

        uvloop.install()  # the load's own overhead, kept small: it shares the machine
    except ImportError:
        pass
    began = time.monotonic()
    out = asyncio.run(_run(url, rate, clients, seconds))
    took = time.monotonic() - began
    statuses: dict[int, int] = {}
    for status, _ in out:
        statuses[status] = statuses.get(status, 0) + 1
    good = sorted(ms * 1000 for status, ms in out if 0 < status < 500)
    failed = len(out) - len(good)

    def pick(q: float) -> float:
        return round(good[min(len(good) - 1, int(q * len(good)))], 1) if good else 0.0

    return Load(
        sent=len(out),
        answered=len(good),
        failed=failed,
        statuses=dict(sorted(statuses.items())),
        per_s=round(len(good) / max(took - 0.2, 1e-9), 1),
        p50_ms=pick(0.50),
        p99_ms=pick(0.99),
        max_ms=round(good[-1], 1) if good else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    load = run(args.url, rate=args.rate, clients=args.clients, seconds=args.seconds)
    print(json.dumps(load.__dict__))


if __name__ == "__main__":
    main()

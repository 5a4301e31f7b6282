"""The short links' own server: `GET /l/{code}` as an asynchronous ASGI application, run
by uvicorn (`publisher links`, started by `publisher up`), for the addresses readers open.

A post that takes off sends thousands of readers through its links within minutes. The
API's server (a thread per request, Flask's request cycle) answered about 700 redirects
a second on two cores; here a redirect is a lookup in memory, a click pushed to Redis
without blocking, and a 302 written straight to the socket, in one event loop per
process: a slow reader costs a coroutine, not a thread. It answers as the API's own
`/l/{code}` does (that one stays, for setups that run the API alone), with the same
records: the same ClickBuffer decides the click and where the reader goes, the same
batch job writes the clicks (with Redis down, a click is written at once, in a thread).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError
from werkzeug.urls import iri_to_uri

from api.http.errors import PROBLEM_BASE
from publisher.core.settings import Settings
from publisher.runtime import Runtime, build_runtime
from publisher.system import logs

log = logging.getLogger(__name__)
_LINK = re.compile(r"/l/([^/]{10})")  # as the API's route: ten characters, any case


class LinkServer:
    """The ASGI application: `/l/{code}` (GET counts a click, HEAD does not) and
    `/healthz`; anything else a problem document."""

    def __init__(self, runtime: Runtime, redis: aioredis.Redis, *, owns_runtime: bool) -> None:
        self.runtime, self.redis, self.clicks = runtime, redis, runtime.clicks
        self.owns_runtime = owns_runtime  # closed with the server (not a runtime lent to it)
        self._waiting: list[tuple[dict, asyncio.Future]] = []  # clicks for the next push
        self._pushing, self._pusher = False, None
        self._syncing: asyncio.Task | None = None  # the clock's offset being measured
        self.instance = runtime.settings.instance  # which `publisher up` started it
        # A problem's `type`: the API's page that explains it (as the API's own /l/ answers),
        # absolute since this server does not serve those pages; unknown, about:blank.
        api = runtime.settings.public_url.rstrip("/")
        self.problems = f"{api}{PROBLEM_BASE}" if api else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            await _answer(send, 200, body={"status": "ok", "instance": self.instance})
            return
        found = _LINK.fullmatch(path)
        if found is None:
            await self._problem(send, 404, "Not found", "nothing here: short links are /l/{code}")
            return
        if method not in ("GET", "HEAD"):
            await self._problem(
                send, 405, "Method not allowed", f"{method} is not allowed here: GET or HEAD",
                headers=[(b"allow", b"GET, HEAD")],
            )  # fmt: skip
            return
        code = found.group(1).lower()
        link = self.clicks.cached(code) or await asyncio.to_thread(self._lookup, code)
        if link is None:
            await self._problem(send, 404, "Not found", "no such short link")
            return
        if method == "HEAD":  # a link preview checking the address: the link as it is
            await _redirect(send, link.target)
            return
        headers = {name: value for name, value in scope["headers"]}
        click, target = self.clicks.visit(
            link,
            code,
            referrer=_header(headers, b"referer"),
            user_agent=_header(headers, b"user-agent"),
            now=self._now(),
        )
        await self._keep(click)
        await _redirect(send, target)

    async def _problem(
        self, send: Any, status: int, title: str, detail: str, headers: list | None = None
    ) -> None:
        code = title.lower().replace(" ", "_")  # as the API names them: not_found, ...
        kind = f"{self.problems}{code}" if self.problems else "about:blank"
        body = {"type": kind, "title": title, "status": status, "detail": detail}
        await _answer(send, status, body=body, headers=headers, media=b"application/problem+json")

    def _now(self) -> datetime:
        """The shared time, never waiting on Redis in the event loop: the offset is
        measured again in a thread when due (a test's own clock is read as it is)."""
        shared = self.runtime.shared
        if shared is None or self.runtime.clock is not shared:
            return self.runtime.clock()
        if shared.stale() and self._syncing is None:
            self._syncing = asyncio.get_running_loop().create_task(self._sync(shared))
        return shared.reading()

    async def _sync(self, shared) -> None:
        try:
            await asyncio.to_thread(shared.try_sync)
        finally:
            self._syncing = None

    def _lookup(self, code: str):
        with self.runtime.read_session() as session:
            return self.clicks.link(session, code)

    async def _keep(self, click: dict) -> None:
        """The click is in Redis (or, Redis down, in the database) before the reader is
        answered. Clicks arriving while a push is under way go together in the next one
        (one RPUSH for many: a round trip to Redis per click was a third of the work)."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((click, done))
        if not self._pushing:
            self._pushing = True
            self._pusher = asyncio.get_running_loop().create_task(self._push())  # kept: not GC'd
        await done

    async def _push(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                clicks = [click for click, _ in batch]
                try:
                    await self._push_one(clicks)
                except Exception as exc:  # noqa: BLE001 - each reader waiting is told
                    for _, done in batch:
                        if not done.done():  # a reader gone meanwhile (cancelled)
                            done.set_exception(exc)
                    continue
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._pushing = False

    async def _push_one(self, clicks: list[dict]) -> None:
        try:
            waiting = await self.redis.rpush(self.clicks.key, *(json.dumps(c) for c in clicks))
            if over := self.clicks.over_cap(waiting, len(clicks)):
                await self.redis.rpop(self.clicks.key, over)
        except RedisError as exc:
            await asyncio.to_thread(self.clicks.write_now, clicks, exc)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.redis.aclose()
                if self.owns_runtime:
                    self.runtime.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _header(headers: dict[bytes, bytes], name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value is not None else None


async def _redirect(send: Any, target: str) -> None:
    await _answer(
        send,
        302,
        headers=[
            (b"location", (target if target.isascii() else iri_to_uri(target)).encode()),
            # Each click must reach us: no cache may answer it (and tell nobody where from).
            (b"cache-control", b"private, no-store"),
            (b"referrer-policy", b"no-referrer"),
        ],
    )


async def _answer(
    send: Any,
    status: int,
    *,
    body: dict | None = None,
    headers: list | None = None,
    media: bytes = b"application/json",
) -> None:
    payload = json.dumps(body).encode() if body is not None else b""
    head = [*(headers or []), (b"content-length", str(len(payload)).encode())]
    if body is not None:
        head.append((b"content-type", media))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload})


def create_link_app(settings: Settings | None = None, runtime: Runtime | None = None):
    """The application, for uvicorn (`factory=True`: each worker process builds its own
    from the environment); pass a built `runtime` to share one (tests)."""
    owns_runtime = runtime is None
    if runtime is None:  # a worker process of its own: its logging as every process's
        settings = settings or Settings.from_env()
        logs.configure(settings.log_level)
        runtime = build_runtime(settings)
    pool = aioredis.BlockingConnectionPool.from_url(
        runtime.settings.redis_url,
        max_connections=64,
        timeout=2,  # a free connection within 2 s, else the click is written at once
        socket_connect_timeout=1,
        socket_timeout=2,
    )
    return LinkServer(runtime, aioredis.Redis(connection_pool=pool), owns_runtime=owns_runtime)

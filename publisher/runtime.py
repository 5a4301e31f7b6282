"""The parts a process works with, built once from Settings by a composition root."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from redis import Redis
from requests.adapters import HTTPAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.base import Adapter, AdapterRegistry, load_adapters
from adapters.errors import Rejected
from adapters.types import AdapterConfig, Budget, OAuthApp
from publisher.core.clock import SharedClock
from publisher.core.db import make_engine, read_only, utcnow
from publisher.core.models import Channel
from publisher.core.security import CredentialBox
from publisher.core.settings import Settings, ensure_secret_keys
from publisher.deliver.outcomes import RetryPolicy
from publisher.deliver.transport import MAX_CHUNK, PublishQueue
from publisher.engage import schedule
from publisher.engage.clicks import ClickBuffer
from publisher.plan import tokens
from publisher.plan.links import LinkMaker
from publisher.plan.media import MediaStore

log = logging.getLogger(__name__)

# Publications a worker has under way at once, over all its publish jobs
# (publisher/jobs.py): while one job waits for its platform's answers, the worker takes the
# next, up to this many publications (a burst's job of MAX_CHUNK is one at a time).
IN_FLIGHT = MAX_CHUNK


class InFlight:
    """Jobs run on this process's threads while at most `limit` publications are under
    way: `run` returns as soon as the job has started (it waits while the others carry too
    many, so a worker never takes more than it can start); `drain` waits until none is."""

    def __init__(self, limit: int, name: str) -> None:
        self._limit = limit
        self._carried = 0
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(limit, thread_name_prefix=name)

    def run(self, job: Callable[..., object], *args: object, weight: int = 1) -> None:
        weight = max(1, min(weight, self._limit))
        with self._changed:
            self._changed.wait_for(lambda: self._carried + weight <= self._limit)
            self._carried += weight

        def under_way() -> None:
            try:
                job(*args)
            except Exception:  # the job's own records say what it did; this says why it stopped
                log.exception("%s%r failed", getattr(job, "__name__", job), args)
            finally:
                self._done(weight)

        try:
            self._pool.submit(under_way)
        except BaseException:
            self._done(weight)
            raise

    def _done(self, weight: int) -> None:
        with self._changed:
            self._carried -= weight
            self._changed.notify_all()

    def drain(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._carried == 0)

    def busy(self) -> bool:
        with self._changed:
            return self._carried > 0

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: Redis
    box: CredentialBox
    registry: AdapterRegistry
    queue: PublishQueue
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow
    # The clock every engine process shares (clock is this one unless a test sets it).
    shared: SharedClock | None = None
    _adapters: dict[int, tuple[tuple, Adapter, dict]] = field(default_factory=dict, repr=False)
    _senders: ThreadPoolExecutor | None = field(default=None, repr=False)
    _in_flight: InFlight | None = field(default=None, repr=False)
    _background: InFlight | None = field(default=None, repr=False)
    _checkers: ThreadPoolExecutor | None = field(default=None, repr=False)
    _clicks: ClickBuffer | None = field(default=None, repr=False)
    _http: HTTPAdapter | None = field(default=None, repr=False)

    @property
    def budgets(self) -> dict[str, tuple[Budget, ...]]:
        """Each installed platform's declared posting budgets."""
        return {slug: cls.budgets for slug, cls in self.registry.items()}

    @property
    def read_budgets(self) -> dict[str, tuple[tuple[Budget, ...], int]]:
        """Each installed platform's read budgets and the posts one metrics request takes."""
        return {
            slug: (cls.read_budgets, cls.metrics_per_request) for slug, cls in self.registry.items()
        }

    @property
    def metrics_schedule(self) -> tuple[timedelta, ...]:
        """When published posts' metrics are pulled (PUBLISHER_METRICS_SCHEDULE)."""
        return schedule.parse(self.settings.metrics_schedule)

    @property
    def senders(self) -> ThreadPoolExecutor:
        """The threads that make platform calls for this process's publish jobs. They live
        as long as the process, so each keeps its adapters and their open connections."""
        if self._senders is None:
            self._senders = ThreadPoolExecutor(MAX_CHUNK, thread_name_prefix="send")
        return self._senders

    @property
    def checkers(self) -> ThreadPoolExecutor:
        """The threads that ask platforms what became of `unknown` publications: apart
        from the senders, so that a slow search never delays a post due now."""
        if self._checkers is None:
            self._checkers = ThreadPoolExecutor(8, thread_name_prefix="check")
        return self._checkers

    @property
    def in_flight(self) -> InFlight:
        """The publish jobs this process has under way (IN_FLIGHT publications at most)."""
        if self._in_flight is None:
            self._in_flight = InFlight(IN_FLIGHT, "job")
        return self._in_flight

    @property
    def background(self) -> InFlight:
        """One thread for this process's housekeeping (writing the clicks waiting): apart
        from the publish jobs, so that it never holds one back nor waits for their room."""
        if self._background is None:
            self._background = InFlight(1, "background")
        return self._background

    @property
    def http(self) -> HTTPAdapter:
        """The connection pools every adapter of this process sends through: keep-alive
        connections per platform host, as many as the sender threads (an adapter per
        thread and channel, each with its own pool, kept one connection per pair open)."""
        if self._http is None:
            self._http = HTTPAdapter(pool_connections=8, pool_maxsize=MAX_CHUNK + 8)
        return self._http

    @property
    def media(self) -> MediaStore:
        return MediaStore(
            self.settings.effective_media_dir,
            public_url=self.settings.public_url,
            signing_key=self.settings.secret_keys[0] if self.settings.secret_keys else "",
        )

    @property
    def clicks(self) -> ClickBuffer:
        """Clicks through the short links, waiting in Redis for their batch write."""
        if self._clicks is None:
            self._clicks = ClickBuffer(
                self.redis, name=self.settings.queue_name, write=self.session
            )
        return self._clicks

    @property
    def links(self) -> LinkMaker | None:
        """The engine's short links, under PUBLISHER_LINKS_URL, else PUBLISHER_PUBLIC_URL
        (None without either: links go as they are)."""
        return LinkMaker.of(self.settings.links_url or self.settings.public_url)

    @property
    def beat_prefix(self) -> str:
        return f"publisher:{self.settings.queue_name}"

    def check_clock(self, name: str) -> None:
        """Measure this process's clock against the shared one and say so in Redis;
        ClockSkewed (nothing to dispatch or send) when it is beyond the bound."""
        if self.shared is None:
            return
        try:
            self.shared.check()
        finally:
            self.shared.beat(name, self.beat_prefix)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session that only reads: on SQLite it takes no write lock, so however long
        it stays open (a slow client, a large answer) no writer waits for it."""
        return Session(read_only(self.engine), expire_on_commit=False)

    def adapter_for(self, channel: Channel) -> Adapter:
        """A ready adapter for `channel`, one per process that its sender threads share
        (an adapter keeps no state between calls but its last answer, kept per thread; its
        connections are the process's pools: one per thread and channel had made 640 for a
        burst over 20 channels), until the channel changes (new credentials bump
        `updated_at`) or its tokens are about to expire (they are refreshed first:
        publisher.plan.tokens)."""
        base_url = self.settings.api_base_urls.get(channel.platform)
        key = (channel.updated_at, base_url)
        cached = self._adapters.get(channel.id)
        if (
            cached is None
            or cached[0] != key
            or tokens.due_for_refresh(type(cached[1]), cached[2], self.clock())
        ):
            cached = self._adapters[channel.id] = (key, *self._new_adapter(channel, base_url))
        return cached[1]

    def _new_adapter(self, channel: Channel, base_url: str | None) -> tuple[Adapter, dict]:
        cls = self.registry.get(channel.platform)
        if cls is None:
            raise Rejected(f"no adapter installed for platform {channel.platform!r}")
        config = adapter_config(self.settings, base_url=base_url, transport=self.http)
        client = self.settings.oauth_client(channel.platform)
        credentials = tokens.fresh_credentials(
            channel,
            cls,
            self.box.open(channel.credentials),
            app=OAuthApp(client_id=client[0], client_secret=client[1] or None) if client else None,
            config=config,
            session_factory=self.session,
            read_session=self.read_session,
            box=self.box,
            redis=self.redis,
            lock_name=f"publisher:{self.settings.queue_name}:refresh:{channel.id}",
            now=self.clock,
        )
        adapter = cls(credentials, account_id=channel.external_account_id, config=config)
        return adapter, credentials

    def close(self) -> None:
        """Let the jobs under way finish (their sends and outcomes), then let go."""
        if self._in_flight is not None:
            self._in_flight.shutdown()
            self._in_flight = None
        if self._background is not None:
            self._background.shutdown()
            self._background = None
        if self._senders is not None:
            self._senders.shutdown(wait=True)
            self._senders = None
        if self._checkers is not None:
            self._checkers.shutdown(wait=True)
            self._checkers = None
        if self._http is not None:
            self._http.close()
            self._http = None
        self.engine.dispose()
        self.redis.close()


def adapter_config(
    settings: Settings, *, base_url: str | None, transport: HTTPAdapter | None = None
) -> AdapterConfig:
    """How adapters reach their platform, from the settings (`transport`: the connection
    pools to send through, else each adapter's own)."""
    return AdapterConfig(
        base_url=base_url,
        timeout_s=settings.platform_timeout_s,
        options={"graph_version": settings.graph_api_version},
        transport=transport,
    )


def build_runtime(settings: Settings, *, registry: AdapterRegistry | None = None) -> Runtime:
    """Connect to the database and Redis named by `settings` (nothing connects at import)."""
    schedule.parse(settings.metrics_schedule)  # a bad PUBLISHER_METRICS_SCHEDULE stops here
    settings = ensure_secret_keys(settings)
    # A Redis that does not answer is said within seconds (the kernel's connect timeout
    # is minutes); reads keep no timeout, for RQ's blocking pops.
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    shared = SharedClock(redis, max_offset_s=settings.max_clock_offset_s)
    registry = registry if registry is not None else load_adapters()
    config = adapter_config(settings, base_url=None)
    for cls in registry.values():
        for warning in cls.configuration_warnings(config, today=date.today()):
            log.warning("%s: %s", cls.platform, warning)
    return Runtime(
        settings=settings,
        engine=make_engine(
            settings.effective_database_url,
            idle_transaction_timeout_s=settings.db_idle_transaction_timeout_s,
        ),
        redis=redis,
        box=CredentialBox(settings.secret_keys, key_file=settings.key_file),
        registry=registry,
        queue=PublishQueue(redis, name=settings.queue_name, job_timeout_s=settings.job_timeout_s),
        policy=RetryPolicy(max_attempts=settings.max_attempts),
        clock=shared,
        shared=shared,
    )

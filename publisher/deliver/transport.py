"""Redis as transport: the RQ queue of publish jobs and the dispatcher's wake-up signal.

Redis holds nothing the database cannot rebuild: a job only carries a publication id,
and the database claim decides whether it runs. Publish jobs never use RQ's Retry.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable

from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.worker import Worker

log = logging.getLogger(__name__)

RUN_PUBLISH = "publisher.jobs.run_publish"
RUN_RECONCILE = "publisher.jobs.run_reconcile"
RUN_DELIVER = "publisher.jobs.run_deliver"
RUN_PULL_METRICS = "publisher.jobs.run_pull_metrics"
RUN_PULL_AUDIENCE = "publisher.jobs.run_pull_audience"
RUN_FLUSH_CLICKS = "publisher.jobs.run_flush_clicks"
_PREFIX = {
    RUN_PUBLISH: "publish",
    RUN_RECONCILE: "reconcile",
    RUN_DELIVER: "webhook",
    RUN_PULL_METRICS: "metrics",
    RUN_PULL_AUDIENCE: "audience",
    RUN_FLUSH_CLICKS: "clicks",
}
FLUSH_CLICKS_JOB = "clicks-flush"


# A burst is handed over in jobs of up to this many publications, which a worker sends
# concurrently: RQ's own cost per job (~7 ms of CPU) then no longer bounds throughput.
MAX_CHUNK = 32
# A worker beats every BEAT_EVERY_S; one silent for ALIVE_TTL_S is dead (or frozen: its
# claims' leases stop its sends).
BEAT_EVERY_S, ALIVE_TTL_S = 2.0, 6


def job_id(publication_ids: Iterable[int], func: str = RUN_PUBLISH) -> str:
    """Job ids name their publications, so a sweep can tell which ones Redis still holds."""
    return f"{_PREFIX[func]}-" + "-".join(str(i) for i in publication_ids)


def _ids_of(job: str) -> list[int]:
    return [int(part) for part in job.split("-")[1:] if part.isdigit()]


class PublishQueue:
    """Hands publication ids to workers and wakes the dispatcher when schedules change."""

    def __init__(self, redis: Redis, *, name: str = "publish", job_timeout_s: int = 120) -> None:
        self.redis = redis
        self.rq = Queue(name, connection=redis)
        # Engagement's pulls: workers listen to it after `rq`, so it never delays a post.
        self.background = Queue(f"{name}-background", connection=redis)
        self.job_timeout_s = job_timeout_s
        # Pub/sub channels are server-wide: the database index keeps engines apart.
        index = redis.connection_pool.connection_kwargs.get("db", 0)
        self._wake_channel = f"publisher:{index}:{name}:wake"
        self._local = threading.local()  # one subscription per waiting thread
        self._alive_prefix = f"publisher:{name}:alive:"
        self._live: tuple[float, int] | None = None  # (when read, how many)

    def hand_over(self, publication_ids: Iterable[int], func: str = RUN_PUBLISH) -> int:
        """Enqueue the ids in one round trip: one job each, or chunks when there are many
        more than workers. Returns the number of jobs."""
        ids = list(publication_ids)
        size = self._chunk_size(len(ids))
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        datas = [
            Queue.prepare_data(
                func,
                args=tuple(chunk),
                job_id=job_id(chunk, func),
                timeout=self.job_timeout_s,
                result_ttl=300,
                failure_ttl=7 * 24 * 3600,
                description=f"{_PREFIX[func]} {chunk}",
            )
            for chunk in chunks
        ]
        if datas:
            self.rq.enqueue_many(datas)
        return len(datas)

    def hand_over_batches(self, batches: Iterable[tuple[int, ...]], func: str) -> int:
        """One job per batch, its arguments as given (a metrics pull: a channel, a pull,
        its publications; an audience read: a channel, a pull), on the background queue:
        a worker takes them only when no publication waits. One round trip; returns the
        number of jobs."""
        datas = [
            Queue.prepare_data(
                func,
                args=tuple(args),
                job_id=f"{_PREFIX[func]}-{args[0]}-{args[1]}-{time.time_ns()}",
                timeout=self.job_timeout_s,
                result_ttl=300,
                failure_ttl=7 * 24 * 3600,
                description=f"{_PREFIX[func]} {args[0]}"
                + (f": {len(args) - 2} publications" if len(args) > 2 else ""),
            )
            for args in batches
        ]
        if datas:
            self.background.enqueue_many(datas)
        return len(datas)

    def hand_over_flush(self) -> bool:
        """Ask a worker to write the clicks waiting (once: not while one such job waits in
        the queue; the writing itself is one at a time, by its lock in Redis)."""
        waiting = self.background.fetch_job(FLUSH_CLICKS_JOB)
        if waiting is not None and waiting.get_status(refresh=False) in ("queued", "started"):
            return False
        self.background.enqueue(
            RUN_FLUSH_CLICKS,
            job_id=FLUSH_CLICKS_JOB,
            job_timeout=self.job_timeout_s,
            result_ttl=0,
            failure_ttl=24 * 3600,
            description="write the clicks waiting",
        )
        return True

    @property
    def queues(self) -> list[Queue]:
        """What a worker listens to, in order: publications first."""
        return [self.rq, self.background]

    def _chunk_size(self, count: int) -> int:
        if count <= 1:
            return 1
        # A job's sends go out together and take one platform answer's time, while a
        # worker takes its jobs one after another: one job per live worker, not two.
        workers = max(self.live_workers(), 1)
        return max(1, min(MAX_CHUNK, math.ceil(count / workers)))

    def live_workers(self) -> int:
        """The workers on this queue that beat, read at most every BEAT_EVERY_S. RQ keeps a
        killed worker registered for minutes: counted, it made chunks so small that the
        live workers took them one after another (a job's sends are concurrent, jobs not)."""
        now = time.monotonic()
        if self._live is None or now - self._live[0] >= BEAT_EVERY_S:
            keys = Worker.all_keys(queue=self.rq)
            self._live = (now, len(self.alive({k.removeprefix("rq:worker:") for k in keys})))
        return self._live[1]

    def missing(
        self, publication_ids: Iterable[int], func: str = RUN_PUBLISH, *, ended: bool = False
    ) -> list[int]:
        """The ids no waiting `func` job carries, nor a running one whose worker is alive
        (lost with a Redis flush, with a worker killed before it claimed them, or taken by
        a frozen worker's blocking pop). RQ keeps a running job in its registry until its
        timeout + 60 s: a dead worker is seen by its missing beat instead, within
        ALIVE_TTL_S. With `ended`, a job that ran to its end (kept by RQ for its
        result's time) carries its ids too: it was not lost, it found them not ready."""
        started = StartedJobRegistry(queue=self.rq).get_job_ids()
        pipe = self.redis.pipeline()
        for job in started:
            pipe.hget(f"rq:job:{job}", "worker_name")
        workers = pipe.execute() if started else []
        alive = self.alive({w.decode() for w in workers if w})
        running = [
            job
            for job, worker in zip(started, workers, strict=True)
            if worker and worker.decode() in alive
        ]
        live_jobs = self.rq.get_job_ids() + running
        if ended:
            live_jobs += FinishedJobRegistry(queue=self.rq).get_job_ids()
            live_jobs += FailedJobRegistry(queue=self.rq).get_job_ids()
        prefix = f"{_PREFIX[func]}-"
        live = {pid for job in live_jobs if job.startswith(prefix) for pid in _ids_of(job)}
        return [pid for pid in publication_ids if pid not in live]

    def beat(self, worker_name: str) -> None:
        """Say that this worker is alive, for ALIVE_TTL_S (a thread beats every 2 s)."""
        self.redis.set(f"{self._alive_prefix}{worker_name}", 1, ex=ALIVE_TTL_S)

    def alive(self, worker_names: set[str]) -> set[str]:
        names = sorted(worker_names)
        if not names:
            return set()
        found = self.redis.mget([f"{self._alive_prefix}{n}" for n in names])
        return {n for n, beat in zip(names, found, strict=True) if beat is not None}

    def wake(self) -> bool:
        """Tell the dispatcher that a schedule changed (it re-reads the next due time).
        Called after a commit: with Redis down the change stands, and the dispatcher finds
        it on its next pass (within a second) instead; so this never raises. False if the
        wake-up could not be sent."""
        try:
            self.redis.publish(self._wake_channel, b"1")
        except RedisError as exc:
            log.warning("could not wake the dispatcher (it looks again within a second): %s", exc)
            return False
        return True

    def listen_for_wakes(self) -> None:
        """Subscribe this thread now, so that no wake-up sent from here on is missed."""
        self._listener()

    def wait_for_wake(self, timeout_s: float) -> bool:
        """Block until woken or `timeout_s` passes; True if woken.

        The wait is timed here, on the subscription's socket, not by Redis: Redis ends a
        blocking command's wait on its own `hz` tick (every 100 ms at the default 10), so
        BLPOP woke the dispatcher up to 100 ms after a due time, and Redis 6.2 read a wait
        under its resolution as "forever". Nothing is sent to Redis to wait."""
        listener = self._listener()
        deadline = time.monotonic() + max(timeout_s, 0.0)
        woken = False
        while not woken and (left := deadline - time.monotonic()) > 0:
            woken = listener.get_message(ignore_subscribe_messages=True, timeout=left) is not None
        # Wake-ups that came together are one: the dispatcher re-reads everything anyway.
        while listener.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
            woken = True
        return woken

    def _listener(self) -> PubSub:
        listener = getattr(self._local, "listener", None)
        if listener is None:
            listener = self.redis.pubsub()
            listener.subscribe(self._wake_channel)
            self._local.listener = listener
        return listener

"""Process entry points for workers and the dispatcher: wiring only."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time

from redis.exceptions import RedisError
from rq import SimpleWorker, logutils

from publisher import jobs
from publisher.core.clock import ClockSkewed
from publisher.core.settings import Settings
from publisher.deliver.transport import BEAT_EVERY_S
from publisher.dispatcher import run_dispatcher
from publisher.runtime import Runtime, build_runtime
from publisher.system.logs import shown_url

log = logging.getLogger("publisher.worker")


STAND_ASIDE_S = 5.0
REDIS_RETRY_S, REDIS_RETRY_MAX_S = 0.5, 10.0


class PublishWorker(SimpleWorker):
    """RQ's in-process worker that takes no job while its clock is too far from the shared
    one (publisher/core/clock.py): it stands aside, its heartbeat kept, so that the jobs go to
    workers whose clocks are right."""

    runtime: Runtime
    stop_asked = False  # SIGTERM or SIGINT, busy or idle (RQ marks only the busy case)

    def request_stop(self, signum, frame):
        self.stop_asked = True
        super().request_stop(signum, frame)

    def start_beating(self) -> threading.Event:
        """A thread that says, every BEAT_EVERY_S, that this worker is alive: a worker
        killed mid-job is seen dead in seconds, not after RQ's job timeout."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.is_set():
                with contextlib.suppress(RedisError):
                    self.runtime.queue.beat(self.name)
                stop.wait(BEAT_EVERY_S)

        threading.Thread(target=beat, name="beat", daemon=True).start()
        return stop

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        while not (self._stop_requested or self.stop_asked):
            try:
                self.runtime.check_clock("worker")
                break
            except ClockSkewed as exc:
                log.error("worker %s takes no job: %s", self.name, exc)
                self.heartbeat()
                time.sleep(STAND_ASIDE_S)
            except RedisError:
                break  # RQ's own dequeue waits for Redis
        if self._stop_requested or self.stop_asked:
            return None
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    """One RQ worker on the publish queue. SIGTERM lets the current job finish (warm
    shutdown); a second one stops it (its publication is then settled as unknown)."""
    no_colour_off_a_terminal()
    runtime = build_runtime(settings)
    jobs.bind(runtime)
    jobs.warm_up(runtime)
    backoff = REDIS_RETRY_S
    # Between RQ loops (waiting for Redis) a signal ends the worker; inside one, RQ's own
    # handlers apply (warm shutdown), and it replaces these: they are set again each time.
    stopping = threading.Event()

    def between_loops() -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only (a test runs a worker in a thread)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.set())

    between_loops()
    try:
        while not stopping.is_set():
            # SimpleWorker runs jobs in this process: no fork per job, the engine and the
            # adapters' connection pools are reused (about 2.4x the jobs/s of a forking
            # Worker).
            worker: PublishWorker | None = None
            try:
                worker = PublishWorker(runtime.queue.queues, connection=runtime.redis, name=name)
                worker.runtime = runtime
                beating = worker.start_beating()
                try:
                    worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
                finally:
                    beating.set()
                if burst or worker._stop_requested or worker.stop_asked:
                    return
                # RQ's loop swallows an error (a Redis blip while it records a job) and
                # returns: a worker that was not told to stop works on.
                log.warning("worker: RQ's loop ended on its own; working on in %.1f s", backoff)
                between_loops()
                if stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, REDIS_RETRY_MAX_S)
                name = None
            except RedisError as exc:
                # Redis went away (say, while RQ recorded a finished job): every outcome is
                # in the database already; wait for Redis and work on as a new worker.
                told = worker is not None and (worker._stop_requested or worker.stop_asked)
                if told:
                    return
                log.warning(
                    "worker: Redis unavailable at %s (%s); again in %.1f s (start it, or set "
                    "REDIS_URL)",
                    shown_url(settings.redis_url),
                    exc,
                    backoff,
                )
                between_loops()
                if stopping.wait(backoff):
                    return
                if worker is not None and (worker._stop_requested or worker.stop_asked):
                    return  # SIGTERM while waiting
                backoff = min(backoff * 2, REDIS_RETRY_MAX_S)
                name = None  # the old registration may linger until its TTL
    finally:
        runtime.close()


def no_colour_off_a_terminal() -> None:
    """RQ colours its messages when stdout is a terminal, though they go to stderr with
    ours: `publisher worker 2>log` in a terminal wrote escape codes into the file. Colour
    only when stderr, where the logs go, is a terminal."""
    logutils.colorizer.notty = not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def run_dispatcher_process(settings: Settings) -> None:
    """The dispatcher until SIGTERM or SIGINT."""
    runtime = build_runtime(settings)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("dispatcher: signal %d, stopping", signum)
        stop.set()
        runtime.queue.wake()  # never raises: Redis may be the reason to stop

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        run_dispatcher(runtime, stop)
    finally:
        runtime.close()

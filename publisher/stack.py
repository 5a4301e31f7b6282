"""The embedded default as processes: API, dispatcher and worker(s), with Redis if needed."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from publisher.core.settings import Settings, ensure_secret_keys
from publisher.system import migrate
from publisher.system.embedded import redis_answers, start_private_redis
from publisher.system.logs import shown_url

log = logging.getLogger(__name__)

RESTART_MAX_S = 60.0


class StackFailed(RuntimeError):
    """A part the stack cannot run without has stopped."""


@dataclass
class Stack:
    """Start with `start()`, stop with `stop()`; children get the settings as environment."""

    settings: Settings
    port: int = 8000
    workers: int = 1
    links_port: int | None = None  # the short links' server (None: not started; 0: any port)
    log_dir: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # How each child is started again, and when it may be (backoff after each death).
    _commands: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    _restarts: dict[str, tuple[int, float]] = field(default_factory=dict)

    def start(self) -> Stack:
        """Start everything, or raise StackFailed saying why (what started is stopped)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        self.settings = ensure_secret_keys(self.settings)
        if self.port == 0:
            self.port = _free_port()
        if not redis_answers(self.settings.redis_url):
            if self.settings.redis_url_given:
                raise StackFailed(
                    f"REDIS_URL {shown_url(self.settings.redis_url)} does not answer: start "
                    "Redis there, or leave REDIS_URL unset and `publisher up` runs its own"
                )
            url, proc = start_private_redis(self.settings.home / "redis")
            self.procs["redis"] = proc
            self.settings = self.settings.with_(redis_url=url)
        migrate.upgrade(self.settings.effective_database_url)
        self.settings = self.settings.with_(instance=secrets.token_hex(8))
        self._spawn("api", "api", "--port", str(self.port))
        self._spawn("dispatcher", "dispatcher")
        for _ in range(self.workers):
            self.spawn_worker()
        if self.links_port is not None:
            self.links_port = self.links_port or _free_port()
            self._spawn("links", "links", "--port", str(self.links_port))
        self._wait_for_api()
        if self.links_port is not None:
            self._wait_for("links", f"{self.links_url}/healthz", "--links-port")
        return self

    @property
    def links_url(self) -> str:
        return f"http://127.0.0.1:{self.links_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        env.update(self.settings.to_env())
        return env

    def spawn_worker(self) -> str:
        """One more worker process (a fault test replaces one it killed)."""
        name = f"worker-{sum(n.startswith('worker') for n in self.procs) + 1}"
        self._spawn(name, "worker")
        return name

    def spawn(self, name: str, *args: str, wrapper: tuple[str, ...] = ()) -> None:
        """One more child, `publisher <args>`, run through `wrapper` (say, `faketime`)."""
        self._spawn(name, *args, wrapper=wrapper)

    def _spawn(self, name: str, *args: str, wrapper: tuple[str, ...] = ()) -> None:
        self._commands[name] = (args, wrapper)
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (closed by the child)
        proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "publisher.cli", *args],
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        proc.started_at = time.monotonic()  # type: ignore[attr-defined]
        proc.own_group = True  # type: ignore[attr-defined]
        self.procs[name] = proc

    def _wait_for_api(self, timeout_s: float = 30) -> None:
        """Until our API answers /healthz (another process on the port does not count)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.procs["api"].poll() is not None:
                raise StackFailed(
                    f"the API process exited during start-up (port {self.port} taken? see "
                    "its log above): pass --port"
                )
            try:
                answer = requests.get(f"{self.api_url}/healthz", timeout=1)
                if answer.ok and answer.json().get("instance") == self.settings.instance:
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.1)
        raise StackFailed(f"the API did not answer on port {self.port} within {timeout_s:.0f} s")

    def _wait_for(self, name: str, url: str, option: str, timeout_s: float = 30) -> None:
        """Until the child `name` answers `url`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise StackFailed(f"the {name} process exited during start-up: pass {option}")
            with contextlib.suppress(requests.RequestException, ValueError):
                answer = requests.get(url, timeout=1)  # ours, not another on the port
                if answer.ok and answer.json().get("instance") == self.settings.instance:
                    return
            time.sleep(0.1)
        raise StackFailed(f"the {name} process did not answer {url} within {timeout_s:.0f} s")

    def stop(self, timeout_s: float = 15) -> None:
        """SIGTERM the engine's processes (workers finish their job), Redis last."""
        redis = self.procs.pop("redis", None)
        _terminate(list(self.procs.values()), timeout_s)
        if redis is not None:
            _terminate([redis], timeout_s)
        self.procs.clear()

    def supervise(self) -> None:
        """Keep every child running until a signal arrives (KeyboardInterrupt): a child
        that dies is started again, after 1 s, then 2, 4 ... up to a minute when it keeps
        dying; one that ran for a minute starts again at once."""
        while True:
            self.watch_once()
            time.sleep(0.5)

    def watch_once(self) -> list[str]:
        """Start again the children that died and whose backoff has passed; their names."""
        started = []
        now = time.monotonic()
        for name, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            if name == "redis":  # the private Redis holds the queue: no quiet restart
                raise StackFailed(
                    f"the private Redis (redis-server) exited with {code}: see "
                    f"{self.settings.home / 'redis'}; stopping"
                )
            deaths, not_before = self._restarts.get(name, (0, 0.0))
            if not_before == 0.0:  # just found dead
                ran_s = now - getattr(proc, "started_at", now)
                deaths = 0 if ran_s >= RESTART_MAX_S else deaths + 1
                delay = min(2 ** max(deaths - 1, 0), RESTART_MAX_S) if deaths else 0.0
                log.error("%s exited with %s; starting it again in %.0f s", name, code, delay)
                self._restarts[name] = (deaths, now + delay)
                continue
            if now >= not_before:
                args, wrapper = self._commands[name]
                self._spawn(name, *args, wrapper=wrapper)
                self._restarts[name] = (deaths, 0.0)
                started.append(name)
        return started


def _free_port() -> int:
    """A port free now (`--port 0`): the API is started on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _terminate(procs: list[subprocess.Popen], timeout_s: float) -> None:
    """SIGTERM each child's process group (a wrapper such as faketime runs the engine as
    its own child), then SIGKILL what is left after `timeout_s`."""
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        _signal_group(proc, signal.SIGKILL)  # a wrapper's child that outlived it


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    """The child's process group when it leads one (the engine's children, started in a
    session of their own, with whatever a wrapper forked), else the child alone (the
    private redis-server)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if getattr(proc, "own_group", False):
            os.killpg(proc.pid, signum)
        elif proc.poll() is None:
            proc.send_signal(signum)

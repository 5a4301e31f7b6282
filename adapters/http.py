"""A requests.Session that can point a platform library at another base URL (the sandbox)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from adapters.errors import OutcomeUnknown, Transient
from adapters.types import AdapterConfig

_guard = threading.local()
_sent = threading.local()  # requests per thread (PlatformSession.sent_by_this_thread)


@contextmanager
def guard_requests(check: Callable[[], None]) -> Iterator[None]:
    """Run `check` right before every platform request this thread makes inside the block
    (it raises to stop the request from going out)."""
    previous = getattr(_guard, "check", None)
    _guard.check = check
    try:
        yield
    finally:
        _guard.check = previous


class PlatformSession(requests.Session):
    """Rewrites `real_base` to `base_url`, applies a timeout, keeps the last response.

    tweepy builds its URLs from a hard-coded host and facebook-sdk from a module constant,
    but both send through a session we can hand them, so the sandbox needs no patching.
    facebook-sdk also drops the HTTP status; `last_response` keeps it for error mapping,
    per thread: the sender threads of a process share one adapter per channel.
    """

    def __init__(self, real_base: str, config: AdapterConfig) -> None:
        super().__init__()
        self.real_base = real_base.rstrip("/")
        self.base_url = (config.base_url or real_base).rstrip("/")
        self.timeout_s = config.timeout_s
        self._last = threading.local()
        self._environment: dict[tuple, dict[str, Any]] = {}
        # A transport handed in (recorded answers; a process's shared connection pools) is
        # borrowed: closing this session leaves it open for the others.
        self._borrowed = config.transport
        if config.transport is not None:
            self.mount("https://", config.transport)
            self.mount("http://", config.transport)

    def close(self) -> None:
        for adapter in self.adapters.values():
            if adapter is not self._borrowed:
                adapter.close()

    @property
    def last_response(self) -> requests.Response | None:
        """The answer to this thread's last request through the session."""
        return getattr(self._last, "response", None)

    @staticmethod
    def sent_by_this_thread() -> int:
        """Requests this thread has sent through any platform session (a read budget
        counts a job's requests as the difference around them)."""
        return getattr(_sent, "count", 0)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        _sent.count = getattr(_sent, "count", 0) + 1
        if url.startswith(self.real_base):
            url = self.base_url + url[len(self.real_base) :]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout_s
        if (check := getattr(_guard, "check", None)) is not None:
            check()
        self._last.response = None
        response = super().request(method, url, *args, **kwargs)
        self._last.response = response
        return response

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """requests reads the environment (proxy variables, CA bundle) again for every
        request, 5% of a worker's time in a burst: it is read once per host here."""
        origin = url.split("/", 3)[:3]
        key = (*origin, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return dict(settings, proxies=dict(settings["proxies"]))


def translate_transport(exc: requests.RequestException) -> Exception:
    """A transport failure as our taxonomy: refused before sending is safe, anything else not."""
    if isinstance(exc, requests.ConnectTimeout):
        return Transient(f"connect timeout: {exc}")
    if isinstance(exc, requests.ConnectionError) and _refused(exc):
        return Transient(f"connection refused: {exc}")
    return OutcomeUnknown(f"no answer after sending: {type(exc).__name__}: {exc}")


def _refused(exc: BaseException) -> bool:
    """True when the chain shows the connection was never made."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        name = type(seen).__name__
        if name in {"NewConnectionError", "NameResolutionError"}:
            return True
        reason = getattr(seen, "reason", None)  # urllib3's MaxRetryError
        nxt = reason if isinstance(reason, BaseException) else seen.__cause__ or seen.__context__
        if nxt is None and seen.args and isinstance(seen.args[0], BaseException):
            nxt = seen.args[0]
        seen = nxt
    return False

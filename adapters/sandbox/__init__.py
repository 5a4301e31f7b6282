"""The sandbox: loopback X and Graph API servers with a ledger and fault injection."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import requests
from waitress.server import BaseWSGIServer, create_server
from waitress.wasyncore import close_all

from adapters.sandbox.ledger import Accepted, Fault, Ledger
from adapters.sandbox.servers import graph_app, x_app

__all__ = ["Accepted", "Fault", "Ledger", "Sandbox", "SandboxClient"]


@dataclass
class Sandbox:
    """Both servers on loopback ports, serving from background threads.

    Served by waitress, which keeps connections alive as X's and Meta's servers do
    (Werkzeug's development server closes every connection after one answer: each request
    paid a TCP handshake and a thread, which the platforms do not make a client pay).
    `threads` answer at once; more wait their turn, as they would not on the platform, so
    it is well above the engine's senders (32 per worker process)."""

    host: str = "127.0.0.1"
    x_port: int = 0
    graph_port: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    threads: int = 192
    _servers: list[BaseWSGIServer] = field(default_factory=list)

    def start(self) -> Sandbox:
        for port, app in (
            (self.x_port, x_app(self.ledger)),
            (self.graph_port, graph_app(self.ledger)),
        ):
            server = create_server(
                app,
                host=self.host,
                port=port,
                threads=self.threads,
                connection_limit=4 * self.threads,
                ident="sandbox",
                clear_untrusted_proxy_headers=True,
            )
            threading.Thread(target=server.run, daemon=True, name=f"sandbox-{app.name}").start()
            self._servers.append(server)
        return self

    @property
    def x_url(self) -> str:
        return f"http://{self.host}:{self._servers[0].effective_port}"

    @property
    def graph_url(self) -> str:
        return f"http://{self.host}:{self._servers[1].effective_port}"

    def stop(self) -> None:
        """Stop listening and drop every open connection (clients see them closed)."""
        for server in self._servers:
            server.close()
            close_all(server._map)
            server.task_dispatcher.shutdown(timeout=1)
        self._servers.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class SandboxClient:
    """The control API, for a sandbox running in another process."""

    base_url: str

    def ledger(self, platform: str | None = None) -> list[dict]:
        params = {"platform": platform} if platform else None
        response = requests.get(f"{self.base_url}/_sandbox/ledger", params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, body: dict | None = None) -> None:
        requests.post(f"{self.base_url}/_sandbox/{path}", json=body, timeout=5).raise_for_status()

    def inject(self, platform: str, **fault: object) -> None:
        """A Fault's fields: status, accept, hold_s, reset_in_s, code, times, on, after,
        account (one account only)."""
        self._post("faults", {"platform": platform, **fault})

    def latency(self, platform: str, seconds: float, *, account: str | None = None) -> None:
        self._post("latency", {"platform": platform, "seconds": seconds, "account": account})

    def media_processing(self, seconds: float) -> None:
        self._post("media-processing", {"seconds": seconds})

    def metrics(self, platform: str, external_id: str, **counts: int) -> None:
        self._post("metrics", {"platform": platform, "external_id": external_id, "counts": counts})

    def expire_token(self, token: str) -> None:
        self._post("expire-token", {"token": token})

    def reset(self) -> None:
        self._post("reset")

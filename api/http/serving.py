"""The API's HTTP server: werkzeug's threaded server with deadlines on what clients send.

A socket timeout alone bounds each read, not the request: a client sending one byte of its
headers every 29 s kept a thread forever. Here every read of a request checks a deadline:
the request line and headers must arrive within `header_timeout_s` of the connection
waiting for them, and the body must keep coming at `body_min_bytes_per_s` on average
after a `body_grace_s` head start (what has arrived decides, not what the client
declares: a huge Content-Length buys no time, a chunked body is held to the same rate).
A client past its deadline gets a 408 when its headers were late, and its connection
closed; the application, reading a late body, answers 408.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from dataclasses import dataclass

from werkzeug.serving import WSGIRequestHandler
from werkzeug.urls import uri_to_iri

IDLE_READ_TIMEOUT_S = 30.0  # no single read waits longer than this
TOO_SLOW = "publisher.request_too_slow"


def request_was_too_slow(environ) -> bool:
    return bool(environ.get(TOO_SLOW, lambda: False)())


@dataclass(frozen=True)
class Deadlines:
    header_timeout_s: float = 10.0
    body_grace_s: float = 10.0
    body_min_bytes_per_s: float = 16 * 1024


class RequestTooSlow(TimeoutError):
    """The client did not send its request within its deadline."""


class _DeadlineIO(io.RawIOBase):
    """The connection's reads, each refused once the handler's deadline has passed, and
    none waiting past it."""

    def __init__(self, handler: DeadlineHandler) -> None:
        self.handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        handler = self.handler
        left = handler.current_deadline() - time.monotonic()
        if left > 0:
            handler.connection.settimeout(min(left, IDLE_READ_TIMEOUT_S))
            try:
                received = handler.connection.recv_into(buffer)
            except TimeoutError:
                pass
            else:
                handler.body_received += received if handler.headers_read else 0
                return received
        self.handler.too_slow = True
        raise RequestTooSlow("the request did not arrive in time")


class DeadlineHandler(WSGIRequestHandler):
    deadlines = Deadlines()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """werkzeug's access line, coloured only on a terminal (werkzeug colours it always
        on POSIX: escape codes in every log file)."""
        if sys.stderr.isatty():
            super().log_request(code, size)
            return
        try:
            line = f"{self.command} {uri_to_iri(self.path)} {self.request_version}"
        except AttributeError:  # a request line too bad to parse
            line = self.requestline
        self.log("info", '"%s" %s %s', line.translate(self._control_char_table), code, size)

    def address_string(self) -> str:
        """The client's address on its access line, except a reader's of a short link: a
        click keeps no IP address, and neither does its log line."""
        if getattr(self, "path", "").startswith("/l/"):
            return "-"
        return super().address_string()

    deadline = 0.0
    too_slow = False  # this request missed its deadline
    headers_read = False
    body_started = 0.0
    body_received = 0

    def current_deadline(self) -> float:
        """Until when the next read may wait: the headers' deadline, then the body's,
        which moves on with every byte that arrives."""
        if not self.headers_read:
            return self.deadline
        d = self.deadlines
        return self.body_started + d.body_grace_s + self.body_received / d.body_min_bytes_per_s

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_DeadlineIO(self), 64 * 1024)

    def handle_one_request(self) -> None:
        # The wait for a request on a kept-alive connection counts towards its headers.
        self.deadline = time.monotonic() + self.deadlines.header_timeout_s
        self.too_slow = self.headers_read = False
        with contextlib.suppress(RequestTooSlow):  # http.server catches most of them
            super().handle_one_request()
        if self.too_slow:
            self.close_connection = True
            if not self.headers_read:
                self._refuse_slow_headers()

    def make_environ(self):
        environ = super().make_environ()
        # werkzeug reports a body that stopped coming as a disconnect: this tells which.
        environ[TOO_SLOW] = lambda: self.too_slow
        return environ

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed:
            self.headers_read = True
            self.body_started, self.body_received = time.monotonic(), 0
        return parsed

    def _refuse_slow_headers(self) -> None:
        body = (
            b'{"type": "/problems/request_timeout", "title": "Request '
            b'Timeout", "status": 408, "detail": "the request headers did not arrive in time"}'
        )
        with contextlib.suppress(OSError):
            self.wfile.write(
                b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )


def handler_with(deadlines: Deadlines) -> type[DeadlineHandler]:
    return type("ApiHandler", (DeadlineHandler,), {"deadlines": deadlines})

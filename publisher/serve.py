"""The two HTTP servers a deployment runs: the API (werkzeug's threaded server with
deadlines on what clients send) and the short links' own (uvicorn: an event loop per
process, several processes on one port)."""

from __future__ import annotations

import logging
import os

from publisher.core.settings import Settings

log = logging.getLogger(__name__)
LINKS_APP = "api.engage.link_server:create_link_app"


def run_api(settings: Settings, host: str, port: int) -> None:
    """Serve the API until interrupted. A client past its deadlines while sending its
    request line, headers or body is dropped (PUBLISHER_API_HEADER_TIMEOUT, then the body's
    least rate): one slow client costs one thread, never a lock (reads and body parsing
    hold none)."""
    from werkzeug.serving import make_server

    from api import create_app
    from api.http.serving import Deadlines, handler_with

    deadlines = Deadlines(
        header_timeout_s=settings.api_header_timeout_s,
        body_grace_s=settings.api_header_timeout_s,
        body_min_bytes_per_s=settings.api_body_min_bytes_per_s,
    )
    server = make_server(
        host, port, create_app(settings), threaded=True, request_handler=handler_with(deadlines)
    )
    log.info("API on http://%s:%d", host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def default_link_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run_links(host: str, port: int, workers: int) -> None:
    """Serve the short links until interrupted, with `workers` processes on one port
    (each builds its runtime from the environment, as `publisher api` does)."""
    import uvicorn

    log.info("short links on http://%s:%d/l/{code} (%d processes)", host, port, workers)
    uvicorn.run(
        LINKS_APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        backlog=2048,  # a burst of readers waits in the kernel's queue, not for a SYN retry
        access_log=False,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=5,
        server_header=False,
    )

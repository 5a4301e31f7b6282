"""What stops a command before it starts, said in one line with the fix: a database URL
this engine cannot use, a port another process holds, a schema not migrated."""

from __future__ import annotations

from pathlib import Path

from publisher.core.settings import Settings

# The drivers this engine speaks (psycopg 3 for PostgreSQL; psycopg2 is not installed).
_DRIVERS = {"sqlite", "sqlite+pysqlite", "postgresql+psycopg"}


def database_url_problem(url: str) -> str | None:
    """Why DATABASE_URL cannot work, with the fix, in one line; or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    example = "sqlite:////path/to/publisher.db or postgresql+psycopg://user@host:5432/name"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"DATABASE_URL is not a database URL: write {example}"
    driver = parsed.drivername
    if driver in _DRIVERS:
        return None
    shown = parsed.render_as_string(hide_password=True)
    if driver.split("+")[0] in ("postgres", "postgresql"):
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        return f"DATABASE_URL {shown} names the driver {driver!r}: write {fixed}"
    return f"DATABASE_URL {shown}: {driver!r} is not supported; write {example}"


def ports_problem(args) -> str | None:
    """Why a command cannot listen where its options say (`up`, `api`, `links` and `demo`
    take `--port`; `up` also `--links-port`; the sandbox its two), or None."""
    ports = {o: getattr(args, o, None) for o in ("port", "links_port", "x_port", "graph_port")}
    if ports["links_port"] and ports["links_port"] == ports["port"]:
        return f"--links-port {ports['port']} is --port too: the API and the links each need one"
    host = getattr(args, "host", "127.0.0.1")
    for option, port in ports.items():
        if port and (problem := port_problem(host, port, option)):
            return problem
    return None


def port_problem(host: str, port: int, option: str = "port") -> str | None:
    """Why a server cannot listen on host:port (another process holds it), or None; the
    fix names the command's option for it (`option`: port, x_port ...)."""
    import errno
    import socket

    if port == 0:
        return None
    flag = "--" + option.replace("_", "-")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} is in use by another process: stop it or pass {flag} "
                    "with another port"
                )
            return f"cannot listen on {host}:{port} ({exc.strerror}): pass --host or {flag}"
    return None


def schema_problem(settings: Settings) -> str | None:
    """Why the database cannot serve this command yet, in one line, or None."""
    from sqlalchemy.exc import SQLAlchemyError

    from publisher.core.db import make_engine
    from publisher.system.migrate import missing_revisions

    url = settings.effective_database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return f"there is no database at {url} yet: run `publisher db upgrade` first"
    engine = make_engine(url)
    try:
        missing = missing_revisions(engine)
    except SQLAlchemyError as exc:
        return f"the database at {engine.url!r} cannot be reached ({type(exc).__name__})"
    finally:
        engine.dispose()
    if missing:
        return (
            f"the database at {engine.url!r} lacks {len(missing)} schema migration(s): "
            "run `publisher db upgrade` first"
        )
    return None


def settings_problem(settings: Settings) -> str | None:
    """A setting read but not usable (the engine would stop on it later), or None."""
    from publisher.engage import schedule

    try:
        schedule.parse(settings.metrics_schedule)
    except ValueError as exc:
        return str(exc)
    return None


def database_problem(settings: Settings, *, timeout_s: int = 5) -> str | None:
    """Why the database cannot be reached (a server down, a wrong host or password), with
    the fix, in one line; or None. A SQLite file is made when first used."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    url = settings.effective_database_url
    if url.startswith("sqlite"):
        return None
    engine = create_engine(url, connect_args={"connect_timeout": timeout_s})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return _unreachable_database(url, exc)
    finally:
        engine.dispose()
    return None


def _unreachable_database(url: str, exc: BaseException) -> str:
    from publisher.system.logs import shown_url

    reason = str(getattr(exc, "orig", exc) or type(exc).__name__).strip().splitlines()
    said = reason[0] if reason else type(exc).__name__
    return (
        f"cannot reach the database at {shown_url(url)} ({said}): start it, or set "
        "DATABASE_URL to one that answers"
    )


_CONNECTING = ("connect", "connection", "unable to open database file", "timeout expired")


def _cannot_connect(exc: BaseException) -> bool:
    """A failure to reach the database (not a lock, a deadlock or a missing table, which
    keep their traceback: they are not fixed by starting a server)."""
    said = str(getattr(exc, "orig", exc)).lower()
    return any(word in said for word in _CONNECTING)


def explain(exc: BaseException, settings: Settings | None) -> str | None:
    """A failure an operator fixes (a database or Redis that does not answer), in one line
    with the fix; None for anything else (a bug: a traceback)."""
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSlow
    from sqlalchemy.exc import InterfaceError, OperationalError

    from publisher.system.logs import shown_url

    if settings is None:
        return None
    if isinstance(exc, (OperationalError, InterfaceError)) and _cannot_connect(exc):
        return _unreachable_database(settings.effective_database_url, exc)
    if isinstance(exc, (RedisDown, RedisSlow)):
        return (
            f"cannot reach Redis at {shown_url(settings.redis_url)} ({exc}): start it "
            "(redis-server), or set REDIS_URL to one that answers"
        )
    return None

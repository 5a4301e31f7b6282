"""Per-request access to the runtime, the database session and the caller."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlmodel import Session

from publisher.core.workspaces import Actor, authenticate
from publisher.runtime import Runtime

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime() -> Runtime:
    return current_app.extensions["publisher"]


def db() -> Session:
    """This request's session; views commit at the end (the boundary), nothing else does.
    A GET reads only: its session takes no write lock. A write request's transaction
    begins at its first query, in the view, after its body has been read and checked."""
    if "db" not in g:
        rt = runtime()
        g.db = rt.read_session() if request.method in READS else rt.session()
    return g.db


def actor() -> Actor:
    return g.actor


def commit() -> None:
    db().commit()


def init_app(app: Flask) -> None:
    @app.before_request
    def identify() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if getattr(getattr(view, "endpoint_meta", None), "public", False):
            return  # no API key: its own proof (a platform's signature, an OAuth state)
        if request.blueprint and request.blueprint.startswith("v1"):
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header[:7].lower() == "bearer " else None
            # A short read of its own: nothing stays open while the body arrives.
            with runtime().read_session() as session:
                g.actor = authenticate(session, token)

    @app.teardown_request
    def close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

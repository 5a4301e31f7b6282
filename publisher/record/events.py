"""Every state change goes through `move`, which checks it and writes the audit event."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.core.models import Event, Publication
from publisher.core.states import Status, check_transition
from publisher.record import topics, webhooks


def record(
    session: Session,
    *,
    workspace_id: int,
    kind: str,
    actor: str,
    now: datetime,
    post_id: int | None = None,
    publication_id: int | None = None,
    channel_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one audit event (and queue it to the webhooks subscribed to its topic)."""
    values = {
        "workspace_id": workspace_id,
        "kind": kind,
        "actor": actor,
        "at": now,
        "post_id": post_id,
        "publication_id": publication_id,
        "channel_id": channel_id,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "data": data,
    }
    pending: list[dict[str, Any]] | None = session.info.get(_BATCH)
    if pending is not None:
        if not webhooks.subscribed(session, workspace_id, kind, to_status):
            pending.append(values)
            return
        _write(session, pending)  # what was recorded before it goes in first
    event = Event(**values)
    session.add(event)
    webhooks.fan_out(session, event)


_BATCH = "publisher.record.events.batch"


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """The events recorded inside go in together when the block ends, one INSERT sent for
    many rows: through the ORM, each event was an object built and an INSERT ... RETURNING
    its id, a quarter of a worker's time in a burst. An event a webhook subscribes to is
    still written at once (its id goes in the payload), after those recorded before it, so
    ids keep the order things happened in. Nothing inside may read the events it records."""
    if _BATCH in session.info:  # already in a batch: it writes them
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[_BATCH] = pending
    try:
        yield
        _write(session, pending)
    finally:
        session.info.pop(_BATCH, None)


def warm_up(session: Session) -> None:
    """Compile a batch's INSERT once, on a row the database refuses (there is no workspace
    0), so that a worker's first batch does not pay for it."""
    row = dict.fromkeys(_COLUMNS) | {"workspace_id": 0, "kind": "warm-up", "actor": "-"}
    with contextlib.suppress(IntegrityError), session.begin_nested():
        _write(session, [row | {"at": datetime.now(UTC)}])


# What `record` writes: a batch's rows all have these keys (one statement for them all).
_COLUMNS = (
    "workspace_id",
    "kind",
    "actor",
    "at",
    "post_id",
    "publication_id",
    "channel_id",
    "from_status",
    "to_status",
    "reason",
    "data",
)


def _write(session: Session, pending: list[dict[str, Any]]) -> None:
    if pending:
        session.flush()  # events recorded before these (webhooks' ones) keep lower ids
        session.execute(insert(Event), pending)
        pending.clear()


def move(
    session: Session,
    publication: Publication,
    target: Status,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Take `publication` to `target` if the state machine allows it, and record it."""
    current = publication.status
    check_transition(current, target)
    publication.status = target
    publication.updated_at = now
    record(
        session,
        workspace_id=publication.workspace_id,
        kind="publication.transition",
        actor=actor,
        now=now,
        post_id=publication.post_id,
        publication_id=publication.id,
        channel_id=publication.channel_id,
        from_status=current,
        to_status=target,
        reason=reason,
        data=data,
    )


def record_bulk_transition(
    session: Session,
    rows: Iterable[tuple[int, int, int]],
    *,
    from_status: Status,
    to_status: Status,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Audit events for a set-based UPDATE that already moved (id, workspace_id, post_id)
    rows."""
    check_transition(from_status, to_status)
    if topics.topic_of("publication.transition", to_status.value) is not None:
        for publication_id, workspace_id, post_id in rows:  # rare: one by one, for webhooks
            record(
                session,
                workspace_id=workspace_id,
                kind="publication.transition",
                actor=actor,
                now=now,
                post_id=post_id,
                publication_id=publication_id,
                from_status=from_status.value,
                to_status=to_status.value,
                reason=reason,
            )
        return
    values = [
        {
            "workspace_id": workspace_id,
            "post_id": post_id,
            "publication_id": publication_id,
            "kind": "publication.transition",
            "actor": actor,
            "from_status": from_status.value,
            "to_status": to_status.value,
            "reason": reason,
            "at": now,
        }
        for publication_id, workspace_id, post_id in rows
    ]
    if values:
        session.execute(insert(Event), values)

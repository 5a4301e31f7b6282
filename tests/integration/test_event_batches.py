"""Audit events recorded in a batch (a worker's claims and outcomes) go in together, and in
the order they were recorded even when a webhook needs one of them at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from publisher.core.db import session_scope
from publisher.core.models import Event, WebhookDelivery
from publisher.core.workspaces import get_or_create_workspace
from publisher.record import events


def _record(session, workspace_id: int, kind: str, to_status: str | None = None) -> None:
    events.record(
        session,
        workspace_id=workspace_id,
        kind=kind,
        actor="test",
        now=datetime.now(UTC),
        to_status=to_status,
        reason=kind,
    )


def test_a_subscribed_event_keeps_its_place_among_batched_ones(api, runtime, keys):
    runtime.settings = runtime.settings.with_(allow_private_urls=True)
    api.post(
        "/v1/webhooks",
        {"url": "http://127.0.0.1:9/in", "topics": ["publication.failed"]},
        as_="admin",
        expect=201,
    )
    with session_scope(runtime.engine) as session:
        acme = get_or_create_workspace(session, "acme").id
    with session_scope(runtime.engine) as session, events.batched(session):
        _record(session, acme, "test.first")
        _record(session, acme, "publication.transition", "failed")  # wanted by the hook
        _record(session, acme, "test.third")
        _record(session, acme, "test.fourth")
    with runtime.session() as session:
        written = list(session.exec(select(Event).where(Event.actor == "test").order_by(Event.id)))
        assert [e.reason for e in written] == [
            "test.first",
            "publication.transition",
            "test.third",
            "test.fourth",
        ]
        (delivery,) = session.exec(select(WebhookDelivery))
        assert delivery.event_id == written[1].id
        assert delivery.payload["event_id"] == written[1].id


def test_a_batch_that_fails_writes_none_of_its_events(runtime, keys):
    with session_scope(runtime.engine) as session:
        acme = get_or_create_workspace(session, "acme").id
    with runtime.session() as session:
        with pytest.raises(RuntimeError), events.batched(session):
            _record(session, acme, "test.first")
            raise RuntimeError("the batch's work failed")
        assert events._BATCH not in session.info  # what comes next is not batched
        _record(session, acme, "test.after")
        session.commit()
    with runtime.session() as session:
        seen = session.exec(select(Event.reason).where(Event.actor == "test")).all()
        assert seen == ["test.after"]


def test_events_recorded_outside_a_batch_are_written_at_once(runtime, keys):
    with session_scope(runtime.engine) as session:
        acme = get_or_create_workspace(session, "acme").id
        _record(session, acme, "test.alone")
        session.flush()
        seen = session.exec(select(Event.reason).where(Event.actor == "test")).all()
        assert seen == ["test.alone"]

"""Outgoing webhooks: subscriptions, the deliveries each audit event makes, and sending them.

An event of a subscribed topic writes one delivery row per subscription in the same
transaction as the event, so nothing is announced that did not happen and nothing that
happened is missed. The dispatcher hands due deliveries to RQ; a job POSTs one, signed,
and writes the answer down. Failures are retried with growing pauses, then given up
(the delivery log shows each, and `redeliver` sends one again). Receivers should
deduplicate on the `Publisher-Delivery` header: a delivery can arrive twice.

Signature (like Standard Webhooks): `Publisher-Signature: v1=<hex>`, the HMAC-SHA256,
keyed with the subscription's secret, of `<Publisher-Timestamp>.<raw body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlmodel import Session, select

from publisher.core import fetch
from publisher.core.errors import NotFound, ValidationFailed, field_error
from publisher.core.models import Event, Publication, Webhook, WebhookDelivery
from publisher.core.workspaces import Actor, Permission, owned
from publisher.record import topics
from publisher.record.schemas import WebhookCreate, WebhookUpdate

if TYPE_CHECKING:
    from publisher.core.security import CredentialBox

log = logging.getLogger(__name__)

# Pause before attempt n+1 after n failed ones; after the last, the delivery has failed.
BACKOFF_S = (10, 30, 120, 600, 1800, 3600, 3 * 3600)
MAX_ATTEMPTS = len(BACKOFF_S) + 1
TIMEOUT_S = 10.0
# A handed-over delivery is not handed over again before this, unless its job wrote back.
LEASE = timedelta(seconds=2 * TIMEOUT_S + 30)
BATCH = 200


def subscribed(session: Session, workspace_id: int, kind: str, to_status: str | None) -> bool:
    """Whether an event of this kind has a subscriber in the workspace (its id is then
    needed at once, for the payload)."""
    topic = topics.topic_of(kind, to_status)
    return topic is not None and any(
        topic in hook.topics for hook in _subscriptions(session, workspace_id)
    )


def fan_out(session: Session, event: Event) -> int:
    """A delivery per active subscription to the event's topic; returns how many."""
    topic = topics.topic_of(event.kind, event.to_status)
    if topic is None:
        return 0
    hooks = [hook for hook in _subscriptions(session, event.workspace_id) if topic in hook.topics]
    if not hooks:
        return 0
    session.flush()  # the event's id goes in the payload
    payload = _payload(session, event, topic)
    for hook in hooks:
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,
                workspace_id=event.workspace_id,
                event_id=event.id,
                topic=topic,
                payload=payload,
                next_attempt_at=event.at,
                created_at=event.at,
            )
        )
    return len(hooks)


_SUBSCRIPTIONS = "publisher.record.webhooks.subscriptions"


def _subscriptions(session: Session, workspace_id: int) -> list[Webhook]:
    """The workspace's active subscriptions, read once per transaction (a worker records a
    chunk's outcomes in one) and without flushing what is pending: reading them for every
    event made each event its own INSERT. A change of subscriptions forgets them."""
    transaction = session.get_transaction()
    cached = session.info.get(_SUBSCRIPTIONS)
    if cached is None or cached[0] is not transaction:
        cached = session.info[_SUBSCRIPTIONS] = (transaction, {})
    hooks = cached[1].get(workspace_id)
    if hooks is None:
        with session.no_autoflush:
            query = select(Webhook).where(Webhook.workspace_id == workspace_id, Webhook.active)
            hooks = cached[1][workspace_id] = list(session.exec(query))
    return hooks


def _subscriptions_changed(session: Session) -> None:
    session.info.pop(_SUBSCRIPTIONS, None)


def _payload(session: Session, event: Event, topic: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": event.kind,
        "actor": event.actor,
        "post_id": event.post_id,
        "publication_id": event.publication_id,
        "channel_id": event.channel_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        **(event.data or {}),
    }
    if event.publication_id is not None:
        pub = session.get(Publication, event.publication_id)
        if pub is not None:
            data.update(
                scheduled_at=pub.scheduled_at.isoformat(),
                external_id=pub.external_id,
                external_url=pub.external_url,
            )
    return {
        "event_id": event.id,
        "topic": topic,
        "workspace_id": event.workspace_id,
        "occurred_at": event.at.isoformat(),
        "data": data,
    }


# -- subscriptions ----------------------------------------------------------------------


def _check_url(url: str, allow_private: bool) -> None:
    if problem := fetch.url_problem(url, allow_private=allow_private):
        raise ValidationFailed(
            "webhooks go to public addresses only", [field_error("url", problem)]
        )


def create_webhook(
    session: Session,
    actor: Actor,
    data: WebhookCreate,
    *,
    box: CredentialBox,
    allow_private: bool,
    now: datetime,
) -> tuple[Webhook, str]:
    """A subscription and its signing secret (returned once, stored sealed)."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    _check_url(str(data.url), allow_private)
    secret = "whsec_" + secrets.token_urlsafe(32)
    hook = Webhook(
        workspace_id=actor.workspace_id,
        url=str(data.url),
        topics=sorted(set(data.topics)),
        secret=box.seal({"secret": secret}),
        description=data.description,
        created_at=now,
    )
    session.add(hook)
    session.flush()
    _subscriptions_changed(session)
    return hook, secret


def get_webhook(session: Session, actor: Actor, webhook_id: int) -> Webhook:
    """One of the workspace's webhooks: only those who manage them see where events go
    and what was sent (their delivery log holds every payload)."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    return owned(session, Webhook, webhook_id, actor)


def list_webhooks(
    session: Session, actor: Actor, *, limit: int | None = None, after_id: int = 0
) -> list[Webhook]:
    """The workspace's webhooks in id order, from after `after_id`, `limit` at most."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    query = select(Webhook).where(Webhook.workspace_id == actor.workspace_id, Webhook.id > after_id)
    return list(session.exec(query.order_by(Webhook.id).limit(limit)))


def update_webhook(
    session: Session, actor: Actor, webhook_id: int, data: WebhookUpdate, *, allow_private: bool
) -> Webhook:
    actor.require(Permission.MANAGE_WEBHOOKS)
    hook = get_webhook(session, actor, webhook_id)
    if data.url is not None:
        _check_url(str(data.url), allow_private)
        hook.url = str(data.url)
    if data.topics is not None:
        hook.topics = sorted(set(data.topics))
    if data.description is not None:
        hook.description = data.description
    if data.active is not None:
        hook.active = data.active
    session.flush()
    _subscriptions_changed(session)
    return hook


def delete_webhook(session: Session, actor: Actor, webhook_id: int) -> Webhook:
    """Stop a subscription: its log stays, its pending deliveries are given up."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    hook = get_webhook(session, actor, webhook_id)
    hook.active = False
    _subscriptions_changed(session)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "pending")
        .values(status="failed", error="the subscription was switched off", next_attempt_at=None)
    )
    return hook


def list_deliveries(
    session: Session, actor: Actor, webhook_id: int, *, limit: int = 100, before_id: int = 0
) -> list[WebhookDelivery]:
    """The webhook's deliveries, newest first, from before `before_id` (0: the newest)."""
    hook = get_webhook(session, actor, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id)
    if before_id:
        query = query.where(WebhookDelivery.id < before_id)
    query = query.order_by(WebhookDelivery.id.desc()).limit(limit)
    return list(session.exec(query))


def redeliver(
    session: Session, actor: Actor, webhook_id: int, delivery_id: int, *, now: datetime
) -> WebhookDelivery:
    """Send a delivery's payload again, as a new delivery that points at the first."""
    actor.require(Permission.MANAGE_WEBHOOKS)
    hook = get_webhook(session, actor, webhook_id)
    original = session.get(WebhookDelivery, delivery_id)
    if original is None or original.webhook_id != hook.id:
        raise NotFound(f"delivery {delivery_id} of webhook {webhook_id} not found")
    copy = WebhookDelivery(
        webhook_id=hook.id,
        workspace_id=hook.workspace_id,
        event_id=original.event_id,
        topic=original.topic,
        payload=original.payload,
        next_attempt_at=now,
        redelivery_of=original.id,
        created_at=now,
    )
    session.add(copy)
    session.flush()
    return copy


# -- sending ----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a delivery is due (a read: no write lock)."""
    return (
        session.execute(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .limit(1)
        ).first()
        is not None
    )


def due(session: Session, *, now: datetime) -> list[int]:
    """Lease the deliveries due now (they are not due again before the lease ends)."""
    ids = list(
        session.exec(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(BATCH)
        )
    )
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending")
            .values(next_attempt_at=now + LEASE)
        )
    return ids


@dataclass(frozen=True)
class Outgoing:
    """One delivery attempt, ready to send without the database."""

    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def prepare(
    session: Session, delivery_id: int, *, box: CredentialBox, now: datetime
) -> Outgoing | None:
    """The signed request for a pending delivery, or None if there is nothing to send
    (delivered, given up, or its subscription switched off)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    hook = session.get(Webhook, delivery.webhook_id)
    if not hook.active:
        delivery.status, delivery.error = "failed", "the subscription was switched off"
        return None
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Publisher-Webhooks/1",
        "Publisher-Delivery": str(delivery.id),
        "Publisher-Topic": delivery.topic,
        "Publisher-Timestamp": str(stamp),
        "Publisher-Signature": sign(box.open(hook.secret)["secret"], stamp, body),
    }
    return Outgoing(delivery.id, hook.url, body, headers)


def send(outgoing: Outgoing, *, allow_private: bool) -> fetch.Answer | str:
    """POST it: the receiver's answer, or why there was none."""
    try:
        return fetch.post(
            outgoing.url,
            outgoing.body,
            outgoing.headers,
            timeout_s=TIMEOUT_S,
            allow_private=allow_private,
        )
    except fetch.FetchRefused as exc:
        return exc.reason


def record(session: Session, delivery_id: int, answer: fetch.Answer | str, *, now: datetime) -> str:
    """Write an attempt's outcome down: delivered, retried later, or failed for good."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery.status != "pending":  # given up meanwhile (switched off): keep that
        return delivery.status
    delivery.attempts += 1
    if isinstance(answer, str):
        delivery.response_status, ok, error = None, False, answer
    else:
        delivery.response_status = answer.status
        ok, error = 200 <= answer.status < 300, f"HTTP {answer.status}: {answer.body[:200]}"
    if ok:
        delivery.status, delivery.delivered_at = "delivered", now
        delivery.error = delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.error, delivery.next_attempt_at = "failed", error, None
    else:
        delivery.error = error
        delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_S[delivery.attempts - 1])
    log.info("webhook delivery %s (%s): %s", delivery.id, delivery.topic, delivery.status)
    return delivery.status

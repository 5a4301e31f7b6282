"""/v1/webhooks: subscriptions to events, their delivery log, and redelivery."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, decode, page
from api.http.spec import endpoint, json_response
from publisher.core.models import Webhook
from publisher.core.workspaces import Permission
from publisher.record import webhooks
from publisher.record.schemas import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def _read(hook: Webhook) -> WebhookRead:
    return WebhookRead.model_validate(hook)


@bp.post("")
@endpoint(
    "Subscribe a URL to events (the signing secret is shown once)",
    body=WebhookCreate,
    response=WebhookCreated,
    status=201,
    permission=Permission.MANAGE_WEBHOOKS,
)
def create():
    rt = runtime()
    hook, secret = webhooks.create_webhook(
        db(),
        actor(),
        g.body,
        box=rt.box,
        allow_private=rt.settings.allow_private_urls,
        now=rt.clock(),
    )
    commit()
    return json_response(WebhookCreated(**_read(hook).model_dump(), secret=secret), 201)


@bp.get("")
@endpoint(
    "List the workspace's webhooks",
    query=PageQuery,
    response=list[WebhookRead],
    permission=Permission.MANAGE_WEBHOOKS,
)
def index():
    q = g.query
    found = webhooks.list_webhooks(db(), actor(), limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, _read, next_position=lambda h: {"after": h.id})


@bp.get("/<int:webhook_id>")
@endpoint("Get a webhook", response=WebhookRead, permission=Permission.MANAGE_WEBHOOKS)
def show(webhook_id: int):
    return json_response(_read(webhooks.get_webhook(db(), actor(), webhook_id)))


@bp.patch("/<int:webhook_id>")
@endpoint(
    "Change a webhook's URL, topics or description, or switch it on or off",
    body=WebhookUpdate,
    response=WebhookRead,
    permission=Permission.MANAGE_WEBHOOKS,
)
def update(webhook_id: int):
    rt = runtime()
    hook = webhooks.update_webhook(
        db(), actor(), webhook_id, g.body, allow_private=rt.settings.allow_private_urls
    )
    commit()
    return json_response(_read(hook))


@bp.delete("/<int:webhook_id>")
@endpoint(
    "Switch a webhook off (its delivery log stays)",
    response=WebhookRead,
    permission=Permission.MANAGE_WEBHOOKS,
)
def remove(webhook_id: int):
    hook = webhooks.delete_webhook(db(), actor(), webhook_id)
    commit()
    return json_response(_read(hook))


@bp.get("/<int:webhook_id>/deliveries")
@endpoint(
    "The webhook's deliveries, newest first",
    query=PageQuery,
    response=list[DeliveryRead],
    permission=Permission.MANAGE_WEBHOOKS,
)
def deliveries(webhook_id: int):
    q = g.query
    before = decode(q.cursor, "before")
    found = webhooks.list_deliveries(db(), actor(), webhook_id, limit=q.limit + 1, before_id=before)
    return page(found, q, DeliveryRead.model_validate, next_position=lambda d: {"before": d.id})


@bp.post("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@endpoint(
    "Send a delivery again (as a new delivery)",
    response=DeliveryRead,
    status=201,
    permission=Permission.MANAGE_WEBHOOKS,
)
def redeliver(webhook_id: int, delivery_id: int):
    rt = runtime()
    copy = webhooks.redeliver(db(), actor(), webhook_id, delivery_id, now=rt.clock())
    commit()
    return json_response(DeliveryRead.model_validate(copy), 201)

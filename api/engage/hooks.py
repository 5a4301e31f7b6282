"""/v1/hooks/{platform}: the platforms' webhooks come in here, signed (no API key: the
signature is the proof). /v1/interactions: what they brought, for the workspace."""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, jsonify, request
from pydantic import Field
from werkzeug.exceptions import BadRequest, NotFound

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.errors import Forbidden, Unauthenticated
from publisher.core.schemas import Id
from publisher.core.workspaces import Permission
from publisher.engage import hooks, interactions
from publisher.engage.schemas import HookReceived, InteractionKind, InteractionRead

bp = Blueprint("hooks", __name__, url_prefix="/hooks")
listing = Blueprint("interactions", __name__, url_prefix="/interactions")
META = ("facebook", "instagram")


def _secret(platform: str) -> str:
    settings = runtime().settings
    return settings.meta_app_secret if platform in META else settings.x_consumer_secret


def _known(platform: str) -> None:
    if platform not in (*META, "x"):
        raise NotFound(f"no webhook for {platform!r}: facebook, instagram or x")


@bp.get("/<platform>")
@endpoint(
    "The platform's handshake: Meta's verification (hub.challenge) or X's CRC (crc_token)",
    public=True,
    errors=(403, 404),
    shape_errors=False,
)
def handshake(platform: str):
    _known(platform)
    args = request.args.to_dict()
    if platform in META:
        if args.get("hub.mode") != "subscribe" or not args.get("hub.challenge"):
            raise Forbidden(
                "not Meta's verification request: hub.mode=subscribe, hub.verify_token and "
                "hub.challenge are needed"
            )
        challenge = hooks.meta_challenge(args, runtime().settings.facebook_verify_token)
        if challenge is None:
            raise Forbidden("the verify token is not ours (PUBLISHER_FACEBOOK_VERIFY_TOKEN)")
        return Response(challenge, mimetype="text/plain")
    answer = hooks.x_crc_answer(args.get("crc_token", ""), _secret(platform))
    if answer is None:
        raise Forbidden(
            "no crc_token shaped as X's, or no PUBLISHER_X_CONSUMER_SECRET to answer it with"
        )
    return jsonify({"response_token": answer})


@bp.post("/<platform>")
@endpoint(
    "A platform's signed delivery: comments, replies, mentions, reactions, likes, follows",
    response=HookReceived,
    public=True,
    request_body={"application/json": {"type": "object"}},
    errors=(400, 401, 404, 413),
    shape_errors=False,
)
def deliver(platform: str):
    _known(platform)
    body, rt = request.get_data(cache=True), runtime()
    if platform in META:
        signed = hooks.meta_signature_ok(
            body, request.headers.get("X-Hub-Signature-256"), _secret(platform)
        )
    else:
        signed = hooks.x_signature_ok(
            body, request.headers.get("x-twitter-webhooks-signature"), _secret(platform)
        )
    if not signed:
        raise Unauthenticated("the signature is missing or wrong: nothing was stored")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("the body is not a JSON object")
    found = hooks.read_meta(payload) if platform in META else hooks.read_x(payload)
    now = rt.clock()
    interactions.take_delivery(db(), platform, body, found, now=now)
    stored = interactions.record(db(), found, now=now)
    commit()
    return json_response(HookReceived(received=len(found), stored=stored))


class InteractionQuery(PageQuery):
    publication_id: Id | None = None
    channel_id: Id | None = None
    kind: InteractionKind | None = None
    after_id: int = Field(default=0, ge=0, le=2**31 - 1, description="Page on after this id")


@listing.get("")
@endpoint(
    "Interactions the platforms reported, oldest first",
    query=InteractionQuery,
    response=list[InteractionRead],
    permission=Permission.READ,
)
def index():
    q = g.query
    found = interactions.list_interactions(
        db(),
        actor(),
        publication_id=q.publication_id,
        channel_id=q.channel_id,
        kind=q.kind,
        limit=q.limit + 1,
        after_id=max(q.after_id, after_id(q)),
    )
    return page(found, q, InteractionRead.model_validate, next_position=lambda i: {"after": i.id})

"""/v1/keys: an admin mints and revokes the workspace's API keys."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core import workspaces
from publisher.core.schemas import KeyCreate, KeyCreated, KeyRead, KeyUpdate
from publisher.core.workspaces import Permission

bp = Blueprint("keys", __name__, url_prefix="/keys")


@bp.post("")
@endpoint(
    "Create an API key (its secret is shown once)",
    body=KeyCreate,
    response=KeyCreated,
    status=201,
    permission=Permission.MANAGE_KEYS,
)
def create():
    who = actor()
    who.require(Permission.MANAGE_KEYS)
    key, secret = workspaces.create_key(
        db(),
        workspace_id=who.workspace_id,
        name=g.body.name,
        role=g.body.role,
        time_zone=g.body.time_zone,
        language=g.body.language,
    )
    commit()
    return json_response(
        KeyCreated(
            id=key.id,
            name=key.name,
            role=key.role,
            prefix=key.prefix,
            time_zone=key.time_zone,
            language=key.language,
            key=secret,
        ),
        201,
    )


@bp.get("")
@endpoint(
    "List API keys (never their secrets)",
    query=PageQuery,
    response=list[KeyRead],
    permission=Permission.MANAGE_KEYS,
)
def index():
    q = g.query
    found = workspaces.list_keys(db(), actor(), limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, KeyRead.model_validate, next_position=lambda k: {"after": k.id})


@bp.patch("/<int:key_id>")
@endpoint(
    "Change a key's time zone or language",
    body=KeyUpdate,
    response=KeyRead,
    permission=Permission.MANAGE_KEYS,
)
def update(key_id: int):
    key = workspaces.update_key(db(), actor(), key_id, g.body)
    commit()
    return json_response(KeyRead.model_validate(key))


@bp.post("/<int:key_id>/revoke")
@endpoint("Revoke an API key", response=KeyRead, permission=Permission.MANAGE_KEYS)
def revoke(key_id: int):
    key = workspaces.revoke_key(db(), actor(), key_id, now=runtime().clock())
    commit()
    return json_response(KeyRead.model_validate(key))

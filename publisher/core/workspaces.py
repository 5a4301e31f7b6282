"""Workspaces, API keys, who is calling and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlmodel import Session, select

from publisher.core import security
from publisher.core.errors import Forbidden, NotFound, Unauthenticated
from publisher.core.models import ApiKey, Workspace
from publisher.core.schemas import KeyUpdate

T = TypeVar("T")


class Permission(StrEnum):
    READ = "read"
    MANAGE_CHANNELS = "manage_channels"
    WRITE_CONTENT = "write_content"
    DECIDE_REVIEWS = "decide_reviews"
    MANAGE_KEYS = "manage_keys"
    PAUSE = "pause"
    RESUME = "resume"
    MANAGE_POLICY = "manage_policy"
    MANAGE_WEBHOOKS = "manage_webhooks"
    READ_AUDIT = "read_audit"
    # Merging members and erasing one's personal data (admins: it cannot be undone).
    MANAGE_MEMBERS = "manage_members"


P = Permission
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "editor": frozenset({P.READ, P.MANAGE_CHANNELS, P.WRITE_CONTENT, P.PAUSE, P.RESUME}),
    # Automation may pull the crisis stop (say, a sentiment alarm); a person resumes.
    "automation": frozenset({P.READ, P.WRITE_CONTENT, P.PAUSE}),
    # The committee decides; it never writes the content it decides on.
    "reviewer": frozenset({P.READ, P.DECIDE_REVIEWS, P.PAUSE, P.RESUME}),
}
ROLES = tuple(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Actor:
    """The caller: a key of one workspace, with one role."""

    workspace_id: int
    key_id: int | None
    role: str

    @property
    def label(self) -> str:
        return f"key:{self.key_id}" if self.key_id else f"system:{self.role}"

    def require(self, permission: Permission) -> None:
        if permission not in ROLE_PERMISSIONS.get(self.role, frozenset()):
            raise Forbidden(f"role {self.role!r} may not {permission.value.replace('_', ' ')}")


def mine(session: Session, model: type[T], ident: int, actor: Actor, **options: Any) -> T | None:
    """The row `ident` of `model` if it belongs to the actor's workspace, else None: another
    workspace's rows do not exist for this actor (the one tenancy check)."""
    return visible(session.get(model, ident, **options), actor)


def visible(row: T | None, actor: Actor) -> T | None:
    """`row` if it belongs to the actor's workspace, else None (for a row found otherwise
    than by its id: a short link by its code)."""
    return row if row is not None and row.workspace_id == actor.workspace_id else None


def owned(
    session: Session, model: type[T], ident: int, actor: Actor, *, noun: str = "", **options: Any
) -> T:
    """`mine`, or NotFound naming the row (also for another workspace's: same answer)."""
    row = mine(session, model, ident, actor, **options)
    if row is None:
        raise NotFound(f"{noun or model.__name__.lower()} {ident} not found")
    return row


def get_or_create_workspace(session: Session, name: str) -> Workspace:
    """The workspace called `name`, created if it does not exist yet."""
    workspace = session.exec(select(Workspace).where(Workspace.name == name)).first()
    if workspace is None:
        workspace = Workspace(name=name)
        session.add(workspace)
        session.flush()
    return workspace


def create_key(
    session: Session,
    *,
    workspace_id: int,
    name: str,
    role: str,
    time_zone: str | None = None,
    language: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored."""
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    minted = security.mint_api_key()
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        role=role,
        time_zone=time_zone,
        language=language,
        prefix=minted.prefix,
        key_hash=security.hash_api_key(minted.secret),
    )
    session.add(key)
    session.flush()
    return key, minted.secret


def list_keys(session: Session, actor: Actor, *, limit: int, after_id: int) -> list[ApiKey]:
    """The workspace's keys in id order, from after `after_id`, `limit` at most."""
    actor.require(P.MANAGE_KEYS)
    query = select(ApiKey).where(ApiKey.workspace_id == actor.workspace_id, ApiKey.id > after_id)
    return list(session.exec(query.order_by(ApiKey.id).limit(limit)))


def key_time_zone(session: Session, actor: Actor) -> str | None:
    """Where the key's holder lives (set when the key was made), if said."""
    key = session.get(ApiKey, actor.key_id) if actor.key_id is not None else None
    return key.time_zone if key is not None else None


def key_language(session: Session, actor: Actor) -> str | None:
    """The language the key's holder reads (a BCP 47 tag), if said."""
    key = session.get(ApiKey, actor.key_id) if actor.key_id is not None else None
    return key.language if key is not None else None


def update_key(session: Session, actor: Actor, key_id: int, data: KeyUpdate) -> ApiKey:
    """Change a key's time zone or language (the fields given; null removes one)."""
    actor.require(P.MANAGE_KEYS)
    key = owned(session, ApiKey, key_id, actor, noun="API key")
    for name in data.model_fields_set & {"time_zone", "language"}:
        setattr(key, name, getattr(data, name))
    session.flush()
    return key


def revoke_key(session: Session, actor: Actor, key_id: int, *, now: datetime) -> ApiKey:
    actor.require(P.MANAGE_KEYS)
    key = owned(session, ApiKey, key_id, actor, noun="API key")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def authenticate(session: Session, presented: str | None) -> Actor:
    """The Actor behind a bearer key, or Unauthenticated."""
    if not presented:
        raise Unauthenticated("send an API key as 'Authorization: Bearer <key>'")
    prefix = security.split_api_key(presented)
    key = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    if (
        key is None
        or key.revoked_at is not None
        or not security.key_matches(presented, key.key_hash)
    ):
        raise Unauthenticated("the API key is not valid")
    return Actor(workspace_id=key.workspace_id, key_id=key.id, role=key.role)


def reviewer_problem(session: Session, workspace_id: int, key_id: int) -> str | None:
    """Why key `key_id` cannot vote in the workspace's reviews, or None if it can."""
    key = session.get(ApiKey, key_id)
    if key is None or key.workspace_id != workspace_id or key.revoked_at is not None:
        return f"no live API key {key_id} here"
    if Permission.DECIDE_REVIEWS not in ROLE_PERMISSIONS[key.role]:
        return f"key {key_id} ({key.role}) may not decide"
    return None


def key_names(session: Session, workspace_id: int) -> dict[int, str]:
    """The workspace's keys' names by id (revoked ones too: what they wrote stays theirs)."""
    query = select(ApiKey.id, ApiKey.name).where(ApiKey.workspace_id == workspace_id)
    return dict(session.exec(query).all())

"""Connecting accounts as a person does it: the platform's consent page (OAuth), then the
channel created, or revived with new tokens when the account is already a channel. The
network calls happen between transactions: the grant is taken (once) and committed, the
platform is asked, then the channels are written."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from adapters.base import AdapterRegistry
from adapters.errors import Rejected
from adapters.types import AdapterConfig, ConnectedAccount, OAuthApp
from publisher.core.errors import Conflict, NotFound, PublisherError, ValidationFailed, field_error
from publisher.core.models import ApiKey, Channel, OAuthGrant
from publisher.core.security import CredentialBox
from publisher.core.workspaces import ROLE_PERMISSIONS, Actor, Permission
from publisher.plan.channels import learn_account, reactivate
from publisher.record import events

GRANT_LIFETIME = timedelta(minutes=10)


class InvalidGrant(PublisherError):
    """The callback's state is unknown, used, expired, or for another platform."""

    code, status, title = "invalid_grant", 400, "Invalid authorization"


def callback_path(platform: str) -> str:
    return f"/v1/oauth/callback/{platform}"


def oauth_app(
    registry: AdapterRegistry, platform: str, client: tuple[str, str] | None, base_url: str
) -> OAuthApp:
    """The app people authorise for `platform`, with the callback under `base_url`."""
    if platform not in registry:
        raise NotFound(f"no platform {platform!r} is installed (one of: {', '.join(registry)})")
    if client is None:
        raise Conflict(
            f"no OAuth app is configured for {platform}: set "
            f"PUBLISHER_{platform.upper()}_CLIENT_ID (and _CLIENT_SECRET), or give the "
            "channel's tokens to POST /v1/channels"
        )
    return OAuthApp(
        client_id=client[0],
        client_secret=client[1] or None,
        redirect_uri=base_url.rstrip("/") + callback_path(platform),
    )


def start_connect(
    session: Session,
    actor: Actor,
    platform: str,
    *,
    registry: AdapterRegistry,
    app: OAuthApp,
    box: CredentialBox,
    config: AdapterConfig,
    now: datetime,
) -> tuple[OAuthGrant, str]:
    """A grant waiting for the platform's answer, and the consent page to send the person to."""
    actor.require(Permission.MANAGE_CHANNELS)
    state = secrets.token_urlsafe(32)
    try:
        authorization = registry[platform].authorization(app, state=state, config=config)
    except Rejected as exc:
        raise ValidationFailed(exc.reason, [field_error("platform", exc.reason)]) from exc
    verifier = authorization.verifier
    grant = OAuthGrant(
        state=state,
        workspace_id=actor.workspace_id,
        platform=platform,
        actor=actor.label,
        redirect_uri=app.redirect_uri,
        verifier=box.seal({"verifier": verifier}) if verifier else None,
        created_at=now,
        expires_at=now + GRANT_LIFETIME,
    )
    session.add(grant)
    session.flush()
    return grant, authorization.url


def take_grant(session: Session, platform: str, state: str, *, now: datetime) -> OAuthGrant:
    """The grant `state` names, marked used in the same statement: a callback replayed,
    late or for another platform changes nothing."""
    taken = session.execute(
        update(OAuthGrant)
        .where(
            OAuthGrant.state == state,
            OAuthGrant.platform == platform,
            OAuthGrant.used_at.is_(None),
            OAuthGrant.expires_at > now,
        )
        .values(used_at=now)
    )
    if taken.rowcount != 1:
        raise InvalidGrant(
            "this authorization is unknown, already used or expired: start again with "
            f"POST /v1/channels/connect/{platform}"
        )
    grant = session.exec(select(OAuthGrant).where(OAuthGrant.state == state)).one()
    _still_entitled(session, grant)
    return grant


def _still_entitled(session: Session, grant: OAuthGrant) -> None:
    """The key that started the connection must still be live and allowed to manage
    channels when the person comes back (it may have been revoked meanwhile)."""
    key_id = int(grant.actor.removeprefix("key:")) if grant.actor.startswith("key:") else None
    key = session.get(ApiKey, key_id) if key_id is not None else None
    if (
        key is None
        or key.revoked_at is not None
        or key.workspace_id != grant.workspace_id
        or Permission.MANAGE_CHANNELS not in ROLE_PERMISSIONS.get(key.role, frozenset())
    ):
        raise InvalidGrant(
            "the API key that started this connection can no longer manage channels: "
            "nothing was connected"
        )


def verifier_of(grant: OAuthGrant, box: CredentialBox) -> str | None:
    return box.open(grant.verifier)["verifier"] if grant.verifier else None


def save_accounts(
    session: Session,
    grant: OAuthGrant,
    accounts: list[ConnectedAccount],
    *,
    registry: AdapterRegistry,
    box: CredentialBox,
    now: datetime,
) -> list[Channel]:
    """A channel per authorised account of an installed platform: new, or the workspace's
    channel for that account given the new tokens (and back in service)."""
    saved = []
    for found in accounts:
        if found.platform not in registry:
            continue
        channel = session.exec(
            select(Channel).where(
                Channel.workspace_id == grant.workspace_id,
                Channel.platform == found.platform,
                Channel.external_account_id == found.account.id,
            )
        ).first()
        revived = channel is not None
        if channel is None:
            channel = Channel(
                workspace_id=grant.workspace_id,
                platform=found.platform,
                name=(found.account.name or found.account.username or found.account.id)[:200],
                external_account_id=found.account.id,
                credentials=b"",
                created_at=now,
            )
            session.add(channel)
        channel.credentials = box.seal(dict(found.credentials))
        learn_account(channel, found.account)
        channel.updated_at = now
        session.flush()
        if revived:
            reactivate(
                session,
                channel,
                actor=grant.actor,
                now=now,
                reason="reconnected",
                account_verified=True,  # the platform said whose account it is
            )
        events.record(
            session,
            workspace_id=grant.workspace_id,
            kind="channel.connected",
            actor=grant.actor,
            now=now,
            channel_id=channel.id,
            reason=f"{found.platform} account {found.account.id} authorised",
            data={"platform": found.platform, "account": found.account.id, "revived": revived},
        )
        saved.append(channel)
    return saved

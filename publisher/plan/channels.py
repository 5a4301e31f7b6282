"""Channels: one account on one platform, with its encrypted credentials."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from adapters.base import Adapter, AdapterRegistry
from adapters.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from adapters.types import Account
from publisher.core.errors import Conflict, ValidationFailed, field_error
from publisher.core.models import Channel
from publisher.core.security import CredentialBox
from publisher.core.workspaces import Actor, Permission, owned
from publisher.plan.schemas import AccountRead, ChannelCheckRead, ChannelCreate, ChannelUpdate
from publisher.record import events

ACTIVE = "active"
NEEDS_REAUTH = "needs_reauth"
# The credentials act as another account: held until a check (or a reconnection through
# the platform's consent page) shows the channel's own account; new credentials alone
# do not lift it.
WRONG_ACCOUNT = "wrong_account"


def _checked_credentials(
    registry: AdapterRegistry, platform: str, credentials: dict[str, Any]
) -> dict[str, Any]:
    """The credentials if they have the platform's shape; field errors otherwise."""
    try:
        model = registry[platform].credentials_model
        model.model_validate(credentials, strict=True)
    except ValidationError as exc:
        errors = [
            field_error(["credentials", *map(str, e["loc"])], e["msg"], e["type"])
            for e in exc.errors(include_url=False)
        ]
        raise ValidationFailed(f"credentials do not fit {platform}", errors) from exc
    return credentials


def create_channel(
    session: Session,
    actor: Actor,
    data: ChannelCreate,
    *,
    registry: AdapterRegistry,
    box: CredentialBox,
    now: datetime,
) -> Channel:
    """A channel on an installed platform, credentials encrypted before they are stored."""
    actor.require(Permission.MANAGE_CHANNELS)
    if data.platform not in registry:
        raise ValidationFailed(
            f"unknown platform {data.platform!r}",
            [field_error("platform", f"one of: {', '.join(sorted(registry))}")],
        )
    credentials = _checked_credentials(registry, data.platform, data.credentials)
    twin = session.exec(
        select(Channel).where(
            Channel.workspace_id == actor.workspace_id,
            Channel.platform == data.platform,
            Channel.external_account_id == data.external_account_id,
        )
    ).first()
    if twin is not None:
        raise Conflict(
            f"channel {twin.id} ({twin.name!r}) already posts as this {data.platform} account: "
            f"give it new credentials with PATCH /v1/channels/{twin.id}",
            channel_id=twin.id,
        )
    channel = Channel(
        workspace_id=actor.workspace_id,
        platform=data.platform,
        name=data.name,
        external_account_id=data.external_account_id,
        credentials=box.seal(credentials),
        created_at=now,
        updated_at=now,
    )
    session.add(channel)
    session.flush()
    return channel


def get_channel(session: Session, actor: Actor, channel_id: int) -> Channel:
    """The actor's channel, or NotFound (also for another workspace's channel)."""
    return owned(session, Channel, channel_id, actor)


def list_channels(
    session: Session, actor: Actor, *, limit: int | None = None, after_id: int = 0
) -> list[Channel]:
    """The workspace's channels in id order, from after `after_id`, `limit` at most."""
    query = select(Channel).where(Channel.workspace_id == actor.workspace_id, Channel.id > after_id)
    return list(session.exec(query.order_by(Channel.id).limit(limit)))


def update_channel(
    session: Session,
    actor: Actor,
    channel_id: int,
    data: ChannelUpdate,
    *,
    registry: AdapterRegistry,
    box: CredentialBox,
    now: datetime,
) -> Channel:
    """Rename, or replace the credentials (which makes a `needs_reauth` channel active)."""
    actor.require(Permission.MANAGE_CHANNELS)
    channel = get_channel(session, actor, channel_id)
    if data.name is not None:
        channel.name = data.name
    if data.credentials is not None:
        channel.credentials = box.seal(
            _checked_credentials(registry, channel.platform, data.credentials)
        )
        reactivate(session, channel, actor=actor.label, now=now, reason="new credentials")
    channel.updated_at = now
    return channel


def learn_account(channel: Channel, account: Account | None) -> None:
    """Keep the account's name and @handle as the platform gives them (for previews)."""
    if account is not None and account.id == channel.external_account_id:
        channel.account_name = (account.name or None) and account.name[:200]
        channel.account_handle = (account.username or None) and account.username[:200]


def reactivate(
    session: Session,
    channel: Channel,
    *,
    actor: str,
    now: datetime,
    reason: str,
    account_verified: bool = False,
) -> None:
    """A `needs_reauth` channel is back in service (its waiting publications go out); a
    `wrong_account` one only once the platform said whose the credentials are."""
    if channel.status == NEEDS_REAUTH or (account_verified and channel.status == WRONG_ACCOUNT):
        _set_status(session, channel, ACTIVE, "channel.reauthorized", actor, now, reason)


def mark_needs_reauth(
    session: Session,
    channel: Channel,
    *,
    reason: str,
    now: datetime,
    actor: str = "system:worker",
) -> None:
    """The platform refused the credentials: hold the channel until a person reconnects it."""
    if channel.status != NEEDS_REAUTH:
        _set_status(session, channel, NEEDS_REAUTH, "channel.needs_reauth", actor, now, reason)


def _set_status(
    session: Session,
    channel: Channel,
    status: str,
    kind: str,
    actor: str,
    now: datetime,
    reason: str,
) -> None:
    channel.status, channel.updated_at = status, now
    events.record(
        session,
        workspace_id=channel.workspace_id,
        kind=kind,
        actor=actor,
        now=now,
        channel_id=channel.id,
        reason=reason,
    )


def check_channel(
    session: Session,
    actor: Actor,
    channel_id: int,
    *,
    adapter_for: Callable[[Channel], Adapter],
    clock: Callable[[], datetime],
) -> ChannelCheckRead:
    """Ask the platform whether the channel's credentials work, and act on the answer: a
    refusal marks the channel `needs_reauth`; a pass brings a `needs_reauth` channel back
    (its publications go out). No transaction is open while the platform answers."""
    actor.require(Permission.MANAGE_CHANNELS)
    channel = get_channel(session, actor, channel_id)
    session.commit()
    account, result, detail = None, "ok", None
    try:
        account = adapter_for(channel).check()
    except AuthExpired as exc:
        result, detail = "needs_reauth", exc.reason
    except (RateLimited, Transient, OutcomeUnknown) as exc:
        result, detail = "unavailable", exc.reason
    except Rejected as exc:
        result, detail = "refused", exc.reason
    except ValueError as exc:  # stored credentials that no longer decrypt or parse
        result, detail = "needs_reauth", f"stored credentials unusable: {exc}"
    now = clock()
    channel = get_channel(session, actor, channel_id)
    if account is not None and account.id != channel.external_account_id:
        result = "wrong_account"
        detail = (
            f"the credentials act as {account.username or account.name} ({account.id}), not "
            f"as the channel's account {channel.external_account_id}: nothing goes out until "
            "the right account is reconnected"
        )
    if result == "wrong_account":
        if channel.status != WRONG_ACCOUNT:
            _set_status(
                session, channel, WRONG_ACCOUNT, "channel.wrong_account", actor.label, now, detail
            )
    elif result == "needs_reauth":
        mark_needs_reauth(session, channel, reason=detail or "", now=now, actor=actor.label)
    elif result == "ok":
        learn_account(channel, account)
        reactivate(
            session,
            channel,
            actor=actor.label,
            now=now,
            reason="the platform accepted the credentials again",
            account_verified=True,
        )
    events.record(
        session,
        workspace_id=channel.workspace_id,
        kind="channel.checked",
        actor=actor.label,
        now=now,
        channel_id=channel.id,
        reason=result if detail is None else f"{result}: {detail}",
    )
    return ChannelCheckRead(
        channel_id=channel.id,
        result=result,
        detail=detail,
        account=AccountRead(**vars(account)) if account else None,
        same_account=account.id == channel.external_account_id if account else None,
        channel_status=channel.status,
        checked_at=now,
    )


def hold_channel(
    session: Session,
    channel: Channel,
    *,
    until: datetime,
    reason: str,
    now: datetime,
    actor: str = "system:worker",
) -> None:
    """Publish nothing on the channel before `until` (throttled, or its budget is spent)."""
    if channel.held_until is not None and channel.held_until >= until:
        return
    channel.held_until = until
    channel.updated_at = now
    events.record(
        session,
        workspace_id=channel.workspace_id,
        kind="channel.held",
        actor=actor,
        now=now,
        channel_id=channel.id,
        reason=f"{reason}; held until {until.isoformat()}",
    )

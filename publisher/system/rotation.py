"""`publisher secrets rotate`: every channel's credentials and every webhook's signing
secret encrypted again under a new key.

With the embedded key file (`home/secret.key`), a new key is generated and written first,
every row is re-encrypted with it, and the old keys are retired; running processes read
the file again when it changes, so none needs a restart. With PUBLISHER_SECRET_KEY, the
operator puts the new key first (old ones after it, on every process), runs the rotation,
then drops the old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, select

from publisher.core.db import make_engine, session_scope, utcnow
from publisher.core.models import Channel, Webhook
from publisher.core.security import CredentialBox
from publisher.core.settings import Settings, ensure_secret_keys, new_secret_key, write_key_file
from publisher.record import events

ACTOR = "system:secrets-rotate"


class UnreadableCredentials(Exception):
    """Some sealed secrets do not decrypt with the configured keys: nothing was changed."""

    def __init__(self, channel_ids: list[int], webhook_ids: list[int] = ()) -> None:
        what = f"credentials of channels {channel_ids}"
        if webhook_ids:
            what += f" and secrets of webhooks {list(webhook_ids)}"
        super().__init__(f"{what} do not decrypt with any key")
        self.channel_ids = channel_ids
        self.webhook_ids = list(webhook_ids)


@dataclass(frozen=True)
class Rotation:
    channels: int
    retired_keys: int  # old keys removed from the key file (0 with PUBLISHER_SECRET_KEY)
    key_file: Path | None
    webhooks: int = 0


# Every sealed column: (table, attribute).
SEALED = ((Channel, "credentials"), (Webhook, "secret"))


def rotate_secrets(settings: Settings) -> Rotation:
    settings = ensure_secret_keys(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(engine) as session:
            rows = _locked_rows(session)
            current = CredentialBox(settings.secret_keys)
            unreadable = [r for r in rows if not _readable(current, _sealed(r))]
            if unreadable:
                raise UnreadableCredentials(
                    [r.id for r in unreadable if isinstance(r, Channel)],
                    [r.id for r in unreadable if isinstance(r, Webhook)],
                )
            keys = settings.secret_keys
            if settings.key_file is not None:
                # From here every process can read both old and new; the new one encrypts.
                keys = (new_secret_key(), *keys)
                write_key_file(settings.key_file, keys)
            _reseal(session, rows, CredentialBox(keys))
        channels = sum(isinstance(r, Channel) for r in rows)
        webhooks = len(rows) - channels
        if settings.key_file is None:
            return Rotation(channels, 0, None, webhooks)
        # A row sealed with an old key just before the file changed may have committed
        # after us: seal again what the new key alone cannot read, then retire.
        newest = CredentialBox(keys[:1])
        with session_scope(engine) as session:
            stale = [r for r in _locked_rows(session) if not _readable(newest, _sealed(r))]
            _reseal(session, stale, CredentialBox(keys))
        write_key_file(settings.key_file, keys[:1])
        return Rotation(channels, len(keys) - 1, settings.key_file, webhooks)
    finally:
        engine.dispose()


def _locked_rows(session: Session) -> list[Channel | Webhook]:
    rows: list[Channel | Webhook] = []
    for table, _ in SEALED:
        rows += session.exec(select(table).order_by(table.id).with_for_update())
    return rows


def _sealed(row: Channel | Webhook) -> bytes:
    return getattr(row, dict(SEALED)[type(row)])


def _readable(box: CredentialBox, token: bytes) -> bool:
    try:
        box.open(token)
    except ValueError:
        return False
    return True


def _reseal(session: Session, rows: list[Channel | Webhook], box: CredentialBox) -> None:
    now = utcnow()
    for row in rows:
        setattr(row, dict(SEALED)[type(row)], box.reseal(_sealed(row)))
        is_channel = isinstance(row, Channel)
        events.record(
            session,
            workspace_id=row.workspace_id,
            kind="channel.credentials_reencrypted" if is_channel else "webhook.secret_reencrypted",
            actor=ACTOR,
            now=now,
            channel_id=row.id if is_channel else None,
            data=None if is_channel else {"webhook_id": row.id},
        )

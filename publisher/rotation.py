"""`publisher secrets rotate`: every channel's credentials encrypted again under a new key.

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

from publisher import events
from publisher.db import make_engine, session_scope, utcnow
from publisher.models import Channel
from publisher.security import CredentialBox
from publisher.settings import Settings, ensure_secret_keys, new_secret_key, write_key_file

ACTOR = "system:secrets-rotate"


class UnreadableCredentials(Exception):
    """Some credentials do not decrypt with the configured keys: nothing was changed."""

    def __init__(self, channel_ids: list[int]) -> None:
        super().__init__(f"credentials of channels {channel_ids} do not decrypt with any key")
        self.channel_ids = channel_ids


@dataclass(frozen=True)
class Rotation:
    channels: int
    retired_keys: int  # old keys removed from the key file (0 with PUBLISHER_SECRET_KEY)
    key_file: Path | None


def rotate_secrets(settings: Settings) -> Rotation:
    settings = ensure_secret_keys(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(engine) as session:
            channels = _locked_channels(session)
            current = CredentialBox(settings.secret_keys)
            unreadable = [c.id for c in channels if not _readable(current, c.credentials)]
            if unreadable:
                raise UnreadableCredentials(unreadable)
            keys = settings.secret_keys
            if settings.key_file is not None:
                # From here every process can read both old and new; the new one encrypts.
                keys = (new_secret_key(), *keys)
                write_key_file(settings.key_file, keys)
            count = _reseal(session, channels, CredentialBox(keys))
        if settings.key_file is None:
            return Rotation(count, 0, None)
        # A credentials update sealed with an old key just before the file changed may have
        # committed after us: seal again what the new key alone cannot read, then retire.
        newest = CredentialBox(keys[:1])
        with session_scope(engine) as session:
            stale = [c for c in _locked_channels(session) if not _readable(newest, c.credentials)]
            _reseal(session, stale, CredentialBox(keys))
        write_key_file(settings.key_file, keys[:1])
        return Rotation(count, len(keys) - 1, settings.key_file)
    finally:
        engine.dispose()


def _locked_channels(session: Session) -> list[Channel]:
    return list(session.exec(select(Channel).order_by(Channel.id).with_for_update()))


def _readable(box: CredentialBox, token: bytes) -> bool:
    try:
        box.open(token)
    except ValueError:
        return False
    return True


def _reseal(session: Session, channels: list[Channel], box: CredentialBox) -> int:
    now = utcnow()
    for channel in channels:
        channel.credentials = box.reseal(channel.credentials)
        events.record(
            session,
            workspace_id=channel.workspace_id,
            kind="channel.credentials_reencrypted",
            actor=ACTOR,
            now=now,
            channel_id=channel.id,
        )
    return len(channels)

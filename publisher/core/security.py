"""API key material and encryption of channel credentials at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from publisher.core.settings import read_key_file

KEY_PREFIX = "pub"


@dataclass(frozen=True)
class NewKey:
    """A freshly minted API key: `secret` is shown once and never stored."""

    prefix: str
    secret: str = ""

    def __repr__(self) -> str:
        return f"NewKey(prefix={self.prefix!r}, secret=<hidden>)"


def mint_api_key() -> NewKey:
    """A key `pub_<prefix>_<secret>`; the prefix is stored in clear to find and show it."""
    prefix = secrets.token_hex(4)
    return NewKey(prefix=prefix, secret=f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}")


def split_api_key(presented: str) -> str | None:
    """The prefix of a presented key, or None if it is not shaped like ours."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]


def hash_api_key(secret: str) -> str:
    # Keys carry 256 bits of entropy: a fast hash is enough, no password KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def key_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(secret), stored_hash)


def _fernet_key(material: str) -> bytes:
    """Use a Fernet key as given; derive one from any other secret string."""
    try:
        raw = base64.urlsafe_b64decode(material.encode())
        if len(raw) == 32:
            return material.encode()
    except (ValueError, TypeError):
        pass
    digest = hashlib.sha256(b"publisher-credentials:" + material.encode()).digest()
    return base64.urlsafe_b64encode(digest)


class CredentialBox:
    """Encrypts with the first key; decrypts with any (so keys can be rotated).

    With `key_file`, the keys are that file's lines and are read again whenever the file
    changes, so a running process follows `publisher secrets rotate` without a restart.
    """

    def __init__(self, keys: tuple[str, ...], *, key_file: Path | None = None) -> None:
        self._key_file = key_file
        self._stamp: int | None = None
        self._lock = threading.Lock()
        self._use(keys)
        if key_file is not None:
            self._stamp = _stamp(key_file)

    def _use(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("PUBLISHER_SECRET_KEY is not set")
        self._keys = tuple(keys)
        self._fernet = MultiFernet([Fernet(_fernet_key(k)) for k in keys])

    def _current(self) -> MultiFernet:
        if self._key_file is not None and _stamp(self._key_file) != self._stamp:
            with self._lock:
                stamp = _stamp(self._key_file)
                if stamp != self._stamp:
                    self._use(read_key_file(self._key_file))
                    self._stamp = stamp
        return self._fernet

    def __repr__(self) -> str:
        return "CredentialBox(<keys hidden>)"

    @property
    def keys(self) -> tuple[str, ...]:
        """The current secret keys, newest first (to sign things other than credentials)."""
        self._current()
        return self._keys

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._current().encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._current().decrypt(bytes(token)))
        except InvalidToken as exc:
            raise ValueError("credentials cannot be decrypted with the configured keys") from exc

    def reseal(self, token: bytes) -> bytes:
        """The same credentials encrypted with the first key (ValueError if unreadable)."""
        try:
            return self._current().rotate(bytes(token))
        except InvalidToken as exc:
            raise ValueError("credentials cannot be decrypted with the configured keys") from exc


def _stamp(path: Path) -> int:
    stat = path.stat()
    return hash((stat.st_mtime_ns, stat.st_ino, stat.st_size))

"""API key material and encryption of channel credentials at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

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
    """Encrypts with the first key; decrypts with any (so keys can be rotated)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("PUBLISHER_SECRET_KEY is not set")
        self._fernet = MultiFernet([Fernet(_fernet_key(k)) for k in keys])

    def __repr__(self) -> str:
        return "CredentialBox(<keys hidden>)"

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(bytes(token)))
        except InvalidToken as exc:
            raise ValueError("credentials cannot be decrypted with the configured keys") from exc

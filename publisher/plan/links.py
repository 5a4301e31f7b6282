"""Tracked short links: each link a publication sends goes out as
`{PUBLISHER_PUBLIC_URL}/l/{code}`, which leads to the link with its campaign's tracking.

A code is one link of one publication: a reshare, or X wrapping it in t.co, keeps the
attribution. It is derived from the publication and the link alone (a hash: no key, so a
key rotation never changes it), so every attempt, the reconciler's search for what went
out and the reviewer's preview all write the same text; the row that lets `/l/{code}`
answer is written with the claim, before anything is sent (`record`). A code says nothing
a reader of the post does not see: where it leads is answered only once it is out.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from publisher.core.engagement_models import TrackedLink

CODE_LENGTH = 10  # base32: 50 bits


@dataclass(frozen=True)
class LinkMaker:
    """Makes the short links of one engine, under its public address."""

    base_url: str

    @classmethod
    def of(cls, public_url: str) -> LinkMaker | None:
        """None when there is no public address: a short link nobody outside can open
        would break the post, so links then go out as they are."""
        if not public_url:
            return None
        return cls(public_url.rstrip("/"))

    def code(self, publication_id: int, target: str) -> str:
        said = f"publisher short link\n{publication_id}\n{target}".encode()
        return base64.b32encode(hashlib.sha256(said).digest()).decode()[:CODE_LENGTH].lower()

    def url(self, code: str) -> str:
        return f"{self.base_url}/l/{code}"

    def is_ours(self, link: str) -> bool:
        return link.startswith(f"{self.base_url}/l/")


class Shortener:
    """Replaces each link of one publication by its short link, and keeps what it made
    (`links`: code -> the link it leads to)."""

    def __init__(self, maker: LinkMaker, publication_id: int) -> None:
        self.maker, self.publication_id = maker, publication_id
        self.links: dict[str, str] = {}

    def __call__(self, link: str) -> str:
        if self.maker.is_ours(link):
            return link
        # A bare domain ("lumiere.paris") is a link on the networks: it leads to https.
        target = link if "://" in link else f"https://{link}"
        code = self.maker.code(self.publication_id, target)
        self.links[code] = target
        return self.maker.url(code)


def record(
    session: Session,
    links: dict[str, str],
    *,
    workspace_id: int,
    publication_id: int,
    campaign_id: int | None,
    now,
) -> None:
    """Write the links a publication is about to send, those not written on an earlier
    attempt (one statement; a code already there is left as it is)."""
    if not links:
        return
    rows = [
        {
            "workspace_id": workspace_id,
            "publication_id": publication_id,
            "campaign_id": campaign_id,
            "code": code,
            "target": target,
            "created_at": now,
        }
        for code, target in links.items()
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(TrackedLink).values(rows).on_conflict_do_nothing())


def find(session: Session, code: str) -> TrackedLink | None:
    return session.execute(select(TrackedLink).where(TrackedLink.code == code)).scalar_one_or_none()

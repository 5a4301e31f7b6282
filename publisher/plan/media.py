"""Media: files uploaded or imported by URL, stored once by content hash, described by
what their bytes are (never by the name or type a client claims)."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from publisher.core.errors import TooLarge, UnsupportedMedia, ValidationFailed, field_error
from publisher.core.fetch import FetchRefused, fetch
from publisher.core.models import Media, Post
from publisher.core.workspaces import Actor, Permission, owned
from publisher.record import events

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
ORPHAN_AFTER = timedelta(hours=24)
PUBLIC_LINK_TTL = timedelta(hours=1)


def sniff(head: bytes) -> str | None:
    """The media type the first bytes show, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:10] == b"qt" else "video/mp4"
    return None


@dataclass(frozen=True)
class Described:
    content_type: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


def describe(path: Path) -> Described:
    """Type and, where the format says so in its headers, dimensions or duration."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    kind = sniff(head)
    if kind is None:
        raise UnsupportedMedia(
            "not an image (JPEG, PNG, GIF, WebP) or a video (MP4, MOV), judged by its bytes"
        )
    width = height = None
    if kind == "image/png" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
    elif kind == "image/gif" and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
    elif kind == "image/jpeg":
        width, height = _jpeg_size(head) or (None, None)
    duration = _mp4_duration(path) if kind in VIDEO_TYPES else None
    return Described(kind, width, height, duration)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _mp4_duration(path: Path) -> float | None:
    """Seconds, from the movie header (moov/mvhd) of an ISO base media file."""
    with path.open("rb") as fh:
        return _find_mvhd(fh, os.fstat(fh.fileno()).st_size)


def _find_mvhd(fh, end: int) -> float | None:
    while fh.tell() + 8 <= end:
        start = fh.tell()
        size, box = struct.unpack(">I4s", fh.read(8))
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
        elif size == 0:
            size = end - start
        if size < 8:
            return None
        if box == b"moov":
            return _find_mvhd(fh, start + size)
        if box == b"mvhd":
            version = fh.read(1)[0]
            fh.read(3)
            if version == 1:
                _, _, scale, duration = struct.unpack(">QQIQ", fh.read(28))
            else:
                _, _, scale, duration = struct.unpack(">IIII", fh.read(16))
            return round(duration / scale, 3) if scale else None
        fh.seek(start + size)
    return None


class MediaStore:
    """A directory of files named by SHA-256 (`ab/abcdef...`): one copy per content; and
    signed, expiring public links to them for platforms that fetch media by URL."""

    def __init__(self, root: Path, *, public_url: str = "", signing_key: str = "") -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")
        self._key = hashlib.sha256(b"publisher-media-links:" + signing_key.encode()).digest()

    def _signature(self, media_id: int, expires: int) -> str:
        message = f"{media_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def public_link(self, media_id: int, *, now: datetime) -> str | None:
        """A link anyone may fetch for an hour, or None without PUBLISHER_PUBLIC_URL."""
        if not self.public_url:
            return None
        expires = int((now + PUBLIC_LINK_TTL).timestamp())
        sig = self._signature(media_id, expires)
        return f"{self.public_url}/public/media/{media_id}?expires={expires}&sig={sig}"

    def link_is_valid(self, media_id: int, expires: str, sig: str, *, now: datetime) -> bool:
        if not expires.isdigit() or int(expires) < now.timestamp():
            return False
        return hmac.compare_digest(self._signature(media_id, int(expires)), sig)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, chunks: Iterable[bytes], *, max_bytes: int) -> tuple[str, int, Path]:
        """Store the bytes; returns (sha256, size, path). TooLarge past `max_bytes`."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"more than the {max_bytes} bytes allowed")
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            final = self.path(sha)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
            return sha, size, final
        finally:
            tmp.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _chunks(stream, size: int = 64 * 1024) -> Iterable[bytes]:
    while chunk := stream.read(size):
        yield chunk


def _record(
    session: Session,
    actor: Actor,
    store: MediaStore,
    sha: str,
    size: int,
    path: Path,
    *,
    now: datetime,
    filename: str | None = None,
    source_url: str | None = None,
) -> Media:
    try:
        described = describe(path)
    except UnsupportedMedia:
        if not _referenced(session, sha):
            store.remove(sha)
        raise
    media = Media(
        workspace_id=actor.workspace_id,
        sha256=sha,
        content_type=described.content_type,
        size_bytes=size,
        width=described.width,
        height=described.height,
        duration_s=described.duration_s,
        filename=(filename or None) and filename[:255],
        source_url=source_url,
        created_at=now,
    )
    session.add(media)
    session.flush()
    events.record(
        session,
        workspace_id=actor.workspace_id,
        kind="media.added",
        actor=actor.label,
        now=now,
        reason=f"media {media.id}: {media.content_type}, {size} bytes"
        + (f" from {source_url}" if source_url else ""),
    )
    return media


def _referenced(session: Session, sha: str) -> bool:
    return session.exec(select(func.count()).where(Media.sha256 == sha)).one() > 0


def create_media(
    session: Session,
    actor: Actor,
    stream,
    *,
    filename: str | None,
    store: MediaStore,
    max_bytes: int,
    now: datetime,
) -> Media:
    """Store an uploaded file (any declared type: the bytes decide)."""
    actor.require(Permission.WRITE_CONTENT)
    sha, size, path = store.put(_chunks(stream), max_bytes=max_bytes)
    return _record(session, actor, store, sha, size, path, now=now, filename=filename)


def import_media(
    session: Session,
    actor: Actor,
    url: str,
    *,
    store: MediaStore,
    max_bytes: int,
    allow_private: bool,
    now: datetime,
) -> Media:
    """Fetch `url` (public addresses only, few redirects, size-capped) and store it."""
    actor.require(Permission.WRITE_CONTENT)
    try:
        with fetch(url, max_bytes=max_bytes, allow_private=allow_private) as fetched:
            sha, size, path = store.put(fetched.chunks, max_bytes=max_bytes)
    except (FetchRefused, TooLarge) as exc:
        reason = exc.reason if isinstance(exc, FetchRefused) else exc.detail
        raise ValidationFailed("the URL cannot be imported", [field_error("url", reason)]) from exc
    return _record(session, actor, store, sha, size, path, now=now, source_url=url)


def get_media(session: Session, actor: Actor, media_id: int) -> Media:
    return owned(session, Media, media_id, actor)


def linked(session: Session, media_id: int) -> Media | None:
    """The media a signed link names: the link is the authority (platforms fetch it with
    no key), so no workspace is asked for."""
    return session.get(Media, media_id)


def attached_ids(session: Session) -> set[int]:
    """Every media id some post refers to."""
    ids: set[int] = set()
    rows = session.execute(
        select(Post.media, Post.variants).where(
            (Post.media.is_not(None)) | (Post.variants.is_not(None))
        )
    )
    for media, variants in rows:
        ids.update(int(item["media_id"]) for item in media or [])
        for variant in variants or []:
            ids.update(int(item["media_id"]) for item in variant.get("media") or [])
    return ids


def clean_orphans(session: Session, store: MediaStore, *, now: datetime) -> int:
    """Delete media no post refers to, once older than ORPHAN_AFTER, and commit; then a
    file goes with the last row that named its content, unless it was stored again
    lately (an upload of the same bytes may be on its way). Returns how many rows went."""
    attached = attached_ids(session)
    stale = [
        m
        for m in session.exec(select(Media).where(Media.created_at <= now - ORPHAN_AFTER))
        if m.id not in attached
    ]
    for media in stale:
        session.delete(media)
    session.commit()
    for sha in {m.sha256 for m in stale}:
        path = store.path(sha)
        recent = path.exists() and path.stat().st_mtime > (now - ORPHAN_AFTER).timestamp()
        if not recent and not _referenced(session, sha):
            store.remove(sha)
    session.commit()
    return len(stale)

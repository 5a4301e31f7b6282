"""The sandbox's own record of what it accepted, and the faults it is told to inject."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any


def sniff(data: bytes) -> str | None:
    """The type of an uploaded file by its first bytes, as the platforms sniff them."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "video/mp4" if data[4:8] == b"ftyp" else None


@dataclass(frozen=True)
class Accepted:
    """One post the platform created."""

    platform: str
    account: str
    external_id: str
    text: str
    link: str | None
    received_at: str
    text_sha256: str = ""
    in_reply_to: str | None = None  # the post this one replies to (a thread's parts)
    # Attached media as the platform received them: sha256 of the bytes, type, alt text.
    media: list[dict[str, Any]] = field(default_factory=list)
    # Engagement counters in the platform's own names (set by tests and benchmarks).
    metrics: dict[str, int] = field(default_factory=dict)
    deleted_at: str | None = None  # taken down; the platform no longer shows it
    quote_of: str | None = None  # the post this one quotes

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fault:
    """What to do to the next matching request instead of (or after) serving it.

    status: answer this HTTP status (429, 500, 503, 401 ...) instead of the normal answer.
    accept: create the post first (a 5xx or a hang *after* acceptance).
    hold_s: hold the answer this long (past the client's timeout: "accept, then hang").
    reset_in_s: for 429, the x-rate-limit-reset header's distance from now.
    code: Graph API error code to put in the error body.
    on: which kind of request it hits: "publish" (creating a post), "account" (reading
        the account the token acts as: X's /2/users/me, a Graph Page object) or "media"
        (a media upload request) or "delete" (taking a post down) or "lookup" (X's
        GET /2/tweets, a metrics pull).
    after: let this many matching requests through untouched first (part 3 of a thread).
    account: only requests for this account (X user id, Page id, Instagram user id): one
        channel fails while the others go on.
    """

    status: int | None = None
    accept: bool = False
    hold_s: float = 0.0
    reset_in_s: int = 60
    code: int | None = None
    subcode: int | None = None  # Graph API error_subcode
    times: int = 1
    on: str = "publish"
    after: int = 0
    account: str | None = None
    # For a 429 on X: "15min" (the window's reset), or a 24-hour cap, "user24h" / "app24h".
    cap: str = "15min"


@dataclass
class Ledger:
    """Thread-safe store shared by both servers and read by tests through the control API."""

    # Seconds before answering, per platform ("x") or per account ("x:<user id>").
    latency_s: dict[str, float] = field(default_factory=dict)
    # Per platform, (count, window seconds): the platform's own per-account write limit.
    rate_limits: dict[str, tuple[int, float]] = field(default_factory=dict)
    throttled: int = 0  # how many 429s the sandbox has answered
    _accepted: list[Accepted] = field(default_factory=list)
    # Lookups by content and by id stay O(1) however long a benchmark's ledger grows.
    _by_text: dict[tuple[str, str, str], Accepted] = field(default_factory=dict)
    _by_id: dict[tuple[str, str], Accepted] = field(default_factory=dict)
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _expired_tokens: set[str] = field(default_factory=set)
    # OAuth 2.0 tokens the sandbox issued: scopes, the account they act as, expiry (epoch s).
    token_scopes: dict[str, set[str]] = field(default_factory=dict)
    token_users: dict[str, str] = field(default_factory=dict)
    token_expiry: dict[str, float] = field(default_factory=dict)
    # Instagram's content publishing limit (quota_total per 24 h; "currently 50").
    ig_quota_total: int = 50
    oauth_lifetime_s: float = 7200.0  # X's OAuth 2.0 access tokens live two hours
    # X refresh tokens not used yet (single-use), and how many refreshes were asked for.
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshes: int = 0
    # When a list: every X answer (method, path, status, JSON body), for schema checks.
    exchanges: list[dict[str, Any]] | None = None
    # Who "logs in" at the platform's consent screen, per platform; "deny" refuses.
    oauth_login: dict[str, str] = field(default_factory=dict)
    # Facebook Login: the Pages each login manages ({"id", "name", "instagram": {...}}),
    # the user tokens' kinds, the Page tokens handed out and the Page behind each.
    oauth_pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    token_kinds: dict[str, str] = field(default_factory=dict)
    page_tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    page_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Media uploads in progress or done, by media id (X's chunked upload, Graph photos).
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How long the sandbox takes to "process" an uploaded video before it can be posted.
    media_processing_s: float = 0.0
    # Page tokens without the permission to read insights (Graph answers code 10).
    insights_denied: bool = False
    # Page tokens without pages_read_engagement: reading a post's reactions, comments or
    # shares is refused (code 10), as is an Instagram media's like and comment counts.
    engagement_denied: bool = False
    # X and Facebook refuse a post whose text repeats one of the account's; off, the
    # sandbox accepts it (a platform that does not), so at-most-once is the engine's own.
    duplicates_refused: bool = True
    # Headers on every Graph answer, e.g. X-Page-Usage or X-Business-Use-Case-Usage.
    graph_headers: dict[str, str] = field(default_factory=dict)
    # How many follow each account, by (platform, account id): 0 unless set.
    followers: dict[tuple[str, str], int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def accept(
        self,
        platform: str,
        account: str,
        external_id: str,
        text: str,
        link: str | None,
        *,
        received_at: datetime | None = None,
        in_reply_to: str | None = None,
        media: list[dict[str, Any]] | None = None,
        quote_of: str | None = None,
    ) -> Accepted:
        """Record a created post; `received_at` is when its request arrived."""
        record = Accepted(
            platform=platform,
            account=account,
            external_id=external_id,
            text=text,
            link=link,
            received_at=(received_at or datetime.now(UTC)).isoformat(timespec="microseconds"),
            text_sha256=hashlib.sha256(text.encode()).hexdigest(),
            in_reply_to=in_reply_to,
            media=media or [],
            quote_of=quote_of,
        )
        with self._lock:
            self._accepted.append(record)
            self._by_text.setdefault((platform, account, text), record)
            self._by_id[(platform, external_id)] = record
        return record

    def accepted(self, platform: str | None = None) -> list[Accepted]:
        with self._lock:
            return [a for a in self._accepted if platform in (None, a.platform)]

    def find(self, platform: str, account: str, text: str) -> Accepted | None:
        with self._lock:
            return self._by_text.get((platform, account, text))

    def get(self, platform: str, external_id: str) -> Accepted | None:
        with self._lock:
            return self._by_id.get((platform, external_id))

    def delete(self, platform: str, external_id: str) -> bool:
        """Take a post down; False if there is no such (live) post."""
        with self._lock:
            found = self._by_id.pop((platform, external_id), None)
            if found is None:
                return False
            gone = replace(found, deleted_at=datetime.now(UTC).isoformat(timespec="microseconds"))
            self._accepted[self._accepted.index(found)] = gone
            if self._by_text.get((platform, found.account, found.text)) is found:
                del self._by_text[(platform, found.account, found.text)]
            return True

    def set_metrics(self, platform: str, external_id: str, **counts: int) -> None:
        """Give a post engagement, in the platform's own counter names."""
        with self._lock:
            self._by_id[(platform, external_id)].metrics.update(counts)

    def over_limit(self, platform: str, account: str, now: datetime) -> float | None:
        """Seconds until the account may post again, if its write limit is spent."""
        if platform not in self.rate_limits:
            return None
        count, window = self.rate_limits[platform]
        with self._lock:
            recent = sorted(
                datetime.fromisoformat(a.received_at)
                for a in self._accepted
                if a.platform == platform
                and a.account == account
                and (now - datetime.fromisoformat(a.received_at)).total_seconds() < window
            )
            if len(recent) < count:
                return None
            self.throttled += 1
        return window - (now - recent[len(recent) - count]).total_seconds()

    def inject(self, platform: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(platform, []).append(fault)

    def take_fault(
        self, platform: str, on: str = "publish", account: str | None = None
    ) -> Fault | None:
        with self._lock:
            queue = self._faults.get(platform) or []
            fault = next((f for f in queue if f.on == on and f.account in (None, account)), None)
            if fault is None:
                return None
            if fault.after > 0:
                fault.after -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                queue.remove(fault)
            return fault

    def reset_faults(self) -> None:
        """Drop the faults not served yet (the ledger stays)."""
        with self._lock:
            self._faults.clear()

    def expire_token(self, token: str) -> None:
        with self._lock:
            self._expired_tokens.add(token)

    def token_expired(self, token: str) -> bool:
        with self._lock:
            expiry = self.token_expiry.get(token)
            return token in self._expired_tokens or (expiry is not None and time.time() >= expiry)

    def backdate(self, platform: str, external_id: str, days: float) -> None:
        """Make a post look `days` older (metrics that only recent posts have)."""
        with self._lock:
            found = self._by_id[(platform, external_id)]
            moved = datetime.fromisoformat(found.received_at) - timedelta(days=days)
            older = replace(found, received_at=moved.isoformat(timespec="microseconds"))
            self._accepted[self._accepted.index(found)] = older
            self._by_id[(platform, external_id)] = older
            if self._by_text.get((platform, found.account, found.text)) is found:
                self._by_text[(platform, found.account, found.text)] = older

    def delay(self, platform: str, account: str | None = None) -> None:
        """Hold the answer: `latency_s` by "platform:account", else by platform."""
        latency = self.latency_s.get(f"{platform}:{account}", self.latency_s.get(platform, 0.0))
        if latency > 0:
            time.sleep(latency)

    def reset(self) -> None:
        with self._lock:
            self._accepted.clear()
            self.uploads.clear()
            self.media_processing_s = 0.0
            self.insights_denied = False
            self.engagement_denied = False
            self.duplicates_refused = True
            self.graph_headers.clear()
            self._by_text.clear()
            self._by_id.clear()
            self._faults.clear()
            self._expired_tokens.clear()
            self.token_scopes.clear()
            self.token_users.clear()
            self.token_expiry.clear()
            self.oauth_lifetime_s = 7200.0
            self.refresh_tokens.clear()
            self.refreshes = 0
            self.exchanges = None
            self.ig_quota_total = 50
            self.oauth_login.clear()
            self.oauth_pages.clear()
            self.token_kinds.clear()
            self.page_tokens.clear()
            self.page_accounts.clear()
            self.latency_s.clear()
            self.rate_limits.clear()
            self.followers.clear()
            self.throttled = 0

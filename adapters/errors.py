"""The one error taxonomy of every adapter: what the platform's answer means for the post."""

from __future__ import annotations

from datetime import datetime

from adapters.redaction import redact


class AdapterError(Exception):
    """Base of the taxonomy. `reason` is the platform's own words, credentials removed
    (a transport error's message can carry a URL with a token in its query string)."""

    def __init__(self, reason: str) -> None:
        reason = redact(reason)
        super().__init__(reason)
        self.reason = reason


class RateLimited(AdapterError):
    """Throttled; nothing was created. Try again at `retry_at` (None: unknown)."""

    def __init__(self, reason: str, retry_at: datetime | None = None) -> None:
        super().__init__(reason)
        self.retry_at = retry_at


class AuthExpired(AdapterError):
    """The credentials no longer work; a person must reconnect the channel."""


class Rejected(AdapterError):
    """The platform refused this content for good; `duplicate` if it says it has it already."""

    def __init__(self, reason: str, *, duplicate: bool = False) -> None:
        super().__init__(reason)
        self.duplicate = duplicate


class Transient(AdapterError):
    """Proven not accepted (connection refused, 503 before acceptance): safe to retry."""


class OutcomeUnknown(AdapterError):
    """The request may have been accepted (timeout after sending, 5xx): never resend blindly."""


class LeaseLapsed(OutcomeUnknown):
    """The engine's claim on the publication lapsed (its worker was paused or stalled past
    the lease) before this request: it was not sent, since another worker may own the
    publication now. Unknown, so that reconciliation asks the platform before anything."""


class PartlyPublished(AdapterError):
    """A thread stopped after its parts `sent` went out; `cause` is what stopped it (and
    says what to do next). Publishing resumes after `sent`, never repeating a part."""

    def __init__(self, sent: tuple[str, ...], cause: AdapterError, *, total: int) -> None:
        super().__init__(f"{cause.reason} (after part {len(sent)} of {total} went out)")
        self.sent, self.cause = sent, cause

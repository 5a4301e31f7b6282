"""What the platform did, written down: published, failed, retried later, held, or
`unknown` for reconciliation to settle."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from adapters.errors import (
    AdapterError,
    AuthExpired,
    OutcomeUnknown,
    PartlyPublished,
    RateLimited,
    Rejected,
    Transient,
)
from adapters.types import PublishResult
from publisher.core.models import Channel, Publication
from publisher.core.states import Status
from publisher.deliver.claims import WORKER
from publisher.plan.channels import hold_channel, mark_needs_reauth
from publisher.record import events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for failures the platform proved harmless (refused, 503, throttled)."""

    max_attempts: int = 5
    base_s: float = 5.0
    cap_s: float = 900.0
    rate_limit_hold_s: float = 300.0  # when a platform throttles without saying until when

    def backoff(self, attempt: int) -> timedelta:
        delay = min(self.base_s * 2 ** max(attempt - 1, 0), self.cap_s)
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))


NEAR_LIMITS = "the platform reports the account near its usage limits"


@dataclass(frozen=True)
class Verdict:
    """What an outcome does to a publication, decided from its state alone (pure):
    `judge` decides, `record_outcome` writes it down."""

    status: Status | None  # the state to move to; None: stay (still unknown)
    error: str | None = None  # the publication's last_error (None clears it)
    note: str | None = None  # the audit log's reason for the move
    due_at: datetime | None = None  # the next attempt, or now for reconciliation
    refund_attempt: bool = False  # not the publication's fault: the try does not count
    hold_until: datetime | None = None  # post nothing more on the channel before
    hold_reason: str | None = None
    needs_reauth: bool = False  # the channel waits for its owner to connect it again
    part_ids: tuple[str, ...] | None = None  # parts known to be out, whatever happens next


def judge(
    outcome: PublishResult | AdapterError,
    *,
    status: Status,
    attempts: int,
    due_at: datetime,
    now: datetime,
    policy: RetryPolicy,
) -> Verdict:
    """The verdict on one try of a publication that is `status` (publishing, or unknown
    when its claim expired first) after `attempts` tries, due at `due_at`."""
    parts: tuple[str, ...] | None = None
    reason = ""
    if isinstance(outcome, PartlyPublished):
        # The parts that went out are facts whatever stopped the rest: a retry (or the
        # reconciler) goes on after them, so none is ever sent twice.
        parts, reason, outcome = tuple(outcome.sent), outcome.reason, outcome.cause
    elif isinstance(outcome, AdapterError):
        reason = outcome.reason
    uncertain = isinstance(outcome, OutcomeUnknown) or _duplicate_of_an_earlier_try(
        attempts, outcome
    )
    if status == Status.UNKNOWN and uncertain:
        return Verdict(None, part_ids=parts)  # reconciliation settles it
    if isinstance(outcome, PublishResult):
        near_limits = outcome.hold_until is not None and outcome.hold_until > now
        return Verdict(
            Status.PUBLISHED,
            hold_until=outcome.hold_until if near_limits else None,
            hold_reason=NEAR_LIMITS if near_limits else None,
            part_ids=tuple(outcome.part_ids) if len(outcome.part_ids) > 1 else None,
        )
    error = reason[:2000]
    if uncertain:  # reconciliation asks the platform before anything is resent
        return Verdict(Status.UNKNOWN, error, reason, due_at=now, part_ids=parts)
    if isinstance(outcome, Rejected):
        return Verdict(Status.FAILED, error, reason, part_ids=parts)
    if isinstance(outcome, AuthExpired):  # it waits for the channel, at its own time
        return _retry(error, reason, due_at, parts, refund_attempt=True, needs_reauth=True)
    if isinstance(outcome, RateLimited):
        hold = max(outcome.retry_at or now + timedelta(seconds=policy.rate_limit_hold_s), now)
        return _retry(
            error, reason, hold, parts, refund_attempt=True, hold_until=hold, hold_reason=reason
        )
    if isinstance(outcome, Transient) and attempts < policy.max_attempts:
        return _retry(error, reason, now + policy.backoff(attempts), parts)
    note = f"gave up after {attempts} attempts: {reason}"
    return Verdict(Status.FAILED, error, note, part_ids=parts)


def record_outcome(
    session: Session,
    pub: Publication,
    channel: Channel,
    outcome: PublishResult | AdapterError,
    *,
    now: datetime,
    policy: RetryPolicy,
    refreshed: bool = False,
) -> str:
    """Write down what the platform did. Platform failures are data, not exceptions.
    `refreshed`: the caller has just read `pub` again in this transaction."""
    if not refreshed:
        session.refresh(pub)
    if pub.status not in (Status.PUBLISHING, Status.UNKNOWN):
        log.error("publication %s is %s before its outcome was recorded", pub.id, pub.status)
        return pub.status
    verdict = judge(
        outcome,
        status=pub.status,
        attempts=pub.attempts,
        due_at=pub.due_at,
        now=now,
        policy=policy,
    )
    if verdict.part_ids is not None:
        pub.part_ids = list(verdict.part_ids)
    if verdict.status is None:
        return pub.status
    if isinstance(outcome, PublishResult):
        # The platform's id first, in the same transaction that leaves `publishing`.
        pub.external_id, pub.external_url = outcome.external_id, outcome.url
        pub.published_at = now
        pub.metrics_due_at = now  # its metrics' schedule starts (publisher/engage/metrics.py)
    if verdict.needs_reauth:
        mark_needs_reauth(session, channel, reason=verdict.error or "", now=now)
    if verdict.refund_attempt:
        pub.attempts -= 1
    if verdict.hold_until is not None:
        hold_channel(
            session, channel, until=verdict.hold_until, reason=verdict.hold_reason or "", now=now
        )
    pub.last_error = verdict.error
    if verdict.due_at is not None:
        pub.due_at = verdict.due_at
    events.move(session, pub, verdict.status, actor=WORKER, now=now, reason=verdict.note)
    return pub.status


def _duplicate_of_an_earlier_try(attempts: int, outcome: object) -> bool:
    """A duplicate-content refusal on a retry is evidence the earlier try landed."""
    return isinstance(outcome, Rejected) and outcome.duplicate and attempts > 1


def _retry(
    error: str, reason: str, when: datetime, parts: tuple[str, ...] | None, **effects
) -> Verdict:
    note = f"{reason}; next attempt at {when.isoformat()}"
    return Verdict(Status.SCHEDULED, error, note, due_at=when, part_ids=parts, **effects)

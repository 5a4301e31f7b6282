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
    if isinstance(outcome, PartlyPublished):
        # The parts that went out are facts whatever stopped the rest: a retry (or the
        # reconciler) goes on after them, so none is ever sent twice.
        pub.part_ids = list(outcome.sent)
        reason, outcome = outcome.reason, outcome.cause
    elif isinstance(outcome, AdapterError):
        reason = outcome.reason
    uncertain = isinstance(outcome, OutcomeUnknown) or _duplicate_of_an_earlier_try(pub, outcome)
    if pub.status == Status.UNKNOWN and uncertain:
        return pub.status  # the claim expired first; still unknown, reconciliation settles it
    if isinstance(outcome, PublishResult):
        # The platform's id first, in the same transaction that leaves `publishing`.
        pub.external_id, pub.external_url = outcome.external_id, outcome.url
        if len(outcome.part_ids) > 1:
            pub.part_ids = list(outcome.part_ids)
        if outcome.hold_until is not None and outcome.hold_until > now:
            hold_channel(
                session,
                channel,
                until=outcome.hold_until,
                reason="the platform reports the account near its usage limits",
                now=now,
            )
        pub.published_at, pub.last_error = now, None
        events.move(session, pub, Status.PUBLISHED, actor=WORKER, now=now)
        return pub.status
    pub.last_error = reason[:2000]
    if uncertain:
        pub.due_at = now  # reconciliation asks the platform before anything is resent
        events.move(session, pub, Status.UNKNOWN, actor=WORKER, now=now, reason=reason)
    elif isinstance(outcome, Rejected):
        events.move(session, pub, Status.FAILED, actor=WORKER, now=now, reason=reason)
    elif isinstance(outcome, AuthExpired):
        mark_needs_reauth(session, channel, reason=reason, now=now)
        pub.attempts -= 1  # not the publication's fault; it waits for the channel
        _retry_at(session, pub, pub.due_at, now=now, reason=reason)
    elif isinstance(outcome, RateLimited):
        pub.attempts -= 1
        hold = max(outcome.retry_at or now + timedelta(seconds=policy.rate_limit_hold_s), now)
        hold_channel(session, channel, until=hold, reason=reason, now=now)
        _retry_at(session, pub, hold, now=now, reason=reason)
    elif isinstance(outcome, Transient) and pub.attempts < policy.max_attempts:
        _retry_at(session, pub, now + policy.backoff(pub.attempts), now=now, reason=reason)
    else:
        events.move(
            session,
            pub,
            Status.FAILED,
            actor=WORKER,
            now=now,
            reason=f"gave up after {pub.attempts} attempts: {reason}",
        )
    return pub.status


def _duplicate_of_an_earlier_try(pub: Publication, outcome: AdapterError) -> bool:
    """A duplicate-content refusal on a retry is evidence the earlier try landed."""
    return isinstance(outcome, Rejected) and outcome.duplicate and pub.attempts > 1


def _retry_at(
    session: Session, pub: Publication, when: datetime, *, now: datetime, reason: str
) -> None:
    pub.due_at = when
    events.move(
        session,
        pub,
        Status.SCHEDULED,
        actor=WORKER,
        now=now,
        reason=f"{reason}; next attempt at {when.isoformat()}",
    )

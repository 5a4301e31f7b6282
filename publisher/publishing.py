"""The worker's side: claim one publication, send it, write down what happened."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, and_, bindparam, or_, select, update
from sqlmodel import Session

from adapters.base import (
    Adapter,
    AdapterError,
    AuthExpired,
    Content,
    LeaseLapsed,
    OutcomeUnknown,
    PartlyPublished,
    PublishRequest,
    PublishResult,
    RateLimited,
    Rejected,
    Transient,
)
from adapters.http import guard_requests
from publisher import events, procs, webhooks
from publisher.channels import hold_channel, mark_needs_reauth
from publisher.content import content_of, media_files, post_hash
from publisher.db import UTCDateTime
from publisher.dispatch import available_channels
from publisher.media import MediaStore
from publisher.models import Campaign, Channel, Post, Publication
from publisher.pauses import is_paused, under_active_pause
from publisher.states import CLAIMABLE, Status

log = logging.getLogger(__name__)

WORKER = "system:worker"
# A job that finds a `queued` publication due within this long waits for it (publish_many)
# rather than sending it back to `scheduled`, where the dispatcher would hand it over again
# at once: no bounce storm. Later ones go back.
HOLD_EARLY_S = 5.0
DEFAULT_LEASE_S = 20.0  # PUBLISHER_CLAIM_LEASE
AdapterFactory = Callable[[Channel], Adapter]


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


class Lease:
    """How long this worker may still send for one claimed publication, by the monotonic
    clock (which a paused process does not stop). The claim's `claimed_at` is renewed in
    the database while the send lasts, and the lease with it; the reaper expires a claim
    only LEASE + platform timeout + grace after its last renewal, while a sender stops a
    margin before the lease ends. So a worker paused past its lease (SIGSTOP, a frozen VM)
    sends nothing more once it resumes: its requests are refused before they go out
    (`LeaseLapsed`, recorded as unknown).

    The window left: a process paused after the check of a request and before its bytes
    leave, for longer than the platform timeout + grace, sends that one request late."""

    def __init__(self, seconds: float, label: str = "") -> None:
        self.seconds, self.label = seconds, label
        self.margin = min(2.0, seconds / 4)
        self.renew()

    def renew(self, since: float | None = None) -> None:
        """Counted from `since` (monotonic): when the renewal's UPDATE was sent, not when
        it came back, so a renewal slow to commit cannot outlast the reaper's reckoning."""
        start = time.monotonic() if since is None else since
        self.until = start + self.seconds - self.margin

    def check(self) -> None:
        if time.monotonic() >= self.until:
            log.warning("%s: nothing more sent, the claim's lease lapsed", self.label)
            raise LeaseLapsed(
                "the claim's lease lapsed before this request (the worker was paused or "
                "stalled): not sent; reconciliation asks the platform"
            )


@dataclass(frozen=True)
class Claimed:
    publication: Publication
    channel: Channel
    post: Post
    content: Content  # what goes out on this channel, media files resolved
    attempt: int = 0  # the claim's attempt number: a claim taken over has another
    lease: Lease = field(default_factory=lambda: Lease(DEFAULT_LEASE_S))


def claim(
    session: Session, publication_id: int, *, now: datetime, store: MediaStore | None = None
) -> Claimed | None:
    """`claim_many` for one publication: the claimed one, or None."""
    return next(iter(claim_many(session, [publication_id], now=now, store=store)), None)


def claim_many(
    session: Session,
    publication_ids: Sequence[int],
    *,
    now: datetime,
    store: MediaStore | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    held: list[tuple[int, datetime]] | None = None,
) -> list[Claimed]:
    """Compare-and-set `queued|scheduled -> publishing` for each publication that is due,
    approved for its current content, on an available channel and under no pause. A row
    another worker moved first is simply not updated. Returns the claimed ones in id order;
    the others are put where they can go on from. The caller commits."""
    previous: dict[int, Status] = {}
    for status in CLAIMABLE_ORDER:
        left = [pid for pid in publication_ids if pid not in previous]
        if left:
            me = procs.me()
            bound = {"ids": left, "now": now, "claimed_by": str(me) if me else None}
            moved = session.execute(_claim_statement(status), bound).scalars()
            previous.update((pid, status) for pid in moved)
    if missed := [pid for pid in publication_ids if pid not in previous]:
        found = session.execute(select(Publication).where(Publication.id.in_(missed))).scalars()
        for pub in found.all():
            _not_claimed(session, pub, now=now, held=held)
    if not previous:
        return []
    # The campaigns come along (their tracking shapes the links): the session's identity
    # map holds rows weakly, and a campaign read per post was read again for each.
    claimed = []
    for pub, post, channel, _campaign in _claimed_rows(session, list(previous)):
        events.record(
            session,
            workspace_id=pub.workspace_id,
            kind="publication.transition",
            actor=WORKER,
            now=now,
            post_id=pub.post_id,
            publication_id=pub.id,
            channel_id=pub.channel_id,
            from_status=previous[pub.id],
            to_status=Status.PUBLISHING,
            reason=f"attempt {pub.attempts}",
        )
        # Belt and braces: what we are about to send must be exactly what was approved.
        if post_hash(post) != pub.approved_hash:
            _back_to_review(session, pub, now=now)
        else:
            content = content_of(post, channel, media_files(session, post, store, channel))
            lease = Lease(lease_s, f"publication {pub.id}")
            claimed.append(Claimed(pub, channel, post, content, pub.attempts, lease))
    return claimed


def _claimed_rows(session: Session, ids: list[int]) -> list:
    return list(
        session.execute(
            select(Publication, Post, Channel, Campaign)
            .join(Post, Post.id == Publication.post_id)
            .join(Channel, Channel.id == Publication.channel_id)
            .outerjoin(Campaign, Campaign.id == Post.campaign_id)
            .where(Publication.id.in_(ids))
            .order_by(Publication.id)
            .execution_options(populate_existing=True)
        ).all()
    )


def warm_up(session: Session, *, now: datetime) -> None:
    """Run the statements of a claim and of recording its outcome once on nothing, so
    that their first compilation (15-20 ms on PostgreSQL) is not paid by the first
    publication of a burst. The caller rolls back."""
    claim_many(session, [0], now=now)  # there is no publication 0
    _claimed_rows(session, [])
    _reread(session, [])
    webhooks.subscribed(session, 0, "publication.transition", Status.PUBLISHED)
    events.warm_up(session)


# Most jobs find their publications `queued`; `scheduled` is tried second.
CLAIMABLE_ORDER = (Status.QUEUED, Status.SCHEDULED)


@functools.cache
def _claim_statement(previous: Status):
    """The claim's UPDATE, built once per status it moves from (building it each time was a
    fifth of a claim's time): the ids, the time and the claimer are bound when it runs."""
    now = bindparam("now", type_=UTCDateTime(timezone=True))
    current_hash = select(Post.content_hash).where(Post.id == Publication.post_id)
    return (
        update(Publication)
        .where(Publication.id.in_(bindparam("ids", expanding=True)))
        .where(Publication.status == previous)
        .where(Publication.due_at <= now)
        .where(Publication.approved_hash == current_hash.scalar_subquery())
        .where(Publication.channel_id.in_(available_channels(now)))
        .where(~under_active_pause())
        .values(
            status=Status.PUBLISHING,
            claimed_at=now,
            claimed_by=bindparam("claimed_by", type_=String()),
            updated_at=now,
            attempts=Publication.attempts + 1,
        )
        .returning(Publication.id)
        .execution_options(synchronize_session=False)
    )


def _back_to_review(session: Session, pub: Publication, *, now: datetime) -> None:
    pub.approved_hash = pub.approved_at = pub.approved_by = None
    events.move(
        session,
        pub,
        Status.IN_REVIEW,
        actor=WORKER,
        now=now,
        reason="content changed after approval",
    )


def _not_claimed(
    session: Session,
    pub: Publication,
    *,
    now: datetime,
    held: list[tuple[int, datetime]] | None = None,
) -> None:
    """Why a job found nothing to do, and put the publication where it can go on from.
    One handed over a little early (the dispatcher does, to have it claimed the moment it
    is due) is held by the job, unchecked: its claim, when due, checks everything."""
    if pub.status not in CLAIMABLE:
        return  # cancelled, edited, or another worker has it: nothing to do
    if (
        held is not None
        and pub.status == Status.QUEUED
        and now < pub.due_at <= now + timedelta(seconds=HOLD_EARLY_S)
    ):
        held.append((pub.id, pub.due_at))  # a little early: the job waits for it
        return
    post = session.get(Post, pub.post_id)
    if pub.approved_hash != post.content_hash:
        _back_to_review(session, pub, now=now)
    elif is_paused(session, pub):
        events.move(session, pub, Status.PAUSED, actor=WORKER, now=now, reason="under a pause")
    elif pub.status == Status.QUEUED:
        # Early (rescheduled) or its channel is held: the dispatcher hands it over when due.
        events.move(
            session, pub, Status.SCHEDULED, actor=WORKER, now=now, reason="not claimable yet"
        )


def publish_publication(
    session: Session,
    publication_id: int,
    *,
    adapter_for: AdapterFactory,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
) -> str:
    """Claim, call the platform, record the outcome; commits after the claim and at the end."""
    (status,) = publish_many(
        session, [publication_id], adapter_for=adapter_for, clock=clock, policy=policy
    )
    return status


def publish_many(
    session: Session,
    publication_ids: Sequence[int],
    *,
    adapter_for: AdapterFactory,
    clock: Callable[[], datetime],
    policy: RetryPolicy,
    senders: Executor | None = None,
    store: MediaStore | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> list[str]:
    """Claim the publications in one transaction, send them concurrently on `senders`, and
    record each outcome as soon as it is back (outcomes back together share a transaction).
    Only this thread touches the session. Returns each publication's status, in order; a
    publication that could not be claimed is "skipped"."""
    held: list[tuple[int, datetime]] = []
    with events.batched(session):
        claimed = claim_many(
            session, publication_ids, now=clock(), store=store, lease_s=lease_s, held=held
        )
    session.commit()
    statuses = dict.fromkeys(publication_ids, "skipped")
    if senders is None:
        while held:
            claimed += _claim_when_due(session, held, clock=clock, store=store, lease_s=lease_s)
        for one in claimed:
            outcome = _send(adapter_for, one)
            _reread(session, [one])
            statuses[one.publication.id] = _record(session, one, outcome, clock(), policy)
            session.commit()
        return list(statuses.values())
    pending = {senders.submit(_send, adapter_for, one): one for one in claimed}
    renewed = time.monotonic()
    while pending or held:
        # Handed over a little early: each is claimed the moment it is due, while the
        # sends already under way come back.
        timeout = lease_s / 4
        if held:
            first_due = min(due for _, due in held)
            timeout = min(timeout, max((first_due - clock()).total_seconds(), 0.0))
        if pending:
            done, _ = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
        else:
            done = set()
            time.sleep(timeout)
        if done:
            now = clock()
            _reread(session, [pending[future] for future in done])
            with events.batched(session):
                for future in done:
                    one = pending.pop(future)
                    outcome = future.result()
                    statuses[one.publication.id] = _record(session, one, outcome, now, policy)
            session.commit()
        if held and min(due for _, due in held) <= clock():
            for one in _claim_when_due(session, held, clock=clock, store=store, lease_s=lease_s):
                pending[senders.submit(_send, adapter_for, one)] = one
        if pending and time.monotonic() - renewed >= lease_s / 4:
            _renew(session, list(pending.values()), now=clock())
            renewed = time.monotonic()
    return list(statuses.values())


def _claim_when_due(
    session: Session,
    held: list[tuple[int, datetime]],
    *,
    clock: Callable[[], datetime],
    store: MediaStore | None,
    lease_s: float,
) -> list[Claimed]:
    """Wait for the first of the held publications to be due, then claim those that are
    (taken out of `held`), and commit."""
    time.sleep(max((min(due for _, due in held) - clock()).total_seconds(), 0.0))
    now = clock()
    ready = [pid for pid, due in held if due <= now]
    held[:] = [(pid, due) for pid, due in held if due > now]
    with events.batched(session):
        claimed = claim_many(session, ready, now=now, store=store, lease_s=lease_s)
    session.commit()
    return claimed


def _renew(session: Session, claims: list[Claimed], *, now: datetime) -> None:
    """The sends are still under way: renew their claims, and their leases with them. A
    claim another worker has taken over (another attempt) is not renewed: its lease runs
    out and its sender sends nothing more."""
    sent = time.monotonic()
    ours = or_(
        *(
            and_(Publication.id == c.publication.id, Publication.attempts == c.attempt)
            for c in claims
        )
    )
    renewed = set(
        session.execute(
            update(Publication)
            .where(ours, Publication.status == Status.PUBLISHING)
            .values(claimed_at=now)
            .returning(Publication.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    session.commit()
    for claim in claims:
        if claim.publication.id in renewed:
            claim.lease.renew(since=sent)


def _reread(session: Session, claims: list[Claimed]) -> None:
    """Read the claimed publications again, in one SELECT: their outcomes are recorded on
    them as they are now (another attempt may own one since)."""
    ids = [c.publication.id for c in claims]
    session.execute(
        select(Publication).where(Publication.id.in_(ids)).execution_options(populate_existing=True)
    ).all()


def _send(adapter_for: AdapterFactory, claimed: Claimed) -> PublishResult | AdapterError:
    """One call to the platform; every failure comes back as a value (no database here)."""
    pub, channel = claimed.publication, claimed.channel
    request = PublishRequest(
        content=claimed.content,
        reference=f"publication:{pub.id}",
        sent=tuple(pub.part_ids or ()),
    )
    try:
        adapter = adapter_for(channel)
        # Checked at submit; again here, in case the platform's limits moved since.
        problems = adapter.validate(request.content)
    except AdapterError as exc:
        return exc
    except ValueError as exc:  # credentials that no longer decrypt or parse
        return AuthExpired(f"stored credentials unusable: {exc}")
    except Exception as exc:  # an adapter bug before anything was sent
        log.exception("adapter %s failed before sending publication %s", channel.platform, pub.id)
        return Rejected(f"adapter error before sending: {type(exc).__name__}: {exc}")
    if problems:
        return Rejected(f"the content does not fit {channel.platform}: {'; '.join(problems)}")
    try:
        with guard_requests(claimed.lease.check):
            return adapter.publish(request)
    except AdapterError as exc:
        return exc
    except Exception as exc:  # an adapter bug: the request may have gone out
        log.exception("adapter %s failed on publication %s", channel.platform, pub.id)
        return OutcomeUnknown(f"adapter error: {type(exc).__name__}: {exc}")


def _record(
    session: Session,
    claimed: Claimed,
    outcome: PublishResult | AdapterError,
    now: datetime,
    policy: RetryPolicy,
) -> str:
    """Write down `outcome` for `claimed`, read again just before (`_reread`)."""
    pub = claimed.publication
    if claimed.attempt and pub.attempts != claimed.attempt:
        # The claim lapsed and another attempt owns the publication now: this outcome is
        # not its to write (said in the audit trail, for what went out).
        log.error("publication %s: outcome of a lapsed claim: %s", pub.id, outcome)
        events.record(
            session,
            workspace_id=pub.workspace_id,
            kind="publication.lapsed_outcome",
            actor=WORKER,
            now=now,
            post_id=pub.post_id,
            publication_id=pub.id,
            channel_id=pub.channel_id,
            reason=f"attempt {claimed.attempt} ended after its claim lapsed: "
            + (
                f"posted as {outcome.external_id}"
                if isinstance(outcome, PublishResult)
                else getattr(outcome, "reason", str(outcome))
            ),
        )
        return pub.status
    status = record_outcome(
        session, pub, claimed.channel, outcome, now=now, policy=policy, refreshed=True
    )
    log.info("publication %s: %s", claimed.publication.id, status)
    return status


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

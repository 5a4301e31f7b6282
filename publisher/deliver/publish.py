"""The worker's side: claim publications, send them concurrently, write down what
happened (`claims`, `outcomes`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlmodel import Session

from adapters.base import Adapter
from adapters.errors import AdapterError, AuthExpired, OutcomeUnknown, Rejected
from adapters.http import guard_requests
from adapters.types import PublishRequest, PublishResult
from publisher.core.models import Channel, Publication
from publisher.core.states import Status
from publisher.deliver import claims
from publisher.deliver.claims import DEFAULT_LEASE_S, WORKER, Claimed, claim_many
from publisher.deliver.outcomes import RetryPolicy, record_outcome
from publisher.plan.links import LinkMaker
from publisher.plan.media import MediaStore
from publisher.record import events

log = logging.getLogger(__name__)


AdapterFactory = Callable[[Channel], Adapter]


def warm_up(session: Session, *, now: datetime) -> None:
    """Run the statements of a claim and of recording its outcome once on nothing, so
    that their first compilation (15-20 ms on PostgreSQL) is not paid by the first
    publication of a burst. The caller rolls back."""
    claims.warm_up(session, now=now)
    _reread(session, [])


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
    links: LinkMaker | None = None,
) -> list[str]:
    """Claim the publications in one transaction, send them concurrently on `senders`, and
    record each outcome as soon as it is back (outcomes back together share a transaction).
    Only this thread touches the session. Returns each publication's status, in order; a
    publication that could not be claimed is "skipped"."""
    held: list[tuple[int, datetime]] = []
    with events.batched(session):
        claimed = claim_many(
            session,
            publication_ids,
            now=clock(),
            store=store,
            lease_s=lease_s,
            held=held,
            links=links,
        )
    session.commit()
    statuses = dict.fromkeys(publication_ids, "skipped")
    if senders is None:
        while held:
            claimed += _claim_when_due(
                session, held, clock=clock, store=store, lease_s=lease_s, links=links
            )
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
            ready = _claim_when_due(
                session, held, clock=clock, store=store, lease_s=lease_s, links=links
            )
            for one in ready:
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
    links: LinkMaker | None,
) -> list[Claimed]:
    """Wait for the first of the held publications to be due, then claim those that are
    (taken out of `held`), and commit."""
    time.sleep(max((min(due for _, due in held) - clock()).total_seconds(), 0.0))
    now = clock()
    ready = [pid for pid, due in held if due <= now]
    held[:] = [(pid, due) for pid, due in held if due > now]
    with events.batched(session):
        claimed = claim_many(session, ready, now=now, store=store, lease_s=lease_s, links=links)
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

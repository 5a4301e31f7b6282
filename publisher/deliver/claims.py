"""The claim: a worker takes a publication that is due, approved for its content, on an
available channel and under no pause (a compare-and-set by the shared clock), with the
lease that bounds its send."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, bindparam, select, update
from sqlmodel import Session

from adapters.errors import LeaseLapsed
from adapters.types import Content
from publisher.core import procs
from publisher.core.db import UTCDateTime
from publisher.core.models import Campaign, Channel, Post, Publication
from publisher.core.states import CLAIMABLE, Status
from publisher.deliver.dispatch import available_channels
from publisher.deliver.pauses import is_paused, under_active_pause
from publisher.plan import links as tracked_links
from publisher.plan.content import media_files, post_hash, resolve
from publisher.plan.links import LinkMaker
from publisher.plan.media import MediaStore
from publisher.record import events, webhooks

log = logging.getLogger(__name__)

WORKER = "system:worker"


# A job that finds a `queued` publication due within this long waits for it (publish_many)
# rather than sending it back to `scheduled`, where the dispatcher would hand it over again
# at once: no bounce storm. Later ones go back.
HOLD_EARLY_S = 5.0


DEFAULT_LEASE_S = 20.0  # PUBLISHER_CLAIM_LEASE


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
    session: Session,
    publication_id: int,
    *,
    now: datetime,
    store: MediaStore | None = None,
    links: LinkMaker | None = None,
) -> Claimed | None:
    """`claim_many` for one publication: the claimed one, or None."""
    claimed = claim_many(session, [publication_id], now=now, store=store, links=links)
    return next(iter(claimed), None)


def claim_many(
    session: Session,
    publication_ids: Sequence[int],
    *,
    now: datetime,
    store: MediaStore | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    held: list[tuple[int, datetime]] | None = None,
    links: LinkMaker | None = None,
) -> list[Claimed]:
    """Compare-and-set `queued|scheduled -> publishing` for each publication that is due,
    approved for its current content, on an available channel and under no pause. A row
    another worker moved first is simply not updated. Returns the claimed ones in id order;
    the others are put where they can go on from; the short links a claimed one sends are
    written (`links`: the engine's LinkMaker, None to send links as they are). The caller
    commits."""
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
            files = media_files(session, post, store, channel)
            sent = resolve(post, channel, files, publication_id=pub.id, links=links)
            tracked_links.record(
                session,
                sent.links,
                workspace_id=pub.workspace_id,
                publication_id=pub.id,
                campaign_id=post.campaign_id,
                now=now,
            )
            lease = Lease(lease_s, f"publication {pub.id}")
            claimed.append(Claimed(pub, channel, post, sent.content, pub.attempts, lease))
    return claimed


def _claimed_rows(session: Session, ids: list[int]) -> list:
    """The claimed publications with their posts and channels. The campaigns come along
    (their tracking shapes the links): the session's identity map holds rows weakly, and a
    campaign read per post was read again for each."""
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
    """Run the claim's statements once on nothing (`publish.warm_up`)."""
    claim_many(session, [0], now=now)  # there is no publication 0
    _claimed_rows(session, [])
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

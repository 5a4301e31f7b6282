"""Recurring posts (series): an RFC 5545 RRULE in a time zone, materialised as publications.

A series is one post on one channel repeated by a rule over local wall-clock times
("FREQ=WEEKLY;BYDAY=MO" from a Monday 09:00 Europe/Paris start stays at 09:00 Paris time
in summer and winter). Each occurrence becomes a publication `HORIZON` ahead (at most
`AHEAD_MAX` at a time), made by the API when the post is created and then by the
dispatcher's sweep, so every occurrence is an ordinary publication: reviewed, paused,
dispatched, published and reported like any other.

The committee decides on a series once: a decision on one occurrence applies to every
occurrence of the series waiting for review, and occurrences materialised later take the
series' approval if the content is still the approved revision (`Series.approved_hash`).
An edit sends the series back to review. Local times a zone skips or repeats follow
`publisher.core.localtime`; two local times that fall on the same instant make one publication.
The rules themselves (reading, checking) are `publisher.plan.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlmodel import Session

from publisher.core.localtime import format_local, parse_local, to_local, to_utc
from publisher.core.models import Post, Publication, Series
from publisher.core.states import Status
from publisher.plan.rules import parse
from publisher.record import events

HORIZON = timedelta(days=30)
AHEAD_MAX = 50
# An occurrence the materialiser reaches later than this after its time is skipped, not
# sent late (the dispatcher was down for longer): the same limit as a resume's "auto".
LATE = timedelta(minutes=15)
MATERIALISER = "system:recurrence"  # the audit log's actor name: kept as it was


def _instants(series: Series, occurrences) -> Iterator[tuple[datetime, datetime]]:
    """(local time, instant) of each occurrence, the first one at the instant the client
    sent (the second of a repeated time, if that is the one they chose). Ends where the
    calendar does: an occurrence past year 9999, here or in UTC, ends the series rather
    than breaking whatever reads it."""
    starts = parse_local(series.starts_local)
    sent = series.next_at if series.last_local is None else None
    iterator = iter(occurrences)
    while True:
        try:
            local = next(iterator)
            instant = to_utc(local, series.time_zone)
            if sent is not None and local == starts and to_local(sent, series.time_zone) == local:
                instant = sent
        except StopIteration:
            return
        except (OverflowError, ValueError):  # dateutil's year 10000, or a zone's offset
            return
        yield local, instant


def materialise(session: Session, series: Series, *, now: datetime) -> list[Publication]:
    """Make publications of the series' occurrences up to now + HORIZON (AHEAD_MAX at
    most), each in the state the series' review has reached. Ends the series when its
    rule has no occurrence left."""
    if series.ended_at is not None:
        return []
    post = session.get(Post, series.post_id)
    rule = parse(series.rule, parse_local(series.starts_local), series.time_zone)
    last = parse_local(series.last_local) if series.last_local else None
    occurrences = rule.xafter(last, inc=False) if last else iter(rule)
    horizon = now + HORIZON
    made: list[Publication] = []
    missed: list[str] = []
    for local, instant in _instants(series, occurrences):
        if instant > horizon or len(made) >= AHEAD_MAX:
            series.next_at = instant
            break
        series.last_local = format_local(local)
        if instant < now - LATE:
            missed.append(series.last_local)
            continue
        if _taken(session, series, instant):
            continue  # a skipped local time that lands on an instant already planned
        made.append(_occurrence(session, series, post, instant, now=now))
    else:
        series.ended_at = now
        series.next_at = None
    if missed:
        events.record(
            session,
            workspace_id=series.workspace_id,
            kind="series.occurrences_missed",
            actor=MATERIALISER,
            now=now,
            post_id=series.post_id,
            channel_id=series.channel_id,
            reason=f"series {series.id}: {len(missed)} occurrence(s) from {missed[0]} to "
            f"{missed[-1]} {series.time_zone} came due while nothing materialised them; skipped",
        )
    session.flush()
    return made


def start(session: Session, series: Series, *, now: datetime) -> list[Publication]:
    """Materialise a new series. Occurrences already past when it is created are not
    publications (a series planned from last Monday starts with the next one)."""
    rule = parse(series.rule, parse_local(series.starts_local), series.time_zone)
    past = rule.before(to_local(now, series.time_zone), inc=False)
    if past is not None:
        series.last_local = format_local(past)
    return materialise(session, series, now=now)


def extend_all(session: Session, *, now: datetime, limit: int = 100) -> int:
    """The dispatcher's sweep: top up every running series whose horizon moved on."""
    due = session.scalars(
        select(Series)
        .where(Series.ended_at.is_(None), Series.next_at <= now + HORIZON)
        .order_by(Series.next_at)
        .limit(limit)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return sum(len(materialise(session, series, now=now)) for series in due)


def upcoming(series: Series, *, count: int = 5) -> list[datetime]:
    """The next occurrences not yet materialised, as instants (for previews)."""
    if series.ended_at is not None:
        return []
    try:
        rule = parse(series.rule, parse_local(series.starts_local), series.time_zone)
    except ValueError:  # a stored rule this version no longer reads: nothing to preview
        return []
    last = parse_local(series.last_local) if series.last_local else None
    occurrences = rule.xafter(last, inc=False) if last else iter(rule)
    found = []
    for _, instant in _instants(series, occurrences):
        found.append(instant)
        if len(found) == count:
            break
    return found


def _taken(session: Session, series: Series, instant: datetime) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    Publication.post_id == series.post_id,
                    Publication.channel_id == series.channel_id,
                    Publication.scheduled_at == instant,
                )
            )
        )
    )


def _occurrence(
    session: Session, series: Series, post: Post, instant: datetime, *, now: datetime
) -> Publication:
    approved = series.approved_hash is not None and series.approved_hash == post.content_hash
    if approved:
        status = Status.SCHEDULED
    elif series.submitted_hash is not None and series.submitted_hash == post.content_hash:
        status = Status.IN_REVIEW
    else:
        status = Status.DRAFT
    pub = Publication(
        workspace_id=series.workspace_id,
        post_id=series.post_id,
        channel_id=series.channel_id,
        series_id=series.id,
        status=status,
        scheduled_at=instant,
        due_at=instant,
        time_zone=series.time_zone,
        approved_hash=series.approved_hash if approved else None,
        approved_at=series.approved_at if approved else None,
        approved_by=series.approved_by if approved else None,
        created_at=now,
        updated_at=now,
    )
    session.add(pub)
    session.flush()
    reason = f"occurrence of series {series.id}"
    if approved:
        reason += f", approved on revision {post.revision}"
    events.record(
        session,
        workspace_id=pub.workspace_id,
        kind="publication.materialised",
        actor=MATERIALISER,
        now=now,
        post_id=pub.post_id,
        publication_id=pub.id,
        to_status=status,
        reason=reason,
    )
    return pub

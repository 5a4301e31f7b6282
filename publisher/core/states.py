"""The publication state machine: the states and every allowed transition, in one table."""

from __future__ import annotations

from enum import StrEnum

from publisher.core.errors import InvalidTransition


class Status(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    APPROVED = "approved"  # only inside the approving transaction: on to scheduled (or paused)
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    UNKNOWN = "unknown"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DELETED = "deleted"  # taken down from the platform after it was published
    EXPIRED = "expired"  # not approved by its scheduled time: held, never published


S = Status

# A publication in `queued` has been handed to Redis; the database still owns it, so a
# sweep can hand it over again, and an edit or a cancel can still take it back.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.CANCELLED}),
    S.IN_REVIEW: frozenset(
        {S.APPROVED, S.CHANGES_REQUESTED, S.REJECTED, S.DRAFT, S.IN_REVIEW, S.CANCELLED, S.EXPIRED}
    ),
    S.CHANGES_REQUESTED: frozenset({S.DRAFT, S.IN_REVIEW, S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.APPROVED: frozenset({S.SCHEDULED, S.IN_REVIEW, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.QUEUED, S.PUBLISHING, S.PAUSED, S.IN_REVIEW, S.CANCELLED}),
    S.QUEUED: frozenset({S.PUBLISHING, S.SCHEDULED, S.PAUSED, S.IN_REVIEW, S.CANCELLED}),
    S.PUBLISHING: frozenset({S.PUBLISHED, S.FAILED, S.UNKNOWN, S.SCHEDULED, S.IN_REVIEW}),
    S.PUBLISHED: frozenset({S.DELETED}),
    S.FAILED: frozenset(),
    S.UNKNOWN: frozenset({S.PUBLISHED, S.FAILED, S.SCHEDULED}),
    S.PAUSED: frozenset({S.SCHEDULED, S.IN_REVIEW, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.DELETED: frozenset(),
    S.EXPIRED: frozenset(),
}

# States a worker may claim.
CLAIMABLE = frozenset({S.SCHEDULED, S.QUEUED})
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def can_transition(current: Status, target: Status) -> bool:
    """Whether `current -> target` is in the table."""
    return target in TRANSITIONS[current]


def check_transition(current: Status | str, target: Status | str) -> Status:
    """Return `target` as a Status, or raise InvalidTransition naming the current state."""
    cur, tgt = Status(current), Status(target)
    if not can_transition(cur, tgt):
        raise InvalidTransition(
            f"cannot go from {cur.value} to {tgt.value}", current=cur.value, target=tgt.value
        )
    return tgt

"""Webhook topics: the one list of what a subscription can ask for, and which audit events
publish under each. Pure; `webhooks` fans events out by it, `schemas` derives the
`Topic` literal a subscription's `topics` are checked against from it.
"""

from __future__ import annotations

_STATUS_TOPICS = {
    "in_review": "review.requested",
    "published": "publication.published",
    "failed": "publication.failed",
    "unknown": "publication.unknown",
    "expired": "review.expired",
}
_KIND_TOPICS = {
    "review.voted": "review.decided",
    "review.deadline_near": "review.deadline_near",
    "channel.needs_reauth": "channel.needs_reauth",
    "workspace.paused": "workspace.paused",
}
TOPICS = tuple(sorted({*_STATUS_TOPICS.values(), *_KIND_TOPICS.values()}))


def topic_of(kind: str, to_status: str | None) -> str | None:
    """The webhook topic an audit event is published under, if any."""
    if kind == "publication.transition":
        return _STATUS_TOPICS.get(to_status or "")
    return _KIND_TOPICS.get(kind)

"""What the bad-input tests share: a good post body to spoil, one field at a time."""

from __future__ import annotations

from tests.helpers import soon

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def post_body(world, **changes):
    body = {
        "campaign_id": world["campaign"]["id"],
        "text": "Hello",
        "targets": [
            {
                "channel_id": world["x"]["id"],
                "scheduled_at": soon(60).isoformat(),
                "time_zone": "Europe/Paris",
            }
        ],
    }
    body.update(changes)
    return body


def target(world, **changes):
    target = {
        "channel_id": world["x"]["id"],
        "scheduled_at": soon(60).isoformat(),
        "time_zone": "Europe/Paris",
    }
    target.update(changes)
    return [target]

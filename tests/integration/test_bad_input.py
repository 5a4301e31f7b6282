"""Bad input gets a clear 4xx problem document and changes nothing: post bodies."""

from __future__ import annotations

import pytest

from tests.helpers import rows_digest, soon
from tests.integration.bad_input import PROBLEM_FIELDS, post_body, target

CASES = {
    "malformed json": dict(raw=b'{"campaign_id": 1, "text": ', status=400),
    "not json": dict(
        raw="text=hello", content_type="application/x-www-form-urlencoded", status=415
    ),
    "json array": dict(raw=b"[1, 2]", status=422),
    "unknown field": dict(body=lambda w: post_body(w, colour="red"), status=422, loc=["colour"]),
    "wrong type": dict(
        body=lambda w: post_body(w, campaign_id="1"), status=422, loc=["campaign_id"]
    ),
    "empty text": dict(body=lambda w: post_body(w, text=""), status=422, loc=["text"]),
    "blank text": dict(body=lambda w: post_body(w, text="   \n"), status=422, loc=["text"]),
    "missing targets": dict(
        body=lambda w: {"campaign_id": w["campaign"]["id"], "text": "Hi"},
        status=422,
        loc=["targets"],
    ),
    "no targets": dict(body=lambda w: post_body(w, targets=[]), status=422, loc=["targets"]),
    "time without offset": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at="2030-12-03T09:00:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "not a time": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at="next monday")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "unknown time zone": dict(
        body=lambda w: post_body(w, targets=target(w, time_zone="Europe/Atlantis")),
        status=422,
        loc=["targets", 0, "time_zone"],
    ),
    "unknown channel": dict(
        body=lambda w: post_body(w, targets=target(w, channel_id=999_999)),
        status=422,
        loc=["targets", 0, "channel_id"],
    ),
    "same channel twice": dict(
        body=lambda w: post_body(w, targets=target(w) * 2), status=422, loc=["targets"]
    ),
    "unknown campaign": dict(
        body=lambda w: post_body(w, campaign_id=424242), status=422, loc=["campaign_id"]
    ),
    "bad link": dict(body=lambda w: post_body(w, link="not a url"), status=422, loc=["link"]),
    "rule finer than hourly": dict(
        body=lambda w: post_body(w, targets=target(w, recurrence="FREQ=MINUTELY")),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule that is not a rule": dict(
        body=lambda w: post_body(w, targets=target(w, recurrence="every monday")),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule that never matches": dict(
        body=lambda w: post_body(
            w, targets=target(w, recurrence="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule spent before now": dict(
        body=lambda w: post_body(
            w,
            targets=target(
                w, scheduled_at=soon(-3 * 86400).isoformat(), recurrence="FREQ=DAILY;COUNT=2"
            ),
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule starting years ago": dict(
        body=lambda w: post_body(
            w,
            targets=target(w, scheduled_at="2020-01-06T09:00:00+01:00", recurrence="FREQ=WEEKLY"),
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    # Issue 11 item 1: times no zone can show were saved, then broke every read.
    "the last day of 9999 in Kiritimati": dict(
        body=lambda w: post_body(
            w,
            targets=target(
                w, scheduled_at="9999-12-31T23:30:00+00:00", time_zone="Pacific/Kiritimati"
            ),
        ),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "past 9999 once in UTC": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at="9999-12-31T23:59:59-01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "before year 1 once in UTC": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at="0001-01-01T00:00:00+01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    # Issue 11 item 9: a one-off time already gone would only expire unseen.
    "ten minutes ago": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at=soon(-600).isoformat())),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "in 2020": dict(
        body=lambda w: post_body(w, targets=target(w, scheduled_at="2020-03-01T09:00:00+01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "queue and a time": dict(
        body=lambda w: post_body(w, targets=target(w, queue=True)),
        status=422,
        loc=["targets", 0],
    ),
    "neither a time nor the queue": dict(
        body=lambda w: post_body(w, targets=[{"channel_id": w["x"]["id"]}]),
        status=422,
        loc=["targets", 0],
    ),
    "queue on a channel without slots": dict(
        body=lambda w: post_body(w, targets=[{"channel_id": w["x"]["id"], "queue": True}]),
        status=422,
        loc=["targets", 0, "queue"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_post_bodies_are_refused_and_change_nothing(api, runtime, world, case):
    spec = CASES[case]
    before = rows_digest(runtime)
    body = spec["body"](world) if "body" in spec else None
    status, problem = api.call(
        "POST",
        "/v1/posts",
        body,
        raw=spec.get("raw"),
        content_type=spec.get("content_type", "application/json"),
    )
    assert status == spec["status"], problem
    assert set(problem) >= PROBLEM_FIELDS
    assert problem["status"] == status and problem["detail"]
    if "loc" in spec:
        assert spec["loc"] in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert rows_digest(runtime) == before

"""Recurring posts: RRULE occurrences in IANA zones, materialised ahead, reviewed as a series,
published as ordinary publications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from publisher.core.models import Event
from publisher.plan import series as occurrences
from tests.helpers import run_pipeline, soon
from tests.scenario import TEXT

PARIS = "Europe/Paris"


def _recurring(
    api, scenario, channel, *, starts: str, rule: str, zone: str = PARIS, text: str = TEXT
):
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": text,
        "targets": [
            {
                "channel_id": channel["id"],
                "scheduled_at": starts,
                "time_zone": zone,
                "recurrence": rule,
            }
        ],
    }
    return api.post("/v1/posts", body, expect=201)


def _extend(runtime, now: datetime) -> int:
    with runtime.session() as session:
        made = occurrences.extend_all(session, now=now)
        session.commit()
    return made


def _publications(api, post):
    return sorted(
        api.get(f"/v1/posts/{post['id']}")["publications"], key=lambda p: p["scheduled_at"]
    )


def test_weekly_at_nine_stays_at_nine_local_across_the_spring_change(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-03-15T09:00:00+01:00", rule="FREQ=WEEKLY;BYDAY=MO"
    )

    pubs = _publications(api, post)
    # Materialised 30 days ahead of "now": four Mondays, the last two in summer time.
    assert [p["scheduled_local"] for p in pubs] == [
        "2027-03-15T09:00:00+01:00",
        "2027-03-22T09:00:00+01:00",
        "2027-03-29T09:00:00+02:00",
        "2027-04-05T09:00:00+02:00",
    ]
    assert [datetime.fromisoformat(p["scheduled_at"]).hour for p in pubs] == [8, 8, 7, 7]
    assert {p["series_id"] for p in pubs} == {post["series"][0]["id"]}
    assert post["series"][0]["upcoming"][0] == "2027-04-12T07:00:00Z"

    # A week later the horizon has moved on: one more Monday, none made twice.
    assert _extend(runtime, datetime(2027, 3, 17, 12, 0, tzinfo=UTC)) == 1
    assert _extend(runtime, datetime(2027, 3, 17, 12, 0, tzinfo=UTC)) == 0
    assert _publications(api, post)[-1]["scheduled_local"] == "2027-04-12T09:00:00+02:00"


def test_daily_at_a_time_the_zone_skips_or_repeats_follows_the_documented_rule(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 3, 25, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-03-27T02:30:00+01:00", rule="FREQ=DAILY;COUNT=3"
    )
    assert [p["scheduled_at"] for p in _publications(api, post)] == [
        "2027-03-27T01:30:00Z",  # 02:30 CET
        "2027-03-28T01:30:00Z",  # 02:30 does not exist: read with +01:00, it is 03:30 CEST
        "2027-03-29T00:30:00Z",  # 02:30 CEST
    ]

    at(datetime(2027, 10, 29, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-10-30T02:30:00+02:00", rule="FREQ=DAILY;COUNT=3"
    )
    assert [p["scheduled_at"] for p in _publications(api, post)] == [
        "2027-10-30T00:30:00Z",  # 02:30 CEST
        "2027-10-31T00:30:00Z",  # 02:30 happens twice: the first, still CEST
        "2027-11-01T01:30:00Z",  # 02:30 CET
    ]


def test_a_series_keeps_the_wall_clock_time_it_was_given_across_the_changes(api, scenario, at):
    """Issue 11 item 6: the wall-clock time asked for on every date where it exists; the
    documented shift only on the day it does not exist; DTSTART is the instant sent."""
    (x, _) = scenario.channels()
    at(datetime(2027, 10, 30, 12, 0, tzinfo=UTC))
    # The second 02:30 of 2027-10-31 in Paris (+01:00, after the clocks went back).
    post = _recurring(
        api, scenario, x, starts="2027-10-31T02:30:00+01:00", rule="FREQ=WEEKLY;COUNT=3"
    )
    assert post["series"][0]["starts_local"] == "2027-10-31T02:30:00"
    assert [p["scheduled_at"] for p in _publications(api, post)] == [
        "2027-10-31T01:30:00Z",  # the instant sent, not the first 02:30 an hour before
        "2027-11-07T01:30:00Z",  # 02:30 CET
        "2027-11-14T01:30:00Z",
    ]

    at(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    # 02:30 on 2027-03-28 does not exist in Paris; asked for with the offset before the gap.
    post = _recurring(
        api, scenario, x, starts="2027-03-28T02:30:00+01:00", rule="FREQ=WEEKLY;COUNT=3"
    )
    assert post["series"][0]["starts_local"] == "2027-03-28T02:30:00"
    assert [p["scheduled_local"] for p in _publications(api, post)] == [
        "2027-03-28T03:30:00+02:00",  # the day it does not exist: the documented shift
        "2027-04-04T02:30:00+02:00",  # every later Sunday: 02:30, as asked
        "2027-04-11T02:30:00+02:00",
    ]

    # Planned further ahead than the horizon: nothing is made yet, and the preview of what
    # comes says the instant sent too (it listed the first 02:30, an hour early).
    at(datetime(2027, 8, 1, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-10-31T02:30:00+01:00", rule="FREQ=WEEKLY;COUNT=2"
    )
    assert _publications(api, post) == []
    assert post["series"][0]["upcoming"] == ["2027-10-31T01:30:00Z", "2027-11-07T01:30:00Z"]


def test_two_local_times_that_land_on_one_instant_make_one_publication(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))
    post = _recurring(
        api,
        scenario,
        x,
        starts="2027-03-27T02:30:00+01:00",
        rule="FREQ=DAILY;BYHOUR=2,3;BYMINUTE=30;COUNT=6",
    )
    times = [p["scheduled_at"] for p in _publications(api, post)]
    # On the 28th, 02:30 (skipped, read as 03:30 CEST) and 03:30 CEST are the same instant.
    assert times == [
        "2027-03-27T01:30:00Z",
        "2027-03-27T02:30:00Z",
        "2027-03-28T01:30:00Z",
        "2027-03-29T00:30:00Z",
        "2027-03-29T01:30:00Z",
    ]


def test_a_series_is_reviewed_once_and_later_occurrences_inherit_the_decision(
    api, scenario, runtime, at
):
    (x, _) = scenario.channels()
    now = at(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    post = _recurring(api, scenario, x, starts="2027-01-05T09:00:00+01:00", rule="FREQ=WEEKLY")
    assert {p["status"] for p in _publications(api, post)} == {"draft"}
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)

    queue = api.get("/v1/reviews", as_="reviewer")
    assert len(queue) == 1  # one item stands for the series
    (item,) = queue
    assert item["occurrences"] == 5 and item["series"]["rule"] == "FREQ=WEEKLY"
    api.post(
        f"/v1/reviews/{item['publication']['id']}/approve",
        {"comment": "fine every week", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    assert {p["status"] for p in _publications(api, post)} == {"scheduled"}

    assert _extend(runtime, now + timedelta(days=14)) == 2
    later = _publications(api, post)[-2:]
    assert {p["status"] for p in later} == {"scheduled"}
    with runtime.session() as session:
        made = session.exec(select(Event).where(Event.kind == "publication.materialised")).all()
        assert {e.to_status for e in made if e.publication_id == later[-1]["id"]} == {"scheduled"}

    # An edit takes the whole series back to review, and what is made next waits too.
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "New words"}, expect=200)
    assert {p["status"] for p in _publications(api, post)} == {"in_review"}
    assert _extend(runtime, now + timedelta(days=21)) == 1
    assert _publications(api, post)[-1]["status"] == "in_review"

    # Rejected: every waiting occurrence is rejected and the series makes no more.
    (item,) = api.get("/v1/reviews", as_="reviewer")
    api.post(
        f"/v1/reviews/{item['publication']['id']}/reject",
        {"comment": "not this", "revision": item["revision"]},
        as_="reviewer",
        expect=201,
    )
    assert {p["status"] for p in _publications(api, post)} == {"rejected"}
    assert _extend(runtime, now + timedelta(days=60)) == 0
    assert api.get(f"/v1/posts/{post['id']}")["series"][0]["ended_at"] is not None


def test_changes_requested_on_a_series_then_resubmitted(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    now = at(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    post = _recurring(api, scenario, x, starts="2027-01-05T09:00:00+01:00", rule="FREQ=WEEKLY")
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    (item,) = api.get("/v1/reviews", as_="reviewer")
    api.post(
        f"/v1/reviews/{item['publication']['id']}/request-changes",
        {"comment": "shorter", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    assert {p["status"] for p in _publications(api, post)} == {"changes_requested"}
    assert _extend(runtime, now + timedelta(days=7)) == 1
    assert _publications(api, post)[-1]["status"] == "draft"  # not submitted yet
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Short"}, expect=200)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    assert {p["status"] for p in _publications(api, post)} == {"in_review"}


def test_occurrences_publish_like_any_publication_each_once(api, scenario, runtime, sandbox, at):
    (x, _) = scenario.channels()
    first = soon(600)
    post = _recurring(api, scenario, x, starts=first.isoformat(), rule="FREQ=DAILY", zone="UTC")
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    (item,) = api.get("/v1/reviews", as_="reviewer")
    api.post(
        f"/v1/reviews/{item['publication']['id']}/approve",
        {"revision": 1},
        as_="reviewer",
        expect=201,
    )

    # Just after the first occurrence's time, by the engine's clock (a fixed time: a loaded
    # machine cannot make the approval come after it).
    now = at(first + timedelta(seconds=1))
    assert run_pipeline(runtime, now=now) == 1
    assert run_pipeline(runtime, now=now) == 0
    pubs = _publications(api, post)
    assert pubs[0]["status"] == "published" and pubs[0]["external_id"]
    assert {p["status"] for p in pubs[1:]} == {"scheduled"}
    assert [t.text for t in sandbox.ledger.accepted("x")] == [TEXT]


def test_occurrences_missed_while_nothing_ran_are_skipped_and_reported(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    post = _recurring(api, scenario, x, starts="2027-01-05T09:00:00+01:00", rule="FREQ=DAILY")
    made = len(_publications(api, post))
    # The engine was down for 40 days: the occurrences between are not sent late.
    later = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    assert _extend(runtime, later) > 0
    new = _publications(api, post)[made:]
    assert min(datetime.fromisoformat(p["scheduled_at"]) for p in new) > later
    with runtime.session() as session:
        (missed,) = session.exec(
            select(Event).where(Event.kind == "series.occurrences_missed")
        ).all()
    assert "skipped" in missed.reason


def test_cancelling_the_post_ends_the_series(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    now = at(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    post = _recurring(api, scenario, x, starts="2027-01-05T09:00:00+01:00", rule="FREQ=WEEKLY")
    api.post(f"/v1/posts/{post['id']}/cancel", expect=200)
    assert {p["status"] for p in _publications(api, post)} == {"cancelled"}
    assert _extend(runtime, now + timedelta(days=60)) == 0
    series = api.get(f"/v1/posts/{post['id']}")["series"][0]
    assert series["ended_at"] is not None and series["upcoming"] == []


def test_a_count_rule_ends_its_series(api, scenario, runtime, at):
    (x, _) = scenario.channels()
    now = at(datetime(2027, 1, 4, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-01-05T09:00:00+01:00", rule="FREQ=WEEKLY;COUNT=3"
    )
    assert len(_publications(api, post)) == 3
    assert api.get(f"/v1/posts/{post['id']}")["series"][0]["ended_at"] is not None
    assert _extend(runtime, now + timedelta(days=60)) == 0


def test_a_series_starting_in_the_past_begins_with_the_next_occurrence(api, scenario, at):
    (x, _) = scenario.channels()
    at(datetime(2027, 1, 20, 12, 0, tzinfo=UTC))
    post = _recurring(
        api, scenario, x, starts="2027-01-04T09:00:00+01:00", rule="FREQ=WEEKLY;BYDAY=MO"
    )
    assert _publications(api, post)[0]["scheduled_local"] == "2027-01-25T09:00:00+01:00"


def test_a_series_that_runs_into_the_end_of_the_calendar_breaks_no_read(api, scenario):
    """Issue 11 item 1: a daily series from 9999-12-29 12:00 at UTC-12 was saved, then
    every read of it (the post, the lists, the review queue) answered 500: its second
    occurrence is in the year 10000 in UTC. The series ends where the calendar does."""
    (x, _) = scenario.channels()
    post = _recurring(
        api, scenario, x, starts="9999-12-29T12:00:00-12:00", rule="FREQ=DAILY", zone="Etc/GMT+12"
    )
    (series,) = api.get(f"/v1/posts/{post['id']}")["series"]
    assert series["upcoming"] == ["9999-12-30T00:00:00Z", "9999-12-31T00:00:00Z"]
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    assert [p["id"] for p in api.get("/v1/posts")] == [post["id"]]
    assert api.get("/v1/reviews", as_="reviewer") == []  # nothing materialised this century
    api.get("/v1/publications")


def test_an_until_no_zone_can_show_is_a_422(api, scenario):
    (x, _) = scenario.channels()
    body = {
        "campaign_id": scenario.campaign()["id"],
        "text": TEXT,
        "targets": [
            {
                "channel_id": x["id"],
                "scheduled_at": "2027-01-04T09:00:00+14:00",
                "time_zone": "Pacific/Kiritimati",
                "recurrence": "FREQ=DAILY;UNTIL=99991231T230000Z",
            }
        ],
    }
    status, problem = api.call("POST", "/v1/posts", body)
    assert status == 422, problem
    # Issue 11 item 19: it said "the post refers to objects that do not exist".
    assert problem["detail"] == "the post cannot be planned as given"
    assert problem["errors"][0]["loc"] == ["targets", 0, "recurrence"]
    assert "UNTIL" in problem["errors"][0]["msg"]
    assert api.get("/v1/posts") == []

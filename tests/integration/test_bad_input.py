"""Bad input gets a clear 4xx problem document and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.core.models import Publication
from tests.helpers import rows_digest, set_clock, soon

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


@pytest.fixture
def world(api):
    x, fb = api.channels()
    campaign = api.campaign()
    return {"x": x, "fb": fb, "campaign": campaign}


def _post_body(world, **changes):
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


def _target(world, **changes):
    target = {
        "channel_id": world["x"]["id"],
        "scheduled_at": soon(60).isoformat(),
        "time_zone": "Europe/Paris",
    }
    target.update(changes)
    return [target]


CASES = {
    "malformed json": dict(raw=b'{"campaign_id": 1, "text": ', status=400),
    "not json": dict(
        raw="text=hello", content_type="application/x-www-form-urlencoded", status=415
    ),
    "json array": dict(raw=b"[1, 2]", status=422),
    "unknown field": dict(body=lambda w: _post_body(w, colour="red"), status=422, loc=["colour"]),
    "wrong type": dict(
        body=lambda w: _post_body(w, campaign_id="1"), status=422, loc=["campaign_id"]
    ),
    "empty text": dict(body=lambda w: _post_body(w, text=""), status=422, loc=["text"]),
    "blank text": dict(body=lambda w: _post_body(w, text="   \n"), status=422, loc=["text"]),
    "missing targets": dict(
        body=lambda w: {"campaign_id": w["campaign"]["id"], "text": "Hi"},
        status=422,
        loc=["targets"],
    ),
    "no targets": dict(body=lambda w: _post_body(w, targets=[]), status=422, loc=["targets"]),
    "time without offset": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at="2026-12-01T09:00:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "not a time": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at="next monday")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "unknown time zone": dict(
        body=lambda w: _post_body(w, targets=_target(w, time_zone="Europe/Atlantis")),
        status=422,
        loc=["targets", 0, "time_zone"],
    ),
    "unknown channel": dict(
        body=lambda w: _post_body(w, targets=_target(w, channel_id=999_999)),
        status=422,
        loc=["targets", 0, "channel_id"],
    ),
    "same channel twice": dict(
        body=lambda w: _post_body(w, targets=_target(w) * 2), status=422, loc=["targets"]
    ),
    "unknown campaign": dict(
        body=lambda w: _post_body(w, campaign_id=424242), status=422, loc=["campaign_id"]
    ),
    "bad link": dict(body=lambda w: _post_body(w, link="not a url"), status=422, loc=["link"]),
    "rule finer than hourly": dict(
        body=lambda w: _post_body(w, targets=_target(w, recurrence="FREQ=MINUTELY")),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule that is not a rule": dict(
        body=lambda w: _post_body(w, targets=_target(w, recurrence="every monday")),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule that never matches": dict(
        body=lambda w: _post_body(
            w, targets=_target(w, recurrence="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule spent before now": dict(
        body=lambda w: _post_body(
            w,
            targets=_target(
                w, scheduled_at=soon(-3 * 86400).isoformat(), recurrence="FREQ=DAILY;COUNT=2"
            ),
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    "rule starting years ago": dict(
        body=lambda w: _post_body(
            w,
            targets=_target(w, scheduled_at="2020-01-06T09:00:00+01:00", recurrence="FREQ=WEEKLY"),
        ),
        status=422,
        loc=["targets", 0, "recurrence"],
    ),
    # Issue 11 item 1: times no zone can show were saved, then broke every read.
    "the last day of 9999 in Kiritimati": dict(
        body=lambda w: _post_body(
            w,
            targets=_target(
                w, scheduled_at="9999-12-31T23:30:00+00:00", time_zone="Pacific/Kiritimati"
            ),
        ),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "past 9999 once in UTC": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at="9999-12-31T23:59:59-01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "before year 1 once in UTC": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at="0001-01-01T00:00:00+01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    # Issue 11 item 9: a one-off time already gone would only expire unseen.
    "ten minutes ago": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at=soon(-600).isoformat())),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "in 2020": dict(
        body=lambda w: _post_body(w, targets=_target(w, scheduled_at="2020-03-01T09:00:00+01:00")),
        status=422,
        loc=["targets", 0, "scheduled_at"],
    ),
    "queue and a time": dict(
        body=lambda w: _post_body(w, targets=_target(w, queue=True)),
        status=422,
        loc=["targets", 0],
    ),
    "neither a time nor the queue": dict(
        body=lambda w: _post_body(w, targets=[{"channel_id": w["x"]["id"]}]),
        status=422,
        loc=["targets", 0],
    ),
    "queue on a channel without slots": dict(
        body=lambda w: _post_body(w, targets=[{"channel_id": w["x"]["id"], "queue": True}]),
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


OTHER_CASES = [
    (
        "POST",
        "/v1/channels",
        {"platform": "myspace", "name": "n", "external_account_id": "1", "credentials": {}},
        422,
        ["platform"],
    ),
    (
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "n", "external_account_id": "1", "credentials": {"token": "t"}},
        422,
        ["credentials", "token"],
    ),
    (
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "n",
            "external_account_id": "1",
            "credentials": {"access_token": "a", "consumer_key": "k"},
        },
        422,
        ["credentials"],
    ),
    (
        "POST",
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "",
            "external_account_id": "1",
            "credentials": {"page_access_token": "t"},
        },
        422,
        ["name"],
    ),
    ("POST", "/v1/campaigns", {"name": "c", "objective": "fame"}, 422, ["objective"]),
    (
        "POST",
        "/v1/campaigns",
        {
            "name": "c",
            "objective": "loyalty",
            "starts_at": "2026-12-02T00:00:00Z",
            "ends_at": "2026-12-01T00:00:00Z",
        },
        422,
        [],
    ),
    (
        "POST",
        "/v1/campaigns",
        {"name": "c", "objective": "loyalty", "goals": {"signups": -1}},
        422,
        ["goals", "signups"],
    ),
    ("GET", "/v1/publications?status=sent", None, 422, ["query", "status"]),
    ("GET", "/v1/publications?limit=abc", None, 422, ["query", "limit"]),
    ("GET", "/v1/publications?colour=red", None, 422, ["query", "colour"]),
    ("GET", "/v1/posts/abc", None, 404, None),
    ("DELETE", "/v1/posts", None, 405, None),
    ("PATCH", "/v1/posts/1", {}, 422, []),
]


@pytest.mark.parametrize("method,path,body,status,loc", OTHER_CASES)
def test_other_bad_inputs(api, runtime, world, method, path, body, status, loc):
    before = rows_digest(runtime)
    got, problem = api.call(method, path, body)
    assert got == status, problem
    assert set(problem) >= PROBLEM_FIELDS
    if loc:
        assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert rows_digest(runtime) == before


def test_review_decisions_need_a_comment_to_refuse(api, runtime, world):
    post = api.post("/v1/posts", _post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    before = rows_digest(runtime)
    for action in ("reject", "request-changes"):
        body = {"revision": 1}
        status, problem = api.call("POST", f"/v1/reviews/{pub_id}/{action}", body, as_="reviewer")
        assert status == 422 and problem["errors"][0]["loc"] == ["comment"]
    assert rows_digest(runtime) == before


def test_submit_refuses_text_over_the_x_limit_with_a_readable_reason(api, runtime, world):
    post = api.post("/v1/posts", _post_body(world, text="🎉" * 141), expect=201)
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit")
    assert status == 422
    assert "282 of 280 weighted characters on X" in problem["errors"][0]["msg"]
    assert rows_digest(runtime) == before


def test_missing_or_wrong_key_is_401(api):
    status, problem = api.call("GET", "/v1/channels", as_=None)
    assert status == 401 and problem["title"] == "Unauthenticated"
    api.keys.keys["forged"] = "pub_deadbeef_" + "x" * 43
    assert api.call("GET", "/v1/channels", as_="forged")[0] == 401


EDGE_CASES = [
    ("POST", "/v1/posts", lambda w: _post_body(w, campaign_id=2**40), 422),
    ("POST", "/v1/posts", lambda w: _post_body(w, targets=_target(w, channel_id=2**63)), 422),
    ("POST", "/v1/posts", lambda w: _post_body(w, text="nul\x00byte"), 422),
    ("POST", "/v1/posts", lambda w: _post_body(w, link="https://e.org/" + "a" * 3000), 422),
    ("POST", "/v1/campaigns", lambda w: {"name": "n\x00", "objective": "loyalty"}, 422),
    ("POST", "/v1/campaigns", lambda w: {"name": "n" * 201, "objective": "loyalty"}, 422),
    ("GET", "/v1/posts/99999999999999999999", None, 404),
    ("GET", "/v1/publications?campaign_id=99999999999999", None, 422),
    ("GET", "/v1/publications?after_id=-1", None, 422),
    ("POST", "/v1/posts", lambda w: {"text": "x" * (2 * 1024 * 1024)}, 413),
]


@pytest.mark.parametrize("method,path,body,status", EDGE_CASES)
def test_values_beyond_the_databases_limits_are_4xx(
    api, runtime, world, method, path, body, status
):
    before = rows_digest(runtime)
    got, problem = api.call(method, path, body(world) if body else None)
    assert got == status, problem
    assert problem["status"] == status
    assert rows_digest(runtime) == before


@pytest.mark.parametrize(
    "action,body",
    [
        ("approve", None),
        ("approve", {}),
        ("approve", {"comment": "fine"}),
        ("request-changes", {"comment": "shorter"}),
        ("reject", {"comment": "no"}),
    ],
)
def test_a_vote_must_name_the_revision_it_was_given_on(api, runtime, world, action, body):
    """Issue 11 item 2: a vote without `revision` counted for whatever revision was current,
    text nobody had read. It is a 422 and changes nothing; with it, the vote counts."""
    post = api.post("/v1/posts", _post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/reviews/{pub_id}/{action}", body, as_="reviewer")
    assert status == 422 and ["revision"] in [e["loc"] for e in problem["errors"]]
    assert rows_digest(runtime) == before
    assert api.publication(pub_id)["status"] == "in_review"
    named = {**(body or {}), "revision": 1}
    assert api.call("POST", f"/v1/reviews/{pub_id}/{action}", named, as_="reviewer")[0] == 201


@pytest.mark.parametrize(
    "body,loc",
    [
        (
            {"time_zone": "Europe/Paris", "slots": [{"day": "funday", "time": "09:00"}]},
            ["slots", 0, "day"],
        ),
        (
            {"time_zone": "Europe/Paris", "slots": [{"day": "monday", "time": "24:00"}]},
            ["slots", 0, "time"],
        ),
        (
            {"time_zone": "Europe/Paris", "slots": [{"day": "monday", "time": "9:00"}]},
            ["slots", 0, "time"],
        ),
        ({"time_zone": "Mars/Olympus", "slots": []}, ["time_zone"]),
        ({"slots": []}, ["time_zone"]),
    ],
)
def test_bad_posting_slots_are_refused_and_change_nothing(api, runtime, world, body, loc):
    before = rows_digest(runtime)
    path = f"/v1/channels/{world['x']['id']}/slots"
    status, problem = api.call("PUT", path, body)
    assert status == 422, problem
    assert loc in [e["loc"] for e in problem["errors"]], problem["errors"]
    assert rows_digest(runtime) == before
    assert api.get(path)["slots"] == []


def test_a_post_whose_time_passed_is_refused_at_submit(api, runtime, world):
    post = api.post("/v1/posts", _post_body(world), expect=201)  # due in a minute
    later = datetime.now(UTC) + timedelta(minutes=10)
    set_clock(runtime, later)
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    pub = post["publications"][0]["id"]
    assert status == 422 and problem["errors"][0]["loc"] == ["publications", pub, "scheduled_at"]
    assert "in the past" in problem["errors"][0]["msg"]
    assert rows_digest(runtime) == before
    assert api.publication(pub)["status"] == "draft"


def test_a_stored_time_no_zone_can_show_breaks_no_read(api, runtime, world):
    """Rows saved before times were bounded still read (in UTC), in every list."""
    post = api.post("/v1/posts", _post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    with runtime.session() as session:
        pub = session.get(Publication, pub_id)
        pub.scheduled_at = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
        pub.time_zone = "Pacific/Kiritimati"
        session.commit()
    read = api.get(f"/v1/publications/{pub_id}")
    assert read["scheduled_local"].startswith("9999-12-31T23:30:00")
    for path in ("/v1/posts", "/v1/publications", f"/v1/posts/{post['id']}"):
        assert api.call("GET", path)[0] == 200, path
    assert api.call("GET", "/v1/reviews", as_="reviewer")[0] == 200


@pytest.mark.parametrize(
    "query,field",
    [("since=2026-01-01T00:00:00", "since"), ("until=0.5", "until"), ("since=1700000000", "since")],
)
def test_audit_times_need_a_date_time_with_its_offset(api, query, field):
    status, problem = api.call("GET", f"/v1/audit?{query}", as_="admin")
    assert status == 422 and problem["errors"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("PUT", "/v1/review-policy", {}),
        ("PUT", "/v1/review-policy", None),
        ("PATCH", "/v1/channels/{x}", {}),
        ("PATCH", "/v1/channels/{x}", None),
    ],
)
def test_an_empty_replacement_is_refused_not_applied(api, runtime, world, method, path, body):
    """Issue 11 item 15: PUT /v1/review-policy with {} or no body reset the committee to
    one approval; an empty PATCH of a channel did nothing and said 200."""
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    before = rows_digest(runtime)
    policy = api.get("/v1/review-policy", as_="admin")
    status, problem = api.call(method, path.format(x=world["x"]["id"]), body, as_="admin")
    assert status == 422 and problem["errors"], problem
    assert rows_digest(runtime) == before
    assert api.get("/v1/review-policy", as_="admin") == policy


@pytest.mark.parametrize(
    "raw,status",
    [
        (b"[" * 1000 + b"]" * 1000, 400),  # deeper than the validator goes
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400),  # deeper than Python's parser
        (b'{"campaign_id": 1, "text": "\\ud800", "targets": []}', 400),  # a lone surrogate
    ],
    ids=["1000-arrays", "50000-objects", "lone-surrogate"],
)
def test_json_that_is_not_json_is_a_400_everywhere(api, runtime, world, raw, status):
    """Issue 11 items 4 and 20: nesting gave a 500 (RecursionError), a lone surrogate a 422."""
    before = rows_digest(runtime)
    for method, path, role in (
        ("POST", "/v1/posts", "editor"),
        ("POST", "/v1/campaigns", "editor"),
        ("PUT", "/v1/review-policy", "admin"),
        ("POST", "/v1/webhooks", "admin"),
    ):
        got, problem = api.call(method, path, raw=raw, as_=role)
        assert got == status, (path, problem)
        assert "not valid JSON" in problem["detail"]
    assert rows_digest(runtime) == before


@pytest.mark.parametrize(
    "method,path,body,loc",
    [
        ("POST", "/v1/reviews/{pub}/approve", {"revision": 1, "comment": "ok\u0000"}, ["comment"]),
        (
            "POST",
            "/v1/webhooks",
            {"url": "https://h.example/x", "topics": ["review.requested"], "description": "\0"},
            ["description"],
        ),
        (
            "POST",
            "/v1/campaigns",
            {"name": "c", "objective": "loyalty", "tracking": {"utm_source": "a\u0000b"}},
            ["tracking", "utm_source"],
        ),
        (
            "PUT",
            "/v1/review-policy",
            {"approvals": 1, "requirements": [{"name": "le\u0000gal", "role": "admin"}]},
            ["requirements", 0, "name"],
        ),
    ],
    ids=["vote-comment", "webhook-description", "tracking-value", "requirement-name"],
)
def test_nul_is_refused_in_every_field(api, runtime, world, method, path, body, loc):
    post = api.post("/v1/posts", _post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    before = rows_digest(runtime)
    role = "reviewer" if "reviews" in path else "admin"
    status, problem = api.call(
        method, path.format(pub=post["publications"][0]["id"]), body, as_=role
    )
    assert status == 422 and problem["errors"][0]["loc"] == loc
    assert rows_digest(runtime) == before


def test_a_json_body_is_capped_at_1_mb_on_the_media_endpoint_too(api, runtime):
    """Issue 11 item 17: the upload limit (512 MB) applied to JSON imports as well."""
    before = rows_digest(runtime)
    raw = b'{"url": "https://a.example/' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, problem = api.call("POST", "/v1/media", raw=raw)
    assert status == 413 and problem["status"] == 413
    assert rows_digest(runtime) == before

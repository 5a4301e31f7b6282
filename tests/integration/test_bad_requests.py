"""Bad input gets a clear 4xx problem document and changes nothing: every other
endpoint, keys, values beyond the database's limits, broken JSON, NUL anywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.core.models import Publication
from tests.helpers import rows_digest, set_clock
from tests.integration.bad_input import PROBLEM_FIELDS, post_body, target

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
    post = api.post("/v1/posts", post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    before = rows_digest(runtime)
    for action in ("reject", "request-changes"):
        body = {"revision": 1}
        status, problem = api.call("POST", f"/v1/reviews/{pub_id}/{action}", body, as_="reviewer")
        assert status == 422 and problem["errors"][0]["loc"] == ["comment"]
    assert rows_digest(runtime) == before


def test_submit_refuses_text_over_the_x_limit_with_a_readable_reason(api, runtime, world):
    post = api.post("/v1/posts", post_body(world, text="🎉" * 141), expect=201)
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
    ("POST", "/v1/posts", lambda w: post_body(w, campaign_id=2**40), 422),
    ("POST", "/v1/posts", lambda w: post_body(w, targets=target(w, channel_id=2**63)), 422),
    ("POST", "/v1/posts", lambda w: post_body(w, text="nul\x00byte"), 422),
    ("POST", "/v1/posts", lambda w: post_body(w, link="https://e.org/" + "a" * 3000), 422),
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
def test_a_vote_must_name_the_revision_it_was_given_on(api, scenario, runtime, world, action, body):
    """Issue 11 item 2: a vote without `revision` counted for whatever revision was current,
    text nobody had read. It is a 422 and changes nothing; with it, the vote counts."""
    post = api.post("/v1/posts", post_body(world), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/reviews/{pub_id}/{action}", body, as_="reviewer")
    assert status == 422 and ["revision"] in [e["loc"] for e in problem["errors"]]
    assert rows_digest(runtime) == before
    assert scenario.publication(pub_id)["status"] == "in_review"
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


def test_a_post_whose_time_passed_is_refused_at_submit(api, scenario, runtime, world):
    post = api.post("/v1/posts", post_body(world), expect=201)  # due in a minute
    later = datetime.now(UTC) + timedelta(minutes=10)
    set_clock(runtime, later)
    before = rows_digest(runtime)
    status, problem = api.call("POST", f"/v1/posts/{post['id']}/submit", {})
    pub = post["publications"][0]["id"]
    assert status == 422 and problem["errors"][0]["loc"] == ["publications", pub, "scheduled_at"]
    assert "in the past" in problem["errors"][0]["msg"]
    assert rows_digest(runtime) == before
    assert scenario.publication(pub)["status"] == "draft"


def test_a_stored_time_no_zone_can_show_breaks_no_read(api, runtime, world):
    """Rows saved before times were bounded still read (in UTC), in every list."""
    post = api.post("/v1/posts", post_body(world), expect=201)
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
    post = api.post("/v1/posts", post_body(world), expect=201)
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

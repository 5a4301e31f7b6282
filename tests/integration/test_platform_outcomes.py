"""What each platform answer does to a publication, through tweepy / facebook-sdk and the
sandbox; judged from the sandbox's ledger and the publication's recorded state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.sandbox import Fault
from tests.helpers import run_pipeline, set_clock, soon


@pytest.fixture
def approved(api, scenario):
    """One approved X publication and one approved Facebook publication, due now."""
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon())
    scenario.submit_and_approve(post)
    pubs = {p["channel_id"]: p["id"] for p in post["publications"]}
    return {"x": pubs[x["id"]], "facebook": pubs[fb["id"]], "x_channel": x, "fb_channel": fb}


def _later(runtime, seconds: float) -> datetime:
    """Move the engine's clock forward (the claim and the dispatcher both read it)."""
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    set_clock(runtime, when)
    return when


def test_429_holds_until_the_reset_and_sends_nothing_before(
    api, scenario, runtime, sandbox, approved
):
    sandbox.ledger.inject("x", Fault(status=429, reset_in_s=120))
    run_pipeline(runtime)
    pub = scenario.publication(approved["x"])
    assert pub["status"] == "scheduled" and "429" in pub["last_error"]
    assert [a.platform for a in sandbox.ledger.accepted()] == ["facebook"]

    run_pipeline(runtime, now=datetime.now(UTC) + timedelta(seconds=100))  # before the reset
    assert len(sandbox.ledger.accepted("x")) == 0

    when = _later(runtime, 125)
    run_pipeline(runtime, now=when)
    assert scenario.publication(approved["x"])["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_graph_throttling_code_holds_the_publication(api, scenario, runtime, sandbox, approved):
    sandbox.ledger.inject("facebook", Fault(status=400, code=32))
    run_pipeline(runtime)
    pub = scenario.publication(approved["facebook"])
    assert pub["status"] == "scheduled" and "code 32" in pub["last_error"]
    assert sandbox.ledger.accepted("facebook") == []


@pytest.mark.parametrize("platform,token_key", [("x", "x_channel"), ("facebook", "fb_channel")])
def test_expired_token_holds_the_channel_until_it_is_reconnected(
    api, scenario, runtime, sandbox, approved, platform, token_key
):
    token = "x-token-acme" if platform == "x" else "fb-token-acme"
    sandbox.ledger.expire_token(token)
    run_pipeline(runtime)
    channel = api.get(f"/v1/channels/{approved[token_key]['id']}")
    assert channel["status"] == "needs_reauth"
    pub = scenario.publication(approved[platform])
    assert pub["status"] == "scheduled" and pub["attempts"] == 0
    run_pipeline(runtime)  # held: the dispatcher skips channels that need re-auth
    assert sandbox.ledger.accepted(platform) == []
    history = api.get(f"/v1/publications/{approved[platform]}/history")
    assert history[-1]["to_status"] == "scheduled"

    creds = {"access_token": "fresh-x"} if platform == "x" else {"page_access_token": "fresh-fb"}
    api.call(
        "PATCH", f"/v1/channels/{approved[token_key]['id']}", {"credentials": creds}, expect=200
    )
    run_pipeline(runtime)
    assert scenario.publication(approved[platform])["status"] == "published"
    assert len(sandbox.ledger.accepted(platform)) == 1


def test_503_is_retried_with_backoff_then_published(api, scenario, runtime, sandbox, approved):
    sandbox.ledger.inject("x", Fault(status=503))
    run_pipeline(runtime)
    pub = scenario.publication(approved["x"])
    assert pub["status"] == "scheduled" and pub["attempts"] == 1
    assert sandbox.ledger.accepted("x") == []
    when = _later(runtime, 60)
    run_pipeline(runtime, now=when)
    assert scenario.publication(approved["x"])["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_retries_are_bounded_then_failed_with_the_platforms_reason(
    api, scenario, runtime, sandbox, approved
):
    sandbox.ledger.inject("x", Fault(status=503, times=runtime.policy.max_attempts))
    for hop in range(runtime.policy.max_attempts):
        when = _later(runtime, 1000 * (hop + 1))
        run_pipeline(runtime, now=when)
    pub = scenario.publication(approved["x"])
    assert pub["status"] == "failed"
    assert pub["attempts"] == runtime.policy.max_attempts
    assert "503" in pub["last_error"]
    assert sandbox.ledger.accepted("x") == []


def test_500_after_the_platform_created_the_post_is_unknown_and_not_resent(
    api, scenario, runtime, sandbox, approved
):
    sandbox.ledger.inject("x", Fault(status=500, accept=True))
    run_pipeline(runtime)
    assert scenario.publication(approved["x"])["status"] == "unknown"
    runtime.queue.hand_over([approved["x"]])
    run_pipeline(runtime, now=_later(runtime, 3600))
    assert len(sandbox.ledger.accepted("x")) == 1


def test_timeout_after_accept_is_unknown_and_not_resent(api, scenario, runtime, sandbox, approved):
    sandbox.ledger.inject(
        "facebook", Fault(accept=True, hold_s=runtime.settings.platform_timeout_s + 0.5)
    )
    run_pipeline(runtime)
    pub = scenario.publication(approved["facebook"])
    assert pub["status"] == "unknown" and "ReadTimeout" in pub["last_error"]
    run_pipeline(runtime, now=_later(runtime, 3600))
    assert len(sandbox.ledger.accepted("facebook")) == 1


def test_duplicate_content_fails_and_is_not_retried(api, scenario, runtime, sandbox, approved):
    first = api.get(f"/v1/posts/{scenario.publication(approved['x'])['post_id']}")
    run_pipeline(runtime)
    x = approved["x_channel"]
    again = scenario.post_for([x], at=soon(), text=first["text"])
    scenario.submit_and_approve(again)
    run_pipeline(runtime)
    pub = scenario.publication(again["publications"][0]["id"])
    assert pub["status"] == "failed" and "duplicate" in pub["last_error"]
    assert len(sandbox.ledger.accepted("x")) == 1


def test_graph_policy_block_fails_with_the_reason(api, scenario, runtime, sandbox, approved):
    sandbox.ledger.inject("facebook", Fault(status=400, code=368))
    run_pipeline(runtime)
    pub = scenario.publication(approved["facebook"])
    assert pub["status"] == "failed" and "code 368" in pub["last_error"]


def test_connection_refused_is_retried(api, scenario, runtime, sandbox, approved):
    runtime.settings = runtime.settings.with_(
        api_base_urls={"x": "http://127.0.0.1:9", "facebook": sandbox.graph_url}
    )
    run_pipeline(runtime)
    pub = scenario.publication(approved["x"])
    assert pub["status"] == "scheduled" and "refused" in pub["last_error"]


@pytest.mark.parametrize("cap", ["user24h", "app24h"])
def test_a_spent_24_hour_cap_holds_until_its_reset_not_the_15_minute_one(
    api, scenario, runtime, sandbox, approved, cap
):
    """X's 24-hour caps answer 429 with x-rate-limit-reset (the 15-minute window) and
    x-user-limit-24hour-* / x-app-limit-24hour-* (remaining 0, reset): wait for the latter."""
    day = 20 * 3600
    sandbox.ledger.inject("x", Fault(status=429, reset_in_s=day, cap=cap))
    run_pipeline(runtime)
    pub = scenario.publication(approved["x"])
    assert pub["status"] == "scheduled" and "429" in pub["last_error"]

    when = _later(runtime, 16 * 60)  # the 15-minute window is long over
    run_pipeline(runtime, now=when)
    assert sandbox.ledger.accepted("x") == []

    when = _later(runtime, day + 5)
    run_pipeline(runtime, now=when)
    assert scenario.publication(approved["x"])["status"] == "published"
    assert len(sandbox.ledger.accepted("x")) == 1


def test_pages_business_use_case_throttling_holds_the_publication(
    api, scenario, runtime, sandbox, approved
):
    """Page-token calls are throttled under business use case limits: code 80001."""
    sandbox.ledger.inject("facebook", Fault(status=400, code=80001))
    run_pipeline(runtime)
    pub = scenario.publication(approved["facebook"])
    assert pub["status"] == "scheduled" and "code 80001" in pub["last_error"]
    assert "too many calls to this Page account" in pub["last_error"]
    assert sandbox.ledger.accepted("facebook") == []

"""The sandbox's control API and fidelity, through the real libraries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected
from adapters.facebook import FacebookAdapter
from adapters.sandbox import SandboxClient
from adapters.types import AdapterConfig, Content, PublishRequest
from adapters.x import XAdapter
from tests.helpers import wait_until


@pytest.fixture
def control(sandbox):
    sandbox.ledger.reset()
    client = SandboxClient(sandbox.x_url)
    yield client
    client.reset()


def _x(sandbox, token="t"):
    return XAdapter(
        {"access_token": token}, account_id="1", config=AdapterConfig(base_url=sandbox.x_url)
    )


def _fb(sandbox, token="p"):
    return FacebookAdapter(
        {"page_access_token": token},
        account_id="77",
        config=AdapterConfig(base_url=sandbox.graph_url),
    )


def test_latency_is_configurable_per_platform(sandbox, control):
    """Judged by behaviour, not a stopwatch: a client that waits less than the configured
    latency times out on that platform only; the post still arrived (accept, then answer)."""
    control.latency("x", 2.0)
    impatient = AdapterConfig(timeout_s=0.5)
    x = XAdapter(
        {"access_token": "t"}, account_id="1", config=replace(impatient, base_url=sandbox.x_url)
    )
    fb = FacebookAdapter(
        {"page_access_token": "p"},
        account_id="77",
        config=replace(impatient, base_url=sandbox.graph_url),
    )
    with pytest.raises(OutcomeUnknown):
        x.publish(PublishRequest(Content("slow")))
    assert fb.publish(PublishRequest(Content("fast"))).external_id.startswith("77_")
    # The sandbox records the post once its latency has passed: the client gave up first.
    wait_until(lambda: control.ledger("x"), what="the slow post to be recorded")
    assert [a["text"] for a in control.ledger("x")] == ["slow"]


def test_ledger_records_what_was_accepted_in_order(sandbox, control):
    tweet = _x(sandbox).publish(PublishRequest(Content("un café ☕ 🇫🇷")))
    post = _fb(sandbox).publish(PublishRequest(Content("deux", link="https://e.org")))
    ledger = control.ledger()
    assert [(a["platform"], a["external_id"], a["text"]) for a in ledger] == [
        ("x", tweet.external_id, "un café ☕ 🇫🇷"),
        ("facebook", post.external_id, "deux"),
    ]
    assert control.ledger("facebook")[0]["link"] == "https://e.org"
    assert _x(sandbox).get(tweet.external_id)["text"] == "un café ☕ 🇫🇷"
    assert _fb(sandbox).get(post.external_id)["message"] == "deux"
    assert _x(sandbox).get("1") is None and _fb(sandbox).get("77_0") is None


def test_injected_faults_and_expired_tokens_through_the_control_api(sandbox, control):
    control.inject("x", status=429, reset_in_s=30)
    with pytest.raises(RateLimited) as limited:
        _x(sandbox).publish(PublishRequest(Content("a")))
    assert limited.value.retry_at is not None
    control.expire_token("dead")
    with pytest.raises(AuthExpired):
        _fb(sandbox, token="dead").publish(PublishRequest(Content("b")))
    _x(sandbox).publish(PublishRequest(Content("c")))
    with pytest.raises(Rejected) as duplicate:
        _x(sandbox).publish(PublishRequest(Content("c")))
    assert duplicate.value.duplicate
    assert [a["text"] for a in control.ledger()] == ["c"]


def test_faults_and_latency_can_target_one_account(sandbox, control):
    control.inject("facebook", status=500, code=1, account="77", times=5)
    control.latency("facebook", 0.05, account="88")  # a slow account still answers
    other = FacebookAdapter(
        {"page_access_token": "q"},
        account_id="88",
        config=AdapterConfig(base_url=sandbox.graph_url),
    )
    other.publish(PublishRequest(Content("the other page goes on")))
    assert sandbox.ledger.latency_s == {"facebook:88": 0.05}
    with pytest.raises(OutcomeUnknown):
        _fb(sandbox).publish(PublishRequest(Content("page 77 fails")))
    assert [a["account"] for a in control.ledger("facebook")] == ["88"]


def test_metrics_and_media_processing_through_the_control_api(sandbox, control):
    result = _x(sandbox).publish(PublishRequest(Content("counted")))
    control.metrics("x", result.external_id, like_count=7)
    assert _x(sandbox).fetch_metrics([result.external_id])[result.external_id]["likes"] == 7
    control.media_processing(2.5)
    assert sandbox.ledger.media_processing_s == 2.5


def test_metrics_of_someone_elses_post_fall_back_to_public_ones(sandbox, control):
    mine = _x(sandbox, token="author").publish(PublishRequest(Content("by the author")))
    control.metrics("x", mine.external_id, like_count=3, url_link_clicks=9)
    seen = _x(sandbox, token="someone else").fetch_metrics([mine.external_id])
    assert seen[mine.external_id]["likes"] == 3 and "link_clicks" not in seen[mine.external_id]

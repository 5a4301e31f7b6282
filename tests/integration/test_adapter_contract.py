"""The contract every registered adapter keeps, run against each one the engine loads (X,
Facebook, Instagram, and any adapter registered later: a platform with no set-up below
fails here until it joins). Judged from the sandbox's ledger and the recorded state."""

from __future__ import annotations

import pytest

from adapters.base import load_adapters
from adapters.sandbox import Fault
from tests.helpers import reconcile_pass, run_pipeline, soon
from tests.samples import jpeg

PUBLIC = "https://publisher.example"
THROTTLED = {  # each platform's own "slow down" answer
    "x": Fault(status=429, reset_in_s=120),
    "facebook": Fault(status=400, code=80001),
    "instagram": Fault(status=400, code=80002),
}
TOKENS = {"x": "x-token-acme", "facebook": "fb-token-acme", "instagram": "ig-token-acme"}


def _channel_and_fields(api, scenario, runtime, platform: str) -> tuple[dict, dict]:
    if platform == "x":
        return scenario.channels()[0], {}
    if platform == "facebook":
        return scenario.channels()[1], {}
    if platform == "instagram":  # Instagram takes no post without an image
        media = api.upload(jpeg(1080, 1080))[1]
        return scenario.instagram(runtime, PUBLIC), {"media": [{"media_id": media["id"]}]}
    pytest.fail(f"adapter {platform!r} is registered but not in the contract table")


@pytest.fixture(params=sorted(load_adapters()))
def approved(request, api, scenario, runtime):
    """One approved publication on `platform`, due now."""
    platform = request.param
    channel, fields = _channel_and_fields(api, scenario, runtime, platform)
    body = scenario.post_body([channel], at=soon(), text=f"Contract on {platform}", **fields)
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    return platform, post["publications"][0]["id"]


def test_a_post_goes_out_once_with_the_platforms_id(api, scenario, runtime, sandbox, approved):
    platform, pub = approved
    run_pipeline(runtime)
    run_pipeline(runtime)  # nothing goes out twice
    (posted,) = sandbox.ledger.accepted(platform)
    published = scenario.publication(pub)
    assert published["status"] == "published" and published["external_id"] == posted.external_id
    assert published["external_url"].startswith("https://")


def test_an_unreadable_answer_is_unknown_then_found_by_reconciliation(
    api, scenario, runtime, sandbox, approved
):
    platform, pub = approved
    sandbox.ledger.inject(platform, Fault(status=200, accept=True))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    assert reconcile_pass(runtime) == 1
    (posted,) = sandbox.ledger.accepted(platform)
    settled = scenario.publication(pub)
    assert settled["status"] == "published" and settled["external_id"] == posted.external_id


def test_a_500_before_creation_is_proven_absent_then_sent_once(
    api, scenario, runtime, sandbox, approved
):
    platform, pub = approved
    sandbox.ledger.inject(platform, Fault(status=500))
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "unknown"
    reconcile_pass(runtime)
    assert scenario.publication(pub)["status"] == "scheduled"
    run_pipeline(runtime)
    assert scenario.publication(pub)["status"] == "published"
    assert len(sandbox.ledger.accepted(platform)) == 1


def test_throttling_holds_the_publication_and_sends_nothing(
    api, scenario, runtime, sandbox, approved
):
    platform, pub = approved
    sandbox.ledger.inject(platform, THROTTLED[platform])
    run_pipeline(runtime)
    held = scenario.publication(pub)
    assert held["status"] == "scheduled" and held["attempts"] <= 1, held
    run_pipeline(runtime)  # still held: not before the platform's reset
    assert sandbox.ledger.accepted(platform) == []


def test_an_expired_token_holds_the_channel_and_sends_nothing(
    api, scenario, runtime, sandbox, approved
):
    platform, pub = approved
    sandbox.ledger.expire_token(TOKENS[platform])
    run_pipeline(runtime)
    channel = api.get(f"/v1/channels/{scenario.publication(pub)['channel_id']}")
    assert channel["status"] == "needs_reauth"
    assert scenario.publication(pub)["status"] == "scheduled"
    assert sandbox.ledger.accepted(platform) == []

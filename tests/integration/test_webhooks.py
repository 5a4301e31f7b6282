"""Outgoing webhooks: signed deliveries to a real receiver, retries, the log, redelivery."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest

from adapters.sandbox import Fault
from adapters.sandbox.receiver import Received, WebhookReceiver
from publisher.core.security import CredentialBox
from publisher.dispatcher import hand_over_deliveries
from publisher.record import webhooks
from publisher.review import deadlines
from publisher.system.rotation import rotate_secrets
from tests.helpers import drain_queue, rows_digest, run_pipeline, set_clock, soon


@pytest.fixture
def receiver(runtime):
    runtime.settings = runtime.settings.with_(allow_private_urls=True)  # it lives on loopback
    box = WebhookReceiver().start()
    yield box
    box.stop()


def _subscribe(api, receiver: WebhookReceiver, topics: list[str]) -> dict:
    body = {"url": receiver.url, "topics": topics}
    return api.post("/v1/webhooks", body, as_="admin", expect=201)


def _verified(secret: str, request: Received) -> dict:
    """Check the signature as a receiver would, with nothing but the secret."""
    headers, body = request.headers, request.body
    signed = f"{headers['Publisher-Timestamp']}.".encode() + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["Publisher-Signature"], expected)
    return json.loads(body)


def _deliver(runtime, now=None) -> int:
    with runtime.session() as session:
        count = hand_over_deliveries(session, runtime.queue, now=now or soon())
    drain_queue(runtime)
    return count


def test_events_reach_the_receiver_signed(api, scenario, runtime, receiver):
    topics = ["review.requested", "review.decided", "publication.published"]
    hook = _subscribe(api, receiver, topics)
    assert hook["secret"].startswith("whsec_")
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon())
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    assert _deliver(runtime) == 3
    payloads = [_verified(hook["secret"], r) for r in receiver.received]
    assert [p["topic"] for p in payloads] == [
        "review.requested",
        "review.decided",
        "publication.published",
    ]
    published = payloads[-1]["data"]
    assert published["publication_id"] == post["publications"][0]["id"]
    assert published["external_url"].startswith("http")
    assert payloads[1]["data"]["decision"] == "approved"
    # A tampered body does not verify.
    first = receiver.received[0]
    forged = Received(first.headers, first.body.replace(b"review", b"rEview"))
    with pytest.raises(AssertionError):
        _verified(hook["secret"], forged)
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries", as_="admin")
    assert {d["status"] for d in log} == {"delivered"} and {d["response_status"] for d in log} == {
        204
    }
    assert _deliver(runtime) == 0  # delivered ones are not sent again


def test_failures_are_retried_with_backoff_then_given_up(api, runtime, receiver):
    receiver.answers = [500] * webhooks.MAX_ATTEMPTS
    hook = _subscribe(api, receiver, ["workspace.paused"])
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    now = soon()
    for attempt, pause_s in enumerate(webhooks.BACKOFF_S, start=1):
        # The worker stamps the retry by its own clock: bracket that clock, not ours.
        before = runtime.clock()
        assert _deliver(runtime, now) == 1
        after = runtime.clock()
        [entry] = api.get(f"/v1/webhooks/{hook['id']}/deliveries", as_="admin")
        assert entry["status"] == "pending" and entry["attempts"] == attempt
        assert entry["error"].startswith("HTTP 500")
        retry_at = datetime.fromisoformat(entry["next_attempt_at"])
        backoff = timedelta(seconds=pause_s)
        assert before + backoff <= retry_at <= after + backoff
        assert _deliver(runtime, retry_at - timedelta(seconds=1)) == 0  # not before its backoff
        now = retry_at
    assert _deliver(runtime, now) == 1
    [entry] = api.get(f"/v1/webhooks/{hook['id']}/deliveries", as_="admin")
    assert entry["status"] == "failed" and entry["attempts"] == webhooks.MAX_ATTEMPTS
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    # Redelivered by hand: a new delivery, same payload, and this time it lands.
    again = api.post(
        f"/v1/webhooks/{hook['id']}/deliveries/{entry['id']}/redeliver", as_="admin", expect=201
    )
    assert again["redelivery_of"] == entry["id"]
    assert _deliver(runtime, now) == 1
    payloads = [_verified(hook["secret"], r) for r in receiver.received]
    assert payloads[-1] == payloads[0] and payloads[0]["topic"] == "workspace.paused"
    assert api.get(f"/v1/webhooks/{hook['id']}/deliveries", as_="admin")[0]["status"] == "delivered"


def test_only_subscribed_topics_and_active_hooks_get_deliveries(api, scenario, runtime, receiver):
    hook = _subscribe(api, receiver, ["publication.failed"])
    x, _ = scenario.channels()
    scenario.submit_and_approve(scenario.post_for([x], at=soon()))
    run_pipeline(runtime)
    assert _deliver(runtime) == 0
    api.call("DELETE", f"/v1/webhooks/{hook['id']}", as_="admin", expect=200)
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    assert _deliver(runtime) == 0 and receiver.received == []


def test_private_destinations_are_refused_unless_allowed(api, runtime):
    before = rows_digest(runtime)
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://localhost/x",
        "ftp://a.example/",
        # IPv4 inside IPv6 (issue 11 item 16): 6to4, NAT64, Teredo, IPv4-mapped.
        "http://[2002:7f00:1::]/x",
        "http://[2002:a00:1::]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
        "http://[::ffff:10.0.0.1]/x",
    ):
        status, problem = api.call(
            "POST", "/v1/webhooks", {"url": url, "topics": ["review.requested"]}, as_="admin"
        )
        assert status == 422, url
        assert problem["errors"][0]["loc"][-1] == "url"
    bad_topic = {"url": "https://hooks.example/x", "topics": ["review.nope"]}
    assert api.call("POST", "/v1/webhooks", bad_topic, as_="admin")[0] == 422
    good = bad_topic | {"topics": ["review.requested"]}
    api.refused("POST", "/v1/webhooks", good, as_="editor", may_not="manage webhooks")
    assert rows_digest(runtime) == before


def test_a_delivery_that_turns_private_is_refused_at_send_time(api, runtime, receiver):
    hook = _subscribe(api, receiver, ["workspace.paused"])
    runtime.settings = runtime.settings.with_(allow_private_urls=False)
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    _deliver(runtime)
    [entry] = api.get(f"/v1/webhooks/{hook['id']}/deliveries", as_="admin")
    assert entry["status"] == "pending" and "loopback" in entry["error"]
    assert receiver.received == []


def test_reauth_deadline_and_expiry_topics(api, scenario, runtime, receiver, sandbox):
    topics = [
        "channel.needs_reauth",
        "review.deadline_near",
        "review.expired",
        "publication.unknown",
    ]
    hook = _subscribe(api, receiver, topics)
    rules = {
        "approvals": 1,
        "review_deadline_minutes": 30,
        "remind_minutes": 30,
        "late_approval_grace_seconds": 0,
    }
    api.call("PUT", "/v1/review-policy", rules, as_="admin", expect=200)
    x, _ = scenario.channels()
    due = soon(3000)
    post = scenario.post_for([x], at=due)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    sandbox.ledger.expire_token("x-token-acme")
    api.post(f"/v1/channels/{x['id']}/check", expect=200)
    with runtime.session() as session:
        deadlines.sweep(session, now=due - timedelta(minutes=45))
        deadlines.sweep(session, now=due + timedelta(seconds=1))
        session.commit()
    _deliver(runtime, due + timedelta(seconds=1))
    payloads = [_verified(hook["secret"], r) for r in receiver.received]
    assert [p["topic"] for p in payloads] == [
        "channel.needs_reauth",
        "review.deadline_near",
        "review.expired",
    ]
    assert payloads[0]["data"]["channel_id"] == x["id"]
    assert payloads[2]["data"]["author"] == "editor"
    assert payloads[2]["data"]["publication_id"] == post["publications"][0]["id"]


def test_key_rotation_reseals_webhook_secrets(api, runtime, receiver, settings):
    hook = _subscribe(api, receiver, ["workspace.paused"])
    keys = ("a-brand-new-key", *settings.secret_keys)
    done = rotate_secrets(settings.with_(secret_keys=keys))
    assert (done.channels, done.webhooks) == (0, 1)
    runtime.box = CredentialBox(keys[:1])  # the old key is gone: only the new one reads
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    assert _deliver(runtime) == 1
    assert _verified(hook["secret"], receiver.received[0])["topic"] == "workspace.paused"


def test_failed_and_unknown_publications_are_announced(api, scenario, runtime, receiver, sandbox):
    hook = _subscribe(api, receiver, ["publication.failed", "publication.unknown"])
    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon())
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("x", Fault(status=400))  # X refuses it: failed
    sandbox.ledger.inject("facebook", Fault(status=500, accept=True))
    run_pipeline(runtime)
    _deliver(runtime)
    topics = {
        (p["topic"], p["data"]["channel_id"])
        for p in (_verified(hook["secret"], r) for r in receiver.received)
    }
    assert topics == {("publication.failed", x["id"]), ("publication.unknown", fb["id"])}


def test_a_retry_is_signed_with_its_own_send_time(api, runtime, receiver):
    """A receiver refuses old timestamps (replays): a retry an hour later must carry the
    time it is sent, not the event's, and still verify."""
    receiver.answers = [500, 204]
    hook = _subscribe(api, receiver, ["workspace.paused"])
    api.post("/v1/pause", {"scope": "workspace", "reason": "crisis"}, expect=201)
    first_sent = runtime.clock()
    assert _deliver(runtime, soon()) == 1
    later = first_sent + timedelta(hours=1)
    set_clock(runtime, later)  # the worker's clock, an hour on
    assert _deliver(runtime, later) == 1
    first, retry = receiver.received
    assert abs(int(first.headers["Publisher-Timestamp"]) - first_sent.timestamp()) <= 2
    assert int(retry.headers["Publisher-Timestamp"]) == int(later.timestamp())
    assert _verified(hook["secret"], retry) == _verified(hook["secret"], first)

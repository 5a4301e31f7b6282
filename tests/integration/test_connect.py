"""Connecting accounts as a person does: POST /v1/channels/connect/{platform} gives the
platform's consent page; the platform sends the browser back to /v1/oauth/callback/
{platform}, which creates or revives the channel. X: OAuth 2.0 with PKCE, tokens that
live two hours refreshed before they expire (single-use refresh tokens, one refresh at a
time). Facebook: Login, a long-lived user token, then the Pages and the Instagram business
accounts behind them. The sandbox plays the platforms and the person's browser consents."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlmodel import select

from adapters.sandbox.x_common import user_id_of
from publisher.core.models import Channel, Event
from tests.helpers import rows_digest, run_pipeline, soon
from tests.samples import png

CLIENTS = {"x": ("sandbox-client", ""), "facebook": ("sandbox-app", "sandbox-app-secret")}


@pytest.fixture
def oauth(runtime):
    runtime.settings = runtime.settings.with_(oauth_clients=CLIENTS)
    return runtime


def _consent(api, platform: str, *, as_: str = "editor") -> tuple[int, dict]:
    """Start a connection, let the browser go to the consent page and come back."""
    started = api.post(f"/v1/channels/connect/{platform}", as_=as_, expect=201)
    consent = requests.get(started["authorization_url"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    back = urlsplit(consent.headers["Location"])
    return api.call("GET", f"{back.path}?{back.query}", as_=None)


def _credentials(runtime, channel_id: int) -> dict:
    with runtime.session() as session:
        return runtime.box.open(session.get(Channel, channel_id).credentials)


def test_x_authorization_url_asks_for_what_publishing_needs(api, oauth, sandbox):
    started = api.post("/v1/channels/connect/x", expect=201)
    url = urlsplit(started["authorization_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}" == sandbox.x_url and url.path == "/i/oauth2/authorize"
    assert set(query["scope"].split()) == {
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "offline.access",
    }
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"].endswith("/v1/oauth/callback/x")
    assert query["client_id"] == "sandbox-client" and len(query["state"]) >= 32


def test_connecting_x_creates_a_channel_that_posts_with_media(
    api, scenario, oauth, runtime, sandbox
):
    status, body = _consent(api, "x")
    assert status == 200, body
    (channel,) = body["channels"]
    assert channel["platform"] == "x" and channel["status"] == "active"
    assert channel["external_account_id"] == user_id_of("login:sandbox")
    stored = _credentials(runtime, channel["id"])
    assert stored["refresh_token"] and stored["expires_at"]

    media = [{"media_id": api.upload(png())[1]["id"]}]
    post = api.post(
        "/v1/posts", scenario.post_body([channel], text="Hello", media=media), expect=201
    )
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    (tweet,) = sandbox.ledger.accepted("x")
    assert tweet.account == channel["external_account_id"] and len(tweet.media) == 1
    with runtime.session() as session:
        kinds = session.exec(select(Event.kind).where(Event.channel_id == channel["id"])).all()
    assert "channel.connected" in kinds


def test_tokens_about_to_expire_are_refreshed_and_stored_before_use(
    api, scenario, oauth, runtime, sandbox
):
    sandbox.ledger.oauth_lifetime_s = 120  # inside the refresh margin from the start
    (channel,) = _consent(api, "x")[1]["channels"]
    before = _credentials(runtime, channel["id"])
    post = scenario.post_for([channel], at=soon(), text="Refreshed")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)

    after = _credentials(runtime, channel["id"])
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert sandbox.ledger.refreshes == 1
    (tweet,) = sandbox.ledger.accepted("x")
    assert tweet.account == channel["external_account_id"]


def test_one_refresh_at_a_time_for_a_single_use_refresh_token(api, oauth, runtime, sandbox):
    """Two senders find the token expiring at once: one refreshes, the other waits and
    uses the pair it stored; the channel stays active."""
    sandbox.ledger.oauth_lifetime_s = 120
    (channel,) = _consent(api, "x")[1]["channels"]
    sandbox.ledger.oauth_lifetime_s = 7200  # the refreshed pair lasts
    with runtime.session() as session:
        row = session.get(Channel, channel["id"])
    start, accounts, failures = threading.Barrier(2), [], []

    def send() -> None:
        start.wait()
        try:
            accounts.append(runtime.adapter_for(row).check().id)
        except Exception as exc:  # the test reports it below
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [] and accounts == [channel["external_account_id"]] * 2
    assert sandbox.ledger.refreshes == 1
    assert api.get(f"/v1/channels/{channel['id']}")["status"] == "active"


def test_a_refused_refresh_holds_the_channel_for_reconnection(
    api, scenario, oauth, runtime, sandbox
):
    sandbox.ledger.oauth_lifetime_s = 120
    (channel,) = _consent(api, "x")[1]["channels"]
    sandbox.ledger.refresh_tokens.clear()  # revoked on X's side
    post = scenario.post_for([channel], at=soon(), text="Never out")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    assert api.get(f"/v1/channels/{channel['id']}")["status"] == "needs_reauth"
    assert scenario.publication(post["publications"][0]["id"])["status"] == "scheduled"
    assert sandbox.ledger.accepted("x") == []

    sandbox.ledger.oauth_lifetime_s = 7200
    status, body = _consent(api, "x")  # the person reconnects the same account
    assert status == 200 and [c["id"] for c in body["channels"]] == [channel["id"]]
    assert body["channels"][0]["status"] == "active"
    run_pipeline(runtime)
    assert [t.text for t in sandbox.ledger.accepted("x")] == ["Never out"]


def test_a_callback_works_once(api, oauth, runtime, sandbox):
    started = api.post("/v1/channels/connect/x", expect=201)
    back = urlsplit(
        requests.get(started["authorization_url"], allow_redirects=False, timeout=5).headers[
            "Location"
        ]
    )
    assert api.call("GET", f"{back.path}?{back.query}", as_=None)[0] == 200
    counts = rows_digest(runtime)
    status, problem = api.call("GET", f"{back.path}?{back.query}", as_=None)
    assert status == 400 and problem["type"].endswith("invalid_grant")
    assert rows_digest(runtime) == counts


@pytest.mark.parametrize(
    "query",
    ["state=made-up&code=abc", "code=abc", "state=&code=abc"],
    ids=["unknown-state", "no-state", "empty-state"],
)
def test_a_forged_callback_changes_nothing(api, oauth, runtime, query):
    counts = rows_digest(runtime)
    status, problem = api.call("GET", f"/v1/oauth/callback/x?{query}", as_=None)
    assert status == 400 and problem["type"].endswith("invalid_grant")
    assert rows_digest(runtime) == counts


def test_a_refused_consent_creates_nothing(api, oauth, runtime, sandbox):
    sandbox.ledger.oauth_login["x"] = "deny"
    status, problem = _consent(api, "x")
    assert status == 400 and "access_denied" in problem["detail"]
    assert api.get("/v1/channels") == []


def test_connecting_needs_a_configured_app_and_the_right_to_manage_channels(api, runtime):
    status, problem = api.call("POST", "/v1/channels/connect/x")
    assert status == 409 and "PUBLISHER_X_CLIENT_ID" in problem["detail"]
    runtime.settings = runtime.settings.with_(oauth_clients=CLIENTS)
    assert api.call("POST", "/v1/channels/connect/myspace")[0] == 404
    before = rows_digest(runtime)
    api.refused("POST", "/v1/channels/connect/x", as_="reviewer", may_not="manage channels")
    assert rows_digest(runtime) == before  # no OAuth grant begun


def test_connecting_facebook_offers_the_pages_and_their_instagram_accounts(
    api, scenario, oauth, runtime, sandbox
):
    sandbox.ledger.oauth_pages["sandbox"] = [
        {
            "id": "1020304050",
            "name": "Lumière",
            "instagram": {"id": "17841400000000077", "username": "lumiere_asso"},
        },
        {"id": "1020304060", "name": "Lumière Jeunes", "instagram": None},
    ]
    status, body = _consent(api, "facebook")
    assert status == 200, body
    found = {(c["platform"], c["external_account_id"], c["name"]) for c in body["channels"]}
    assert found == {
        ("facebook", "1020304050", "Lumière"),
        ("facebook", "1020304060", "Lumière Jeunes"),
        ("instagram", "17841400000000077", "lumiere_asso"),
    }
    page = next(c for c in body["channels"] if c["external_account_id"] == "1020304050")
    assert _credentials(runtime, page["id"])["page_access_token"].startswith("page-1020304050")

    post = scenario.post_for([page], at=soon(), text="Bonjour")
    scenario.submit_and_approve(post)
    run_pipeline(runtime)
    (page_post,) = sandbox.ledger.accepted("facebook")
    assert page_post.account == "1020304050"


def test_a_reconciliation_that_refreshes_the_token_does_not_lock_itself_out(
    api, scenario, oauth, runtime, sandbox
):
    """The refresh stores the new pair in a transaction of its own: reconciliation must
    not hold one open while it asks the platform (on SQLite it waited on itself)."""
    from adapters.sandbox import Fault
    from publisher import jobs

    (channel,) = _consent(api, "x")[1]["channels"]
    post = scenario.post_for([channel], at=soon(), text="Landed, then unsure")
    scenario.submit_and_approve(post)
    sandbox.ledger.inject("x", Fault(accept=True, hold_s=runtime.settings.platform_timeout_s + 0.5))
    run_pipeline(runtime)
    pub = post["publications"][0]["id"]
    assert scenario.publication(pub)["status"] == "unknown"

    sandbox.ledger.oauth_lifetime_s = 7200
    with runtime.session() as session:  # the stored token now expires within the margin
        row = session.get(Channel, channel["id"])
        stored = runtime.box.open(row.credentials)
        stored["expires_at"] = "2000-01-01T00:00:00+00:00"
        row.credentials = runtime.box.seal(stored)
        session.commit()
    runtime._adapters.clear()  # a fresh worker: no adapter cached
    if runtime._senders is not None:
        runtime._senders.shutdown(wait=True)
        runtime._senders = None
    done: list[list[str]] = []

    def reconcile_it() -> None:  # the job itself, in a thread that can be waited for
        done.append(jobs.run_reconcile(pub))

    worker = threading.Thread(target=reconcile_it, daemon=True)
    worker.start()
    worker.join(30)
    assert done == [["published"]], "reconciliation did not finish"
    assert scenario.publication(pub)["status"] == "published"
    assert sandbox.ledger.refreshes == 1


def test_a_connection_started_by_a_key_revoked_since_connects_nothing(api, oauth, runtime):
    started = api.post("/v1/channels/connect/x", expect=201)
    editor = next(k for k in api.get("/v1/keys", as_="admin") if k["name"] == "editor")
    api.post(f"/v1/keys/{editor['id']}/revoke", as_="admin", expect=200)
    consent = requests.get(started["authorization_url"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["Location"])
    counts = rows_digest(runtime)
    status, problem = api.call("GET", f"{back.path}?{back.query}", as_=None)
    assert status == 400 and "can no longer manage channels" in problem["detail"]
    assert rows_digest(runtime) == counts
    assert api.get("/v1/channels", as_="admin") == []

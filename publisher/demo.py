"""`publisher demo`: the main job end to end, on the embedded default, against the sandbox."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from datetime import UTC, datetime, timedelta

import requests

from adapters.sandbox import Sandbox
from adapters.sandbox.receiver import WebhookReceiver
from publisher.core.db import make_engine, session_scope
from publisher.core.settings import Settings
from publisher.core.workspaces import create_key, get_or_create_workspace
from publisher.stack import Stack

TEXT = "Rejoignez la communauté ! Inscriptions ouvertes 🎉 — café offert ☕"
LINK = "https://example.org/join"
SETTLED = {"published", "failed", "unknown", "cancelled", "rejected"}


# The OAuth apps the sandbox plays the platforms for (any id works there).
SANDBOX_APPS = {"x": ("sandbox-client", ""), "facebook": ("sandbox-app", "sandbox-app-secret")}


def sandbox_apps(settings: Settings) -> dict[str, tuple[str, str]]:
    """The OAuth apps with the sandbox playing those not configured; a Facebook app secret
    set on its own (for webhooks) is the sandbox app's secret too, so Meta's deliveries
    are checked with the secret the operator gave."""
    apps = {**SANDBOX_APPS, **settings.oauth_clients}
    if "facebook" not in settings.oauth_clients and settings.facebook_app_secret:
        apps["facebook"] = (SANDBOX_APPS["facebook"][0], settings.facebook_app_secret)
    return apps


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


class Client:
    """A tiny API client that fails loudly with the problem document."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.headers = base, {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, body: dict | None = None) -> dict | list:
        response = requests.request(
            method, self.base + path, json=body, headers=self.headers, timeout=10
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()


def _connect(editor: Client, platform: str) -> list[dict]:
    """What the account's owner does: open the consent page, agree, come back."""
    started = editor.call("POST", f"/v1/channels/connect/{platform}")
    consent = requests.get(started["authorization_url"], allow_redirects=False, timeout=10)
    back = requests.get(consent.headers["Location"], timeout=10)
    if back.status_code != 200:
        raise RuntimeError(f"connecting {platform}: {back.status_code} {back.text}")
    return back.json()["channels"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo(settings: Settings, *, port: int = 0, delay_s: float = 5.0) -> int:
    """Returns 0 when every publication reached its platform exactly once."""
    sandbox = Sandbox().start()
    _step(f"sandbox: X API at {sandbox.x_url}, Graph API at {sandbox.graph_url}")
    settings = settings.with_(
        oauth_clients=sandbox_apps(settings),
        allow_private_urls=True,  # the demo's webhook receiver listens on loopback
        api_base_urls={
            "x": sandbox.x_url,
            "facebook": sandbox.graph_url,
            "instagram": sandbox.graph_url,
        },
    )
    # The demo shows the embedded default: a REDIS_URL that does not answer is replaced by
    # a private redis-server (`publisher up` would stop and say so instead).
    settings = settings.with_(redis_url_given=False)
    stack = Stack(settings, port=port or _free_port(), log_dir=settings.home / "logs")
    try:
        stack.start()
        _step(
            f"engine up: API {stack.api_url}, dispatcher, 1 worker "
            f"(database {stack.settings.effective_database_url}, Redis "
            f"{stack.settings.redis_url}; logs in {settings.home / 'logs'})"
        )
        return _scenario(stack, sandbox, delay_s)
    finally:
        stack.stop()
        sandbox.stop()


def _keys(stack: Stack) -> dict[str, tuple[int, str]]:
    """(id, secret) of the demo workspace's keys, by role."""
    engine = make_engine(stack.settings.effective_database_url)
    keys = {}
    with session_scope(engine) as session:
        workspace = get_or_create_workspace(session, f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        for name, role, zone in (
            ("admin", "admin", None),
            ("marketing", "editor", None),
            ("communications", "reviewer", "Europe/Paris"),
            ("legal", "reviewer", "America/New_York"),
        ):
            key, secret = create_key(
                session, workspace_id=workspace.id, name=name, role=role, time_zone=zone
            )
            keys[name] = (key.id, secret)
    engine.dispose()
    _step(f"workspace {workspace.name}: keys for admin, marketing, communications and legal")
    return keys


def _committee(admin: Client, legal_id: int, receiver: WebhookReceiver) -> str:
    """Two approvals, one of them legal's; a webhook for the committee's events."""
    admin.call(
        "PUT",
        "/v1/review-policy",
        {
            "approvals": 2,
            "requirements": [{"name": "legal", "reviewer_ids": [legal_id]}],
            "content_rules": {"banned_terms": ["guaranteed"], "max_hashtags": 3},
        },
    )
    hook = admin.call(
        "POST",
        "/v1/webhooks",
        {
            "url": receiver.url,
            "topics": ["review.requested", "review.decided", "publication.published"],
        },
    )
    _step(f"review policy: 2 approvals, one from legal; webhook #{hook['id']} -> {receiver.url}")
    return hook["secret"]


def _review(reviewers: dict[str, Client]) -> int:
    """Each reviewer looks at what waits for them, and approves it on the revision shown."""
    decided = 0
    for name, reviewer in reviewers.items():
        for item in reviewer.call("GET", "/v1/reviews?waiting_on_me=true"):
            p, pub_id = item["preview"], item["publication"]["id"]
            _step(
                f"{name} reviews publication #{pub_id} on {p['platform']} "
                f"({p['length']}/{p['limit']} {p['unit']}, link {p['link']}, due "
                f"{item['scheduled_local']}, findings: {p['findings'] or 'none'})"
            )
            vote = reviewer.call(
                "POST",
                f"/v1/reviews/{pub_id}/approve",
                {"comment": "Looks good", "revision": item["revision"]},
            )
            missing = ", ".join(vote["tally"]["missing"]) or "nothing"
            _step(f"    -> {vote['publication_status']} (still needed: {missing})")
            decided += vote["publication_status"] == "scheduled"
    return decided


def _scenario(stack: Stack, sandbox: Sandbox, delay_s: float) -> int:
    keys = _keys(stack)
    client = {name: Client(stack.api_url, secret) for name, (_, secret) in keys.items()}
    editor, admin = client["marketing"], client["admin"]
    receiver = WebhookReceiver().start()
    secret = _committee(admin, keys["legal"][0], receiver)
    x = _connect(editor, "x")[0]
    fb = next(c for c in _connect(editor, "facebook") if c["platform"] == "facebook")
    _step(
        f"channels connected through the platforms' consent pages: #{x['id']} X "
        f"({x['name']}), #{fb['id']} Facebook Page ({fb['name']}); tokens encrypted, "
        "X's refreshed before they expire"
    )
    campaign = editor.call(
        "POST",
        "/v1/campaigns",
        {
            "name": "Winter recruitment",
            "objective": "recruitment",
            "goals": {"signups": 500},
            "tracking": {"utm_source": "{platform}", "utm_medium": "social"},
        },
    )
    due = datetime.now(UTC) + timedelta(seconds=delay_s)
    post = editor.call(
        "POST",
        "/v1/posts",
        {
            "campaign_id": campaign["id"],
            "text": TEXT,
            "link": LINK,
            "targets": [
                {
                    "channel_id": c["id"],
                    "scheduled_at": due.isoformat(),
                    "time_zone": "Europe/Paris",
                }
                for c in (x, fb)
            ],
        },
    )
    _step(f"post #{post['id']} in campaign '{campaign['name']}', due {due.isoformat()}")
    editor.call("POST", f"/v1/posts/{post['id']}/submit")
    approved = _review({"communications": client["communications"], "legal": client["legal"]})
    _step(f"approved {approved}; waiting for the due time")
    pubs = _wait_settled(editor, post["id"], deadline=time.monotonic() + delay_s + 30)
    history = editor.call("GET", f"/v1/posts/{post['id']}/history")
    _step(f"audit: {len(history)} events for the post ({', '.join(_kinds(history))})")
    try:
        heard = _webhooks_heard(receiver, secret, expect=2 + 4 + 2)
    finally:
        receiver.stop()
    accounts = {c["id"]: c["external_account_id"] for c in (x, fb)}
    return _report(pubs, accounts, sandbox) or (0 if heard else 1)


def _kinds(history: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    for event in history:
        kind = event["to_status"] or event["kind"]
        seen[kind] = seen.get(kind, 0) + 1
    return [f"{k} x{n}" if n > 1 else k for k, n in seen.items()]


def _webhooks_heard(receiver: WebhookReceiver, secret: str, *, expect: int) -> bool:
    """Wait for the webhook deliveries and check every signature with the secret alone."""
    deadline = time.monotonic() + 20
    while len(receiver.received) < expect and time.monotonic() < deadline:
        time.sleep(0.2)
    good = 0
    for request in receiver.received:
        signed = request.headers["Publisher-Timestamp"].encode() + b"." + request.body
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        good += hmac.compare_digest(request.headers["Publisher-Signature"], "v1=" + digest)
    topics = [r.headers["Publisher-Topic"] for r in receiver.received]
    _step(f"webhooks: {len(topics)} delivered, {good} signatures valid ({', '.join(topics)})")
    return len(topics) == expect == good


def _wait_settled(client: Client, post_id: int, *, deadline: float) -> list[dict]:
    while True:
        pubs = client.call("GET", f"/v1/posts/{post_id}")["publications"]
        if all(p["status"] in SETTLED for p in pubs) or time.monotonic() > deadline:
            return pubs
        time.sleep(0.2)


def _report(pubs: list[dict], accounts: dict[int, str], sandbox: Sandbox) -> int:
    """Each publication once in the platform's ledger, posted by the account its channel
    declares (the one its token acts as)."""
    ledger = sandbox.ledger.accepted()
    ok = len(ledger) == len(pubs)
    for pub in pubs:
        seen = [a for a in ledger if a.external_id == pub["external_id"]]
        lateness, account = "-", "-"
        if seen:
            late = datetime.fromisoformat(seen[0].received_at) - datetime.fromisoformat(
                pub["scheduled_at"]
            )
            lateness = f"{late / timedelta(milliseconds=1):.0f} ms"
            account = seen[0].account
        declared = accounts[pub["channel_id"]]
        ok = ok and pub["status"] == "published" and len(seen) == 1 and account == declared
        print(
            f"    publication #{pub['id']} channel #{pub['channel_id']}: {pub['status']} "
            f"id={pub['external_id']} url={pub['external_url']} lateness={lateness} "
            f"as account {account} (the channel's: {declared})"
        )
    _step(f"sandbox ledger: {len(ledger)} posts accepted for {len(pubs)} publications")
    _step(
        "demo OK"
        if ok
        else "demo FAILED: not every publication went out exactly once, from its channel's account"
    )
    return 0 if ok else 1

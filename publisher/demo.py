"""`publisher demo`: the main job end to end, on the embedded default, against the sandbox."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import requests

from adapters.sandbox import Sandbox
from publisher.db import make_engine, session_scope
from publisher.settings import Settings
from publisher.stack import Stack
from publisher.workspaces import create_key, get_or_create_workspace

TEXT = "Rejoignez la communauté ! Inscriptions ouvertes 🎉 — café offert ☕"
LINK = "https://example.org/join"
SETTLED = {"published", "failed", "unknown", "cancelled", "rejected"}


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_demo(settings: Settings, *, port: int = 0, delay_s: float = 5.0) -> int:
    """Returns 0 when every publication reached its platform exactly once."""
    sandbox = Sandbox().start()
    _step(f"sandbox: X API at {sandbox.x_url}, Graph API at {sandbox.graph_url}")
    settings = settings.with_(
        api_base_urls={
            "x": sandbox.x_url,
            "facebook": sandbox.graph_url,
            "instagram": sandbox.graph_url,
        }
    )
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


def _keys(stack: Stack) -> tuple[str, str]:
    engine = make_engine(stack.settings.effective_database_url)
    with session_scope(engine) as session:
        workspace = get_or_create_workspace(session, f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        _, editor = create_key(session, workspace_id=workspace.id, name="marketing", role="editor")
        _, reviewer = create_key(
            session, workspace_id=workspace.id, name="committee", role="reviewer"
        )
    engine.dispose()
    _step(f"workspace {workspace.name}: an editor key and a reviewer key")
    return editor, reviewer


def _scenario(stack: Stack, sandbox: Sandbox, delay_s: float) -> int:
    editor_key, reviewer_key = _keys(stack)
    editor, reviewer = Client(stack.api_url, editor_key), Client(stack.api_url, reviewer_key)
    x = editor.call(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "Brand on X",
            "external_account_id": "1001",
            "credentials": {"access_token": "demo-x-user-token"},
        },
    )
    fb = editor.call(
        "POST",
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "Brand Page",
            "external_account_id": "2002",
            "credentials": {"page_access_token": "demo-page-token"},
        },
    )
    _step(f"channels: #{x['id']} X, #{fb['id']} Facebook Page (credentials encrypted)")
    campaign = editor.call(
        "POST",
        "/v1/campaigns",
        {"name": "Winter recruitment", "objective": "recruitment", "goals": {"signups": 500}},
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
    queue = reviewer.call("GET", "/v1/reviews")
    for item in queue:
        p = item["preview"]
        _step(
            f"review queue: publication #{item['publication']['id']} on {p['platform']}: "
            f"{p['length']}/{p['limit']} {p['unit']}, problems: {p['problems'] or 'none'}"
        )
        reviewer.call(
            "POST", f"/v1/reviews/{item['publication']['id']}/approve", {"comment": "Looks good"}
        )
    _step(f"approved {len(queue)}; waiting for the due time")
    pubs = _wait_settled(editor, post["id"], deadline=time.monotonic() + delay_s + 30)
    return _report(pubs, sandbox)


def _wait_settled(client: Client, post_id: int, *, deadline: float) -> list[dict]:
    while True:
        pubs = client.call("GET", f"/v1/posts/{post_id}")["publications"]
        if all(p["status"] in SETTLED for p in pubs) or time.monotonic() > deadline:
            return pubs
        time.sleep(0.2)


def _report(pubs: list[dict], sandbox: Sandbox) -> int:
    ledger = sandbox.ledger.accepted()
    ok = len(ledger) == len(pubs)
    for pub in pubs:
        seen = [a for a in ledger if a.external_id == pub["external_id"]]
        lateness = "-"
        if seen:
            late = datetime.fromisoformat(seen[0].received_at) - datetime.fromisoformat(
                pub["scheduled_at"]
            )
            lateness = f"{late / timedelta(milliseconds=1):.0f} ms"
        ok = ok and pub["status"] == "published" and len(seen) == 1
        print(
            f"    publication #{pub['id']} channel #{pub['channel_id']}: {pub['status']} "
            f"id={pub['external_id']} url={pub['external_url']} lateness={lateness}"
        )
    _step(f"sandbox ledger: {len(ledger)} posts accepted for {len(pubs)} publications")
    _step("demo OK" if ok else "demo FAILED: not every publication went out exactly once")
    return 0 if ok else 1

"""Test helpers: keys per role, an API wrapper, the standard scenario, running the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import SimpleWorker
from sqlalchemy import select
from sqlmodel import SQLModel

from adapters.sandbox.graph_oauth import page_id_of
from adapters.sandbox.x_common import user_id_of
from publisher.core.db import session_scope
from publisher.core.workspaces import create_key, get_or_create_workspace
from publisher.deliver import dispatch
from publisher.runtime import Runtime

TEXT = "Élan d'hiver : rejoignez-nous ! 🎉👩🏽‍💻 Ça commence lundi."
X_CREDS = {"access_token": "x-token-acme"}
# The X account the sandbox says that token acts as (its user id for the token).
X_ACCOUNT = user_id_of("x-token-acme")
FB_CREDS = {"page_access_token": "fb-token-acme"}
# The Facebook Page that Page token acts for, as the sandbox answers /me.
FB_PAGE = page_id_of("fb-token-acme")


@dataclass
class KeyRing:
    keys: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, role: str) -> str:
        return self.keys[role]


def make_keys(runtime: Runtime) -> KeyRing:
    ring = KeyRing()
    with session_scope(runtime.engine) as session:
        acme = get_or_create_workspace(session, "acme")
        for role in ("admin", "editor", "reviewer", "automation"):
            ring.keys[role] = create_key(session, workspace_id=acme.id, name=role, role=role)[1]
        other = get_or_create_workspace(session, "other")
        ring.keys["other"] = create_key(session, workspace_id=other.id, name="o", role="admin")[1]
    return ring


class Api:
    """Flask test client calls as a given role; returns (status, json)."""

    def __init__(self, client, keys: KeyRing) -> None:
        self.client, self.keys = client, keys

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str = "editor",
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        expect: int | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.keys[as_]}"} if as_ else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if raw is not None:
            kwargs.update(data=raw, content_type=content_type)
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(path, method=method, **kwargs)
        data = response.get_json(silent=True)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, data)
        return response.status_code, data

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)[1]

    def upload(
        self, data: bytes, filename: str = "file", *, as_: str = "editor", mimetype: str = ""
    ) -> tuple[int, Any]:
        """POST /v1/media as a multipart upload (field `file`)."""
        import io

        response = self.client.post(
            "/v1/media",
            data={"file": (io.BytesIO(data), filename, mimetype or "application/octet-stream")},
            headers={"Authorization": f"Bearer {self.keys[as_]}"},
            content_type="multipart/form-data",
        )
        return response.status_code, response.get_json(silent=True)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        kw.setdefault("expect", None)
        return self.call("POST", path, body, **kw)[1]

    # -- the standard scenario --------------------------------------------------------

    def channels(self, as_: str = "editor") -> tuple[dict, dict]:
        """The workspace's X account and Facebook Page (made on first use; one channel per
        account, as the API allows)."""
        wanted = {
            "x": {
                "platform": "x",
                "name": "Acme on X",
                "external_account_id": X_ACCOUNT,
                "credentials": X_CREDS,
            },
            "facebook": {
                "platform": "facebook",
                "name": "Acme Page",
                "external_account_id": FB_PAGE,
                "credentials": FB_CREDS,
            },
        }
        existing = {
            (c["platform"], c["external_account_id"]): c for c in self.get("/v1/channels", as_=as_)
        }
        made = []
        for body in wanted.values():
            found = existing.get((body["platform"], body["external_account_id"]))
            made.append(found or self.post("/v1/channels", body, as_=as_, expect=201))
        return made[0], made[1]

    def instagram(self, runtime: Runtime, public_url: str = "https://publisher.example") -> dict:
        """An Instagram business account channel; Instagram fetches images through signed
        links, so the engine gets a public URL."""
        runtime.settings = runtime.settings.with_(public_url=public_url)
        return self.post(
            "/v1/channels",
            {
                "platform": "instagram",
                "name": "Acme on Instagram",
                "external_account_id": "17841400000000001",
                "credentials": {"access_token": "ig-token-acme"},
            },
            expect=201,
        )

    def campaign(self, as_: str = "editor") -> dict:
        return self.post(
            "/v1/campaigns",
            {"name": "Winter", "objective": "recruitment", "goals": {"signups": 500}},
            as_=as_,
            expect=201,
        )

    def post_for(
        self,
        channels: list[dict],
        *,
        at: datetime,
        text: str = TEXT,
        campaign: dict | None = None,
        link: str | None = None,
    ) -> dict:
        extra = {"link": link} if link else {}
        body = self.post_body(
            channels, at=at, text=text, campaign=campaign, time_zone="Europe/Paris", **extra
        )
        return self.post("/v1/posts", body, expect=201)

    def post_body(
        self,
        channels: list[dict],
        *,
        at: datetime | None = None,
        text: str = TEXT,
        campaign: dict | None = None,
        time_zone: str = "UTC",
        **fields: Any,
    ) -> dict:
        """A POST /v1/posts body targeting `channels` (due now unless `at`), plus `fields`."""
        when = (at or datetime.now(UTC)).isoformat()
        return {
            "campaign_id": (campaign or self.campaign())["id"],
            "text": text,
            **fields,
            "targets": [
                {"channel_id": c["id"], "scheduled_at": when, "time_zone": time_zone}
                for c in channels
            ],
        }

    def submit_and_approve(self, post: dict) -> None:
        self.post(f"/v1/posts/{post['id']}/submit", expect=200)
        for pub in post["publications"]:
            self.post(
                f"/v1/reviews/{pub['id']}/approve",
                {"comment": "ok", "revision": post["revision"]},
                as_="reviewer",
                expect=201,
            )

    def publication(self, pub_id: int) -> dict:
        return self.get(f"/v1/publications/{pub_id}")


def set_clock(runtime: Runtime, when: datetime | timedelta) -> datetime:
    """Fix the engine's clock in this process (the API's, the dispatcher's and the in-process
    workers' "now") at `when`: an instant, or an offset from now. Returns the instant.
    The one way tests move time (the `at` fixture is this, bound to the runtime)."""
    instant = datetime.now(UTC) + when if isinstance(when, timedelta) else when
    runtime.clock = lambda: instant
    return instant


def soon(seconds: float = 0.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def run_pipeline(runtime: Runtime, *, now: datetime | None = None) -> int:
    """One dispatcher pass at `now`, then a burst worker in this process. Returns dispatched."""
    with runtime.session() as session:
        count = dispatch.dispatch_due(session, runtime.queue, now=now or datetime.now(UTC))
    SimpleWorker([runtime.queue.rq], connection=runtime.redis).work(burst=True)
    return count


def drain_queue(runtime: Runtime) -> None:
    SimpleWorker([runtime.queue.rq], connection=runtime.redis).work(burst=True)


def rows_digest(runtime: Runtime) -> dict[str, str]:
    """A digest of every table's rows: 'nothing written' means this does not change (an
    in-place UPDATE changes it where a row count would not)."""
    digests = {}
    with runtime.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            order = [c for c in table.primary_key.columns] or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            blob = repr([tuple(row) for row in rows]).encode()
            digests[table.name] = hashlib.sha256(blob).hexdigest()
    return digests


def reconcile_pass(runtime: Runtime, *, now: datetime | None = None) -> int:
    """One dispatcher pass over `unknown` publications, then a burst worker."""
    from publisher.deliver.reconcile import dispatch_reconciliations

    with runtime.session() as session:
        count = dispatch_reconciliations(session, runtime.queue, now=now or datetime.now(UTC))
    drain_queue(runtime)
    return count


def wait_until(predicate, *, timeout_s: float = 60.0, what: str = "condition", state=None):
    """Poll `predicate` until it returns something truthy, and return that. A deadline for
    waiting on other processes, not a timing assertion: only a hang makes it fail."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f": {state()}" if state else ""
            raise AssertionError(f"timed out waiting for {what}{detail}")
        time.sleep(min(0.05, remaining))

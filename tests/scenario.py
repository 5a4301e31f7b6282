"""The standard world the tests build through the API: the workspace's X account and
Facebook Page, a campaign, posts for them, a post submitted and approved. Built on
`tests.client.ApiClient` (HTTP only); the `scenario` fixture is one over the `api` client.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sandbox.graph_oauth import page_id_of
from adapters.sandbox.x_common import user_id_of
from publisher.runtime import Runtime
from tests.client import ApiClient

TEXT = "Élan d'hiver : rejoignez-nous ! 🎉👩🏽‍💻 Ça commence lundi."
X_CREDS = {"access_token": "x-token-acme"}
# The X account the sandbox says that token acts as (its user id for the token).
X_ACCOUNT = user_id_of("x-token-acme")
FB_CREDS = {"page_access_token": "fb-token-acme"}
# The Facebook Page that Page token acts for, as the sandbox answers /me.
FB_PAGE = page_id_of("fb-token-acme")


class Scenario:
    """Builds the standard world through `api`, as a client would."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

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
            (c["platform"], c["external_account_id"]): c
            for c in self.api.get("/v1/channels", as_=as_)
        }
        made = []
        for body in wanted.values():
            found = existing.get((body["platform"], body["external_account_id"]))
            made.append(found or self.api.post("/v1/channels", body, as_=as_, expect=201))
        return made[0], made[1]

    def instagram(self, runtime: Runtime, public_url: str = "https://publisher.example") -> dict:
        """An Instagram business account channel; Instagram fetches images through signed
        links, so the engine gets a public URL."""
        runtime.settings = runtime.settings.with_(public_url=public_url)
        return self.api.post(
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
        return self.api.post(
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
        return self.api.post("/v1/posts", body, expect=201)

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
        self.api.post(f"/v1/posts/{post['id']}/submit", expect=200)
        for pub in post["publications"]:
            self.api.post(
                f"/v1/reviews/{pub['id']}/approve",
                {"comment": "ok", "revision": post["revision"]},
                as_="reviewer",
                expect=201,
            )

    def submitted(
        self,
        channel: dict,
        at: datetime | None = None,
        text: str = "Winter open day: come and meet us",
    ) -> tuple[dict, int]:
        """A post for `channel` (due in an hour unless `at`) sent to review: (post, its
        publication's id)."""
        post = self.post_for([channel], at=at or datetime.now(UTC) + timedelta(hours=1), text=text)
        self.api.post(f"/v1/posts/{post['id']}/submit", expect=200)
        return post, post["publications"][0]["id"]

    def review_item(self, pub_id: int, as_: str) -> dict:
        """The publication's item in the review queue as `as_` sees it."""
        items = self.api.get("/v1/reviews", as_=as_)
        return next(i for i in items if i["publication"]["id"] == pub_id)

    def publication(self, pub_id: int) -> dict:
        return self.api.get(f"/v1/publications/{pub_id}")

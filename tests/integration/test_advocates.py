"""Top advocates who relay the content (issue 15, part 6): the members who reposted a
campaign's publications (retweets and quotes, from X's signed webhooks) and whose
referral codes brought results, counted under the member they were merged into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.sandbox import hooks_out
from publisher.core.models import Interaction
from tests.helpers import run_pipeline, soon

X_SECRET = "x-consumer-secret"
ANA = ("8001", "ana_relays", "Ana")
BEN = ("8002", "BenRelays", "Ben")
STRANGER = ("8009", "someone", "Someone")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _hook(api, payload: dict) -> None:
    body, signed = hooks_out.signed("x", payload, X_SECRET)
    assert api.client.post("/v1/hooks/x", data=body, headers=signed).status_code == 200


def _signup(api, key: str, campaign_id: int, code: str) -> None:
    answer = api.client.post(
        "/v1/events",
        json={
            "kind": "signup",
            "campaign_id": campaign_id,
            "member": {"external_id": f"new-{key}"},
            "referral_code": code,
        },
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": key},
    )
    assert answer.status_code == 201, answer.get_json()


@pytest.fixture
def relayed(api, scenario, runtime):
    """One campaign's post on X and another campaign's; Ana (known by her account id)
    retweets and quotes the first, Ben (known by his handle) retweets it, a stranger
    retweets it, Ana retweets the other campaign's; Cy's referral code brings two sign-ups."""
    runtime.settings = runtime.settings.with_(x_consumer_secret=X_SECRET)
    x, _ = scenario.channels()
    ours, theirs = scenario.campaign(), scenario.campaign()
    pubs = []
    for campaign in (ours, theirs):
        post = api.post(
            "/v1/posts",
            scenario.post_body(
                [x], at=soon(), text=f"Open day {campaign['id']}", campaign=campaign
            ),
            expect=201,
        )
        scenario.submit_and_approve(post)
        pubs.append(post["publications"][0]["id"])
    run_pipeline(runtime)
    first, other = (scenario.publication(p)["external_id"] for p in pubs)
    members = {
        name: api.post("/v1/members", body, expect=201)
        for name, body in {
            "ana": {"external_id": "ana", "identities": [{"platform": "x", "account_id": ANA[0]}]},
            "ben": {
                "external_id": "ben",
                "identities": [{"platform": "x", "handle": "@benrelays"}],
            },
            "cy": {"external_id": "cy", "name": "Cy"},
        }.items()
    }
    now, account = datetime.now(UTC), x["external_account_id"]
    _hook(api, hooks_out.x_repost(account, "990001", first, ANA, now))
    _hook(api, hooks_out.x_repost(account, "990002", first, ANA, now, quote="Go, all of you"))
    _hook(api, hooks_out.x_repost(account, "990003", first, BEN, now))
    _hook(api, hooks_out.x_repost(account, "990004", first, STRANGER, now))
    _hook(api, hooks_out.x_repost(account, "990005", other, ANA, now))
    code = api.post(f"/v1/members/{members['cy']['id']}/referral-code", expect=200)["code"]
    for key in ("s1", "s2"):
        _signup(api, key, ours["id"], code)
    return {"campaign": ours, "members": members, "pub": pubs[0], "now": now}


def _advocates(api, relayed) -> list[tuple[str, int, int]]:
    now = relayed["now"]
    window = f"from={_iso(now - timedelta(hours=1))}&to={_iso(now + timedelta(hours=1))}"
    report = api.get(f"/v1/campaigns/{relayed['campaign']['id']}/report?{window}")
    return [(a["external_id"], a["results"], a["relays"]) for a in report["advocates"]]


def test_a_retweet_and_a_quote_are_reposts_of_the_publication(runtime, relayed):
    with runtime.session() as session:
        reposts = session.scalars(
            select(Interaction)
            .where(Interaction.author_id == ANA[0], Interaction.publication_id == relayed["pub"])
            .order_by(Interaction.external_id)
        ).all()
    assert [(r.kind, r.external_id, r.text) for r in reposts] == [
        ("repost", "990001", None),  # a retweet's own text is "RT @...": not theirs to keep
        ("repost", "990002", "Go, all of you"),
    ]


def test_the_advocates_are_those_who_relayed_and_recruited_most(api, relayed):
    # Cy and Ana weigh 2 each (Cy's referrals first), Ben 1, and the stranger 1: met on X,
    # a member now, not yet named by your systems; Ana's retweet of another campaign's post
    # is that campaign's.
    assert _advocates(api, relayed) == [("cy", 2, 0), ("ana", 0, 2), ("ben", 0, 1), (None, 0, 1)]


def test_a_repost_delivered_twice_counts_once(api, relayed, scenario):
    account = scenario.channels()[0]["external_account_id"]
    first = scenario.publication(relayed["pub"])["external_id"]
    again = hooks_out.x_repost(account, "990003", first, BEN, relayed["now"] + timedelta(seconds=1))
    _hook(api, again)  # the same retweet, in a new delivery
    assert ("ben", 0, 1) in _advocates(api, relayed)


def test_a_merged_members_relays_count_under_the_member_kept(api, relayed):
    ana, ben = relayed["members"]["ana"], relayed["members"]["ben"]
    api.call(
        "POST",
        f"/v1/members/{ana['id']}/merge",
        {"member_id": ben["id"], "reason": "same person"},
        as_="admin",
        expect=200,
    )
    assert _advocates(api, relayed) == [("ana", 0, 3), ("cy", 2, 0), (None, 0, 1)]

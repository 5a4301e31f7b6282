"""Tracked short links (issue 15, part 3): links go out as {PUBLISHER_PUBLIC_URL}/l/{code},
one code per link per publication; /l/{code} sends readers on to the campaign-tagged link
and counts the click (bots apart, no IP address). Judged from the sandbox's ledger, the
redirects' answers and the API's counts."""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from redis import Redis
from sqlalchemy import func, inspect, select

from adapters.sandbox import Fault
from publisher.core.engagement_models import ClickBucket, ClickDay, LinkClick
from publisher.engage.clicks import ClickBuffer
from tests.helpers import (
    drain_queue,
    flush_clicks,
    reconcile_pass,
    rows_digest,
    run_pipeline,
    soon,
)

PUBLIC = "https://go.acme-asso.fr"
SHORT = re.compile(re.escape(PUBLIC) + r"/l/([a-z2-7]{10})")
PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)


@pytest.fixture
def public(runtime):
    runtime.settings = runtime.settings.with_(public_url=PUBLIC)


def _campaign(api, **more) -> dict:
    body = {
        "name": "Open day",
        "objective": "recruitment",
        "tracking": {"utm_source": "{platform}"},
    }
    return api.post("/v1/campaigns", {**body, **more}, expect=201)


def _published(api, scenario, runtime, at, campaign, channels, **fields) -> dict:
    """Published a moment after its time by the engine's clock (which the platform's search
    window then still covers, for the reconciler)."""
    body = scenario.post_body(channels, at=soon(60), campaign=campaign, **fields)
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    run_pipeline(runtime, now=at(soon(65)))
    return post


def _follow(api, url: str, **headers):
    return api.client.get(url.removeprefix(PUBLIC), headers=headers)


def test_links_go_out_short_and_lead_to_the_tagged_link(
    api, scenario, runtime, sandbox, at, public
):
    x, fb = scenario.channels()
    post = _published(
        api,
        scenario,
        runtime,
        at,
        _campaign(api),
        [x, fb],
        text="Programme : https://lumiere-asso.fr/agenda et lumiere.paris",
        link="https://lumiere-asso.fr/agenda",
    )
    sent = {a.platform: a for a in sandbox.ledger.accepted()}
    assert "lumiere" not in sent["x"].text  # every link short, none appended twice
    x_codes = SHORT.findall(sent["x"].text)
    assert len(x_codes) == 2
    fb_codes = SHORT.findall(sent["facebook"].text)
    assert SHORT.fullmatch(sent["facebook"].link).group(1) == fb_codes[0]
    assert not set(x_codes) & set(fb_codes)  # one code per link per publication

    answer = _follow(api, SHORT.search(sent["x"].text).group(0), **{"User-Agent": PHONE})
    assert answer.status_code == 302
    landing = answer.headers["Location"]
    # The reader arrives with the click's own key: the link's code, then 22 hex digits.
    assert re.fullmatch(
        rf"https://lumiere-asso\.fr/agenda\?utm_source=x&pub_click={x_codes[0]}[0-9a-f]{{22}}",
        landing,
    )
    assert "no-store" in answer.headers["Cache-Control"]
    bare = _follow(
        api, f"{PUBLIC}/l/{x_codes[1]}", Referer="https://t.co/abc", **{"User-Agent": ""}
    )
    assert bare.headers["Location"].startswith("https://lumiere.paris?utm_source=x&pub_click=")
    assert bare.headers["Location"] != landing

    assert flush_clicks(runtime) == 2
    x_pub = next(p for p in post["publications"] if p["channel_id"] == x["id"])
    listed = {link["code"]: link for link in api.get(f"/v1/publications/{x_pub['id']}/links")}
    assert set(listed) == set(x_codes)
    agenda = listed[x_codes[0]]
    assert (agenda["url"], agenda["clicks"], agenda["bots"]) == (f"{PUBLIC}/l/{x_codes[0]}", 1, 0)
    assert agenda["agents"] == {"mobile": 1}
    assert listed[x_codes[1]]["agents"] == {"unknown": 1}


def test_a_click_keeps_the_referring_host_and_the_kind_of_client_never_the_address(
    api, scenario, runtime, sandbox, at, public
):
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/a")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    _follow(
        api, f"{PUBLIC}/l/{code}", Referer="https://t.co/xyz?secret=1", **{"User-Agent": DESKTOP}
    )
    _follow(api, f"{PUBLIC}/l/{code}", **{"User-Agent": "Twitterbot/1.0"})
    head = api.client.head(f"/l/{code}")  # a preview's check: not counted, no click key
    assert head.status_code == 302 and "pub_click" not in head.headers["Location"]
    crawler = _follow(api, f"{PUBLIC}/l/{code}", **{"User-Agent": "Twitterbot/1.0"})
    assert crawler.headers["Location"] == "https://acme-asso.fr/a?utm_source=x"  # as it is
    flush_clicks(runtime)
    with runtime.session() as session:
        rows = session.execute(select(LinkClick).order_by(LinkClick.id)).scalars().all()
    assert [(r.referrer_host, r.agent, r.bot) for r in rows] == [
        ("t.co", "desktop", False),
        (None, "bot", True),
        (None, "bot", True),
    ]
    columns = {c["name"] for c in inspect(runtime.engine).get_columns("link_click")}
    assert not {"ip", "address", "remote_addr", "user_agent"} & columns


def test_a_lost_answer_is_found_and_its_short_link_leads_on(
    api, scenario, runtime, sandbox, at, public
):
    """The link is written with the claim, before the request: a post whose answer was
    lost is found by the reconciler (platforms rewrite links, so the comparison masks
    them), is on record once, and its short link already leads on."""
    _, fb = scenario.channels()
    sandbox.ledger.inject("facebook", Fault(status=500, accept=True))  # taken, answer lost
    post = _published(
        api, scenario, runtime, at, _campaign(api), [fb], text="Voir https://acme-asso.fr/b"
    )
    pub_id = post["publications"][0]["id"]
    first = scenario.publication(pub_id)
    assert first["status"] == "unknown", (first, api.get(f"/v1/publications/{pub_id}/history"))
    reconcile_pass(runtime, now=at(soon(70)))
    (sent,) = sandbox.ledger.accepted("facebook")
    found = scenario.publication(pub_id)
    assert (found["status"], found["external_id"]) == ("published", sent.external_id)
    (link,) = api.get(f"/v1/publications/{pub_id}/links")
    assert link["url"] in sent.text
    assert _follow(api, link["url"]).headers["Location"].startswith("https://acme-asso.fr/b")


def test_the_review_preview_shows_the_short_links_and_where_they_lead(
    api, scenario, runtime, public
):
    x, _ = scenario.channels()
    campaign = _campaign(api)
    post, pub_id = scenario.submitted(x, text="Voir https://acme-asso.fr/c")
    api.call("PATCH", f"/v1/posts/{post['id']}", {"campaign_id": campaign["id"]})
    item = scenario.review_item(pub_id, as_="reviewer")
    (short,) = item["preview"]["short_links"]
    assert short["url"] in item["preview"]["text"] and SHORT.fullmatch(short["url"])
    assert short["target"].startswith("https://acme-asso.fr/c")
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    page = api.client.get(path, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert f'{short["url"]}</code> mène à <code class="link">{short["target"]}' in page


def test_a_campaign_that_opts_out_sends_its_links_as_written(
    api, scenario, runtime, sandbox, at, public
):
    campaign = _campaign(api, short_links=False)
    assert campaign["short_links"] is False
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, campaign, [x], text="Voir https://acme-asso.fr/d")
    (sent,) = sandbox.ledger.accepted("x")
    assert sent.text == "Voir https://acme-asso.fr/d?utm_source=x"


def test_without_a_public_address_links_go_as_written(api, scenario, runtime, sandbox, at):
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/e")
    (sent,) = sandbox.ledger.accepted("x")
    assert sent.text == "Voir https://acme-asso.fr/e?utm_source=x"


def test_an_unknown_code_is_a_404_problem(api, public):
    answer = api.client.get("/l/abcdefghij")
    assert answer.status_code == 404
    assert answer.get_json()["type"].endswith("not_found")
    assert api.client.get("/l/short").status_code == 404
    assert api.client.get("/l/%00aaaaaaaaa").status_code == 404  # PostgreSQL refuses NUL


def test_clicks_wait_in_redis_and_a_worker_writes_them_once(
    api, scenario, runtime, sandbox, at, public
):
    """A burst of clicks is one batch write, handed to a worker's background job; a batch
    written again (a flush that died before trimming) counts once."""
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/f")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    for _ in range(5):
        assert api.client.get(f"/l/{code}").status_code == 302
    with runtime.session() as session:
        assert session.execute(select(LinkClick)).all() == []  # waiting, not written
    waiting = runtime.redis.lrange(runtime.clicks.key, 0, -1)
    assert len(waiting) == 5 and runtime.queue.hand_over_flush()
    assert not runtime.queue.hand_over_flush()  # one such job at a time
    drain_queue(runtime)  # the job writes them on the worker's background thread
    with runtime.session() as session:
        assert len(session.execute(select(LinkClick)).all()) == 5
    assert runtime.redis.llen(runtime.clicks.key) == 0
    runtime.redis.rpush(runtime.clicks.key, *waiting)  # the same batch again
    runtime.redis.rpush(runtime.clicks.key, *waiting[:2], *waiting)  # and again, with more
    flush_clicks(runtime)
    with runtime.session() as session:
        assert len(session.execute(select(LinkClick)).all()) == 5
        # The tallies count each click once too.
        assert session.execute(select(func.sum(ClickDay.count))).scalar_one() == 5
        assert session.execute(select(func.sum(ClickBucket.count))).scalar_one() == 5
    assert runtime.redis.llen(runtime.clicks.key) == 0


def test_with_redis_down_a_click_is_written_at_once(api, scenario, runtime, sandbox, at, public):
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/g")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    dead = ClickBuffer(Redis(port=_closed_port(), socket_connect_timeout=0.5), name="dead")
    with runtime.session() as session:
        target = dead.follow(session, code, referrer=None, user_agent=PHONE, now=soon())
    assert target.startswith("https://acme-asso.fr/g")
    with runtime.session() as session:
        (click,) = session.execute(select(LinkClick)).scalars()
        assert click.agent == "mobile"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_clicks_waiting_are_capped(api, scenario, runtime, sandbox, at, public):
    """Workers down and a bot looping on a link: the list stops growing at its cap."""
    x, _ = scenario.channels()
    _published(api, scenario, runtime, at, _campaign(api), [x], text="Voir https://acme-asso.fr/h")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    capped = ClickBuffer(runtime.redis, name="capped", waiting_max=2)
    with runtime.session() as session:
        for _ in range(4):
            assert capped.follow(session, code, referrer=None, user_agent=PHONE, now=soon())
    assert runtime.redis.llen(capped.key) == 2


def _event(api, body: dict, key: str):
    answer = api.client.post(
        "/v1/events",
        json=body,
        headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": key},
    )
    return answer.status_code, answer.get_json()


def _click_of(landing: str) -> str:
    return parse_qs(urlsplit(landing).query)["pub_click"][0]


def test_a_result_through_a_click_is_its_publications_and_the_click_the_members(
    api, scenario, runtime, sandbox, at, public
):
    """The landing page reports the sign-up with the click it was given: the result is
    the publication's (and its campaign's, found from the link), the click the member's;
    the report shows it on the publication and its channel."""
    x, fb = scenario.channels()
    campaign = _campaign(api)
    post = _published(
        api, scenario, runtime, at, campaign, [x, fb], text="Inscriptions https://acme-asso.fr/j"
    )
    x_pub, fb_pub = (
        next(p for p in post["publications"] if p["channel_id"] == c["id"]) for c in (x, fb)
    )
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    click = _click_of(_follow(api, f"{PUBLIC}/l/{code}", **{"User-Agent": PHONE}).location)
    member = {"external_id": "crm-7"}
    status, made = _event(api, {"kind": "signup", "member": member, "click": click}, "k1")
    assert status == 201
    assert (made["campaign_id"], made["publication_id"], made["link_code"], made["click"]) == (
        campaign["id"],
        x_pub["id"],
        code,
        click,
    )
    # Through the Facebook post's link, named by its code (no click was passed on).
    fb_code = SHORT.search(sandbox.ledger.accepted("facebook")[0].text).group(1)
    status, by_code = _event(api, {"kind": "subscription", "link_code": fb_code}, "k2")
    assert status == 201 and by_code["publication_id"] == fb_pub["id"]
    assert by_code["click"] is None and by_code["campaign_id"] == campaign["id"]
    # The same member's second result through the same click: one click still.
    assert _event(api, {"kind": "purchase", "member": member, "click": click}, "k3")[0] == 201

    summary = api.get(f"/v1/members/{made['member_id']}/summary")
    assert summary["clicks"] == 1 and summary["campaigns"] == [campaign["id"]]
    listed = api.get(f"/v1/events?publication_id={x_pub['id']}")
    assert [e["kind"] for e in listed] == ["signup", "purchase"]
    flush_clicks(runtime)
    window = {"from": soon(-86_400).isoformat(), "to": soon(86_400).isoformat()}
    report = api.get(f"/v1/campaigns/{campaign['id']}/report?{urlencode(window)}")
    by_pub = {p["publication_id"]: p["conversions"] for p in report["best"] + report["worst"]}
    assert by_pub == {
        x_pub["id"]: {"purchase": 1, "signup": 1},
        fb_pub["id"]: {"subscription": 1},
    }
    by_channel = {c["channel_id"]: c["conversions"] for c in report["by_channel"]}
    assert by_channel == {x["id"]: {"purchase": 1, "signup": 1}, fb["id"]: {"subscription": 1}}
    assert report["totals"]["conversions"] == {"purchase": 1, "signup": 1, "subscription": 1}


@pytest.mark.parametrize(
    "change, where",
    [
        ({"link_code": "aaaaaaaaaa"}, "link_code"),  # no such link
        ({"click": "aaaaaaaaaa" + "0" * 22}, "click"),  # a click through no link of ours
        ({"click": "0" * 32}, "click"),  # not a click key
        ({"link_code": "AAAAAAAAAA"}, "link_code"),
        ("other campaign", "campaign_id"),
        ("another code", None),  # the click was not through that link_code
    ],
)
def test_a_result_naming_a_link_it_cannot_have_come_through_is_refused(
    api, scenario, runtime, sandbox, at, public, change, where
):
    x, _ = scenario.channels()
    campaign = _campaign(api)
    _published(api, scenario, runtime, at, campaign, [x], text="Voir https://acme-asso.fr/k")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    click = _click_of(_follow(api, f"{PUBLIC}/l/{code}").location)
    if change == "other campaign":
        other = scenario.campaign()
        change = {"link_code": code, "campaign_id": other["id"]}
    elif change == "another code":
        change = {"click": click, "link_code": "b" * 10}
    before = rows_digest(runtime)
    status, problem = _event(api, {"kind": "signup", **change}, "k-refused")
    assert status == 422, problem
    if where:
        assert [e["loc"][-1] for e in problem["errors"]] == [where]
    assert rows_digest(runtime) == before


def test_a_click_from_another_workspace_is_not_found(api, scenario, runtime, sandbox, at, public):
    """Another workspace's click, short link or campaign is refused on the field that
    names it, as one that does not exist, and nothing is written."""
    x, _ = scenario.channels()
    campaign = _campaign(api)
    _published(api, scenario, runtime, at, campaign, [x], text="Voir https://acme-asso.fr/o")
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    click = _click_of(_follow(api, f"{PUBLIC}/l/{code}").location)
    before = rows_digest(runtime)
    for n, (field, value) in enumerate(
        [("click", click), ("link_code", code), ("campaign_id", campaign["id"])]
    ):
        answer = api.client.post(
            "/v1/events",
            json={"kind": "signup", field: value},
            headers={"Authorization": f"Bearer {api.keys['other']}", "Idempotency-Key": f"x{n}"},
        )
        assert answer.status_code == 422, (field, answer.get_json())
        assert [e["loc"][-1] for e in answer.get_json()["errors"]] == [field]
    assert rows_digest(runtime) == before


def test_a_link_that_carried_a_click_key_gets_the_new_one_in_its_place(
    api, scenario, runtime, sandbox, at, public
):
    """A landing address copied from a browser's bar, an old click key in it: the reader
    arrives with their own click's key alone."""
    x, _ = scenario.channels()
    old = "pub_click=aaaaaaaaaa" + "0" * 22
    _published(
        api, scenario, runtime, at, _campaign(api), [x], text=f"https://acme-asso.fr/p?{old}#top"
    )
    (code,) = SHORT.findall(sandbox.ledger.accepted("x")[0].text)
    landing = _follow(api, f"{PUBLIC}/l/{code}", **{"User-Agent": PHONE}).location
    parts = urlsplit(landing)
    assert parse_qs(parts.query)["pub_click"] == [_click_of(landing)]
    assert _click_of(landing).startswith(code) and parts.fragment == "top"

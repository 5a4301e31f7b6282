"""Review links, and the campaign's tracking on the links a post sends."""

from __future__ import annotations

from tests.helpers import rows_digest, run_after_due, soon


def test_a_review_link_expires(api, scenario, runtime, at):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(7200))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    link = api.post(
        f"/v1/reviews/{pub_id}/link", {"expires_in_hours": 1}, as_="reviewer", expect=201
    )
    path = link["url"].split("://", 1)[1].split("/", 1)[1]
    assert api.client.get(f"/{path}").status_code == 200
    at(soon(3700))
    page = api.client.get(f"/{path}")
    assert page.status_code == 403 and "expired" in page.get_data(as_text=True)
    answer = api.client.post(f"/{path}", data={"decision": "approve", "revision": "1"})
    assert answer.status_code == 403
    assert scenario.publication(pub_id)["status"] == "in_review"


def test_nobody_makes_a_link_that_votes_as_someone_else(api, scenario, runtime, committee, x):
    """Issue 11 item 11: an admin who made links for two reviewers could approve through
    both and count as two people. A link votes as the key that made it: a link for another
    key is refused and writes nothing; one made that way earlier does not open."""
    from publisher.review import links

    post, pub_id = scenario.submitted(x, at=soon(7200))
    before = rows_digest(runtime)
    refused = api.post(
        f"/v1/reviews/{pub_id}/link", {"reviewer_id": committee["legal"]}, as_="admin", expect=403
    )
    assert "makes its own link" in refused["detail"]
    assert rows_digest(runtime) == before

    author = api.get(f"/v1/posts/{post['id']}/history")[0]["actor"]  # "key:N"
    old_style = links._serializer(runtime.box.keys).dumps(
        {"p": pub_id, "k": committee["legal"], "m": int(author.split(":")[1]), "x": 2**40}
    )
    page = api.client.post(f"/review/{old_style}", data={"decision": "approve", "revision": "1"})
    assert page.status_code == 403 and "made by another key" in page.get_data(as_text=True)
    assert rows_digest(runtime) == before

    # The reviewer's own link: made and used by legal, both in the audit.
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="legal", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    assert api.client.post(path, data={"decision": "approve", "revision": "1"}).status_code == 200
    history = api.get(f"/v1/posts/{post['id']}/history")
    (made,) = [e for e in history if e["kind"] == "review.link_created"]
    assert made["data"]["reviewer_id"] == made["data"]["made_by"] == committee["legal"]
    (vote,) = [e for e in history if e["kind"] == "review.voted"]
    assert vote["actor"] == f"key:{committee['legal']}" and vote["data"]["via_link"] is True
    assert scenario.publication(pub_id)["status"] == "scheduled"


def test_the_link_is_previewed_and_sent_with_the_campaigns_tracking(
    api, scenario, runtime, sandbox, at
):
    tracking = {
        "utm_source": "{platform}",
        "utm_medium": "social",
        "utm_campaign": "c{campaign_id}",
    }
    campaign = api.post(
        "/v1/campaigns",
        {"name": "Open day", "objective": "recruitment", "tracking": tracking},
        expect=201,
    )
    x, fb = scenario.channels()
    body = scenario.post_body(
        [x, fb],
        at=soon(60),
        campaign=campaign,
        link="https://acme.example/day?ref=a&utm_medium=mail",
    )
    post = api.post("/v1/posts", body, expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    links = {
        i["preview"]["platform"]: i["preview"]["link"]
        for i in api.get("/v1/reviews", as_="reviewer")
    }
    c = campaign["id"]
    assert links == {
        "x": f"https://acme.example/day?ref=a&utm_medium=mail&utm_campaign=c{c}&utm_source=x",
        "facebook": f"https://acme.example/day?ref=a&utm_medium=mail&utm_campaign=c{c}"
        "&utm_source=facebook",
    }
    for pub in post["publications"]:
        api.post(f"/v1/reviews/{pub['id']}/approve", {"revision": 1}, as_="reviewer", expect=201)
    run_after_due(runtime, at)
    sent = {a.platform: a for a in sandbox.ledger.accepted()}
    assert links["x"] in sent["x"].text
    assert sent["facebook"].link == links["facebook"]
    bad = {"name": "n", "objective": "loyalty", "tracking": {"utm_source": "{user}"}}
    assert api.call("POST", "/v1/campaigns", bad)[0] == 422


def test_every_link_in_the_text_is_tracked_and_sent_once(api, scenario, runtime, sandbox, at):
    """Issue 11 item 8: a link written in the text went out untagged, and the tagged link
    field was appended after it, so X showed the URL twice."""
    campaign = api.post(
        "/v1/campaigns",
        {"name": "Agenda", "objective": "recruitment", "tracking": {"utm_source": "{platform}"}},
        expect=201,
    )
    x, fb = scenario.channels()
    body = scenario.post_body(
        [x, fb],
        at=soon(60),
        campaign=campaign,
        text="Programme : https://lumiere-asso.fr/agenda. Inscriptions https://lumiere-asso.fr/join"
        " ou lumiere.paris",
        link="https://lumiere-asso.fr/agenda",
        thread=["Plus : https://lumiere-asso.fr/faq"],
    )
    post = api.post("/v1/posts", body, expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    for pub in post["publications"]:
        api.post(f"/v1/reviews/{pub['id']}/approve", {"revision": 1}, as_="reviewer", expect=201)
    run_after_due(runtime, at)
    sent = {a.platform: a for a in sandbox.ledger.accepted() if a.in_reply_to is None}
    assert sent["x"].text == (
        "Programme : https://lumiere-asso.fr/agenda?utm_source=x. "
        "Inscriptions https://lumiere-asso.fr/join?utm_source=x ou lumiere.paris?utm_source=x"
    )  # the link field is the agenda link already in the text: not appended again
    (reply,) = [a for a in sandbox.ledger.accepted("x") if a.in_reply_to]
    assert reply.text == "Plus : https://lumiere-asso.fr/faq?utm_source=x"
    assert "https://lumiere-asso.fr/join?utm_source=facebook" in sent["facebook"].text
    assert sent["facebook"].link == "https://lumiere-asso.fr/agenda?utm_source=facebook"

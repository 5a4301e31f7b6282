"""The review page shows one post over all its channels (issue 14 part 5): who wrote it,
its campaign, each channel as its network will show it (numbered thread parts with their
own counts, the media on the part that carries them, the account's name and @handle),
one decision for every channel waiting for the reviewer, and a confirmation that says
what happened to each."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.helpers import soon
from tests.samples import png

THREAD = ["Part two: the programme.", "Part three: how to get there."]


def _path(link: dict) -> str:
    return "/" + link["url"].split("://", 1)[1].split("/", 1)[1]


def _sections(html: str) -> dict[int, str]:
    """Each channel's section of the page, by publication id."""
    found = re.split(r'<section class="card channel" id="channel-(\d+)"', html)[1:]
    pairs = zip(found[::2], found[1::2], strict=True)
    return {int(pub): body.split("</section>", 1)[0] for pub, body in pairs}


def _shown_ids(html: str) -> list[str]:
    """The publications the page's form decides on (its hidden fields)."""
    return re.findall(r'name="publication" value="(\d+)"', html)


def test_a_channel_that_came_into_review_after_the_page_opened_is_not_decided_unseen(api, scenario):
    x, fb = scenario.channels()
    first = scenario.post_for([x], at=soon(3600), text="One channel first")
    api.post(f"/v1/posts/{first['id']}/submit", expect=200)
    pub_id = first["publications"][0]["id"]
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    shown = _shown_ids(api.client.get(_path(link)).get_data(as_text=True))
    assert shown == [str(pub_id)]
    # A form posted without the page's hidden fields (a script) decides only the
    # publication the link was made for; the page's own form names what it showed.
    answer = api.client.post(_path(link), data={"decision": "approve", "revision": "1"})
    assert answer.status_code == 200
    assert scenario.publication(pub_id)["status"] == "scheduled"


def _two_channel_post(api, scenario):
    x, fb = scenario.channels()
    media_id = api.upload(png())[1]["id"]
    body = scenario.post_body(
        [x, fb],
        at=soon(7200),
        text="Open day on Saturday",
        thread=THREAD,
        media=[{"media_id": media_id, "alt_text": "The hall"}],
    )
    post = api.post("/v1/posts", body, expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    ids = {p["channel_id"]: p["id"] for p in post["publications"]}
    return post, ids[x["id"]], ids[fb["id"]], x


def test_one_page_shows_every_channel_of_the_post_as_each_network_will(api, scenario):
    post, x_pub, fb_pub, _ = _two_channel_post(api, scenario)
    link = api.post(f"/v1/reviews/{x_pub}/link", {}, as_="reviewer", expect=201)
    html = api.client.get(_path(link), headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert re.search(r'id="campaign">Winter<', html)
    assert re.search(r'id="author">editor<', html)  # the key that wrote it, by name
    sections = _sections(html)
    assert set(sections) == {x_pub, fb_pub}
    x, fb = sections[x_pub], sections[fb_pub]
    # X: a chain of three posts, numbered, each counted on its own; the picture rides
    # on the first, as X attaches it.
    numbers = re.findall(r'<span class="number">(\d)/(\d)</span>', x)
    assert numbers == [("1", "3"), ("2", "3"), ("3", "3")]
    posts = re.split(r'<div class="post" data-number="\d">', x)[1:]
    assert len(posts) == 3
    assert "<img" in posts[0] and all("<img" not in p for p in posts[1:])
    counts = re.findall(r'<span class="count ?">(\d+) / 280', x)
    assert counts == [str(len("Open day on Saturday")), *(str(len(t)) for t in THREAD)]
    # Facebook: one post, the parts a blank line apart, the picture with it.
    assert re.findall(r'<span class="number">', fb) == []
    assert "Open day on Saturday\n\nPart two: the programme.\n\nPart three" in fb
    assert fb.count("<img") == 1
    assert 'class="platform">X<' in x and 'class="platform">Facebook<' in fb
    # One form decides for both.
    assert html.count('id="approve"') == 1 and "applies to the 2 channels" in html


def test_one_approval_decides_every_channel_and_the_confirmation_says_what_happened(
    api, scenario, runtime
):
    post, x_pub, fb_pub, _ = _two_channel_post(api, scenario)
    link = api.post(f"/v1/reviews/{fb_pub}/link", {}, as_="reviewer", expect=201)
    shown = _shown_ids(api.client.get(_path(link)).get_data(as_text=True))
    assert sorted(shown) == sorted([str(x_pub), str(fb_pub)])  # the page names both
    answer = api.client.post(
        _path(link),
        data={"decision": "approve", "revision": "1", "publication": shown},
        headers={"Accept-Language": "fr"},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Votre approbation est enregistrée" in html and "Enregistré pour 2 canaux" in html
    outcomes = re.findall(r'<li class="outcome-ok"><strong>(.*?)</strong>', html)
    assert sorted(outcomes) == ["Acme Page (Facebook)", "Acme on X (X)"]
    assert html.count("approuvée : elle part le") == 2
    for pub in (x_pub, fb_pub):
        assert scenario.publication(pub)["status"] == "scheduled"
    history = api.get(f"/v1/posts/{post['id']}/history")
    votes = [e for e in history if e["kind"] == "review.voted"]
    assert len(votes) == 2 and all(v["data"]["via_link"] for v in votes)


def test_a_channel_already_voted_on_is_shown_but_not_decided_again(api, scenario):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, x_pub, fb_pub, _ = _two_channel_post(api, scenario)
    api.post(f"/v1/reviews/{x_pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
    link = api.post(f"/v1/reviews/{x_pub}/link", {}, as_="reviewer", expect=201)
    html = api.client.get(_path(link), headers={"Accept-Language": "en"}).get_data(as_text=True)
    sections = _sections(html)
    assert "not-mine" in sections[x_pub] and "not-mine" not in sections[fb_pub]
    shown = _shown_ids(html)
    assert shown == [str(fb_pub)]  # the one still waiting for this reviewer
    api.client.post(
        _path(link),
        data={
            "decision": "request_changes",
            "revision": "1",
            "comment": "Say which hall",
            "publication": [str(x_pub), str(fb_pub)],  # a forged form names both
        },
    )
    # Only the channel waiting for this reviewer changed; their X vote stands.
    assert scenario.publication(fb_pub)["status"] == "changes_requested"
    assert scenario.publication(x_pub)["status"] == "in_review"
    # The comment written on the page is in the post's discussion, once, as the reviewer's,
    # where the author answers it (and the page shows it to the next reader).
    post_id = scenario.publication(fb_pub)["post_id"]
    (said,) = api.get(f"/v1/posts/{post_id}/comments")
    assert (said["body"], said["revision"]) == ("Say which hall", 1)
    reviewer = next(k for k in api.get("/v1/keys", as_="admin") if k["name"] == "reviewer")
    assert said["author_id"] == reviewer["id"]
    page = api.client.get(_path(link)).get_data(as_text=True)
    assert page.count("Say which hall") == 1


def test_the_preview_names_the_account_as_the_network_does(api, scenario, runtime):
    _, x_pub, _, x = _two_channel_post(api, scenario)
    link = api.post(f"/v1/reviews/{x_pub}/link", {}, as_="reviewer", expect=201)
    html = api.client.get(_path(link)).get_data(as_text=True)
    assert '<strong class="name">Acme on X</strong>' in html  # not known yet: the channel
    assert 'class="handle"' not in _sections(html)[x_pub]
    check = api.post(f"/v1/channels/{x['id']}/check", as_="admin", expect=200)
    account = check["account"]
    channel = api.get(f"/v1/channels/{x['id']}")
    assert (channel["account_name"], channel["account_handle"]) == (
        account["name"],
        account["username"],
    )
    html = api.client.get(_path(link)).get_data(as_text=True)
    section = _sections(html)[x_pub]
    assert f'<strong class="name">{account["name"]}</strong>' in section
    assert f'<span class="handle">@{account["username"]}</span>' in section
    (item,) = [i for i in api.get("/v1/reviews", as_="reviewer") if i["publication"]["id"] == x_pub]
    assert item["preview"]["account_handle"] == f"@{account['username']}"
    assert [p["number"] for p in item["preview"]["posts"]] == [1, 2, 3]
    assert [len(p["media"]) for p in item["preview"]["posts"]] == [1, 0, 0]


def test_what_goes_wrong_reads_in_the_reviewers_language(api, scenario, runtime, at):
    """A stale page, an expired link, a changed picture and the discussion, in French:
    no engine sentence in English, no ISO time, no Python list."""
    from datetime import timedelta

    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    post, x_pub, _, _ = _two_channel_post(api, scenario)
    api.post(f"/v1/reviews/{x_pub}/approve", {"revision": 1}, as_="admin", expect=201)
    french = {"Accept-Language": "fr"}
    link = api.post(f"/v1/reviews/{x_pub}/link", {"expires_in_hours": 1}, as_="reviewer")
    api.post(f"/v1/posts/{post['id']}/comments", {"body": "Quelle salle ?"}, as_="reviewer")
    other = api.upload(png(5, 5))[1]["id"]
    media = [{"media_id": other, "alt_text": "La grande salle"}]
    api.call("PATCH", f"/v1/posts/{post['id']}", {"media": media}, expect=200)  # still in review
    answer = api.client.post(
        _path(link), data={"decision": "approve", "revision": "1"}, headers=french
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "la version 2 est maintenant en relecture" in html and "you reviewed" not in html
    assert re.search(r"Médias\u00a0: <del>media id: \d+, alt text: The hall</del>", html)
    assert "[{" not in html and "'media_id'" not in html
    assert re.search(r'<strong class="author">reviewer</strong>\u00a0: Quelle salle \?', html)
    at(datetime.now(UTC) + timedelta(hours=2))
    html = api.client.get(_path(link), headers=french).get_data(as_text=True)
    assert "Ce lien de relecture a expiré le " in html
    assert re.search(r"expiré le \w+ \d+ \w+ \d{4} à \d\d:\d\d", html)
    assert "T" not in re.search(r"expiré le ([^:]+)", html).group(1)  # no ISO time

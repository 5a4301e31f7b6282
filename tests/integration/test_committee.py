"""The approval committee: policies, votes bound to a revision, batches, comments."""

from __future__ import annotations

import socket

import pytest

from publisher.core.db import session_scope
from publisher.core.workspaces import create_key
from tests.helpers import rows_digest, run_pipeline, soon


@pytest.fixture
def committee(runtime, keys) -> dict[str, int]:
    """Three more reviewer keys in acme: alice, bob and legal (their ids by name)."""
    ids = {}
    with session_scope(runtime.engine) as session:
        for name in ("alice", "bob", "legal"):
            key, secret = create_key(session, workspace_id=1, name=name, role="reviewer")
            keys.keys[name], ids[name] = secret, key.id
    return ids


@pytest.fixture
def x(api) -> dict:
    return api.channels()[0]


def _submitted(api, x, at=None, text="Winter open day: come and meet us") -> tuple[dict, int]:
    post = api.post_for([x], at=at or soon(3600), text=text)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    return post, post["publications"][0]["id"]


def _run_after_due(runtime, at) -> None:
    """Publish what is due a few minutes from now, with the engine's clock there."""
    later = soon(300)
    at(later)
    run_pipeline(runtime, now=later)


def _item(api, pub_id: int, as_: str) -> dict:
    return next(i for i in api.get("/v1/reviews", as_=as_) if i["publication"]["id"] == pub_id)


def test_two_of_three_with_a_required_legal_reviewer(api, runtime, sandbox, committee, at, x):
    policy = {
        "approvals": 2,
        "requirements": [{"name": "legal", "reviewer_ids": [committee["legal"]]}],
    }
    assert api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)[1]["source"] == (
        "workspace"
    )
    post, pub_id = _submitted(api, x, at=soon(60))
    # What is missing is counted once (issue 11 item 21): legal's approval is one of the two.
    assert _item(api, pub_id, "alice")["tally"]["missing"] == [
        "2 more approvals, including 1 from legal"
    ]
    first = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    assert first["publication_status"] == "in_review"
    assert first["tally"]["missing"] == ["1 approval from legal"]
    assert not _item(api, pub_id, "alice")["waiting_on_me"]
    assert _item(api, pub_id, "bob")["waiting_on_me"]

    second = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="bob", expect=201)
    assert second["publication_status"] == "in_review"  # two approvals, but not legal's
    assert second["tally"] == {
        "approvals": 2,
        "needed": 2,
        "missing": ["1 approval from legal"],
        "short": 0,
        "groups": [[1, "legal"]],
    }
    assert run_pipeline(runtime, now=soon(120)) == 0
    assert sandbox.ledger.accepted() == []
    item = _item(api, pub_id, "legal")
    assert item["waiting_on_me"] and not _item(api, pub_id, "reviewer")["waiting_on_me"]
    assert [(v["reviewer"], v["decision"]) for v in item["votes"]] == [
        ("alice", "approved"),
        ("bob", "approved"),
    ]

    last = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="legal", expect=201)
    assert last["publication_status"] == "scheduled" and last["tally"]["missing"] == []
    _run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == [post["text"]]


def test_a_second_approval_by_the_same_reviewer_does_not_count(api, committee, x):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = _submitted(api, x)
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    status, body = api.call("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice")
    assert status == 409 and "already approved" in body["detail"]
    assert api.publication(pub_id)["status"] == "in_review"


def test_authors_may_not_approve_their_own_content(api, runtime):
    api.call("PUT", "/v1/review-policy", {"approvals": 1}, as_="admin", expect=200)
    x, _ = api.channels()
    body = api.post_body([x], at=soon(3600), campaign=api.campaign())
    post = api.post("/v1/posts", body, as_="admin", expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", as_="admin", expect=200)
    pub_id = post["publications"][0]["id"]
    assert not _item(api, pub_id, "admin")["waiting_on_me"]
    before = rows_digest(runtime)
    status, problem = api.call(
        "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="admin"
    )
    assert status == 403 and "authors may not approve" in problem["detail"]
    assert rows_digest(runtime) == before
    # An editor who changed the text is an author too; the reviewer is not.
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Edited by the editor"}, expect=200)
    api.call(
        "PUT",
        "/v1/review-policy",
        {"approvals": 1, "allow_self_approval": True},
        as_="admin",
        expect=200,
    )
    assert (
        api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="admin", expect=201)[
            "publication_status"
        ]
        == "scheduled"
    )


def test_an_edit_between_two_votes_resets_the_count(api, runtime, sandbox, committee, x, at):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    post, pub_id = _submitted(api, x, at=soon(60), text="Open day on Saturday")
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "Open day on Sunday"}, expect=200)
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="bob", expect=201)
    assert vote["publication_status"] == "in_review"  # alice approved revision 1 only
    assert vote["tally"]["approvals"] == 1
    status, stale = api.call("POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice")
    assert status == 409 and stale["type"].endswith("/stale_revision")
    assert stale["current_revision"] == 2
    item = _item(api, pub_id, "alice")
    assert item["waiting_on_me"] and item["diff"]["since_revision"] == 1
    assert item["diff"]["changes"] == [
        {
            "field": "text",
            "before": "Open day on Saturday",
            "after": "Open day on Sunday",
            "words": [
                {"op": "equal", "text": "Open day on "},
                {"op": "delete", "text": "Saturday"},
                {"op": "insert", "text": "Sunday"},
            ],
        }
    ]
    assert "-Open day on Saturday" in item["diff"]["text_diff"]
    assert [v["current"] for v in item["votes"]] == [False, True]
    done = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="alice", expect=201)
    assert done["publication_status"] == "scheduled"
    _run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == ["Open day on Sunday"]


def test_a_batch_approval_partly_on_stale_revisions(api, runtime, sandbox, x, at):
    posts = [_submitted(api, x, at=soon(60), text=f"Post number {n}") for n in range(3)]
    api.call("PATCH", f"/v1/posts/{posts[1][0]['id']}", {"text": "Post number one"}, expect=200)
    body = {
        "decision": "approve",
        "comment": "fine",
        "items": [{"publication_id": pub_id, "revision": 1} for _, pub_id in posts],
    }
    outcomes = api.post("/v1/reviews/batch", body, as_="reviewer", expect=200)
    assert [o["status"] for o in outcomes] == [201, 409, 201]
    assert outcomes[1]["problem"]["current_revision"] == 2
    assert outcomes[0]["review"]["publication_status"] == "scheduled"
    assert [api.publication(pub_id)["status"] for _, pub_id in posts] == [
        "scheduled",
        "in_review",
        "scheduled",
    ]
    _run_after_due(runtime, at)
    assert sorted(a.text for a in sandbox.ledger.accepted()) == ["Post number 0", "Post number 2"]


def test_request_changes_and_reject_need_a_comment_in_a_batch_too(api, runtime, x):
    _, pub_id = _submitted(api, x)
    before = rows_digest(runtime)
    for decision in ("request_changes", "reject"):
        body = {"decision": decision, "items": [{"publication_id": pub_id, "revision": 1}]}
        status, problem = api.call("POST", "/v1/reviews/batch", body, as_="reviewer")
        assert status == 422 and "comment is required" in problem["detail"]
    status, _ = api.call("POST", f"/v1/reviews/{pub_id}/reject", {"revision": 1}, as_="reviewer")
    assert status == 422
    assert rows_digest(runtime) == before


def test_campaign_policy_overrides_the_workspace_policy(api, committee):
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    campaign = api.campaign()
    path = f"/v1/campaigns/{campaign['id']}/review-policy"
    assert api.get(path)["source"] == "workspace"
    api.call("PUT", path, {"approvals": 1}, as_="admin", expect=200)
    assert api.get(path)["source"] == "campaign"
    x, _ = api.channels()
    post = api.post("/v1/posts", api.post_body([x], at=soon(60), campaign=campaign), expect=201)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    assert vote["publication_status"] == "scheduled"
    assert api.call("DELETE", path, as_="admin", expect=200)[1]["source"] == "workspace"


def test_bad_policies_are_refused_and_change_nothing(api, runtime, committee):
    before = rows_digest(runtime)
    cases = [
        ({"approvals": 0}, "approvals"),
        ({"approvals": 1, "requirements": [{"name": "legal", "min": 2, "role": "reviewer"}]}, ""),
        ({"approvals": 1, "requirements": [{"name": "legal"}]}, ""),
        ({"approvals": 1, "requirements": [{"name": "x", "reviewer_ids": [999]}]}, "reviewer_ids"),
        ({"approvals": 1, "review_deadline_minutes": -5}, "review_deadline_minutes"),
        ({}, "approvals"),
    ]
    for body, where in cases:
        status, problem = api.call("PUT", "/v1/review-policy", body, as_="admin")
        assert status == 422, body
        assert where in str(problem["errors"])
    editor_key = api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="editor")
    assert editor_key[0] == 403
    assert rows_digest(runtime) == before


def test_threaded_comments_are_seen_by_authors_and_reviewers(api, runtime, x):
    post, _ = _submitted(api, x)
    path = f"/v1/posts/{post['id']}/comments"
    question = api.post(path, {"body": "Is the date right?"}, as_="reviewer", expect=201)
    api.post(path, {"body": "Yes, checked", "parent_id": question["id"]}, expect=201)
    api.post(path, {"body": "Thanks"}, as_="reviewer", expect=201)
    for role in ("editor", "reviewer"):
        threads = api.get(path, as_=role)
        assert [(t["author"], t["body"]) for t in threads] == [
            ("reviewer", "Is the date right?"),
            ("reviewer", "Thanks"),
        ]
        assert [r["body"] for r in threads[0]["replies"]] == ["Yes, checked"]
    before = rows_digest(runtime)
    status, _ = api.call("POST", path, {"body": "x", "parent_id": 999})
    assert status == 422
    assert api.call("POST", path, {"body": "no"}, as_="other")[0] == 404
    assert rows_digest(runtime) == before


def test_the_queue_filters_sorts_and_speaks_the_reviewers_time(api, runtime, keys):
    tokyo = api.post(
        "/v1/keys", {"name": "kenji", "role": "reviewer", "time_zone": "Asia/Tokyo"}, as_="admin"
    )
    keys.keys["kenji"] = tokyo["key"]
    x, fb = api.channels()
    winter, spring = api.campaign(), api.campaign()
    later = api.post("/v1/posts", api.post_body([x], at=soon(7200), campaign=winter), expect=201)
    sooner = api.post("/v1/posts", api.post_body([fb], at=soon(3600), campaign=spring), expect=201)
    for post in (later, sooner):
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    ids = lambda items: [i["post_id"] for i in items]  # noqa: E731
    assert ids(api.get("/v1/reviews", as_="kenji")) == [sooner["id"], later["id"]]
    assert ids(api.get("/v1/reviews?sort=created", as_="kenji")) == [later["id"], sooner["id"]]
    assert ids(api.get(f"/v1/reviews?campaign_id={winter['id']}", as_="kenji")) == [later["id"]]
    assert ids(api.get(f"/v1/reviews?channel_id={fb['id']}", as_="kenji")) == [sooner["id"]]
    [first, _] = api.get("/v1/reviews", as_="kenji")
    assert first["reviewer_time_zone"] == "Asia/Tokyo"
    assert first["scheduled_local"].endswith("+09:00")
    assert first["preview"]["platform"] == "facebook" and first["tally"]["needed"] == 1
    assert api.get("/v1/reviews?time_zone=Europe/Paris", as_="kenji")[0]["reviewer_time_zone"] == (
        "Europe/Paris"
    )
    api.post(
        f"/v1/reviews/{sooner['publications'][0]['id']}/request-changes",
        {"comment": "no", "revision": 1},
        as_="kenji",
    )
    assert ids(api.get("/v1/reviews?waiting_on_me=true", as_="kenji")) == [later["id"]]
    for bad in ("sort=loudest", "time_zone=Mars/Base", "waiting_on_me=perhaps", "colour=red"):
        status, problem = api.call("GET", f"/v1/reviews?{bad}", as_="kenji")
        assert status == 422 and problem["errors"], bad


def test_a_review_link_expires(api, runtime, at):
    x, _ = api.channels()
    post = api.post_for([x], at=soon(7200))
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
    assert api.publication(pub_id)["status"] == "in_review"


def test_nobody_makes_a_link_that_votes_as_someone_else(api, runtime, committee, x):
    """Issue 11 item 11: an admin who made links for two reviewers could approve through
    both and count as two people. A link votes as the key that made it: a link for another
    key is refused and writes nothing; one made that way earlier does not open."""
    from publisher.review import links

    post, pub_id = _submitted(api, x, at=soon(7200))
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
    assert api.publication(pub_id)["status"] == "scheduled"


def test_the_link_is_previewed_and_sent_with_the_campaigns_tracking(api, runtime, sandbox, at):
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
    x, fb = api.channels()
    body = api.post_body(
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
    _run_after_due(runtime, at)
    sent = {a.platform: a for a in sandbox.ledger.accepted()}
    assert links["x"] in sent["x"].text
    assert sent["facebook"].link == links["facebook"]
    bad = {"name": "n", "objective": "loyalty", "tracking": {"utm_source": "{user}"}}
    assert api.call("POST", "/v1/campaigns", bad)[0] == 422


def test_every_link_in_the_text_is_tracked_and_sent_once(api, runtime, sandbox, at):
    """Issue 11 item 8: a link written in the text went out untagged, and the tagged link
    field was appended after it, so X showed the URL twice."""
    campaign = api.post(
        "/v1/campaigns",
        {"name": "Agenda", "objective": "recruitment", "tracking": {"utm_source": "{platform}"}},
        expect=201,
    )
    x, fb = api.channels()
    body = api.post_body(
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
    _run_after_due(runtime, at)
    sent = {a.platform: a for a in sandbox.ledger.accepted() if a.in_reply_to is None}
    assert sent["x"].text == (
        "Programme : https://lumiere-asso.fr/agenda?utm_source=x. "
        "Inscriptions https://lumiere-asso.fr/join?utm_source=x ou lumiere.paris?utm_source=x"
    )  # the link field is the agenda link already in the text: not appended again
    (reply,) = [a for a in sandbox.ledger.accepted("x") if a.in_reply_to]
    assert reply.text == "Plus : https://lumiere-asso.fr/faq?utm_source=x"
    assert "https://lumiere-asso.fr/join?utm_source=facebook" in sent["facebook"].text
    assert sent["facebook"].link == "https://lumiere-asso.fr/agenda?utm_source=facebook"


def test_content_rules_show_as_findings_on_each_channels_text(api, x):
    rules = {
        "approvals": 1,
        "content_rules": {
            "banned_terms": ["guaranteed"],
            "required_terms": ["#ad"],
            "max_hashtags": 2,
            "max_mentions": 1,
        },
    }
    api.call("PUT", "/v1/review-policy", rules, as_="admin", expect=200)
    _submitted(api, x, text="Guaranteed fun! #winter #open #day with @acme and @friends")
    [item] = api.get("/v1/reviews", as_="reviewer")
    assert [(f["rule"], f["detail"]) for f in item["preview"]["findings"]] == [
        ("banned_terms", "contains 'guaranteed'"),
        ("required_terms", "does not contain '#ad'"),
        ("max_hashtags", "3 hashtags, more than 2"),
        ("max_mentions", "2 mentions, more than 1"),
    ]


def test_two_votes_at_the_same_moment_both_count(api, runtime, committee, x):
    """Two reviewers approve at once (two transactions): the second waits for the first,
    sees its vote, and completes the approval."""
    import threading

    from publisher.core.states import Status
    from publisher.core.workspaces import Actor
    from publisher.review import votes

    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = _submitted(api, x)
    # Both at the line together: alice's vote is written and uncommitted when bob starts.
    line, outcomes, order = threading.Barrier(2, timeout=10), {}, []

    def vote(name: str) -> None:
        with runtime.session() as session:
            who = Actor(workspace_id=1, key_id=committee[name], role="reviewer")
            if name == "bob":
                line.wait()
            outcome = votes.decide(
                session, who, pub_id, Status.APPROVED, comment="", now=soon(), revision=1
            )
            if name == "alice":
                line.wait()  # bob is starting his vote now, against this open transaction
                threading.Event().wait(0.3)
            outcomes[name] = outcome.status
            session.commit()
            order.append(name)

    threads = [threading.Thread(target=vote, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert order == ["alice", "bob"]  # bob waited for alice's commit
    assert outcomes == {"alice": "in_review", "bob": "scheduled"}
    assert api.publication(pub_id)["status"] == "scheduled"


def test_one_item_can_be_read_on_its_own(api, x):
    _, pub_id = _submitted(api, x)
    item = api.get(f"/v1/reviews/{pub_id}?time_zone=Asia/Tokyo", as_="reviewer")
    assert item["publication"]["id"] == pub_id and item["reviewer_time_zone"] == "Asia/Tokyo"
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    assert api.call("GET", f"/v1/reviews/{pub_id}", as_="reviewer")[0] == 409
    assert api.call("GET", f"/v1/reviews/{pub_id}", as_="other")[0] == 404
    assert api.call("GET", "/v1/reviews/999999", as_="reviewer")[0] == 404


def test_the_queue_sorts_by_deadline_campaign_and_channel(api):
    x, fb = api.channels()
    late = api.campaign()  # made first: the lower id
    early = api.campaign()
    for campaign, minutes in ((early, 10), (late, 120)):
        path = f"/v1/campaigns/{campaign['id']}/review-policy"
        api.call(
            "PUT",
            path,
            {"approvals": 1, "review_deadline_minutes": minutes},
            as_="admin",
            expect=200,
        )
    # Goes out first, but its committee has until 10 minutes before: deadline in 1h50.
    first = api.post("/v1/posts", api.post_body([fb], at=soon(7200), campaign=early), expect=201)
    # Goes out later, but must be decided 2 hours before: deadline in 1h.
    second = api.post("/v1/posts", api.post_body([x], at=soon(10800), campaign=late), expect=201)
    for post in (first, second):
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)

    def order(sort: str) -> list[int]:
        return [i["post_id"] for i in api.get(f"/v1/reviews?sort={sort}", as_="reviewer")]

    assert order("scheduled") == [first["id"], second["id"]]
    assert order("deadline") == [second["id"], first["id"]]
    assert order("campaign") == [second["id"], first["id"]]
    assert order("channel") == [second["id"], first["id"]]  # "Acme on X" before "Acme Page"


def test_an_approval_completed_early_still_waits_for_its_time(api, runtime, sandbox, committee, x):
    """The last vote sets when it may go out; it must never be before its scheduled time,
    whether the dispatcher runs now or a rogue job is handed over at once."""
    api.call("PUT", "/v1/review-policy", {"approvals": 2}, as_="admin", expect=200)
    _, pub_id = _submitted(api, x, at=soon(600))
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="alice", expect=201)
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="bob", expect=201)
    assert vote["publication_status"] == "scheduled"
    assert run_pipeline(runtime) == 0
    runtime.queue.hand_over([pub_id])
    run_pipeline(runtime)
    assert sandbox.ledger.accepted() == []
    assert api.publication(pub_id)["status"] in {"scheduled", "queued"}


def test_a_requirement_of_the_admin_role_is_not_met_by_a_reviewer(api, runtime, sandbox, x, at):
    policy = {"approvals": 1, "requirements": [{"name": "management", "role": "admin"}]}
    api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)
    post, pub_id = _submitted(api, x, at=soon(60))
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    assert vote["publication_status"] == "in_review"
    assert vote["tally"]["missing"] == ["1 approval from management"]
    assert run_pipeline(runtime, now=soon(120)) == 0
    assert sandbox.ledger.accepted() == []
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="admin", expect=201)
    assert vote["publication_status"] == "scheduled" and vote["tally"]["missing"] == []
    _run_after_due(runtime, at)
    assert [a.text for a in sandbox.ledger.accepted()] == [post["text"]]


def test_an_admin_who_edited_an_editors_post_may_not_approve_it(api, runtime, x):
    """Self-approval off: whoever changed the content is an author, whatever their role."""
    api.call("PUT", "/v1/review-policy", {"approvals": 1}, as_="admin", expect=200)
    post, pub_id = _submitted(api, x)
    edit = {"text": "Winter open day, as the admin wrote it"}
    api.call("PATCH", f"/v1/posts/{post['id']}", edit, as_="admin", expect=200)
    before = rows_digest(runtime)
    status, problem = api.call(
        "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="admin"
    )
    assert status == 403 and "authors may not approve" in problem["detail"]
    assert rows_digest(runtime) == before
    assert api.publication(pub_id)["status"] == "in_review"
    vote = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 2}, as_="reviewer", expect=201)
    assert vote["publication_status"] == "scheduled"


def test_a_vote_committed_while_redis_is_down_answers_201(api, runtime, sandbox, x, at):
    """Issue 14 part 4: the vote was recorded and the publication scheduled, then waking the
    dispatcher through Redis failed and the client got a 500 (its retry a 409). Once the
    database has committed, the answer is the commit's; the dispatcher finds the change on
    its next pass."""
    from redis import Redis

    _, pub_id = _submitted(api, x, at=soon(60))
    working = runtime.queue.redis
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    runtime.queue.redis = Redis(port=port, socket_connect_timeout=0.5)
    try:
        status, vote = api.call(
            "POST", f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer"
        )
    finally:
        runtime.queue.redis = working
    assert status == 201 and vote["publication_status"] == "scheduled", vote
    assert api.publication(pub_id)["status"] == "scheduled"
    _run_after_due(runtime, at)
    assert len(sandbox.ledger.accepted()) == 1


def test_a_votes_comment_joins_the_posts_discussion_once(api):
    """Where the author answers it; a vote cast on each of the post's channels with the
    same words says them once."""
    x, fb = api.channels()
    post = api.post_for([x, fb], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    for pub in post["publications"]:
        api.post(
            f"/v1/reviews/{pub['id']}/request-changes",
            {"comment": "Say which Saturday", "revision": 1},
            as_="reviewer",
            expect=201,
        )
    (said,) = api.get(f"/v1/posts/{post['id']}/comments")
    assert (said["body"], said["revision"]) == ("Say which Saturday", 1)
    reviewer = next(k for k in api.get("/v1/keys", as_="admin") if k["name"] == "reviewer")
    assert said["author_id"] == reviewer["id"]
    api.post(
        f"/v1/posts/{post['id']}/comments",
        {"body": "The 5th", "parent_id": said["id"]},
        expect=201,
    )
    (thread,) = api.get(f"/v1/posts/{post['id']}/comments")
    assert [r["body"] for r in thread["replies"]] == ["The 5th"]

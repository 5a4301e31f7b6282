"""Every list answers a page: `limit` (default 50, at most 500) and an opaque cursor;
where the next page is goes in Link (rel="next") and X-Next-Cursor (issue 11 item 13:
330 posts were one 249 KiB answer, a 1,000-item review queue 2 MB)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from publisher.core.models import Post
from tests.helpers import soon


def _pages(api, path: str, *, as_: str = "editor") -> list[list[dict]]:
    """Follow the Link header from the first page to the last."""
    headers = {"Authorization": f"Bearer {api.keys[as_]}"}
    pages, url = [], path
    while url:
        response = api.client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        pages.append(response.get_json())
        link = response.headers.get("Link")
        assert (link is None) == ("X-Next-Cursor" not in response.headers)
        if link is None:
            break
        target = urlsplit(link[1 : link.index(">")])
        url = f"{target.path}?{target.query}"
    return pages


@pytest.fixture
def many(api, scenario, runtime):
    """120 posts, each with its publication waiting for review."""
    x, _ = scenario.channels()
    campaign = scenario.campaign()
    for i in range(120):
        post = scenario.post_for([x], at=soon(3600 + i), campaign=campaign, text=f"post {i}")
        api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    with runtime.session() as session:
        return [p.id for p in session.exec(select(Post).order_by(Post.id))]


def test_posts_and_publications_come_in_pages_that_add_up(api, many):
    pages = _pages(api, "/v1/posts")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [p["id"] for page in pages for p in page] == many
    pubs = _pages(api, "/v1/publications?limit=100&status=in_review")
    assert [len(p) for p in pubs] == [100, 20]
    assert len({p["id"] for page in pubs for p in page}) == 120


@pytest.mark.parametrize("sort", ["scheduled", "deadline", "created"])
def test_the_review_queue_comes_in_pages(api, many, sort):
    pages = _pages(api, f"/v1/reviews?sort={sort}&limit=40", as_="reviewer")
    assert [len(p) for p in pages] == [40, 40, 40]
    ids = [i["publication"]["id"] for page in pages for i in page]
    assert len(set(ids)) == 120
    whole = api.get(f"/v1/reviews?sort={sort}&limit=500", as_="reviewer")
    assert ids == [i["publication"]["id"] for i in whole]


@pytest.mark.parametrize(
    "query,loc",
    [
        ("limit=0", ["query", "limit"]),
        ("limit=501", ["query", "limit"]),
        ("cursor=not-ours", ["query", "cursor"]),
        ("cursor=eyJvZmZzZXQiOjF9", ["query", "cursor"]),  # another list's kind of cursor
    ],
)
def test_bad_paging_is_a_422(api, query, loc):
    status, problem = api.call("GET", f"/v1/posts?{query}")
    assert status == 422 and problem["errors"][0]["loc"] == loc


def test_deciding_on_a_page_skips_nobody_on_the_next(api, many):
    """The cursor is a position in the sort, not an offset: items decided on page one
    leave the queue without pushing others past the next page's start."""
    first = api.client.get(
        "/v1/reviews?waiting_on_me=true&limit=50",
        headers={"Authorization": f"Bearer {api.keys['reviewer']}"},
    )
    decided = [i["publication"]["id"] for i in first.get_json()]
    for pub_id in decided:
        api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="reviewer", expect=201)
    link = first.headers["Link"]
    target = urlsplit(link[1 : link.index(">")])
    rest = _pages(api, f"{target.path}?{target.query}", as_="reviewer")
    seen = [i["publication"]["id"] for page in rest for i in page]
    assert len(decided) == 50 and len(seen) == 70 and not set(seen) & set(decided)


def test_a_cursor_of_another_sort_is_a_422(api, many):
    first = api.client.get(
        "/v1/reviews?sort=channel&limit=10",
        headers={"Authorization": f"Bearer {api.keys['reviewer']}"},
    )
    cursor = first.headers["X-Next-Cursor"]
    status, problem = api.call("GET", f"/v1/reviews?sort=created&cursor={cursor}", as_="reviewer")
    assert status == 422 and problem["errors"][0]["loc"] == ["query", "cursor"]


def test_every_list_in_the_api_document_takes_a_limit_and_a_cursor(api):
    """A list added later without paging fails here (issue 11 item 13)."""
    document = api.client.get("/openapi.json").get_json()
    lists = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        ok = (get or {}).get("responses", {}).get("200", {})
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            lists.append(path)
            names = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
            assert {"limit", "cursor"} <= names, path
    assert len(lists) >= 12, lists


def test_keys_webhooks_deliveries_pauses_histories_and_comments_come_in_pages(
    api, scenario, runtime
):
    from publisher.core.models import Webhook, WebhookDelivery

    x, fb = scenario.channels()
    post = scenario.post_for([x, fb], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    for i in range(4):
        api.call("PATCH", f"/v1/posts/{post['id']}", {"text": f"edit {i}"}, expect=200)
        api.post("/v1/keys", {"name": f"k{i}", "role": "reviewer"}, as_="admin", expect=201)
        first = api.post(f"/v1/posts/{post['id']}/comments", {"body": f"c{i}"}, expect=201)
        api.post(
            f"/v1/posts/{post['id']}/comments",
            {"body": f"reply {i}", "parent_id": first["id"]},
            as_="reviewer",
            expect=201,
        )
    campaign = scenario.campaign()
    scopes = [("channel", x["id"]), ("channel", fb["id"]), ("campaign", campaign["id"])]
    for scope, scope_id in [*scopes, ("workspace", None)]:
        body = {"scope": scope, "reason": "crisis", **({"id": scope_id} if scope_id else {})}
        api.post("/v1/pause", body, as_="admin", expect=201)
    with runtime.session() as session:
        hooks = [
            Webhook(
                workspace_id=1,
                url=f"https://hooks.example/{i}",
                topics=["post.published"],
                secret=b"s",
            )
            for i in range(5)
        ]
        session.add_all(hooks)
        session.flush()
        session.add_all(
            WebhookDelivery(
                webhook_id=hooks[0].id, workspace_id=1, topic="post.published", payload={"n": n}
            )
            for n in range(7)
        )
        session.commit()
        hook_id = hooks[0].id

    def walk(path: str, as_: str = "editor") -> tuple[list[int], list[dict]]:
        pages = _pages(api, path, as_=as_)
        assert all(len(p) <= 3 for p in pages) and len(pages) > 1, path
        items = [i for p in pages for i in p]
        whole = api.get(path.replace("limit=3", "limit=500"), as_=as_)
        assert items == whole, path  # the pages add up to the whole list, in its order
        return [len(p) for p in pages], items

    assert walk("/v1/keys?limit=3", "admin")[0] == [3, 3, 2]  # 4 made by the fixture, 4 here
    assert walk("/v1/webhooks?limit=3", "admin")[0] == [3, 2]
    sizes, deliveries = walk(f"/v1/webhooks/{hook_id}/deliveries?limit=3", "admin")
    assert sizes == [3, 3, 1]
    assert [d["payload"]["n"] for d in deliveries] == [6, 5, 4, 3, 2, 1, 0]  # newest first
    assert walk("/v1/pauses?limit=3", "admin")[0] == [3, 1]
    walk(f"/v1/posts/{post['id']}/history?limit=3")
    walk(f"/v1/publications/{post['publications'][0]['id']}/history?limit=3")
    sizes, threads = walk(f"/v1/posts/{post['id']}/comments?limit=3")
    assert sizes == [3, 1]  # a page holds whole threads: each with its reply
    assert [(t["body"], [r["body"] for r in t["replies"]]) for t in threads] == [
        (f"c{i}", [f"reply {i}"]) for i in range(4)
    ]


def test_a_key_listing_reads_no_more_than_a_page_from_the_start(api, runtime):
    """The service, not only the view, stops at the page: the first page starts at the
    first key (the fixture's admin) and holds `limit` keys, in the order they were made."""
    from publisher.core import workspaces

    with runtime.session() as session:
        admin = workspaces.authenticate(session, api.keys["admin"])
        first = workspaces.list_keys(session, admin, limit=2, after_id=0)
        rest = workspaces.list_keys(session, admin, limit=10, after_id=first[-1].id)
    assert [k.name for k in first] == ["admin", "editor"]
    assert [k.name for k in rest] == ["reviewer", "automation"]

"""The sandbox is only as true as its source. Real X answers recorded in tweepy's cassettes
(recorded/x_tweepy_cassettes.json, scripts/extract-x-cassettes) are replayed through the X
adapter; they, and every answer the sandbox gives the adapter, must fit X's published
schemas (x_spec.json, X API v2 2.167); the forms X no longer takes are refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from adapters.sandbox.x_spec import spec
from adapters.types import AdapterConfig, Content, MediaFile, PublishRequest
from adapters.x import XAdapter
from tests.conformance.conftest import CASES
from tests.samples import png

RECORDED = json.loads((Path(__file__).parent / "recorded/x_tweepy_cassettes.json").read_text())
X = next(c for c in CASES if c.platform == "x")


def _template(path: str) -> str:
    """A request path as the description's path template."""
    parts = path.split("/")
    for template in spec().document["paths"]:
        shape = template.split("/")
        if len(shape) == len(parts) and all(
            t.startswith("{") or t == p for t, p in zip(shape, parts, strict=True)
        ):
            return template
    return path


def _recorded(method: str, path: str) -> dict:
    return next(
        i for i in RECORDED["interactions"] if i["method"] == method and _path(i["uri"]) == path
    )


def _path(uri: str) -> str:
    return urlsplit(uri).path


@pytest.mark.parametrize(
    "item",
    [i for i in RECORDED["interactions"] if _template(_path(i["uri"])) in spec().document["paths"]],
    ids=lambda i: f"{i['method']} {_path(i['uri'])}",
)
def test_recorded_answers_fit_the_published_schemas(item):
    template = _template(_path(item["uri"]))
    assert spec().response_problems(item["method"], template, item["status"], item["body"]) == []


class Replay(BaseAdapter):
    """A transport that answers each request with the recorded answer for its route."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, dict]]) -> None:
        super().__init__()
        self.answers, self.seen = answers, []

    def send(self, request, **kwargs):
        path = urlsplit(request.url).path
        self.seen.append((request.method, path))
        status, body = self.answers[(request.method, _template(path))]
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url, request
        response._content = json.dumps(body).encode()
        response.headers["content-type"] = "application/json; charset=utf-8"
        return response

    def close(self) -> None:
        pass


def _replayed(*routes: tuple[str, str]) -> tuple[XAdapter, Replay]:
    answers = {}
    for method, path in routes:
        item = _recorded(method, path)
        answers[(method, _template(path))] = (item["status"], item["body"])
    transport = Replay(answers)
    config = AdapterConfig(timeout_s=5.0, transport=transport)
    return XAdapter({"access_token": "recorded"}, account_id="", config=config), transport


def test_a_recorded_post_and_take_down_through_the_adapter():
    adapter, transport = _replayed(
        ("POST", "/2/tweets"), ("DELETE", "/2/tweets/1456012973835788293")
    )
    result = adapter.publish(PublishRequest(Content(text="Test Tweet")))
    assert result.external_id == "1456012973835788293"
    adapter.delete(result.external_id)
    assert transport.seen == [("POST", "/2/tweets"), ("DELETE", "/2/tweets/1456012973835788293")]


def test_a_recorded_read_and_the_account_through_the_adapter():
    adapter, _ = _replayed(("GET", "/2/tweets/1293593516040269825"), ("GET", "/2/users/me"))
    assert adapter.get("1293593516040269825")["text"].startswith("It’s finally here!")
    assert adapter.check().username == "TweepyDev"


def test_a_recorded_timeline_with_t_co_and_media_links_is_searched_right(tmp_path):
    """X's real answer: the link and the media are t.co links at the end. The post as
    sent had the link itself and an attachment; `find` must match it, and only it."""
    adapter, _ = _replayed(("GET", "/2/users/me"), ("GET", "/2/users/783214/tweets"))
    data = png()
    path = tmp_path / "a.png"
    path.write_bytes(data)
    media = (MediaFile(path=str(path), content_type="image/png", size_bytes=len(data)),)
    sent = Content(
        text="whoa, it works\n\nnow everyone can mix GIFs, videos, and images in one Tweet, "
        "available on iOS and Android https://blog.twitter.com/mixed-media",
        media=media,
    )
    since = datetime(2022, 10, 1, tzinfo=UTC)
    assert adapter.find(sent, since=since).external_id == "1577730467436138524"
    other = Content(text="whoa, it works", media=media)
    assert adapter.find(other, since=since) is None


def test_an_escaped_recorded_text_is_matched_unescaped():
    item = _recorded("GET", "/2/users/1072250532645998596/timelines/reverse_chronological")
    escaped = next(p for p in item["body"]["data"] if "&amp;" in p["text"])
    from adapters.x_text import comparable_returned, comparable_sent

    unescaped = escaped["text"].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    sent = unescaped.rsplit("https://t.co/", 1)[0] + "https://example.com/trivia"
    assert comparable_returned(escaped["text"]) == comparable_sent(sent)


def test_every_answer_the_sandbox_gives_the_x_adapter_fits_the_schemas(fresh_sandbox, tmp_path):
    fresh_sandbox.ledger.exchanges = []  # record from here
    adapter = X.adapter(fresh_sandbox)
    data = png()
    (tmp_path / "a.png").write_bytes(data)
    media = (MediaFile(str(tmp_path / "a.png"), "image/png", len(data), alt_text="A stand"),)
    since = datetime.now(UTC) - timedelta(seconds=1)
    first = adapter.publish(PublishRequest(Content(text="Fish & chips https://a.fr", media=media)))
    adapter.publish(PublishRequest(Content(text="one", thread=("two",))))
    adapter.find(Content(text="Fish & chips https://a.fr", media=media), since=since)
    adapter.get(first.external_id)
    adapter.fetch_metrics([first.external_id, "1"])
    adapter.check()
    adapter.delete(first.external_id)
    exchanges = fresh_sandbox.ledger.exchanges
    fresh_sandbox.ledger.exchanges = None
    checked = [e for e in exchanges if _template(e["path"]) in spec().document["paths"]]
    assert {(e["method"], _template(e["path"])) for e in checked} >= {
        ("POST", "/2/tweets"),
        ("POST", "/2/media/upload/initialize"),
        ("POST", "/2/media/upload/{id}/append"),
        ("POST", "/2/media/upload/{id}/finalize"),
        ("POST", "/2/media/metadata"),
        ("GET", "/2/users/{id}/tweets"),
        ("GET", "/2/tweets"),
        ("GET", "/2/tweets/{id}"),
        ("GET", "/2/users/me"),
        ("DELETE", "/2/tweets/{id}"),
    }
    for e in checked:
        problems = spec().response_problems(
            e["method"], _template(e["path"]), e["status"], e["body"]
        )
        assert problems == [], (e["method"], e["path"], problems)


def _x(sandbox, method: str, path: str, token: str = "conformance-x-token", **kw):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, sandbox.x_url + path, headers=headers, timeout=5, **kw)


@pytest.mark.parametrize(
    "fields",
    [
        {"command": "INIT", "total_bytes": "10", "media_type": "image/png"},
        {"command": "APPEND", "media_id": "1870000000000000001", "segment_index": "0"},
        {"command": "FINALIZE", "media_id": "1870000000000000001"},
    ],
    ids=["INIT", "APPEND", "FINALIZE"],
)
def test_the_deprecated_command_upload_is_refused(fresh_sandbox, fields):
    answer = _x(fresh_sandbox, "POST", "/2/media/upload", data=fields, files={"x": ("x", b"1")})
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/2/problems/invalid-request")


def test_unknown_parameters_and_missing_scopes_are_refused(fresh_sandbox):
    assert _x(fresh_sandbox, "GET", "/2/users/me?expansions=nope").status_code == 400
    assert _x(fresh_sandbox, "GET", "/2/tweets?ids=1&unknown=1").status_code == 400
    fresh_sandbox.ledger.token_scopes["read-only"] = {"tweet.read", "users.read"}
    answer = _x(
        fresh_sandbox,
        "POST",
        "/2/media/upload/initialize",
        token="read-only",
        json={"media_type": "image/png", "total_bytes": 10},
    )
    assert answer.status_code == 403 and "media.write" in answer.json()["detail"]


def test_a_quote_with_media_is_refused_by_x(fresh_sandbox):
    posted = _x(fresh_sandbox, "POST", "/2/tweets", json={"text": "original"}).json()["data"]
    body = {"text": "q", "quote_tweet_id": posted["id"], "media": {"media_ids": ["1"]}}
    assert _x(fresh_sandbox, "POST", "/2/tweets", json=body).status_code == 400


def _graph(sandbox, path: str, **params):
    params.setdefault("access_token", "conformance-page-token")
    return requests.get(sandbox.graph_url + path, params=params, timeout=5)


def test_graph_refuses_removed_fields_metrics_and_versions(fresh_sandbox):
    feed = _graph(fresh_sandbox, "/v26.0/1020304050/feed", fields="id,message,link")
    assert feed.status_code == 400 and feed.json()["error"]["code"] == 12
    insights = _graph(
        fresh_sandbox, "/v26.0/", ids="1_2", fields="insights.metric(post_impressions)"
    )
    assert insights.status_code == 400 and insights.json()["error"]["code"] == 100
    unknown = _graph(fresh_sandbox, "/v99.0/1020304050")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 2500
    limit = _graph(
        fresh_sandbox,
        "/v26.0/17841400000000099/content_publishing_limit",
        fields="config,quota_usage",
    ).json()
    assert limit == {
        "data": [{"quota_usage": 0, "config": {"quota_total": 50, "quota_duration": 86400}}]
    }


GRAPH = json.loads((Path(__file__).parent / "recorded/graph_published_samples.json").read_text())


class GraphReplay(BaseAdapter):
    """Answers each Graph request from the published samples, by the request's last path
    segment (and the grant type for token exchanges)."""

    def __init__(self, routes: dict[str, str]) -> None:
        super().__init__()
        self.routes, self.seen = routes, []

    def send(self, request, **kwargs):
        url = urlsplit(request.url)
        key = url.path.rstrip("/").rsplit("/", 1)[-1]
        if "fb_exchange_token" in url.query:
            key = "fb_exchange_token"
        self.seen.append(key)
        sample = GRAPH["samples"][self.routes[key]]
        response = requests.Response()
        response.status_code, response.url, response.request = (
            sample["status"],
            request.url,
            request,
        )
        response._content = json.dumps(sample["body"]).encode()
        response.headers.update({"content-type": "application/json", **sample.get("headers", {})})
        return response

    def close(self) -> None:
        pass


def _graph_replayed(cls_name: str, routes: dict[str, str], credentials: dict, account: str):
    from adapters.facebook import FacebookAdapter
    from adapters.instagram import InstagramAdapter

    cls = {"facebook": FacebookAdapter, "instagram": InstagramAdapter}[cls_name]
    transport = GraphReplay(routes)
    config = AdapterConfig(timeout_s=5.0, transport=transport)
    return cls(credentials, account_id=account, config=config), transport


def test_published_business_use_case_throttling_is_a_wait_until_access_returns():
    from adapters.errors import RateLimited

    adapter, _ = _graph_replayed(
        "facebook", {"feed": "buc_throttled_page"}, {"page_access_token": "p"}, "1020304050"
    )
    with pytest.raises(RateLimited) as held:
        adapter.publish(PublishRequest(Content(text="hello")))
    assert held.value.retry_at is not None  # estimated_time_to_regain_access: 7 minutes
    assert held.value.retry_at > datetime.now(UTC) + timedelta(minutes=6)


def test_published_refusal_of_a_removed_field_is_not_a_failure_to_find():
    """What Graph answers to `link` on a feed read; the adapter no longer asks for it, and
    such an answer would be a refusal (it is not "not there")."""
    from adapters.errors import Rejected

    adapter, transport = _graph_replayed(
        "facebook", {"feed": "deprecated_link_field"}, {"page_access_token": "p"}, "1"
    )
    with pytest.raises(Rejected):
        adapter.find(Content(text="x"), since=datetime.now(UTC))
    assert transport.seen == ["feed"]


def test_published_publishing_limit_is_read_as_published():
    adapter, _ = _graph_replayed(
        "instagram",
        {"content_publishing_limit": "content_publishing_limit"},
        {"access_token": "t"},
        "17841405793187218",
    )
    adapter._check_allowance()  # 2 of 50: goes on (raises when spent)


def test_published_login_answers_give_the_page_and_its_instagram_account():
    from adapters.facebook import FacebookAdapter
    from adapters.types import OAuthApp

    transport = GraphReplay(
        {
            "access_token": "code_exchange",
            "fb_exchange_token": "code_exchange",
            "accounts": "me_accounts",
            "page_id": "instagram_business_account",
        }
    )
    accounts = FacebookAdapter.complete_authorization(
        OAuthApp("app", "secret", "https://publisher.example/cb"),
        code="c",
        verifier=None,
        config=AdapterConfig(timeout_s=5.0, transport=transport),
    )
    assert [(a.platform, a.account.id) for a in accounts] == [
        ("facebook", "page_id"),
        ("instagram", "17841405793187218"),
    ]
    assert accounts[0].credentials == {"page_access_token": "page_access_token"}


def test_published_code_used_twice_is_a_refusal():
    from adapters.errors import AdapterError
    from adapters.facebook import FacebookAdapter
    from adapters.types import OAuthApp

    transport = GraphReplay({"access_token": "code_used_twice"})
    with pytest.raises(AdapterError) as refused:
        FacebookAdapter.complete_authorization(
            OAuthApp("app", "secret", "https://publisher.example/cb"),
            code="c",
            verifier=None,
            config=AdapterConfig(timeout_s=5.0, transport=transport),
        )
    assert "has been used" in refused.value.reason

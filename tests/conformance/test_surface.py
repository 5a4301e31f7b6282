"""Every adapter's whole surface against the strict sandbox, table-driven (conftest.CASES):
publish (text, link, thread, quote, media), find what the platform hands back, get,
metrics, delete, check, connect and refresh. Judged from the sandbox's ledger."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.errors import AuthExpired
from adapters.sandbox import Sandbox
from adapters.types import Content, MediaFile, OAuthApp, PublishRequest
from tests.conformance.conftest import CASES, Case, cases_with
from tests.samples import jpeg

LINK = "https://lumiere-asso.fr/agenda?x=1&y=2"
TEXT = "Fish & chips <ce soir> 🎉, see lumiere.paris."


def _image(tmp_path) -> MediaFile:
    data = jpeg(64, 64)
    path = tmp_path / "image.jpg"
    path.write_bytes(data)
    return MediaFile(
        path=str(path),
        content_type="image/jpeg",
        size_bytes=len(data),
        alt_text="A stand at the fair",
        url="https://publisher.example/public/media/1?expires=1&sig=x",
    )


def _publish(case: Case, sandbox: Sandbox, content: Content):
    return case.adapter(sandbox).publish(PublishRequest(content=content))


def _posted(case: Case, sandbox: Sandbox):
    return [a for a in sandbox.ledger.accepted(case.platform) if a.deleted_at is None]


def test_every_installed_adapter_has_a_row():
    from adapters.base import load_adapters

    assert set(load_adapters()) <= {c.platform for c in CASES}


@pytest.mark.parametrize("case", cases_with("text"))
def test_publish_text(case, fresh_sandbox):
    result = _publish(case, fresh_sandbox, Content(text=TEXT))
    (posted,) = _posted(case, fresh_sandbox)
    assert posted.external_id == result.external_id and posted.account == case.ledger_account
    assert posted.text == case.adapter(fresh_sandbox).render_text(Content(text=TEXT))


@pytest.mark.parametrize("case", cases_with("link"))
def test_publish_with_a_link(case, fresh_sandbox):
    _publish(case, fresh_sandbox, Content(text="Agenda", link=LINK))
    (posted,) = _posted(case, fresh_sandbox)
    assert LINK in (posted.text, posted.link) or posted.text.endswith(LINK)


@pytest.mark.parametrize("case", cases_with("thread"))
def test_publish_a_thread(case, fresh_sandbox):
    result = _publish(case, fresh_sandbox, Content(text="one", thread=("two", "three")))
    posts = {a.external_id: a for a in _posted(case, fresh_sandbox)}
    assert [posts[i].text for i in result.part_ids] == ["one", "two", "three"]
    assert [posts[i].in_reply_to for i in result.part_ids] == [None, *result.part_ids[:2]]


@pytest.mark.parametrize("case", cases_with("quote"))
def test_publish_a_quote(case, fresh_sandbox):
    original = _publish(case, fresh_sandbox, Content(text="The original"))
    _publish(case, fresh_sandbox, Content(text="Proud", quote_of=original.external_id))
    assert _posted(case, fresh_sandbox)[-1].quote_of == original.external_id


@pytest.mark.parametrize("case", cases_with("media"))
def test_publish_media(case, fresh_sandbox, tmp_path):
    image = _image(tmp_path)
    _publish(case, fresh_sandbox, Content(text="With a picture", media=(image,)))
    (posted,) = _posted(case, fresh_sandbox)
    (attached,) = posted.media
    if "sha256" in attached:  # uploaded bytes (X, Facebook); Instagram fetches a link
        assert attached["sha256"] == hashlib.sha256(Path(image.path).read_bytes()).hexdigest()
    else:
        assert attached["image_url"] == image.url
    assert attached["alt_text"] == image.alt_text


@pytest.mark.parametrize("case", cases_with("find"))
def test_find_what_the_platform_hands_back(case, fresh_sandbox, tmp_path):
    """Escaped entities, rewritten links, a media link: the post is still recognised; a
    post that is not there is not found."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    media = (_image(tmp_path),) if "media" in case.features else ()
    content = Content(text=TEXT, media=media)
    if case.platform == "instagram" or "text" not in case.features:
        content = Content(text=TEXT, media=(_image(tmp_path),))
    result = _publish(case, fresh_sandbox, content)
    adapter = case.adapter(fresh_sandbox)
    found = adapter.find(content, since=since)
    assert found is not None and found.external_id == result.external_id
    assert adapter.find(Content(text="Never posted", media=content.media), since=since) is None


@pytest.mark.parametrize("case", cases_with("get"))
def test_get(case, fresh_sandbox, tmp_path):
    result = _publish(case, fresh_sandbox, Content(text="Read me back", media=(_image(tmp_path),)))
    adapter = case.adapter(fresh_sandbox)
    assert adapter.get(result.external_id)["id"] == result.external_id


@pytest.mark.parametrize("case", cases_with("metrics"))
def test_metrics(case, fresh_sandbox, tmp_path):
    result = _publish(case, fresh_sandbox, Content(text="Count me", media=(_image(tmp_path),)))
    names = {
        "x": {"like_count": 5},
        "facebook": {"reactions": 5},
        "instagram": {"like_count": 5},
    }[case.platform]
    fresh_sandbox.ledger.set_metrics(case.platform, result.external_id, **names)
    metrics = case.adapter(fresh_sandbox).fetch_metrics([result.external_id])
    assert metrics[result.external_id]["likes"] == 5


@pytest.mark.parametrize("case", cases_with("audience"))
def test_audience(case, fresh_sandbox):
    adapter = case.adapter(fresh_sandbox)
    assert adapter.audience() == 0
    fresh_sandbox.ledger.followers[(case.platform, case.ledger_account)] = 1234
    assert adapter.audience() == 1234


@pytest.mark.parametrize("case", cases_with("delete"))
def test_delete(case, fresh_sandbox):
    result = _publish(case, fresh_sandbox, Content(text="Gone soon"))
    adapter = case.adapter(fresh_sandbox)
    adapter.delete(result.external_id)
    assert _posted(case, fresh_sandbox) == []
    adapter.delete(result.external_id)  # already gone is what we wanted


@pytest.mark.parametrize("case", cases_with("check"))
def test_check(case, fresh_sandbox):
    account = case.adapter(fresh_sandbox).check()
    assert account.id == case.ledger_account


def _consent(url: str) -> dict[str, str]:
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


@pytest.mark.parametrize("case", cases_with("connect"))
def test_connect(case, fresh_sandbox):
    cls = type(case.adapter(fresh_sandbox))
    app = OAuthApp("conformance-app", "conformance-secret", "https://publisher.example/cb")
    config = case.adapter(fresh_sandbox).config
    authorization = cls.authorization(app, state="s" * 40, config=config)
    back = _consent(authorization.url)
    assert back["state"] == "s" * 40
    accounts = cls.complete_authorization(
        app, code=back["code"], verifier=authorization.verifier, config=config
    )
    assert accounts and all(a.account.id and a.credentials for a in accounts)
    for found in accounts:
        built = type(case.adapter(fresh_sandbox))
        if found.platform == case.platform:
            adapter = built(found.credentials, account_id=found.account.id, config=config)
            assert adapter.check().id == found.account.id


@pytest.mark.parametrize("case", cases_with("refresh"))
def test_refresh_is_single_use(case, fresh_sandbox):
    cls = type(case.adapter(fresh_sandbox))
    app = OAuthApp("conformance-app", None, "https://publisher.example/cb")
    config = case.adapter(fresh_sandbox).config
    authorization = cls.authorization(app, state="t" * 40, config=config)
    code = _consent(authorization.url)["code"]
    (account,) = cls.complete_authorization(
        app, code=code, verifier=authorization.verifier, config=config
    )
    fresh = cls.refresh(app, account.credentials, config=config)
    assert fresh["access_token"] != account.credentials["access_token"]
    assert cls.expires_at(fresh) > datetime.now(UTC) + timedelta(hours=1)
    adapter = cls(fresh, account_id=account.account.id, config=config)
    assert adapter.check().id == account.account.id
    with pytest.raises(AuthExpired):
        cls.refresh(app, account.credentials, config=config)  # the old one is spent

"""The review page speaks the reviewer's language (Accept-Language): French or English
(issue 11 item 21); the tally reads once whatever the language."""

from __future__ import annotations

import pytest

from tests.helpers import soon


@pytest.fixture
def page(api):
    x, _ = api.channels()
    post = api.post_for([x], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    link = api.post(f"/v1/reviews/{post['publications'][0]['id']}/link", {}, as_="reviewer")
    return "/" + link["url"].split("://", 1)[1].split("/", 1)[1]


@pytest.mark.parametrize(
    "accept,lang,words",
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", ["Approuver", "Demander des modifications", "Part le"]),
        ("en-GB,en;q=0.8", "en", ["Approve", "Request changes", "Goes out"]),
        ("de-DE", "en", ["Approve"]),  # a language the page does not speak: English
        (None, "en", ["Approve"]),
    ],
)
def test_the_page_follows_the_reviewers_language(api, page, accept, lang, words):
    headers = {"Accept-Language": accept} if accept else {}
    html = api.client.get(page, headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html


def test_a_decision_is_confirmed_in_the_reviewers_language(api, page):
    form = {"decision": "request_changes", "revision": "1", "comment": ""}
    html = api.client.post(page, data=form, headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert "un commentaire est obligatoire" in html
    form["comment"] = "Plus court"
    html = api.client.post(page, data=form, headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert "Enregistré : la publication est maintenant modifications demandées." in html
    assert "Rien à décider ici" in html

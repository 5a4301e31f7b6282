"""The review page speaks the reviewer's language (their key's, else Accept-Language):
French or English (issue 11 item 21, issue 14); the tally reads once whatever the language."""

from __future__ import annotations

import pytest

from tests.helpers import soon


@pytest.fixture
def page(api, scenario):
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
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
    assert "Votre demande de modifications est enregistrée" in html
    assert "Enregistré : la publication est maintenant modifications demandées." in html
    # Opened again, the link says nothing waits, and where the channel stands.
    html = api.client.get(page, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Rien à décider ici" in html and "modifications demandées" in html
    assert 'id="approve"' not in html


def test_what_is_missing_and_the_status_read_in_french(api, scenario, runtime, keys):
    """The tally's words came from the engine in English ("il manque encore : 2 more
    approvals, including 1 from legal"), and statuses other than the decisions too."""
    from publisher.core.db import session_scope
    from publisher.core.workspaces import create_key

    with session_scope(runtime.engine) as session:
        legal, secret = create_key(session, workspace_id=1, name="legal", role="reviewer")
        keys.keys["legal"] = secret
    policy = {"approvals": 2, "requirements": [{"name": "legal", "reviewer_ids": [legal.id]}]}
    api.call("PUT", "/v1/review-policy", policy, as_="admin", expect=200)
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    # The API says it in numbers too, for clients that word it themselves.
    (item,) = api.get("/v1/reviews", as_="reviewer")
    assert (item["tally"]["short"], item["tally"]["groups"]) == (2, [[1, "legal"]])
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    french = {"Accept-Language": "fr"}
    html = api.client.get(path, headers=french).get_data(as_text=True)
    assert "2 approbations de plus, dont 1 de legal" in html and "approval" not in html
    html = api.client.post(
        path, data={"decision": "approve", "revision": "1"}, headers=french
    ).get_data(as_text=True)
    assert "il manque encore : 1 approbation de legal" in html
    api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1}, as_="legal", expect=201)
    html = api.client.get(path, headers=french).get_data(as_text=True)
    assert "programmée" in html and "scheduled" not in html


def _page_for(api, scenario, *, at, key: str = "reviewer") -> str:
    x, _ = scenario.channels()
    post = scenario.post_for([x], at=at, text="We open in Lyon on Monday")
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    link = api.post(f"/v1/reviews/{post['publications'][0]['id']}/link", {}, as_=key)
    return post, "/" + link["url"].split("://", 1)[1].split("/", 1)[1]


def test_the_time_reads_as_people_say_it_in_the_reviewers_zone(api, scenario, keys, runtime):
    """2 December 2030 08:00 UTC, for a reviewer in Paris: a Monday, 09:00 there. (A fixed
    instant far ahead: a post cannot be planned in the past, and this one was written for
    30 November 2026, which the suite then reached.)"""
    from datetime import UTC, datetime

    made = api.post(
        "/v1/keys",
        {"name": "paris", "role": "reviewer", "time_zone": "Europe/Paris"},
        as_="admin",
        expect=201,
    )
    keys.keys["paris"] = made["key"]
    _, page = _page_for(api, scenario, at=datetime(2030, 12, 2, 8, tzinfo=UTC), key="paris")
    french = api.client.get(page, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "lundi 2 décembre 2030 à 09:00, heure de Paris" in french
    english = api.client.get(page, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Monday 2 December 2030 at 09:00, Paris time" in english


def test_an_edit_shows_word_by_word_since_the_reviewers_last_vote(api, scenario):
    post, page = _page_for(api, scenario, at=soon(3600))
    pub_id = post["publications"][0]["id"]
    api.post(
        f"/v1/reviews/{pub_id}/request-changes",
        {"comment": "Say Paris", "revision": 1},
        as_="reviewer",
        expect=201,
    )
    api.call("PATCH", f"/v1/posts/{post['id']}", {"text": "We open in Paris on Monday"}, expect=200)
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    html = api.client.get(page, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert (
        '<p class="words" data-field="text">Texte\u00a0: We open in <del>Lyon</del>'
        "<ins>Paris</ins> on Monday</p>" in html
    )


def test_the_keys_language_wins_over_the_browsers(api, scenario, keys):
    """A French reviewer on a borrowed English browser: the key says French."""
    made = api.post(
        "/v1/keys",
        {"name": "lea", "role": "reviewer", "language": "fr-FR"},
        as_="admin",
        expect=201,
    )
    assert made["language"] == "fr-FR"
    keys.keys["lea"] = made["key"]
    _, page = _page_for(api, scenario, at=soon(3600), key="lea")
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    html = api.client.get(page, headers=english_browser).get_data(as_text=True)
    assert '<html lang="fr">' in html and "Approuver" in html
    # Changed on the key: the same link now follows the browser.
    api.call("PATCH", f"/v1/keys/{made['id']}", {"language": None}, as_="admin", expect=200)
    html = api.client.get(page, headers=english_browser).get_data(as_text=True)
    assert '<html lang="en">' in html and "Approve" in html
    # A language the page does not speak falls back to the browser's.
    api.call("PATCH", f"/v1/keys/{made['id']}", {"language": "de"}, as_="admin", expect=200)
    html = api.client.get(page, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr">' in html


@pytest.mark.parametrize("tag", ["french", "zz", "fr_FR", "", "f", "fr-" + "x" * 40])
def test_a_key_language_that_is_not_a_language_is_refused(api, runtime, tag):
    from tests.helpers import rows_digest

    before = rows_digest(runtime)
    status, problem = api.call(
        "POST", "/v1/keys", {"name": "n", "role": "reviewer", "language": tag}, as_="admin"
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["language"]
    assert rows_digest(runtime) == before


def test_a_keys_change_touches_only_the_fields_given(api):
    made = api.post(
        "/v1/keys",
        {"name": "lea", "role": "reviewer", "language": "fr-FR", "time_zone": "Europe/Paris"},
        as_="admin",
        expect=201,
    )
    changed = api.call(
        "PATCH", f"/v1/keys/{made['id']}", {"language": "en"}, as_="admin", expect=200
    )[1]
    assert (changed["language"], changed["time_zone"]) == ("en", "Europe/Paris")
    changed = api.call(
        "PATCH", f"/v1/keys/{made['id']}", {"time_zone": "Asia/Tokyo"}, as_="admin", expect=200
    )[1]
    assert (changed["language"], changed["time_zone"]) == ("en", "Asia/Tokyo")
    status, problem = api.call("PATCH", "/v1/keys/987654", {"language": "en"}, as_="admin")
    assert status == 404 and problem["detail"] == "API key 987654 not found"

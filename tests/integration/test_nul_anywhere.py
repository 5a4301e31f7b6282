"""Issue 11 item 20: NUL was refused in JSON bodies, but a review page comment and an
upload's file name still took it. Refused, naming where, and nothing written."""

from __future__ import annotations

import io

from tests.helpers import rows_digest, soon
from tests.samples import png


def test_a_review_page_comment_with_nul_is_refused(api, scenario, runtime):
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon(7200))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    before = rows_digest(runtime)
    page = api.client.post(
        path,
        data={"decision": "request_changes", "revision": "1", "comment": "a\x00b"},
        headers={"Accept-Language": "fr"},
    )
    assert page.status_code == 422 and "NUL" in page.get_data(as_text=True)
    assert rows_digest(runtime) == before


def test_an_upload_whose_file_name_holds_nul_is_refused(api, runtime):
    before = rows_digest(runtime)
    response = api.client.post(
        "/v1/media",
        data={"file": (io.BytesIO(png()), "a\x00.png", "image/png")},
        headers={"Authorization": f"Bearer {api.keys['editor']}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["loc"] == ["file"]
    assert rows_digest(runtime) == before


def test_a_review_page_revision_that_is_not_ascii_digits_is_a_400(api, scenario, runtime):
    """ "²".isdigit() is true and int("²") fails: it was a 500."""
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon(7200))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    link = api.post(f"/v1/reviews/{pub_id}/link", {}, as_="reviewer", expect=201)
    path = "/" + link["url"].split("://", 1)[1].split("/", 1)[1]
    page = api.client.post(path, data={"decision": "approve", "revision": "²"})
    assert page.status_code == 400
    assert scenario.publication(pub_id)["status"] == "in_review"

"""`/docs`, the reference a client reads: every operation with its fields (required, type,
limits, enums), an example body that the API's own schema accepts, its answer, its
problems and who may call it; every schema once."""

from __future__ import annotations

import html
import json
import re

import jsonschema


def _document(api) -> dict:
    return api.client.get("/openapi.json").get_json()


def test_every_example_body_and_answer_is_one_the_schema_accepts(api):
    doc = _document(api)
    bodies = answers = 0
    for ops in doc["paths"].values():
        for op in ops.values():
            shown = [op.get("requestBody", {}).get("content", {}).get("application/json")]
            shown += [
                answer.get("content", {}).get("application/json")
                for status, answer in op["responses"].items()
                if status.startswith("2")
            ]
            for i, media in enumerate(shown):
                if media is None:
                    continue
                schema = {**media["schema"], "components": doc["components"]}
                example = media["example"]  # in the document itself, as clients read it
                jsonschema.validate(
                    example,
                    schema,
                    cls=jsonschema.Draft202012Validator,
                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                )
                bodies, answers = (bodies + 1, answers) if i == 0 else (bodies, answers + 1)
    assert bodies >= 20 and answers >= 40  # every JSON body and answer of the API


def test_the_page_shows_each_operation_with_its_fields_and_problems(api):
    page = api.client.get("/docs").get_data(as_text=True)
    doc = _document(api)
    for ops in doc["paths"].values():
        for op in ops.values():
            assert f"id='{op['operationId']}'" in page
    posts = page[page.index("id='v1_posts_create'") :]
    posts = posts[: posts.index("</section>")]
    for field in ("text", "targets"):
        assert re.search(rf"<code>{field}</code> <b>required</b>", posts), field
    assert "<code>campaign_id</code>" in posts  # optional: the workspace's default campaign
    assert not re.search(r"<code>campaign_id</code> <b>required</b>", posts)
    assert "at most 50 items" in posts and "at least 1 characters" in posts
    example = json.loads(html.unescape(re.search(r"<pre>(.*?)</pre>", posts, re.S).group(1)))
    assert set(example) == {"text", "targets"}  # the least a post needs
    answer = re.search(r"Example answer:</p><pre>(.*?)</pre>", posts, re.S).group(1)
    assert {"id", "revision", "publications"} <= set(json.loads(html.unescape(answer)))
    assert "<b>422</b>" in posts and "<b>403</b>" in posts and "PostRead" in posts
    for name in doc["components"]["schemas"]:
        assert f"id='schema-{name}'" in page
    # An enum is spelled out (the platforms a channel can be on).
    assert "<code>&quot;x&quot;</code>" in page


def test_every_problem_type_resolves_to_a_page_that_explains_it(api, runtime):
    from api.http.problems import PROBLEMS
    from publisher.core import errors

    answers = [
        api.call("GET", "/v1/posts/999999"),  # not_found
        api.call("GET", "/v1/posts", as_=None),  # unauthenticated
        api.call("POST", "/v1/campaigns", {"name": ""}),  # validation_failed
        api.call("PUT", "/v1/review-policy", {"approvals": 2}),  # forbidden (editor)
        api.call("DELETE", "/v1/reviews"),  # method_not_allowed
    ]
    codes = set()
    for status, problem in answers:
        assert 400 <= status < 500, problem
        page = api.client.get(problem["type"])  # a reference, resolved against the API
        assert page.status_code == 200 and page.mimetype == "text/html", problem["type"]
        assert problem["title"].lower() in page.get_data(as_text=True).lower()
        codes.add(problem["type"].rsplit("/", 1)[1])
    assert codes == {
        "not_found",
        "unauthenticated",
        "validation_failed",
        "forbidden",
        "method_not_allowed",
    }
    # Every code a domain error can carry has its page.
    domain = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.PublisherError)
    }
    assert domain - {"error"} <= set(PROBLEMS)
    assert api.client.get("/problems/no_such_thing").status_code == 404

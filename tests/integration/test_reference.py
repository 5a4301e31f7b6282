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


def test_every_problem_an_operation_lists_has_an_example_the_api_would_write(api):
    doc = _document(api)
    problem = {**doc["components"]["schemas"]["Problem"], "components": doc["components"]}
    seen = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            for status, answer in op["responses"].items():
                if status == "default" or status[0] not in "45":
                    continue
                example = answer["content"]["application/problem+json"]["example"]
                jsonschema.validate(example, problem, cls=jsonschema.Draft202012Validator)
                assert example["status"] == int(status)
                page = api.client.get(example["type"])  # its type explains it
                assert page.status_code == 200, example["type"]
                if "errors" in example:  # a field left out: one the operation requires
                    [error] = example["errors"]
                    assert error["loc"][-1] in _required_of(op, doc), op
                seen.add(status)
    assert {"401", "403", "404", "409", "422"} <= seen


def _required_of(op, doc) -> set[str]:
    """The fields a 422 of `op` for a field left out can name: its body's required fields
    and its required query parameters."""
    names = {
        p["name"] for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")
    }
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        schema = body["schema"]
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= set(schema.get("required", []))
    return names


def test_the_problems_a_post_documents_are_the_ones_it_answers(api):
    """Bad requests sent for real: each answer's type, title and field errors are those of
    the example the document shows for its status."""
    doc = _document(api)
    responses = doc["paths"]["/v1/posts"]["post"]["responses"]

    def shown(status: int) -> dict:
        return responses[str(status)]["content"]["application/problem+json"]["example"]

    headers = {"Authorization": f"Bearer {api.keys['editor']}"}
    answers = {
        415: api.client.post("/v1/posts", data="text=hi", headers=headers),
        413: api.client.post(
            "/v1/posts",
            data='{"text": "' + "x" * 2_000_000 + '"}',
            headers={**headers, "Content-Type": "application/json"},
        ),
        422: api.client.post("/v1/posts", json={"targets": []}, headers=headers),
        401: api.client.post("/v1/posts", json={}),
    }
    for status, answer in answers.items():
        got, example = answer.get_json(), shown(status)
        assert answer.status_code == status, got
        assert (got["type"], got["title"]) == (example["type"], example["title"]), status
    missing = [e["loc"] for e in answers[422].get_json()["errors"] if e["type"] == "missing"]
    assert shown(422)["errors"][0]["loc"] in missing


def _field_examples(schema, where):
    """(where, the field's schema, one example) for every example a field carries, at any
    depth of a schema (properties, items, anyOf branches)."""
    if isinstance(schema, dict):
        for example in (
            schema.get("examples", []) if isinstance(schema.get("examples"), list) else []
        ):
            yield where, schema, example
        for key, value in schema.items():
            if key in ("examples", "example"):
                continue
            yield from _field_examples(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _field_examples(value, f"{where}[{i}]")


def test_every_example_a_field_shows_is_one_its_schema_accepts(api):
    """The examples fields carry in the models (`Field(examples=...)`), each checked against
    its field's own schema: the ones a required field puts in an operation's example are
    checked above, the others only here."""
    doc = _document(api)
    checked, refused = 0, []
    for where, schema, example in _field_examples(doc["components"]["schemas"], "schemas"):
        field = {k: v for k, v in schema.items() if k not in ("examples", "example")}
        validator = jsonschema.Draft202012Validator(
            {**field, "components": doc["components"]},
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        refused += [f"{where}: {example!r}: {e.message}" for e in validator.iter_errors(example)]
        checked += 1
    assert refused == []
    assert checked >= 15, checked  # the models' examples (18 when this test was written)


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
    request = html.unescape(re.search(r"<pre class='request'>(.*?)</pre>", posts, re.S)[1])
    assert request.startswith("curl -X POST 'http://127.0.0.1:8000/v1/posts'")
    assert '-H "Authorization: Bearer $KEY"' in request
    sent = json.loads(request.split("-d '", 1)[1].rsplit("'", 1)[0])
    assert sent == example  # the body shown is the one the request sends
    assert page.count("<pre class='request'>curl -X ") == sum(map(len, doc["paths"].values()))
    plain = html.unescape(page)
    assert "curl -X GET 'http://127.0.0.1:8000/v1/posts/1' \\\n" in plain  # ids filled in
    assert "-F file=@picture.png" in plain  # the upload sends a file
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
        (404, api.call("GET", "/v1/posts/999999")),  # not_found
        (401, api.call("GET", "/v1/posts", as_=None)),  # unauthenticated
        (422, api.call("POST", "/v1/campaigns", {"name": ""})),  # validation_failed
        (403, api.call("PUT", "/v1/review-policy", {"approvals": 2})),  # forbidden (editor)
        (405, api.call("DELETE", "/v1/reviews")),  # method_not_allowed
    ]
    codes = set()
    for expected, (status, problem) in answers:
        assert status == expected, problem
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
    # Every code a domain error can carry has its page (those the wings define too: the
    # app is built, so every module that defines one is imported).
    domain, frontier = set(), [errors.PublisherError]
    while frontier:
        cls = frontier.pop()
        domain.add(cls.code)
        frontier += cls.__subclasses__()
    assert {"replayed_delivery", "link_invalid"} <= domain
    assert domain - {"error"} <= set(PROBLEMS)
    assert api.client.get("/problems/no_such_thing").status_code == 404

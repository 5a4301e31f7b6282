"""Who may call what: every operation of the API document names its roles (`x-roles`,
shown in /docs), and the API holds to it: each role not named gets a 403 saying its role
may not, and each named role gets past the role check (issue 14 part 2)."""

from __future__ import annotations

import re

import pytest

from api.http.reference import example_of
from publisher.core.workspaces import ROLES
from tests.helpers import rows_digest

ROLE_REFUSAL = re.compile(r"role '(\w+)' may not")


def _operations(api) -> list[tuple[str, str, dict, dict]]:
    doc = api.client.get("/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    found = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") == []:
                continue  # public: no key at all
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            body = example_of(media["schema"], schemas) if media else None
            concrete = path.replace("{platform}", "x")
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", concrete), op, body))
    return found


def test_every_operation_with_a_key_names_its_roles(api):
    ops = _operations(api)
    assert len(ops) >= 50
    for method, path, op, _ in ops:
        assert op.get("x-roles"), (method, path)
        assert set(op["x-roles"]) <= set(ROLES)
        assert op["description"] == f"Roles: {', '.join(op['x-roles'])}."
    html = api.client.get("/docs").get_data(as_text=True)
    assert "whose role is <code>admin</code> (another role: 403)" in html  # e.g. /v1/keys


@pytest.mark.parametrize("role", ROLES)
def test_the_api_holds_to_the_roles_it_documents(api, scenario, runtime, role):
    """Each refusal by role is a 403 naming the role, and writes nothing (the rows' digest
    is the same after it)."""
    scenario.channels()  # ids 1 exist: a role check is not hidden behind a 404
    scenario.campaign()
    refused, allowed = [], []
    for method, path, op, body in _operations(api):
        before = rows_digest(runtime)
        status, answer = api.call(method, path, body, as_=role)
        assert str(status) in op["responses"], (method, path, role, status)  # as documented
        detail = (answer or {}).get("detail", "") if isinstance(answer, dict) else ""
        by_role = status == 403 and ROLE_REFUSAL.search(detail)
        if role in op["x-roles"]:
            assert not by_role, (method, path, role, detail)
            allowed.append(path)
        else:
            assert by_role, (method, path, role, status, answer)
            assert rows_digest(runtime) == before, (method, path, role)
            refused.append(path)
    assert allowed  # every role may do something
    assert refused or role == "admin"


def test_each_operation_lists_the_problems_it_can_answer(api):
    """/docs and the document list an operation's problems from its shape and its own
    (a submit's unready content, a platform that does not answer), each with its meaning."""
    doc = api.client.get("/openapi.json").get_json()["paths"]

    def codes(path, method):
        return sorted(int(c) for c in doc[path][method]["responses"] if c[:1] in "45")

    # It takes no body, and refuses one (400, 413, 415, 422).
    assert codes("/v1/posts/{post_id}/submit", "post") == [400, 401, 403, 404, 409, 413, 415, 422]
    assert codes("/v1/posts", "post") == [400, 401, 403, 413, 415, 422]
    assert codes("/v1/publications/{publication_id}/metrics", "get") == [
        401,
        403,
        404,
        409,
        422,
        503,
    ]
    assert 503 in codes("/v1/channels/{channel_id}/check", "post")
    html = api.client.get("/docs").get_data(as_text=True)
    assert "<b>503</b>: the platform (or the database) did not answer" in html
    assert api.client.get("/problems").status_code == 200

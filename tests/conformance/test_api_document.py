"""The API against its own OpenAPI document, by schemathesis (issue 11 item 14): every
operation with generated valid and invalid input, then stateful walks that follow the
document's links (create, then read, change, act on what was created). No 5xx, every
status and body as declared, every invalid request refused.

Left out: schemathesis's positive_data_acceptance ("schema-valid input is accepted"). The
API checks what JSON Schema cannot say (a cursor this list gave, a webhook host that
resolves, the credentials a platform needs, a text that is not blank, an id that names an
object); each such rule is in the field's description, and answers 4xx naming the field.
"""

from __future__ import annotations

import contextlib

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import soon

EXAMPLES = 25
QUIET = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def _schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def _auth(case, key: str) -> dict[str, str]:
    """The key's header, unless schemathesis made this case's headers invalid on purpose
    (a missing or malformed `Authorization` among them): adding ours back would turn its
    negative case into a valid one and the API's 200 into a "negative data accepted"."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        return {}
    return {"Authorization": f"Bearer {key}"}


def test_every_operation_answers_as_its_document_says(app, keys):
    failures: dict[str, str] = {}
    for result in _schema(app).get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, **QUIET)
        def check(case, label=operation.label):
            try:
                case.call_and_validate(
                    headers=_auth(case, keys["admin"]), excluded_checks=[positive_data_acceptance]
                )
            except Exception as failure:
                failures.setdefault(label, str(failure)[:3000])
                raise

        with contextlib.suppress(Exception):  # recorded above; every operation is tried
            check()
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


def test_stateful_walks_through_the_links_answer_as_documented(app, keys):
    class Walk(_schema(app).as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": _auth(case, keys["admin"])}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                headers=_auth(case, keys["admin"]),
                transport_kwargs=kwargs or None,
                excluded_checks=[positive_data_acceptance],
            )

    # The links a walk may follow depend on what earlier examples left in the database, so
    # Hypothesis can find that the same choices no longer lead to the same rules
    # (FlakyStrategyDefinition: its generation, not the API, disagreeing with itself). Such
    # a walk is walked again, at most twice; any failure of the API fails at once.
    for attempt in range(3):
        try:
            Walk.run(settings=settings(max_examples=EXAMPLES, stateful_step_count=6, **QUIET))
            return
        except FlakyStrategyDefinition:
            if attempt == 2:
                raise


def test_an_integer_written_with_a_fraction_of_zero_is_that_integer(api, scenario, runtime):
    """JSON Schema's "integer" takes 3.0; so does the API (it used to refuse it)."""
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    api.post(f"/v1/posts/{post['id']}/submit", expect=200)
    pub_id = post["publications"][0]["id"]
    voted = api.post(f"/v1/reviews/{pub_id}/approve", {"revision": 1.0}, as_="reviewer", expect=201)
    assert voted["publication_status"] == "scheduled"
    status, problem = api.call(
        "PUT", "/v1/review-policy", {"approvals": 1.5}, as_="admin", expect=422
    )
    assert problem["errors"][0]["loc"] == ["approvals"]


def test_an_id_beyond_the_documented_range_is_a_404_for_every_method(api):
    document = api.client.get("/openapi.json").get_json()
    schema = document["paths"]["/v1/webhooks/{webhook_id}"]["delete"]["parameters"][0]["schema"]
    too_big = schema["maximum"] + 1
    for method, path in (
        ("DELETE", f"/v1/webhooks/{too_big}"),
        ("PATCH", f"/v1/webhooks/{too_big}"),
        ("POST", f"/v1/posts/{too_big}/comments"),
        ("GET", f"/v1/posts/{too_big}"),
    ):
        status, problem = api.call(method, path, {"body": "x"}, as_="admin")
        assert status == 404 and "ids go up to" in problem["detail"], (method, path, status)


def test_a_change_refuses_null_where_its_document_does(api, scenario):
    document = api.client.get("/openapi.json").get_json()["components"]["schemas"]
    post_update = document["PostUpdate"]
    assert post_update["minProperties"] == 1
    nullable = {
        name
        for name, prop in post_update["properties"].items()
        if {"type": "null"} in prop.get("anyOf", [])
    }
    assert nullable == {"link", "quote_of"}
    (x, _) = scenario.channels()
    post = scenario.post_for([x], at=soon(3600))
    for field in sorted(set(post_update["properties"]) - nullable):
        status, problem = api.call("PATCH", f"/v1/posts/{post['id']}", {field: None})
        assert status == 422 and problem["errors"][0]["loc"] == [field], field
    assert api.call("PATCH", f"/v1/posts/{post['id']}", {"link": None})[0] == 200


def test_time_zones_and_platforms_are_listed_as_accepted(api):
    schemas = api.client.get("/openapi.json").get_json()["components"]["schemas"]
    zones = schemas["TimeZoneName"]["enum"]
    assert "Europe/Paris" in zones and "Mars/Olympus" not in zones
    assert schemas["PlatformName"]["enum"] == ["facebook", "instagram", "x"]
    assert {"$ref": "#/components/schemas/TimeZoneName"} in (
        schemas["KeyCreate"]["properties"]["time_zone"]["anyOf"]
    )
    status, problem = api.call(
        "POST", "/v1/keys", {"name": "k", "role": "reviewer", "time_zone": "localtime"}, as_="admin"
    )
    assert status == 422 and problem["errors"][0]["loc"] == ["time_zone"]
    url = schemas["WebhookCreate"]["properties"]["url"]
    assert url["pattern"] == "^(?:[Hh][Tt][Tt][Pp]|[Hh][Tt][Tt][Pp][Ss])://"


def test_every_format_an_operation_offers_answers_a_documented_media_type(app, api, scenario):
    """An operation whose query takes `format` documents each form's media type (the stateful
    walk met `?format=png` answering a type its document did not list)."""
    document = api.get("/openapi.json")
    campaign = scenario.campaign()
    offered = {
        path: op
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if method == "get"
        and any(p["name"] == "format" for p in op.get("parameters", []) if p["in"] == "query")
    }
    assert "/v1/campaigns/{campaign_id}/report" in offered
    for path, op in offered.items():
        documented = set(op["responses"]["200"]["content"])
        (param,) = [p for p in op["parameters"] if p["name"] == "format"]
        url = path.replace("{campaign_id}", str(campaign["id"]))
        for value in param["schema"]["enum"]:
            answer = api.client.get(
                f"{url}?format={value}",
                headers={"Authorization": f"Bearer {api.keys['editor']}"},
            )
            assert answer.status_code == 200, (path, value)
            assert answer.mimetype in documented, (path, value, answer.mimetype, documented)

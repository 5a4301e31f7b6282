"""The served OpenAPI document, and migrations that match the models."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel


def test_openapi_document_describes_every_v1_route(app):
    client = app.test_client()
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1")
    }
    assert routes == set(doc["paths"])
    create_post = doc["paths"]["/v1/posts"]["post"]
    assert create_post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PostCreate"
    }
    schema = doc["components"]["schemas"]["PostCreate"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"text", "targets"}  # campaign_id: the default one
    listing = doc["paths"]["/v1/publications"]["get"]
    assert {"status", "campaign_id", "channel_id"} <= {p["name"] for p in listing["parameters"]}
    assert "Publisher API" in client.get("/docs").get_data(as_text=True)


def test_migrations_produce_exactly_the_models_schema(runtime):
    with runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_says_what_the_api_does(app):
    """Issue 11 item 14: an unresolvable #/$defs/Status, POST /v1/media without a body,
    POST /v1/pause answering a 200 it did not declare."""
    doc = app.test_client().get("/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for ref in set(_refs(doc)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    media = doc["paths"]["/v1/media"]["post"]["requestBody"]["content"]
    assert set(media) == {"multipart/form-data", "application/json"}
    assert media["multipart/form-data"]["schema"]["required"] == ["file"]
    assert set(doc["paths"]["/v1/pause"]["post"]["responses"]) >= {"200", "201"}
    vote = doc["paths"]["/v1/reviews/{publication_id}/approve"]["post"]["requestBody"]
    assert (
        "revision"
        in schemas[vote["content"]["application/json"]["schema"]["$ref"][21:]]["required"]
    )
    callback = doc["paths"]["/v1/oauth/callback/{platform}"]["get"]
    assert callback["security"] == []


def test_a_model_that_contains_itself_is_defined_not_a_reference_to_itself(api):
    """CommentRead holds its replies (CommentRead): the document defined it as
    {"$ref": CommentRead}, which no client can resolve (and /docs answered 500)."""
    schemas = api.client.get("/openapi.json").get_json()["components"]["schemas"]
    for name, schema in schemas.items():
        assert schema != {"$ref": f"#/components/schemas/{name}"}, name
    replies = schemas["CommentRead"]["properties"]["replies"]
    assert replies["items"] == {"$ref": "#/components/schemas/CommentRead"}
    assert api.client.get("/docs").status_code == 200

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
    assert set(schema["required"]) == {"campaign_id", "text", "targets"}
    listing = doc["paths"]["/v1/publications"]["get"]
    assert {"status", "campaign_id", "channel_id"} <= {p["name"] for p in listing["parameters"]}
    assert "Publisher API" in client.get("/docs").get_data(as_text=True)


def test_migrations_produce_exactly_the_models_schema(runtime):
    with runtime.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []

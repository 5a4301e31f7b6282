"""Requests checked against X's published OpenAPI description (x_spec.json, extracted from
X API v2 2.167 by scripts/extract-x-spec): the sandbox refuses what the description does
not allow (unknown or deprecated parameters, wrong types, missing fields, missing OAuth 2.0
scopes), with X's own 400 shape. Tests use `response_problems` to check that the sandbox
answers in the shapes X publishes."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:publisher:x-spec"
# X's description names the posts' field list `post.fields` (with new field names) in the
# post lookups, while the API (and tweepy) send `tweet.fields` with the names its stream
# endpoints still declare (x-legacy-parameters): both are taken, each with its own names.
ALIASES = {"tweet.fields": "post.fields"}
# The names 2.167 gives fields that the API (recorded answers, tweepy) still names the old
# way when asked with `tweet.fields`: answers are checked with the new names put in, and
# problem types on X's older host read as on the host the description names.
LEGACY_NAMES = {
    "retweet_count": "repost_count",
    "referenced_tweets": "referenced_posts",
    "edit_history_tweet_ids": "edit_history_post_ids",
}
LEGACY_HOST, HOST = "https://api.twitter.com/2/problems/", "https://api.x.com/2/problems/"


@cache
def spec() -> XSpec:
    return XSpec(json.loads((Path(__file__).parent / "x_spec.json").read_text()))


class XSpec:
    """The operations of the description, and checks of requests and answers against them."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.version = document["x-source"]["version"]
        # References made absolute, so any schema of the document resolves on its own.
        absolute = json.loads(
            json.dumps(document).replace('"#/components/', f'"{SPEC_URI}#/components/')
        )
        resource = Resource.from_contents(absolute, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, method: str, path: str) -> dict[str, Any]:
        return self.document["paths"][path][method.lower()]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            _, _, kind, name = node["$ref"].split("/", 3)
            node = self.document["components"][kind][name]
        return node

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        """A validator per schema, made once (every sandbox request uses a few)."""
        text = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(text)
        if validator is None:
            absolute = json.loads(text.replace('"#/components/', f'"{SPEC_URI}#/components/'))
            validator = Draft202012Validator(absolute, registry=self._registry)
            self._validators[text] = validator
        return validator

    def scopes(self, method: str, path: str) -> set[str]:
        """The OAuth 2.0 user-token scopes the operation requires."""
        for requirement in self.operation(method, path).get("security", []):
            if "OAuth2UserToken" in requirement:
                return set(requirement["OAuth2UserToken"])
        return set()

    def query_problems(self, method: str, path: str, args: Any) -> list[tuple[str, str]]:
        """(parameter, message) for every query parameter the operation does not allow."""
        declared = {
            p["name"]: p
            for p in map(self._resolve, self.operation(method, path).get("parameters", []))
            if p["in"] == "query"
        }
        problems = []
        for name in args:
            param = declared.get(ALIASES.get(name, name))
            if param is None:
                allowed = ",".join(sorted(declared))
                problems.append((name, f"The query parameter [{name}] is not one of [{allowed}]"))
                continue
            schema = self.document["x-legacy-parameters"].get(name, param)["schema"]
            value = _coerce(args.get(name), schema, self._resolve)
            for error in self._validator(schema).iter_errors(value):
                problems.append(
                    (
                        name,
                        f"The `{name}` query parameter value [{args.get(name)}] "
                        f"is not valid: {error.message}",
                    )
                )
        for name, param in declared.items():
            aliases = [alias for alias, canonical in ALIASES.items() if canonical == name]
            if param.get("required") and not any(n in args for n in (name, *aliases)):
                problems.append((name, f"The `{name}` query parameter can not be empty"))
        return problems

    def body_problems(self, method: str, path: str, body: Any, content_type: str) -> list[str]:
        """What the request body breaks of the operation's schema for its content type."""
        request = self.operation(method, path).get("requestBody")
        if request is None:
            return []
        kind = content_type.split(";")[0].strip()
        schema = request["content"].get(kind)
        if schema is None:
            return [f"content type {kind or '(none)'} is not one of {sorted(request['content'])}"]
        if body is None:
            return ["a request body is required"] if request.get("required") else []
        return [
            f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
            for e in self._validator(schema["schema"]).iter_errors(body)
        ]

    def form(self, method: str, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Multipart fields typed as the operation's multipart schema says (all arrive as text)."""
        content = self.operation(method, path)["requestBody"]["content"]
        schema = self._resolve(content["multipart/form-data"]["schema"])
        props = schema.get("properties", {})
        return {k: _coerce(v, props.get(k, {}), self._resolve) for k, v in fields.items()}

    def response_problems(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """What an answer breaks of the operation's published response schema."""
        responses = self.operation(method, path)["responses"]
        declared = responses.get(str(status)) or responses.get("default")
        if declared is None:
            return [f"status {status} is not declared"]
        content = declared.get("content", {})
        if not content:
            return []
        body = _current_names(body)
        schemas = [c["schema"] for c in content.values()]
        failures = [[e.message for e in self._validator(s).iter_errors(body)] for s in schemas]
        return [] if any(not f for f in failures) else failures[0]


def _current_names(node: Any) -> Any:
    """An answer with the legacy field names and problem host put in their 2.167 form."""
    if isinstance(node, dict):
        return {LEGACY_NAMES.get(k, k): _current_names(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_current_names(v) for v in node]
    if isinstance(node, str) and node.startswith(LEGACY_HOST):
        return HOST + node[len(LEGACY_HOST) :]
    return node


def _coerce(raw: Any, schema: dict[str, Any], resolve: Any) -> Any:
    """A query or form value (text) as the type its schema declares."""
    schema = resolve(schema)
    if not isinstance(raw, str):
        return raw
    kind = schema.get("type")
    if kind == "array":
        return [_coerce(item, schema.get("items", {}), resolve) for item in raw.split(",")]
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None  # not a date-time: refused by the type check
    return raw

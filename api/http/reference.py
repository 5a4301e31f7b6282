"""`/docs`: the OpenAPI document as a readable reference, served offline (no CDN-hosted UI).

Per operation: its parameters and body fields (required, type, limits, enums), one
example request body and one example answer made from the schemas (`example_of`; a test
validates every one against its schema), the problems it can answer and who may call it.
Every schema the document names is listed once, with its fields.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

_LIMITS = (
    ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"),
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("minItems", "at least {} items"),
    ("maxItems", "at most {} items"),
    ("minProperties", "at least {} field(s)"),
    ("pattern", "matches <code>{}</code>"),
    ("format", "format {}"),
)
# What any authenticated call can answer, and what each kind of call adds.
_REF = "#/components/schemas/"


def _name(ref: str) -> str:
    return ref.removeprefix(_REF)


def _type(schema: dict[str, Any]) -> str:
    """A short, linked description of a schema's type."""
    if "$ref" in schema:
        name = _name(schema["$ref"])
        return f"<a href='#schema-{name}'>{html.escape(name)}</a>"
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf")
        return " or ".join(_type(option) for option in options)
    if "enum" in schema:
        values = schema["enum"]
        shown = ", ".join(f"<code>{html.escape(json.dumps(v))}</code>" for v in values[:12])
        return f"one of {shown}" + (f" … ({len(values)})" if len(values) > 12 else "")
    if "const" in schema:
        return f"<code>{html.escape(json.dumps(schema['const']))}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    return html.escape(kind if isinstance(kind, str) else " or ".join(kind))


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for option in [schema, *schema.get("anyOf", [])]:
        for key, words in _LIMITS:
            if key in option:
                parts.append(words.format(html.escape(str(option[key]))))
    if "default" in schema and schema["default"] is not None:
        parts.append(f"default <code>{html.escape(json.dumps(schema['default']))}</code>")
    return "; ".join(parts)


def _fields(schema: dict[str, Any]) -> str:
    properties = schema.get("properties", {})
    if not properties:
        return f"<p>{_type(schema)}</p>"
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code>{' <b>required</b>' if name in required else ''}"
        f"</td><td>{_type(prop)}</td><td>{_limits(prop)}</td>"
        f"<td>{html.escape(prop.get('description', ''))}</td></tr>"
        for name, prop in properties.items()
    )
    return (
        f"<table><tr><th>field</th><th>type</th><th>limits</th><th>meaning</th></tr>{rows}</table>"
    )


# What a field of this name holds, when its schema gives no example: a reader learns more
# from "Winter open day" than from "x". Used only where the schema accepts it.
_NAMED = {
    "text": "Winter open day: come and meet the team on Saturday",
    "name": "Winter open day",
    "campaign_name": "Winter open day",
    "channel_name": "Acme on X",
    "account_name": "Acme",
    "objective": "recruitment",
    "link": "https://acme-asso.fr/open-day",
    "target": "https://acme-asso.fr/open-day?utm_source=x",
    "url": "https://go.acme-asso.fr/l/k3v7q2m4xa",
    "external_url": "https://x.com/acme/status/1860000000000000001",
    "external_id": "1860000000000000001",
    "content_hash": "9c27c18579cb95f434d479a0b7479d219d5d8e0cb0977d0d2407ff5a36ffd751",
    "currency": "EUR",
    "comment": "Say which Saturday",
    "body": "Which room is it in?",
    "reason": "a comment thread turned hostile",
    "platform": "x",
    "platform_name": "X",
    "status": "scheduled",
    "time_zone": "Europe/Paris",
    "code": "k3v7q2m4xa",
    "title": "Winter open day",
    "description": "Posts for the winter open day",
}


def example_of(
    schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0, name: str = ""
) -> Any:
    """A value `schema` accepts: its own examples or default first, else what a field of
    this `name` usually holds (if the schema accepts it), else the smallest value its type
    and limits allow (required fields only, for objects)."""
    if "$ref" in schema:
        return example_of(schemas[_name(schema["$ref"])], schemas, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        concrete = [o for o in options if o.get("type") != "null"]
        return example_of((concrete or options)[0], schemas, depth + 1, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        names = list(schema.get("required", []))
        for field in schema.get("properties", {}):  # a PATCH needs at least one field
            if len(names) >= schema.get("minProperties", 0):
                break
            if field not in names:
                names.append(field)
        return {
            field: example_of(schema["properties"][field], schemas, depth + 1, field)
            for field in names
        }
    if kind == "array":
        return [
            example_of(schema.get("items", {}), schemas, depth + 1)
            for _ in range(schema.get("minItems", 0))
        ]
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)), int(schema.get("exclusiveMinimum", 0)) + 1)
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        if schema.get("format") == "date-time":
            return "2030-01-01T09:00:00Z"
        if schema.get("format") == "uri" or "://" in schema.get("pattern", ""):
            return "https://example.com/page"
        named = _NAMED.get(name)
        if named is not None and _accepts(schema, named):
            return named
        return "x" * max(1, schema.get("minLength", 1))
    return None


def _accepts(schema: dict[str, Any], value: str) -> bool:
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None


def _operation(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    anchor = html.escape(op["operationId"])
    out = [
        f"<section id='{anchor}'><h3><code>{method.upper()} {html.escape(path)}</code></h3>",
        f"<p>{html.escape(op['summary'])}</p>",
        "<p><b>Who</b>: "
        + (
            "anyone (no key)"
            if op.get("security") == []
            else "an API key (<code>Authorization: Bearer pub_…</code>) whose role is "
            + ", ".join(f"<code>{html.escape(r)}</code>" for r in op.get("x-roles", []))
            + " (another role: 403)"
        )
        + "</p>",
    ]
    params = op.get("parameters", [])
    if params:
        rows = "".join(
            f"<tr><td><code>{html.escape(p['name'])}</code> ({p['in']})"
            f"{' <b>required</b>' if p.get('required') else ''}</td>"
            f"<td>{_type(p['schema'])}</td><td>{_limits(p['schema'])}</td>"
            f"<td>{html.escape(p.get('description', ''))}</td></tr>"
            for p in params
        )
        out.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>type</th><th>limits</th>"
            f"<th>meaning</th></tr>{rows}</table>"
        )
    request = example_request(path, method, op, schemas)
    out.append(f"<p>Example request:</p><pre class='request'>{html.escape(request)}</pre>")
    body = op.get("requestBody", {}).get("content", {})
    for kind, media in body.items():
        schema = media["schema"]
        out.append(f"<h4>Body ({html.escape(kind)})</h4>")
        if "$ref" in schema:
            out.append(f"<p>{_type(schema)}</p>")
            schema = schemas[_name(schema["$ref"])]
        out.append(_fields(schema))
        if kind == "application/json":
            shown = media.get("example", example_of(schema, schemas))
            example = json.dumps(shown, indent=2, ensure_ascii=False)
            out.append(f"<p>Example:</p><pre>{html.escape(example)}</pre>")
    for status, answer in op["responses"].items():
        if status == "default" or status >= "4":
            continue
        content = answer.get("content", {}).get("application/json")
        what = _type(content["schema"]) if content else "no body"
        out.append(f"<h4>{status}</h4><p>{what}</p>")
        others = [(k, m) for k, m in answer.get("content", {}).items() if k != "application/json"]
        if others:
            listed = "".join(
                f"<li><code>{html.escape(kind)}</code>: "
                f"{html.escape(media['schema'].get('description', ''))}</li>"
                for kind, media in others
            )
            out.append(f"<p>Also as:</p><ul>{listed}</ul>")
        if content and status.startswith("2"):
            shown = content.get("example", example_of(content["schema"], schemas))
            example = json.dumps(shown, indent=2, ensure_ascii=False)
            out.append(f"<p>Example answer:</p><pre>{html.escape(example)}</pre>")
    listed = "".join(
        f"<li><b>{code}</b>: {html.escape(answer['description'])} "
        f"(<a href='/problems'>what each means and what to do</a>)</li>"
        for code, answer in op["responses"].items()
        if code[:1] in "45"
    )
    out.append(
        "<h4>Problems</h4><p><code>application/problem+json</code> "
        f"(<a href='#schema-Problem'>Problem</a>):</p><ul>{listed}</ul>"
    )
    problems = [c for c in op["responses"] if c.isdigit() and c[0] in "45"]
    if problems:  # a 422 says most about the operation: its example, else the first's
        shown = "422" if "422" in problems else problems[0]
        media = op["responses"][shown]["content"]["application/problem+json"]
        example = json.dumps(media["example"], indent=2, ensure_ascii=False)
        out.append(f"<p>Example problem ({shown}):</p><pre>{html.escape(example)}</pre>")
    out.append("</section>")
    return "".join(out)


def reference_page(document: dict[str, Any]) -> str:
    """The whole reference, one page."""
    schemas = document["components"]["schemas"]
    toc, sections = [], []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            toc.append(
                f"<li><a href='#{html.escape(op['operationId'])}'><code>{method.upper()} "
                f"{html.escape(path)}</code></a> {html.escape(op['summary'])}</li>"
            )
            sections.append(_operation(path, method, op, schemas))
    models = "".join(
        f"<section id='schema-{html.escape(name)}'><h3>{html.escape(name)}</h3>"
        f"<p>{html.escape(schema.get('description', ''))}</p>{_fields(schema)}</section>"
        for name, schema in sorted(schemas.items())
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Publisher API reference</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:70em}td,th{padding:4px 10px;"
        "text-align:left;vertical-align:top;border-bottom:1px solid #ddd}"
        "pre{background:#f4f4f4;padding:.8em;overflow:auto}section{margin-top:2.5em}"
        "</style></head><body><h1>Publisher API reference</h1>"
        "<p>Every call but the public ones needs <code>Authorization: Bearer &lt;key&gt;"
        "</code> (<code>publisher keys create</code>). Bodies are JSON; errors are "
        "<code>application/problem+json</code> with <code>type</code>, <code>title</code>, "
        "<code>detail</code> and, for a 422, <code>errors</code> naming each field. Lists "
        "page with <code>limit</code> and <code>cursor</code>. The machine-readable "
        "document: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>"
        f"<h2>Operations</h2><ul>{''.join(toc)}</ul>{''.join(sections)}"
        f"<h2>Schemas</h2>{models}</body></html>"
    )


def with_examples(document: dict[str, Any]) -> dict[str, Any]:
    """One example per JSON request body and success answer, in the document itself (the
    reference shows the same ones; a test validates each against its schema)."""
    schemas = document["components"]["schemas"]
    for ops in document["paths"].values():
        for op in ops.values():
            shown = [op.get("requestBody", {}).get("content", {}).get("application/json")]
            shown += [
                answer.get("content", {}).get("application/json")
                for status, answer in op["responses"].items()
                if status.startswith("2")
            ]
            for media in shown:
                if media is not None:
                    media["example"] = example_of(media["schema"], schemas)
            for status, answer in op["responses"].items():
                problem = answer.get("content", {}).get("application/problem+json")
                if problem is not None and status.isdigit():
                    problem["example"] = problem_example(int(status), op, schemas)
    return document


# Where a status has several problem types, the one an operation answers: a JSON body's
# size and content type are refused by the HTTP layer (werkzeug's names), an upload's by
# the media store (its own).
_JSON_BODY_PROBLEMS = {413: "request_entity_too_large", 415: "unsupported_media_type"}
_UPLOAD_PROBLEMS = {413: "too_large", 415: "unsupported_media"}


def problem_example(status: int, op: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A problem this operation answers with `status`, as the API writes it: the type it
    answers for that status (else the first listed for it in api/http/problems.py), and
    for a 422 of a body or query with a required field, that field's error."""
    from api.http.errors import PROBLEM_BASE
    from api.http.problems import PROBLEMS

    content = op.get("requestBody", {}).get("content", {})
    chosen = _UPLOAD_PROBLEMS if "multipart/form-data" in content else _JSON_BODY_PROBLEMS
    code = chosen.get(status) or next(c for c, entry in PROBLEMS.items() if entry[0] == status)
    _, title, meaning, _ = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": meaning,
    }
    where = _a_required_field(op, schemas) if status == 422 else []
    if where:  # else the operation's own finding (a submit's content rules, say)
        body["errors"] = [{"loc": where, "msg": "Field required", "type": "missing"}]
        body["detail"] = f"{'.'.join(where)}: Field required"
    return body


def _a_required_field(op: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    """Where a 422 of this operation for a field left out would point: a required field of
    its JSON body, else a required query parameter; [] when it has none."""
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        schema = body["schema"]
        if "$ref" in schema:
            schema = schemas[_name(schema["$ref"])]
        if schema.get("required"):
            return [schema["required"][0]]
    required = [
        p["name"] for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")
    ]
    return ["query", required[0]] if required else []


def example_request(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> str:
    """The operation called with curl: its path's ids filled in, its required query
    parameters, its example body (a file, for an upload; each form it takes), the key
    when it needs one."""
    params = op.get("parameters", [])
    for p in params:
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(example_of(p["schema"], schemas)))
    query = [
        f"{p['name']}={example_of(p['schema'], schemas, name=p['name'])}"
        for p in params
        if p["in"] == "query" and p.get("required")
    ]
    url = "http://127.0.0.1:8000" + path + ("?" + "&".join(query) if query else "")
    lines = [f"curl -X {method.upper()} '{url}'"]
    if op.get("security") != []:
        lines.append('-H "Authorization: Bearer $KEY"')
    for p in params:
        if p["in"] == "header" and p.get("required"):
            shown_value = p.get("example") or example_of(p["schema"], schemas, name=p["name"])
            lines.append(f"-H '{p['name']}: {shown_value}'")
    content = op.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:  # an upload: the file (an import by URL below)
        shown = [" \\\n  ".join([*lines, "-F file=@picture.png"])]
    else:
        shown = []
    if "application/json" in content:
        media = content["application/json"]
        body = json.dumps(
            media.get("example", example_of(media["schema"], schemas)), ensure_ascii=False
        )
        lines.append("-H 'Content-Type: application/json'")
        lines.append("-d '" + body.replace("'", "'\\''") + "'")
    if "application/json" in content or not shown:
        shown.append(" \\\n  ".join(lines))
    return "\n\n".join(shown)

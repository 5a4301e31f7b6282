"""The HTTP client the tests call the API with: Flask's test client as a given role's key."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from publisher.core.db import session_scope
from publisher.core.workspaces import create_key, get_or_create_workspace
from publisher.runtime import Runtime


@dataclass
class KeyRing:
    keys: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, role: str) -> str:
        return self.keys[role]


def make_keys(runtime: Runtime) -> KeyRing:
    ring = KeyRing()
    with session_scope(runtime.engine) as session:
        acme = get_or_create_workspace(session, "acme")
        for role in ("admin", "editor", "reviewer", "automation"):
            ring.keys[role] = create_key(session, workspace_id=acme.id, name=role, role=role)[1]
        other = get_or_create_workspace(session, "other")
        ring.keys["other"] = create_key(session, workspace_id=other.id, name="o", role="admin")[1]
    return ring


class ApiClient:
    """Flask test client calls as a given role: `call` returns (status, json), `get` and
    `post` the json; `expect` asserts the status. HTTP only: the standard world is
    `tests.scenario.Scenario`."""

    def __init__(self, client, keys: KeyRing) -> None:
        self.client, self.keys = client, keys

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        as_: str = "editor",
        raw: bytes | str | None = None,
        content_type: str = "application/json",
        expect: int | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.keys[as_]}"} if as_ else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if raw is not None:
            kwargs.update(data=raw, content_type=content_type)
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(path, method=method, **kwargs)
        data = response.get_json(silent=True)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, data)
        return response.status_code, data

    def refused(self, method: str, path: str, body: Any = None, *, as_: str, may_not: str) -> dict:
        """A role refusal: 403, its detail naming the caller's role (`as_` is the role's
        key) and what that role may not do (a permission in words: "write content")."""
        status, problem = self.call(method, path, body, as_=as_)
        assert status == 403, (method, path, status, problem)
        assert problem["type"].endswith("/forbidden"), problem
        assert problem["detail"] == f"role {as_!r} may not {may_not}", problem
        return problem

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)[1]

    def upload(
        self, data: bytes, filename: str = "file", *, as_: str = "editor", mimetype: str = ""
    ) -> tuple[int, Any]:
        """POST /v1/media as a multipart upload (field `file`)."""
        response = self.client.post(
            "/v1/media",
            data={"file": (io.BytesIO(data), filename, mimetype or "application/octet-stream")},
            headers={"Authorization": f"Bearer {self.keys[as_]}"},
            content_type="multipart/form-data",
        )
        return response.status_code, response.get_json(silent=True)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        kw.setdefault("expect", None)
        return self.call("POST", path, body, **kw)[1]

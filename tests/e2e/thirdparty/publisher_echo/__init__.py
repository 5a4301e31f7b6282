"""A third-party Publisher adapter, as a separate package would ship it: the "Echo"
network, a JSON API at the configured base URL. Packed into a wheel and pip-installed by
tests/e2e/test_third_party_adapter.py; nothing in Publisher's core names it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, SecretStr

from adapters.base import Adapter
from adapters.errors import AuthExpired, OutcomeUnknown, Rejected
from adapters.types import Account, AdapterConfig, Content, Limits, PublishRequest, PublishResult


class EchoCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr


class EchoAdapter(Adapter):
    platform = "echo"
    display_name = "Echo"
    limits = Limits(text=50, links=False)
    credentials_model = EchoCredentials

    def __init__(
        self, credentials: Mapping[str, Any], *, account_id: str, config: AdapterConfig
    ) -> None:
        super().__init__(credentials, account_id=account_id, config=config)
        key = EchoCredentials.model_validate(credentials).api_key.get_secret_value()
        self._base = (config.base_url or "https://echo.invalid").rstrip("/")
        self._session = requests.Session()
        self._session.headers["X-Api-Key"] = key
        self._timeout = config.timeout_s

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(
                method, f"{self._base}{path}", timeout=self._timeout, **kwargs
            )
        except requests.RequestException as exc:
            raise OutcomeUnknown(f"Echo: {exc}") from exc
        if response.status_code == 401:
            raise AuthExpired("Echo 401")
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise Rejected(f"Echo {response.status_code}: {response.text}")
        return response.json()

    def publish(self, request: PublishRequest) -> PublishResult:
        body = self._call("POST", "/posts", json={"text": request.content.text})
        return PublishResult(body["id"], f"https://echo.example/{body['id']}")

    def find(
        self, content: Content, *, since: datetime, after: tuple[str, ...] = ()
    ) -> PublishResult | None:
        for post in self._call("GET", "/posts") or []:
            if post["text"] == content.text:
                return PublishResult(post["id"], f"https://echo.example/{post['id']}")
        return None

    def get(self, external_id: str) -> dict[str, Any] | None:
        return self._call("GET", f"/posts/{external_id}")

    def check(self) -> Account:
        me = self._call("GET", "/me")
        return Account(id=me["id"], name=me["name"])

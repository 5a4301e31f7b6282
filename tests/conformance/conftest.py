"""The conformance table: every registered adapter, how to build it against the strict
sandbox, and which parts of the surface it has. A new adapter adds one row and must pass
every test its features name (apprise's AppriseURLTester is the model)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.base import Adapter, load_adapters
from adapters.sandbox import Sandbox
from adapters.types import AdapterConfig


@dataclass(frozen=True)
class Case:
    platform: str
    credentials: dict[str, Any]
    account_id: str
    features: frozenset[str]
    # The sandbox's account id for the channel (X derives it from the token).
    ledger_account: str = ""
    sandbox_url: Callable[[Sandbox], str] = field(default=lambda s: s.graph_url)

    def adapter(self, sandbox: Sandbox, **config: Any) -> Adapter:
        cls = load_adapters()[self.platform]
        settings = AdapterConfig(base_url=self.sandbox_url(sandbox), timeout_s=5.0, **config)
        return cls(self.credentials, account_id=self.account_id, config=settings)


def _x_account() -> str:
    from adapters.sandbox.x_common import user_id_of

    return user_id_of("conformance-x-token")


def _fb_page() -> str:
    from adapters.sandbox.graph_oauth import page_id_of

    return page_id_of("conformance-page-token")


ALL = frozenset(
    {
        *("text", "link", "thread", "quote", "media", "find", "get", "metrics", "delete"),
        *("check", "audience"),
    }
)
CASES = [
    Case(
        "x",
        {"access_token": "conformance-x-token"},
        "",
        ALL | {"connect", "refresh"},
        ledger_account=_x_account(),
        sandbox_url=lambda s: s.x_url,
    ),
    Case(
        "facebook",
        {"page_access_token": "conformance-page-token"},
        _fb_page(),
        (ALL - {"thread", "quote"}) | {"connect"},
        ledger_account=_fb_page(),
    ),
    Case(
        "instagram",
        {"access_token": "conformance-ig-token"},
        "17841400000000099",
        frozenset({"media", "find", "get", "metrics", "check", "connect", "audience"}),
        ledger_account="17841400000000099",
    ),
]


def cases_with(feature: str) -> list[Any]:
    """The table's rows that have `feature`, as pytest parameters named by platform."""
    return [pytest.param(c, id=c.platform) for c in CASES if feature in c.features]


@pytest.fixture
def fresh_sandbox(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.ledger.reset()
    yield sandbox
    sandbox.ledger.reset()

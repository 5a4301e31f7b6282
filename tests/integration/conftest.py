"""Fixtures the integration tests share: the committee's extra reviewers, the X channel."""

from __future__ import annotations

import pytest

from publisher.core.db import session_scope
from publisher.core.workspaces import create_key


@pytest.fixture
def committee(runtime, keys) -> dict[str, int]:
    """Three more reviewer keys in acme: alice, bob and legal (their ids by name)."""
    ids = {}
    with session_scope(runtime.engine) as session:
        for name in ("alice", "bob", "legal"):
            key, secret = create_key(session, workspace_id=1, name=name, role="reviewer")
            keys.keys[name], ids[name] = secret, key.id
    return ids


@pytest.fixture
def x(scenario) -> dict:
    """The workspace's X channel."""
    return scenario.channels()[0]


@pytest.fixture
def world(scenario):
    """The X channel, the Facebook Page and a campaign, by name (bad-input tests)."""
    x, fb = scenario.channels()
    campaign = scenario.campaign()
    return {"x": x, "fb": fb, "campaign": campaign}

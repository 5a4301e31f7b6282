"""The Graph API version: the current one by default, a warning from 90 days before the
configured one stops working (developers.facebook.com/docs/graph-api/changelog/versions)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from adapters.facebook import DEFAULT_VERSION, FacebookAdapter
from adapters.instagram import InstagramAdapter
from adapters.types import AdapterConfig
from publisher.core.settings import Settings
from publisher.runtime import build_runtime


def _warnings(version: str, today: date) -> list[str]:
    config = AdapterConfig(options={"graph_version": version})
    return FacebookAdapter.configuration_warnings(config, today=today)


def test_the_default_is_the_current_version():
    assert DEFAULT_VERSION == "v26.0" and Settings().graph_api_version == "v26.0"
    assert _warnings(DEFAULT_VERSION, date(2027, 6, 1)) == []


@pytest.mark.parametrize(
    "version,today,warned",
    [
        ("v21.0", date(2026, 10, 22), False),  # 91 days before 2027-01-21
        ("v21.0", date(2026, 10, 23), True),  # 90 days before
        ("v21.0", date(2027, 2, 1), True),  # already past
        ("v25.0", date(2026, 11, 29), False),  # until 2028-07-29
        ("v25.0", date(2028, 5, 1), True),
    ],
)
def test_a_version_near_its_end_is_warned_about(version, today, warned):
    found = _warnings(version, today)
    assert bool(found) is warned
    if warned:
        assert version in found[0] and "PUBLISHER_GRAPH_API_VERSION" in found[0]
        assert (
            InstagramAdapter.configuration_warnings(
                AdapterConfig(options={"graph_version": version}), today=today
            )
            == found
        )


def test_every_process_says_it_at_start(settings, caplog):
    caplog.set_level(logging.WARNING, logger="publisher.runtime")
    runtime = build_runtime(settings.with_(graph_api_version="v21.0"))
    runtime.close()
    lines = [r.getMessage() for r in caplog.records if "v21.0" in r.getMessage()]
    assert lines and "2027-01-21" in lines[0]

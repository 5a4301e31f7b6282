"""/readyz: the database at head, Redis, and this process's clock within the bound of the
shared one (Redis TIME); /healthz stays liveness."""

from __future__ import annotations

from datetime import timedelta

from publisher.core.db import utcnow


def test_ready_when_everything_answers(api, runtime):
    response = api.client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "clock": True,
    }


def test_a_clock_off_by_more_than_the_bound_is_not_ready_and_says_how_far(api, runtime):
    runtime.shared.local = lambda: utcnow() + timedelta(seconds=30)
    response = api.client.get("/readyz")
    clock = response.get_json()["checks"]["clock"]
    assert response.status_code == 503 and clock["ok"] is False
    assert "-30." in clock["detail"]
    assert [name.split("@")[0] for name in clock["skewed"]] == ["api"]
    assert api.client.get("/healthz").status_code == 200


def test_the_time_corrects_a_process_clock_by_its_offset(runtime):
    """A process 30 s ahead still tells the shared time (a decision never uses its own)."""
    runtime.shared.local = lambda: utcnow() + timedelta(seconds=30)
    runtime.shared.sync()
    assert abs((runtime.shared() - utcnow()).total_seconds()) < 1.0

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


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(settings, **changes):
    """/readyz of an API whose runtime has `changes` (its own database or Redis)."""
    from api import create_app
    from publisher.runtime import build_runtime

    runtime = build_runtime(settings.with_(**changes))
    try:
        response = create_app(runtime=runtime).test_client().get("/readyz")
        return response.status_code, response.get_json()["checks"]
    finally:
        runtime.engine.dispose()


def test_a_database_not_at_the_schemas_head_is_not_ready_and_says_the_fix(settings, tmp_path):
    status, checks = _ready(settings, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert status == 503 and checks["database"]["ok"] is False
    assert "run `publisher db upgrade`" in checks["database"]["detail"]
    assert checks["redis"]["ok"] is True


def test_a_database_that_does_not_answer_is_not_ready(settings):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none"
    status, checks = _ready(settings, database_url=url)
    assert status == 503 and checks["database"] == {
        "ok": False,
        "detail": "unreachable: OperationalError",
    }


def test_redis_down_is_not_ready(settings):
    status, checks = _ready(settings, redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    assert status == 503 and checks["redis"]["ok"] is False
    assert checks["redis"]["detail"].startswith("unreachable")
    assert checks["database"]["ok"] is True

from __future__ import annotations

from pathlib import Path

from publisher.core.settings import Settings, ensure_secret_keys


def test_defaults_are_the_embedded_engine():
    settings = Settings.from_env({})
    assert settings.effective_database_url == f"sqlite:///{Path('var/publisher.db').resolve()}"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.api_base_urls == {}


def test_environment_is_read_once_into_settings():
    settings = Settings.from_env(
        {
            "PUBLISHER_HOME": "/srv/pub",
            "DATABASE_URL": "postgresql+psycopg://db/pub",
            "PUBLISHER_SECRET_KEY": "new,old",
            "PUBLISHER_X_API_URL": "http://127.0.0.1:1",
            "PUBLISHER_FACEBOOK_API_URL": "http://127.0.0.1:2",
        }
    )
    assert settings.home == Path("/srv/pub")
    assert settings.effective_database_url == "postgresql+psycopg://db/pub"
    assert settings.secret_keys == ("new", "old")
    assert settings.api_base_urls == {"x": "http://127.0.0.1:1", "facebook": "http://127.0.0.1:2"}
    assert "new" not in repr(settings)


def test_a_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = ensure_secret_keys(Settings(home=tmp_path))
    second = ensure_secret_keys(Settings(home=tmp_path))
    assert first.secret_keys == second.secret_keys and len(first.secret_keys[0]) > 30
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_settings_survive_the_trip_through_a_child_processes_environment(tmp_path):
    settings = Settings(
        home=tmp_path,
        database_url="sqlite:///x.db",
        redis_url="redis://h/3",
        secret_keys=("a", "b"),
        api_base_urls={"x": "http://127.0.0.1:9"},
        platform_timeout_s=1.5,
        job_timeout_s=7,
        max_attempts=2,
        reconcile_after_s=0.0,
        claim_grace_s=1.0,
        requeue_after_s=2.0,
    )
    assert Settings.from_env(settings.to_env()) == settings
    for apps, alone in (({"facebook": ("app", "s")}, ""), ({}, "s")):
        meta = settings.with_(oauth_clients=apps, facebook_app_secret=alone)
        assert Settings.from_env(meta.to_env()) == meta and meta.meta_app_secret == "s"


def test_the_meta_app_secret_alone_is_the_sandbox_apps_secret():
    """`publisher up --sandbox` and the demo: Meta's deliveries are checked with the secret
    the operator gave, not the sandbox app's own."""
    from publisher.demo import SANDBOX_APPS, sandbox_apps

    alone = Settings.from_env({"PUBLISHER_FACEBOOK_CLIENT_SECRET": "mine"})
    assert alone.meta_app_secret == "mine"
    played = alone.with_(oauth_clients=sandbox_apps(alone))
    assert played.oauth_clients["facebook"] == ("sandbox-app", "mine")
    assert sandbox_apps(Settings())["facebook"] == SANDBOX_APPS["facebook"]
    assert Settings.from_env(played.to_env()).meta_app_secret == "mine"  # its children too


def test_processes_starting_together_share_one_whole_key(tmp_path):
    """`publisher links` starts its workers at once, each making the embedded key if it
    is missing: every one reads the same key, none an empty file."""
    import threading

    line, keys, failed = threading.Barrier(16), [], []

    def start() -> None:
        line.wait()
        try:
            keys.append(ensure_secret_keys(Settings(home=tmp_path)).secret_keys)
        except ValueError as exc:
            failed.append(exc)

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(keys) == 16
    assert len(set(keys)) == 1 and keys[0] and keys[0][0]
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary file left


def test_http_status_names_are_written_as_the_api_titles_are():
    from api.http.errors import sentence_case

    assert [
        sentence_case(n) for n in ("Not Found", "URI Too Long", "HTTP Version Not Supported")
    ] == [
        "Not found",
        "URI too long",
        "HTTP version not supported",
    ]

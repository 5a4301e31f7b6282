"""Credentials at rest: `publisher secrets rotate` under running processes, and no
credential in any log line, API answer or stored error, even at DEBUG."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from adapters.sandbox.x_common import user_id_of
from publisher.core.security import CredentialBox
from publisher.core.settings import ensure_secret_keys, read_key_file
from publisher.stack import Stack
from tests.e2e.conftest import Http, _free_port
from tests.helpers import wait_until
from tests.scenario import FB_CREDS, FB_PAGE, X_ACCOUNT, X_CREDS

SECRETS = (X_CREDS["access_token"], FB_CREDS["page_access_token"], "fresh-x-token")


@pytest.fixture
def file_keyed(runtime, settings, tmp_path):
    """The embedded default's key file instead of PUBLISHER_SECRET_KEY, logs at DEBUG."""
    keyed = ensure_secret_keys(settings.with_(secret_keys=(), log_level="DEBUG"))
    assert keyed.key_file is not None
    stack = Stack(keyed, port=_free_port(), log_dir=tmp_path / "logs").start()
    yield keyed, stack
    stack.stop()


def _stored_credentials(runtime) -> list[bytes]:
    with runtime.engine.connect() as conn:
        return [
            bytes(c)
            for c in conn.execute(text("SELECT credentials FROM channel ORDER BY id")).scalars()
        ]


def _rotate(settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(settings.to_env())
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", "secrets", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_rotation_under_running_processes_keeps_every_channel_working(
    file_keyed, keys, runtime, sandbox, tmp_path
):
    settings, stack = file_keyed
    http = Http(stack.api_url, keys)
    old_keys = read_key_file(settings.key_file)
    x = http(
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "X", "external_account_id": X_ACCOUNT, "credentials": X_CREDS},
        expect=201,
    )
    fb = http(
        "POST",
        "/v1/channels",
        {
            "platform": "facebook",
            "name": "P",
            "external_account_id": FB_PAGE,
            "credentials": FB_CREDS,
        },
        expect=201,
    )
    assert http("POST", f"/v1/channels/{fb['id']}/check", expect=200)["result"] == "ok"

    rotated = _rotate(settings)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 channel(s)" in rotated.stdout and "1 old key(s) retired" in rotated.stdout

    (new_key,) = read_key_file(settings.key_file)
    assert new_key not in old_keys
    stored = _stored_credentials(runtime)
    assert all(CredentialBox((new_key,)).open(s) for s in stored)
    for sealed in stored:
        with pytest.raises(ValueError):
            CredentialBox(old_keys).open(sealed)

    # The API and the worker started before the rotation read the new key file by themselves.
    assert http("POST", f"/v1/channels/{x['id']}/check", expect=200)["result"] == "ok"
    http(
        "PATCH",
        f"/v1/channels/{x['id']}",
        {"credentials": {"access_token": "fresh-x-token"}},
        expect=200,
    )
    at = datetime.now(UTC) + timedelta(seconds=1)
    post = http(
        "POST",
        "/v1/posts",
        {
            "campaign_id": http(
                "POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, expect=201
            )["id"],
            "text": "after the rotation",
            "targets": [
                {"channel_id": c["id"], "scheduled_at": at.isoformat(), "time_zone": "UTC"}
                for c in (x, fb)
            ],
        },
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    for pub in post["publications"]:
        http(
            "POST", f"/v1/reviews/{pub['id']}/approve", {"revision": 1}, as_="reviewer", expect=201
        )
    wait_until(
        lambda: all(
            http("GET", f"/v1/publications/{p['id']}")["status"] == "published"
            for p in post["publications"]
        ),
        timeout_s=30,
        what="both publications published with the rotated keys",
    )
    assert len([a for a in sandbox.ledger.accepted() if a.text == "after the rotation"]) == 2
    assert CredentialBox((new_key,)).open(_stored_credentials(runtime)[0]) == {
        "access_token": "fresh-x-token"
    }

    # Nothing secret in what the processes wrote, at DEBUG (urllib3 logs request URLs).
    stack.stop()
    logs = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    assert "GET /v26.0/me?" in logs  # the check's URL (with its token in the query) was logged
    for secret in (*SECRETS, *old_keys, new_key):
        assert secret not in logs
        assert secret not in rotated.stdout + rotated.stderr


def test_rotation_changes_nothing_when_some_credentials_cannot_be_read(file_keyed, keys, runtime):
    settings, stack = file_keyed
    http = Http(stack.api_url, keys)
    http(
        "POST",
        "/v1/channels",
        {"platform": "x", "name": "X", "external_account_id": "1", "credentials": X_CREDS},
        expect=201,
    )
    foreign = CredentialBox(("a key this installation never had",)).seal({"access_token": "t"})
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO channel (workspace_id, platform, name, external_account_id, "
                "credentials, status, created_at, updated_at) SELECT workspace_id, 'x', 'odd', "
                "'9', :c, 'active', created_at, updated_at FROM channel LIMIT 1"
            ),
            {"c": foreign},
        )
    before_keys, before_rows = read_key_file(settings.key_file), _stored_credentials(runtime)

    rotated = _rotate(settings)
    assert rotated.returncode == 1 and "nothing changed" in rotated.stderr
    assert read_key_file(settings.key_file) == before_keys
    assert _stored_credentials(runtime) == before_rows


OAUTH1 = {
    "access_token": "1001-oauth1-access-token-acme",
    "access_token_secret": "oauth1-token-secret-acme",
    "consumer_key": "oauth1-consumer-key-acme",
    "consumer_secret": "oauth1-consumer-secret-acme",
}


@pytest.mark.any_database  # what the platform libraries log
def test_oauth1_credentials_never_reach_the_logs_at_debug(file_keyed, keys, sandbox, tmp_path):
    """oauthlib and requests-oauthlib log the request's parameters and the signature base
    string at DEBUG (issue 11 item 12): every credential value is hidden, however a
    library formats or percent-encodes it."""
    _, stack = file_keyed
    http = Http(stack.api_url, keys)
    x = http(
        "POST",
        "/v1/channels",
        {
            "platform": "x",
            "name": "X 1.0a",
            "external_account_id": user_id_of(OAUTH1["access_token"]),
            "credentials": OAUTH1,
        },
        expect=201,
    )
    assert http("POST", f"/v1/channels/{x['id']}/check", expect=200)["result"] == "ok"
    campaign = http("POST", "/v1/campaigns", {"name": "c", "objective": "loyalty"}, expect=201)
    at = datetime.now(UTC) + timedelta(seconds=1)
    target = {"channel_id": x["id"], "scheduled_at": at.isoformat(), "time_zone": "UTC"}
    post = http(
        "POST",
        "/v1/posts",
        {"campaign_id": campaign["id"], "text": "signed the old way", "targets": [target]},
        expect=201,
    )
    http("POST", f"/v1/posts/{post['id']}/submit", expect=200)
    pub = post["publications"][0]["id"]
    http("POST", f"/v1/reviews/{pub}/approve", {"revision": 1}, as_="reviewer", expect=201)
    wait_until(
        lambda: http("GET", f"/v1/publications/{pub}")["status"] == "published",
        timeout_s=30,
        what="the OAuth 1.0a post to go out",
    )
    stack.stop()
    logs = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    assert "oauth" in logs.lower()  # oauthlib did log its DEBUG lines
    for value in OAUTH1.values():
        assert value not in logs

"""The `publisher` command refusing what cannot work, in one line with its fix: a
database URL or setting it cannot use, a schema not there yet, a port taken, a command
line it cannot read."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.test_cli import _closed_port, _env, _publisher

pytestmark = pytest.mark.embedded


@pytest.mark.parametrize(
    "command",
    [("secrets", "rotate"), ("db", "retally"), ("worker", "--burst"), ("dispatcher",), ("api",)],
)
def test_commands_that_need_the_schema_say_which_command_brings_it(tmp_path, redis_url, command):
    """Issue 11 item 22: `secrets rotate` on a fresh home printed a SQL traceback, and the
    API, a worker or a dispatcher started on their own failed the same way."""
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    result = _publisher(*command, env=env)
    assert result.returncode == 2
    assert "run `publisher db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr
    assert _publisher("db", "upgrade", env=env).returncode == 0
    if command[0] in ("secrets", "db"):
        assert _publisher(*command, env=env).returncode == 0


@pytest.mark.parametrize(
    "url,says",
    [
        (
            "postgres://app:hunter2@db.example:5432/pub",
            "write postgresql+psycopg://app:***@db.example:5432/pub",
        ),
        ("postgresql://app@db/pub", "write postgresql+psycopg://app@db/pub"),
        ("mysql://app@db/pub", "'mysql' is not supported"),
        ("not a url", "is not a database URL"),
    ],
)
def test_a_database_url_the_engine_cannot_use_is_named_with_its_fix(tmp_path, url, says):
    for command in (
        ("db", "upgrade"),
        ("worker",),
        ("keys", "create", "--workspace", "a", "--role", "admin"),
    ):
        result = _publisher(*command, env=_env(tmp_path / "home", DATABASE_URL=url))
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()  # one line, no traceback
        assert says in line and "hunter2" not in line


@pytest.mark.parametrize(
    "command, option",
    [
        (["up"], "--port"),
        (["up"], "--links-port"),
        (["api"], "--port"),
        (["links"], "--port"),
        (["demo"], "--port"),
        (["sandbox"], "--x-port"),
        (["sandbox"], "--graph-port"),
    ],
)
def test_a_port_in_use_is_one_line_naming_the_option_to_change(
    tmp_path, redis_url, command, option
):
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _publisher(*command, option, str(port), env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"publisher {command[0]}: port {port} is in use by another process: stop it or "
        f"pass {option} with another port"
    )
    assert "Publisher is up" not in result.stdout


def test_one_port_for_the_api_and_the_short_links_is_refused(tmp_path, redis_url):
    port = str(_closed_port())
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    result = _publisher("up", "--port", port, "--links-port", port, env=env, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"publisher up: --links-port {port} is --port too: the API and the links each need one"
    )


@pytest.mark.parametrize(
    "args, says",
    [
        (["up", "--workers", "0"], "0: at least 1 (with no worker nothing is ever published)"),
        (["up", "--workers", "two"], "'two': the number of workers is a whole number"),
        (["api", "--port", "70000"], "70000: a port is 0 to 65535"),
        (["sandbox", "--x-port", "x"], "'x': a port is a whole number"),
        (["keys", "create", "--workspace", "acme"], "the following arguments are required"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_a_command_line_it_cannot_read_is_one_line_pointing_at_the_help(tmp_path, args, says):
    result = _publisher(*args, env=_env(tmp_path / "home"), timeout=30)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()  # not argparse's usage block, then the error
    assert says in line and line.endswith("--help`)"), line
    assert line.startswith("publisher")


@pytest.mark.parametrize(
    "command",
    [("db", "upgrade"), ("keys", "create", "--workspace", "a", "--role", "admin"), ("up",)],
)
def test_a_database_that_does_not_answer_is_one_line_with_its_fix(tmp_path, command):
    url = f"postgresql+psycopg://app:hunter2@127.0.0.1:{_closed_port()}/pub"
    result = _publisher(*command, env=_env(tmp_path / "home", DATABASE_URL=url), timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "cannot reach the database at postgresql+psycopg://app:***@127.0.0.1:" in line
    assert "set DATABASE_URL" in line and "hunter2" not in line


@pytest.mark.parametrize(
    "name,value,says",
    [
        ("PUBLISHER_CLAIM_LEASE", "abc", "PUBLISHER_CLAIM_LEASE='abc' is not a number"),
        ("PUBLISHER_MAX_ATTEMPTS", "2.5", "is not a whole number"),
        ("PUBLISHER_PLATFORM_TIMEOUT", "-1", "is negative"),
        ("PUBLISHER_METRICS_SCHEDULE", "6h,1h", "each pull must come after the one before"),
    ],
)
def test_a_setting_the_engine_cannot_read_is_named_with_its_fix(tmp_path, name, value, says):
    for command in (("db", "upgrade"), ("worker",), ("up",)):
        result = _publisher(*command, env=_env(tmp_path / "home", **{name: value}), timeout=60)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert says in line, line

"""The `publisher` command as a user runs it: fresh home, no configuration."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.helpers import wait_until

# Every command here runs on a fresh home's own SQLite file (DATABASE_URL is left out).
pytestmark = pytest.mark.embedded


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home, **extra) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PUBLISHER_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update(PUBLISHER_HOME=str(home), **extra)
    return env


def _publisher(*args: str, env: dict[str, str], timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "publisher.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_runs_on_the_embedded_default_with_its_own_redis(tmp_path):
    """No Redis answers at REDIS_URL: the demo starts a private redis-server and succeeds."""
    env = _env(tmp_path / "home", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    result = _publisher("demo", "--delay", "2", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo OK" in out
    assert "sandbox ledger: 2 posts accepted for 2 publications" in out
    sent = re.findall(
        r": published id=\S+ url=https://\S+ lateness=\d+ ms as account (\S+) "
        r"\(the channel's: (\S+)\)",
        out,
    )
    assert len(sent) == 2 and all(account == declared for account, declared in sent), out
    assert len({account for account, _ in sent}) == 2  # an X user and a Facebook Page
    assert (tmp_path / "home" / "publisher.db").exists()
    assert (tmp_path / "home" / "secret.key").exists()


def test_keys_create_prints_the_key_once_and_it_works(tmp_path, redis_url):
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    assert _publisher("db", "upgrade", env=env).returncode == 0
    result = _publisher("keys", "create", "--workspace", "acme", "--role", "reviewer", env=env)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()  # alone on stdout: KEY=$(publisher keys create ...) works
    assert key.startswith("pub_") and "\n" not in key
    assert "only time" in result.stderr

    from api import create_app
    from publisher.core.settings import Settings

    app = create_app(Settings.from_env(env))
    client = app.test_client()
    assert client.get("/v1/reviews", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/v1/reviews", headers={"Authorization": "Bearer pub_x"}).status_code == 401
    app.extensions["publisher"].close()


def test_bad_role_is_refused_by_the_cli(tmp_path):
    result = _publisher("keys", "create", "--workspace", "w", "--role", "owner", env=_env(tmp_path))
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_sandbox_command_serves_both_apis(tmp_path):
    x_port, graph_port = _closed_port(), _closed_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "publisher.cli",
            "sandbox",
            "--x-port",
            str(x_port),
            "--graph-port",
            str(graph_port),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.strip() == f"PUBLISHER_X_API_URL=http://127.0.0.1:{x_port}"
        tweet = requests.post(
            f"http://127.0.0.1:{x_port}/2/tweets",
            json={"text": "hi"},
            headers={"Authorization": "Bearer t"},
            timeout=5,
        )
        assert tweet.status_code == 201 and tweet.json()["data"]["text"] == "hi"
        feed = requests.post(
            f"http://127.0.0.1:{graph_port}/v21.0/42/feed",
            data={"message": "salut", "access_token": "p"},
            timeout=5,
        )
        assert feed.json()["id"].startswith("42_")
        ledger = requests.get(f"http://127.0.0.1:{x_port}/_sandbox/ledger", timeout=5).json()
        assert [(a["platform"], a["text"]) for a in ledger] == [("x", "hi"), ("facebook", "salut")]
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_up_starts_the_engine_and_stops_cleanly_on_sigterm(tmp_path, redis_url):
    import signal

    port = _closed_port()
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "publisher.cli", "up", "--sandbox"),
            *("--port", str(port), "--links-port", "0"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = ""
        while "Publisher is up" not in line:
            line = proc.stdout.readline()
            assert line, "publisher up exited before it was up"
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health["status"] == "ok" and len(health["instance"]) == 16  # this up's own
        children = _children(proc.pid)
        assert len(children) == 4  # api, dispatcher, worker, links
        # and theirs: the link server's processes (one per core), which must end too
        descendants = children + [g for c in children for g in _children(c)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0
    wait_until(
        lambda: not [pid for pid in descendants if os.path.exists(f"/proc/{pid}")],
        timeout_s=10,
        what="every process of `up` to exit",
    )


def _children(pid: int) -> list[int]:
    """Child pids from /proc (field 4 of /proc/<pid>/stat is the parent)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_keys_create_on_a_fresh_home_brings_the_schema_itself(tmp_path, redis_url):
    """Issue 11 item 22: before `publisher db upgrade` it printed a SQL traceback."""
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    result = _publisher("keys", "create", "--workspace", "acme", "--role", "editor", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("pub_")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["worker", "dispatcher"])
def test_with_redis_down_they_wait_say_where_and_stop_cleanly(tmp_path, command):
    """They ride out a Redis outage (issue 12 item 4), naming the URL (without its password)
    and what to do; SIGTERM then stops them without a traceback (the dispatcher's signal
    handler woke the loop through Redis and raised)."""
    env = _env(tmp_path / "home", REDIS_URL=f"redis://:hunter2@127.0.0.1:{_closed_port()}/0")
    assert _publisher("db", "upgrade", env=env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "publisher.cli", command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Until it has tried and said so (a fixed sleep signalled a process still importing,
    # before it had a handler, on a busy machine).
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(proc.stdout), daemon=True)
    reader.start()
    wait_until(
        lambda: any("Redis unavailable" in line for line in said),
        timeout_s=60,
        what=f"the {command} to say Redis is unavailable",
        state=lambda: "".join(said),
    )
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    reader.join(timeout=10)
    out = "".join(said)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "hunter2" not in out
    assert "Redis unavailable at redis://:***@127.0.0.1:" in out and "set REDIS_URL" in out


def test_up_with_a_redis_url_that_does_not_answer_says_so_and_leaves_nothing(tmp_path):
    """A REDIS_URL given is the Redis the other machines use: `up` does not quietly run a
    private one instead (its jobs would never reach workers elsewhere)."""
    env = _env(tmp_path / "home", REDIS_URL=f"redis://:hunter2@127.0.0.1:{_closed_port()}/0")
    result = _publisher("up", "--port", str(_closed_port()), env=env, timeout=60)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert (
        line.startswith("publisher up: REDIS_URL redis://:***@127.0.0.1:")
        and "does not answer" in line
    )
    assert "leave REDIS_URL unset" in line and "hunter2" not in line
    assert not (tmp_path / "home" / "redis").exists()  # no private Redis was started


def test_up_on_port_0_takes_a_free_port_and_says_which(tmp_path, redis_url):
    """`up --sandbox` says where it listens, where the docs are and what to do next."""
    env = _env(tmp_path / "home", REDIS_URL=redis_url)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "publisher.cli", "up"),
            *("--port", "0", "--links-port", "0", "--sandbox"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        said = []
        while not said or "Publisher is up" not in said[-1]:
            said.append(proc.stdout.readline())
            assert said[-1], "publisher up exited before it was up"
        said.append(proc.stdout.readline())  # the next step
        text = "".join(said)
        assert re.search(r"sandbox: X http://127\.0\.0\.1:\d+, Graph http://", text), text
        url = re.search(r"API (http://127\.0\.0\.1:(\d+))", text)
        assert url and url.group(2) != "0"
        assert requests.get(f"{url.group(1)}/healthz", timeout=5).json()["status"] == "ok"
        assert f"(docs {url.group(1)}/docs)" in text
        assert requests.get(f"{url.group(1)}/docs", timeout=5).status_code == 200
        assert "Next: a key, in another terminal: publisher keys create" in text
        links = re.search(r"short links (http://127\.0\.0\.1:(\d+))/l/\{code\}", text)
        assert links and links.group(2) not in ("0", url.group(2)), text
        assert requests.get(f"{links.group(1)}/healthz", timeout=5).json()["status"] == "ok"
        nothing = requests.get(f"{links.group(1)}/l/aaaaaaaaaa", timeout=5)
        assert nothing.status_code == 404 and nothing.json()["detail"] == "no such short link"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0


def test_subcommand_help_shows_examples_and_the_environment(tmp_path):
    for command in (("db", "upgrade"), ("keys", "create"), ("secrets", "rotate")):
        result = _publisher(*command, "--help", env=_env(tmp_path / "home"), timeout=30)
        assert result.returncode == 0
        assert "examples:" in result.stdout and "DATABASE_URL" in result.stdout, command

"""README's quick start, run as written: its engine command and its `curl` walk, against a
started engine with the sandbox. Only the port changes (8000 may be taken here); the
sandbox's own ledger says whether the post went out, once."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.embedded  # README's walk runs on the embedded default


def _block(marker: str) -> str:
    """The fenced block right after `<!-- quickstart:<marker> -->` in README."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- quickstart:{marker} -->\n```sh\n(.*?)```", readme, re.S)
    assert found, f"README has no quickstart:{marker} block"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_quick_start_publishes_one_post(tmp_path, redis_url):
    for tool in ("curl", "jq", "bash"):
        assert subprocess.run(["which", tool], capture_output=True).returncode == 0, (
            f"the quick start needs {tool} (scripts/debian-packages installs it)"
        )
    port = _free_port()
    engine_line = _block("engine").strip()
    walk = _block("walk").replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.pop("DATABASE_URL", None)
    env.update(PUBLISHER_HOME=str(tmp_path / "home"), REDIS_URL=redis_url)
    engine = subprocess.Popen(
        ["bash", "-c", f"{engine_line} --port {port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        sandbox_x = None
        for line in engine.stdout:  # until it says it is up
            if line.startswith("sandbox: X "):
                sandbox_x = line.split()[2].rstrip(",")
            if line.startswith("Publisher is up"):
                break
        assert sandbox_x, "publisher up --sandbox did not say where the sandbox is"
        walked = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", walk],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert walked.returncode == 0, walked.stdout + walked.stderr
        out = walked.stdout
        status, pub_id, approved, rest = out.split("\n", 3)
        assert (status, approved) == ('"in_review"', '"scheduled"'), out
        assert pub_id.isdigit(), out
        final = json.loads(rest)
        assert final["status"] == "published", out
        ledger = requests.get(f"{sandbox_x}/_sandbox/ledger", timeout=5).json()
        assert [p["text"] for p in ledger] == ["Come and meet us on Saturday!"]
        assert final["external_url"].endswith(ledger[0]["external_id"])
    finally:
        os.killpg(engine.pid, signal.SIGTERM)
        engine.wait(30)

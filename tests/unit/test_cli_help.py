"""Every command's --help says what it does, its options' defaults, examples, and the
environment variables it reads; each variable named there is one the settings read and
the operations page (docs/operations.md, linked from README) describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publisher.cli import build_parser
from publisher.core.settings import Settings

COMMANDS = ["up", "api", "worker", "dispatcher", "db", "keys", "secrets", "sandbox", "demo"]
ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = (ROOT / "README.md").read_text() + (ROOT / "docs" / "operations.md").read_text()


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args([*argv, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_shows_examples_and_its_environment(capsys, command):
    text = _help(capsys, command)
    assert "examples:" in text and f"publisher {command}" in text.split("examples:")[1]
    assert "environment (read at start):" in text
    named = set(re.findall(r"\b(?:PUBLISHER_[A-Z_<>]+|DATABASE_URL|REDIS_URL)\b", text))
    read = set(Settings().to_env()) | {"PUBLISHER_<PLATFORM>_API_URL", "PUBLISHER_X_API_URL"}
    assert named <= read, named - read
    assert all(f"`{name}`" in DOCUMENTED or name.startswith("PUBLISHER_<") for name in named)


def test_options_show_their_defaults(capsys):
    up = _help(capsys, "up")
    assert re.search(r"--port PORT .*\(default: 8000\)", up)
    assert re.search(r"--workers WORKERS .*\(default: 1\)", up)
    assert "(default: False)" not in up and "(default: None)" not in up
    assert "(default: 8401)" in _help(capsys, "sandbox")
    assert "(default: None)" not in _help(capsys, "keys", "create")


def test_rq_colours_nothing_when_the_logs_do_not_go_to_a_terminal(monkeypatch):
    """`publisher worker 2>log` from a terminal: stdout is a terminal, the log file is not."""
    import io
    import sys

    from rq import logutils

    import worker

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setattr(logutils.colorizer, "notty", False)  # as RQ set it, seeing stdout
    worker.no_colour_off_a_terminal()
    assert logutils.green("default") == "default"  # no escape codes in the file
    monkeypatch.setattr(sys, "stderr", Terminal())
    worker.no_colour_off_a_terminal()
    assert logutils.green("default") != "default"  # a person watching: colour stays

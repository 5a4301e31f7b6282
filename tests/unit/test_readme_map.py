"""README's map ("How it is built") matches the tree: every module, package, script and
document the repository holds is named under its directory's entry (or has an entry of its
own), and every directory and file the map names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).parents[2]
LEFT_OUT = {"README.md", "pyproject.toml", "__init__.py"}  # the map's page; its packaging


def _entries() -> dict[str, str]:
    """Each directory (or top-level file) the map has an entry for, with its entry's text."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## How it is built", 1)[1].split("```", 2)[1]
    entries: dict[str, str] = {}
    top = current = ""
    for line in block.splitlines()[1:]:
        if match := re.match(r"(\S+)\s*(.*)", line):  # a top-level entry
            top = current = match.group(1)
            entries[top] = match.group(2)
        elif match := re.match(r"  (\S+/)\s*(.*)", line):  # a directory inside it
            current = top + match.group(1)
            entries[current] = match.group(2)
        elif re.match(r"  \S", line):  # more about the top-level entry
            entries[top] += " " + line
        else:
            entries[current] += " " + line
    return entries


def _tracked() -> list[PurePosixPath]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [PurePosixPath(p) for p in listed.splitlines() if not p.startswith(".")]


def _children(tracked: list[PurePosixPath], directory: str) -> set[str]:
    """What `directory` holds, one level down: modules by name (no .py), other files and
    subdirectories by theirs."""
    base = PurePosixPath(directory.rstrip("/")) if directory else PurePosixPath()
    found = set()
    for path in tracked:
        if base.parts and path.parts[: len(base.parts)] != base.parts:
            continue
        rest = path.parts[len(base.parts) :]
        name = rest[0]
        if len(rest) > 1:
            found.add(name + "/")
        elif name not in LEFT_OUT:
            found.add(name[:-3] if name.endswith(".py") and base.parts else name)
    return found


def test_the_map_names_everything_the_tree_holds():
    entries, tracked = _entries(), _tracked()
    missing = {}
    for directory in ["", *[d for d in entries if d.endswith("/")]]:
        words = set(re.findall(r"[\w.-]+", entries.get(directory, "")))
        words |= {w.rstrip(".") for w in words}
        unnamed = set()
        for child in _children(tracked, directory):
            own_entry = directory + child in entries
            named = child.rstrip("/") in words
            if not (own_entry or named):
                unnamed.add(child)
        if unnamed:
            missing[directory or "(top level)"] = sorted(unnamed)
    assert missing == {}


def test_everything_the_map_names_exists():
    entries = _entries()
    for entry, text in entries.items():
        assert (ROOT / entry).exists(), entry
        if not entry.endswith("/"):
            continue
        for name in re.findall(r"\b[\w.-]+\.(?:py|md|json|html|mako)\b", text):
            assert (ROOT / entry / name).exists(), (entry, name)

"""Which process holds a claim, and whether it is certainly gone.

A claim names the process that made it. A process that stopped beating may be dead or
only frozen (SIGSTOP, a paused VM): only its lease (claims.Lease) makes a frozen one
harmless, so in general the reaper waits the lease out. But a process in the reaper's own
PID namespace can be looked up: if it no longer exists (or its pid now belongs to a
process that started later), it sends nothing more, and its claims can be settled at once
instead of a lease later. The namespace is named by the kernel's boot id and the PID
namespace's inode, so a pid is never looked up on another machine or container.
Where /proc is not there (not Linux), nothing is ever "certainly gone".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessId:
    namespace: str  # boot id and PID namespace inode: where `pid` means this process
    pid: int
    started: int  # clock ticks after boot: a pid reused later is another process

    def __str__(self) -> str:
        return f"{self.namespace}/{self.pid}/{self.started}"

    @classmethod
    def parse(cls, text: str | None) -> ProcessId | None:
        namespace, _, rest = (text or "").partition("/")
        pid, _, started = rest.partition("/")
        if not (namespace and pid.isdigit() and started.isdigit()):
            return None
        return cls(namespace, int(pid), int(started))


def _namespace() -> str | None:
    try:
        boot = (PROC / "sys/kernel/random/boot_id").read_text().strip()
        inode = os.stat(PROC / "self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}:{inode}"


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of a live pid, or None if there is no such process."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    # Fields after the command name, which may hold spaces and parentheses.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def of(pid: int) -> ProcessId | None:
    """The process `pid` in this PID namespace, or None (no such process, or no /proc)."""
    namespace, stat = _namespace(), _stat(pid)
    return ProcessId(namespace, pid, stat[1]) if namespace and stat else None


_me: tuple[int, ProcessId | None] | None = None


def me() -> ProcessId | None:
    """This process (named again after a fork), or None where it cannot be named."""
    global _me
    if _me is None or _me[0] != os.getpid():
        _me = (os.getpid(), of(os.getpid()))
    return _me[1]


def gone(process: ProcessId | None) -> bool:
    """True only when certain: `process` lived in this PID namespace and is no more (no
    such pid, a zombie, or the pid now names a younger process)."""
    here = me()
    if process is None or here is None or process.namespace != here.namespace:
        return False
    try:
        stat = _stat(process.pid)
    except (OSError, ValueError, IndexError):
        return False
    return stat is None or stat[0] in ("Z", "X") or stat[1] != process.started

"""Issue 12 item 3: two of four workers killed (`kill -9`) mid-burst, with the engine's
default leases and timeouts. Before, their claims waited out lease + platform timeout +
grace (35 s) and their lost jobs RQ's timeout + 60 s (190 s seen): now a claim names its
process, the reaper sees that process gone within a sweep, and reconciliation asks the
platform once the settle wait has passed. Every publication ends in a final state within
30 s of the deaths, each post once on a platform that accepts duplicates (the ledger
judges)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from publisher.core.models import Event, Publication
from publisher.core.procs import ProcessId
from publisher.core.settings import Settings
from publisher.stack import Stack
from tests.e2e.conftest import Http
from tests.e2e.test_faults import _free_port, _plan, _statuses
from tests.helpers import wait_until

DEFAULTS = Settings()
RECOVERY_S = 30.0
COUNT = 32


def _claim_holders(runtime) -> set[int]:
    """The pids of the processes holding claims now."""
    with runtime.engine.connect() as conn:
        holders = conn.execute(
            select(Publication.claimed_by).where(Publication.status == "publishing").distinct()
        ).scalars()
        return {ProcessId.parse(h).pid for h in holders if h}


def test_two_workers_killed_mid_burst_everything_settles_within_30_s(
    runtime, settings, tmp_path, keys, sandbox
):
    sandbox.ledger.duplicates_refused = False  # only the engine can keep posts single
    sandbox.ledger.latency_s["x"] = 1.5  # each request is answered 1.5 s after it arrives
    engine = settings.with_(
        platform_timeout_s=DEFAULTS.platform_timeout_s,
        job_timeout_s=DEFAULTS.job_timeout_s,
        claim_lease_s=DEFAULTS.claim_lease_s,
        claim_grace_s=DEFAULTS.claim_grace_s,
        requeue_after_s=DEFAULTS.requeue_after_s,
        reconcile_after_s=DEFAULTS.reconcile_after_s,
    )
    # The lease path alone would take longer than the deadline: only seeing the dead
    # process can meet it.
    assert engine.claim_lease_s + engine.platform_timeout_s + engine.claim_grace_s > RECOVERY_S
    stack = Stack(engine, port=_free_port(), workers=4, log_dir=tmp_path / "logs").start()
    try:
        http = Http(stack.api_url, keys)
        ids = _plan(http, COUNT, datetime.now(UTC) + timedelta(seconds=12), prefix="burst")
        holders = wait_until(
            lambda: len(found := _claim_holders(runtime)) >= 2 and found,
            timeout_s=60,
            what="two workers to hold claims",
        )
        victims = [
            stack.procs.pop(name)
            for name, proc in list(stack.procs.items())
            if proc.pid in list(holders)[:2]
        ]
        assert len(victims) == 2
        for proc in victims:
            os.killpg(proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        for proc in victims:
            proc.wait(10)

        def settled() -> dict[int, dict] | None:
            pubs = _statuses(http)
            final = all(pubs[i]["status"] in ("published", "failed") for i in ids)
            return pubs if final else None

        pubs = wait_until(
            settled,
            timeout_s=120,
            what="every publication to settle",
            state=lambda: Counter(p["status"] for p in _statuses(http).values()),
        )
        recovered_s = time.monotonic() - killed_at
        print(f"every publication settled {recovered_s:.1f} s after the deaths")
        accepted = sandbox.ledger.accepted("x")
        assert Counter(a.text for a in accepted).most_common(1)[0][1] == 1  # none twice
        assert {pubs[i]["status"] for i in ids} == {"published"}  # none lost
        by_text = {a.text: a.external_id for a in accepted}
        assert len(by_text) == COUNT
        assert {pubs[i]["external_id"] for i in ids} == set(by_text.values())
        with runtime.engine.connect() as conn:
            reasons = conn.execute(
                select(Event.reason).where(Event.to_status == "unknown")
            ).scalars()
            assert "the worker process died before recording an outcome" in set(reasons)
        for log in (tmp_path / "logs").glob("*.log"):  # files, not a terminal: no colours
            assert "\x1b[" not in log.read_text(errors="replace"), log.name
        assert recovered_s <= RECOVERY_S, f"settled {recovered_s:.1f} s after the deaths"
    finally:
        stack.stop()

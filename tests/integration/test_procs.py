"""A claim names its process; the reaper settles a dead process's claims at once (issue 12
item 3), and only when it is certain: a live, stopped or foreign process keeps its lease."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from publisher.core import procs
from publisher.core.models import Event, Publication
from publisher.deliver import claims, dispatch
from tests.helpers import soon

pytestmark = pytest.mark.skipif(procs.me() is None, reason="no /proc here: nothing is certain")


@pytest.fixture
def child():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_a_process_is_named_and_found_again():
    me = procs.me()
    assert procs.ProcessId.parse(str(me)) == me
    assert not procs.gone(me)
    for garbage in (None, "", "x/1", "a/b/c", "ns/1/", "ns//5"):
        assert procs.ProcessId.parse(garbage) is None
    assert not procs.gone(None)


def test_dead_and_zombie_processes_are_gone_stopped_ones_are_not(child):
    held = procs.of(child.pid)
    assert held is not None and not procs.gone(held)
    child.send_signal(signal.SIGSTOP)  # frozen: its lease, not this, decides
    assert not procs.gone(held)
    child.send_signal(signal.SIGCONT)
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not reaped: a zombie
    try:
        assert procs.gone(held)  # a zombie sends nothing either
    finally:
        child.wait()
    assert procs.gone(held)


def test_a_reused_pid_or_another_machine_is_never_taken_for_the_claimer(child):
    held = procs.of(child.pid)
    older = dataclasses.replace(held, started=held.started - 1)  # the pid was someone else's
    assert procs.gone(older)
    elsewhere = dataclasses.replace(held, namespace="another-boot:4026531836")
    child.kill()
    child.wait()
    assert procs.gone(held) and not procs.gone(elsewhere)


def test_the_reaper_settles_a_dead_claimers_publications_at_once(
    api, scenario, runtime, sandbox, child
):
    (x, _) = scenario.channels()
    ids = []
    for _ in range(2):
        post = scenario.post_for([x], at=soon())
        scenario.submit_and_approve(post)
        ids.append(post["publications"][0]["id"])
    with runtime.session() as session:
        for pub_id in ids:
            assert claims.claim(session, pub_id, now=datetime.now(UTC)) is not None
        session.commit()
        claimer = session.get(Publication, ids[0]).claimed_by
        assert claimer == str(procs.me())
        # The first was claimed by the child, which dies; the second by this live process.
        session.execute(
            update(Publication)
            .where(Publication.id == ids[0])
            .values(claimed_by=str(procs.of(child.pid)))
        )
        session.commit()
    child.kill()
    child.wait()
    with runtime.session() as session:
        lease_out = timedelta(hours=1)  # no lease has run out
        assert dispatch.expire_claims(session, now=datetime.now(UTC), claim_timeout=lease_out) == 1
        session.commit()
    dead, live = (scenario.publication(i) for i in ids)
    assert dead["status"] == "unknown" and "worker process died" in dead["last_error"]
    assert live["status"] == "publishing"
    assert sandbox.ledger.accepted() == []  # settled by asking, never resent blindly


def test_only_a_dead_claimers_publications_still_publishing_are_settled(
    api, scenario, runtime, sandbox, child
):
    """A claim's process name stays on the row after its outcome: a publication the dead
    process published stays published; the one it was still sending becomes unknown, with
    its audit event naming it and saying why, at the reaper's time."""
    (x, _) = scenario.channels()
    ids = []
    for i in range(2):
        post = scenario.post_for([x], at=soon(), text=f"claimed by the child {i}")
        scenario.submit_and_approve(post)
        ids.append(post["publications"][0]["id"])
    dead = str(procs.of(child.pid))
    with runtime.session() as session:
        for pub_id in ids:
            assert claims.claim(session, pub_id, now=datetime.now(UTC)) is not None
        session.execute(update(Publication).values(claimed_by=dead))
        session.execute(
            update(Publication)
            .where(Publication.id == ids[0])
            .values(status="published", external_id="1", published_at=datetime.now(UTC))
        )
        session.commit()
    child.kill()
    child.wait()
    now = datetime.now(UTC) + timedelta(seconds=1)
    with runtime.session() as session:
        assert dispatch.expire_claims(session, now=now, claim_timeout=timedelta(hours=1)) == 1
        session.commit()
    published, sending = (scenario.publication(i) for i in ids)
    assert published["status"] == "published"
    assert sending["status"] == "unknown"
    assert datetime.fromisoformat(sending["updated_at"]) == now
    with runtime.session() as session:
        (event,) = session.scalars(
            select(Event).where(
                Event.to_status == "unknown", Event.kind == "publication.transition"
            )
        ).all()
    assert (event.publication_id, event.post_id) == (ids[1], sending["post_id"])
    assert event.from_status == "publishing" and event.at == now
    assert "worker process died" in event.reason

"""A claim's lease while its sends last: renewed in the database and in the sender as long
as the job runs, so a send longer than one lease goes on; not renewed once another attempt
owns the publication, so a stalled sender stops."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from publisher.core.models import Event, Publication
from publisher.core.states import Status
from publisher.deliver import claims, publish
from tests.helpers import run_pipeline, soon

LEASE_S = 2.0  # a sender stops 0.5 s (the margin) before this; renewed every 0.5 s


def test_a_send_longer_than_its_lease_goes_on_while_the_claim_is_renewed(
    api, scenario, runtime, sandbox
):
    runtime.settings = runtime.settings.with_(claim_lease_s=LEASE_S)
    sandbox.ledger.latency_s["x"] = 0.8  # three parts: 2.4 s, longer than one lease
    x, _ = scenario.channels()
    body = scenario.post_body([x], at=soon(), text="part one", thread=["part two", "part three"])
    post = api.post("/v1/posts", body, expect=201)
    scenario.submit_and_approve(post)
    pub_id = post["publications"][0]["id"]
    run_pipeline(runtime)
    assert [a.text for a in sandbox.ledger.accepted("x")] == [
        "part one",
        "part two",
        "part three",
    ]
    assert scenario.publication(pub_id)["status"] == "published"
    with runtime.session() as session:
        claimed = session.scalars(
            select(Event.at).where(
                Event.publication_id == pub_id, Event.to_status == Status.PUBLISHING
            )
        ).one()
        last_renewal = session.get(Publication, pub_id).claimed_at
    # Renewed while the parts went out (every LEASE_S / 4), not left at the claim's time.
    assert last_renewal - claimed >= timedelta(seconds=LEASE_S / 4)


def test_a_claim_another_attempt_took_over_is_not_renewed(api, scenario, runtime, sandbox):
    """Nor one the reaper made `unknown` meanwhile, nor another worker's claim."""
    x, _ = scenario.channels()
    ids = []
    for i in range(4):
        post = scenario.post_for([x], at=soon(), text=f"claimed {i}")
        scenario.submit_and_approve(post)
        ids.append(post["publications"][0]["id"])
    mine, taken_over, reaped, elsewhere = ids
    with runtime.session() as session:
        claimed = claims.claim_many(session, ids, now=runtime.clock(), lease_s=8.0)
        session.commit()
        before = {c.publication.id: c.publication.claimed_at for c in claimed}
        # One claim lapsed and was taken over: another attempt owns it now. Another was
        # expired by the reaper (its attempt unchanged). The last is another worker's.
        session.execute(
            update(Publication)
            .where(Publication.id == taken_over)
            .values(attempts=Publication.attempts + 1)
        )
        session.execute(
            update(Publication).where(Publication.id == reaped).values(status=Status.UNKNOWN)
        )
        session.commit()
        time.sleep(0.05)
        ours = [c for c in claimed if c.publication.id != elsewhere]
        until = {c.publication.id: c.lease.until for c in claimed}
        publish._renew(session, ours, now=before[mine] + timedelta(seconds=3))
        rows = {
            p.id: p.claimed_at
            for p in session.scalars(
                select(Publication)
                .where(Publication.id.in_(ids))
                .execution_options(populate_existing=True)
            )
        }
    by_id = {c.publication.id: c for c in claimed}
    assert rows[mine] == before[mine] + timedelta(seconds=3)
    assert by_id[mine].lease.until > until[mine]
    for other in (taken_over, reaped, elsewhere):
        assert rows[other] == before[other], other
        assert by_id[other].lease.until == until[other], other

"""Who changed the committee's rules, and to what: every policy set or removed is in the
audit log with its scope and the rules as stored; a policy naming a reviewer who cannot
vote is refused at that reviewer's place in the body."""

from __future__ import annotations

import json
from datetime import datetime

from tests.helpers import rows_digest, soon


def _audit(api) -> list[dict]:
    response = api.client.get("/v1/audit", headers={"Authorization": f"Bearer {api.keys['admin']}"})
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def test_each_policy_change_is_audited_with_its_scope_and_rules(api, scenario, keys):
    campaign = scenario.campaign()
    workspace_rules = {"approvals": 2, "allow_self_approval": False}
    set_workspace = api.call("PUT", "/v1/review-policy", workspace_rules, as_="admin", expect=200)
    path = f"/v1/campaigns/{campaign['id']}/review-policy"
    api.call("PUT", path, {"approvals": 1}, as_="admin", expect=200)
    api.call("DELETE", path, as_="admin", expect=200)
    changes = [e for e in _audit(api) if e["kind"].startswith("policy.")]
    assert [(e["kind"], e["reason"]) for e in changes] == [
        ("policy.changed", "review policy of the workspace"),
        ("policy.changed", f"review policy of the campaign {campaign['id']}"),
        ("policy.removed", f"review policy of the campaign {campaign['id']}"),
    ]
    first, second, removed = (e["data"] for e in changes)
    assert first["campaign_id"] is None and first["rules"]["approvals"] == 2
    assert first["rules"]["allow_self_approval"] is False
    assert second == {"campaign_id": campaign["id"], "rules": second["rules"]}
    assert second["rules"]["approvals"] == 1 and removed["rules"] is None
    assert all(e["actor"].startswith("key:") and e["at"] for e in changes)
    # What the API answered is what the workspace now has, for the campaign too.
    assert set_workspace[1]["approvals"] == 2
    assert api.get(path)["source"] == "workspace" and api.get(path)["approvals"] == 2


def test_a_reviewer_who_cannot_vote_is_refused_at_their_place(api, runtime, keys):
    before = rows_digest(runtime)
    body = {
        "approvals": 1,
        "requirements": [
            {"name": "legal", "reviewer_ids": [3]},  # the reviewer key: may vote
            {"name": "brand", "reviewer_ids": [3, 2, 999]},  # an editor, and nobody
        ],
    }
    status, problem = api.call("PUT", "/v1/review-policy", body, as_="admin")
    assert status == 422 and problem["detail"] == "the policy names reviewers who cannot vote"
    assert [e["loc"] for e in problem["errors"]] == [
        ["requirements", 1, "reviewer_ids", 1],
        ["requirements", 1, "reviewer_ids", 2],
    ]
    assert all(e["msg"] for e in problem["errors"])
    assert rows_digest(runtime) == before


def test_a_campaigns_own_policy_answers_as_the_campaigns_and_its_audit_is_dated(
    api, scenario, runtime, at
):
    campaign = scenario.campaign()
    path = f"/v1/campaigns/{campaign['id']}/review-policy"
    when = at(soon(120))  # the engine's clock: what the audit must say
    answered = api.call("PUT", path, {"approvals": 2}, as_="admin", expect=200)[1]
    assert (answered["source"], answered["campaign_id"], answered["approvals"]) == (
        "campaign",
        campaign["id"],
        2,
    )
    assert api.get(path) == answered
    cleared = api.call("DELETE", path, as_="admin", expect=200)[1]
    assert (cleared["source"], cleared["campaign_id"]) == ("default", None)  # none set
    status, problem = api.call("DELETE", path, as_="admin")
    assert status == 404
    assert problem["detail"] == f"campaign {campaign['id']} has no policy of its own"
    changes = [e for e in _audit(api) if e["kind"].startswith("policy.")]
    assert len(changes) == 2
    assert all(datetime.fromisoformat(e["at"]) == when for e in changes)

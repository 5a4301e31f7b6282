"""/v1/review-policy and /v1/campaigns/{id}/review-policy: who must approve, and by when."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.spec import endpoint, json_response
from publisher.core.workspaces import Permission
from publisher.review import policies
from publisher.review.schemas import PolicyIn, PolicyRead

bp = Blueprint("policies", __name__)


@bp.get("/review-policy")
@endpoint(
    "The workspace's review policy (the default if none was set)",
    response=PolicyRead,
    permission=Permission.READ,
)
def workspace_policy():
    return json_response(policies.get_policy(db(), actor()).read())


@bp.put("/review-policy")
@endpoint(
    "Set the workspace's review policy",
    body=PolicyIn,
    response=PolicyRead,
    permission=Permission.MANAGE_POLICY,
)
def set_workspace_policy():
    policy = policies.update_policy(db(), actor(), g.body, now=runtime().clock())
    commit()
    return json_response(policy.read())


@bp.get("/campaigns/<int:campaign_id>/review-policy")
@endpoint(
    "The policy that applies to a campaign's posts (its own, else the workspace's)",
    response=PolicyRead,
    permission=Permission.READ,
)
def campaign_policy(campaign_id: int):
    return json_response(policies.get_policy(db(), actor(), campaign_id).read())


@bp.put("/campaigns/<int:campaign_id>/review-policy")
@endpoint(
    "Give a campaign its own review policy",
    body=PolicyIn,
    response=PolicyRead,
    permission=Permission.MANAGE_POLICY,
)
def set_campaign_policy(campaign_id: int):
    policy = policies.update_policy(
        db(), actor(), g.body, campaign_id=campaign_id, now=runtime().clock()
    )
    commit()
    return json_response(policy.read())


@bp.delete("/campaigns/<int:campaign_id>/review-policy")
@endpoint(
    "Drop a campaign's own policy: the workspace's applies again",
    response=PolicyRead,
    permission=Permission.MANAGE_POLICY,
)
def clear_campaign_policy(campaign_id: int):
    policy = policies.delete_policy(db(), actor(), campaign_id, now=runtime().clock())
    commit()
    return json_response(policy.read())

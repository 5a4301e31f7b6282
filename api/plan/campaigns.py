"""/v1/campaigns."""

from __future__ import annotations

from flask import Blueprint, g

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.workspaces import Permission
from publisher.plan import campaigns
from publisher.plan.schemas import CampaignCreate, CampaignRead

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


@bp.post("")
@endpoint(
    "Create a campaign",
    body=CampaignCreate,
    response=CampaignRead,
    status=201,
    permission=Permission.WRITE_CONTENT,
)
def create():
    campaign = campaigns.create_campaign(db(), actor(), g.body, now=runtime().clock())
    commit()
    return json_response(CampaignRead.model_validate(campaign), 201)


@bp.get("")
@endpoint(
    "List campaigns", query=PageQuery, response=list[CampaignRead], permission=Permission.READ
)
def index():
    q = g.query
    found = campaigns.list_campaigns(db(), actor(), limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, CampaignRead.model_validate, next_position=lambda c: {"after": c.id})


@bp.get("/<int:campaign_id>")
@endpoint("Get a campaign", response=CampaignRead, permission=Permission.READ)
def show(campaign_id: int):
    return json_response(
        CampaignRead.model_validate(campaigns.get_campaign(db(), actor(), campaign_id))
    )

"""/v1/members and /v1/events: the community members the client's systems know, their
referral codes and who they recruited; the results those systems report (with an
Idempotency-Key: a retried call counts once)."""

from __future__ import annotations

import re

from flask import Blueprint, g, request
from pydantic import Field

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.errors import ValidationFailed
from publisher.core.schemas import Id
from publisher.core.workspaces import Permission
from publisher.engage import conversions
from publisher.engage.schemas import (
    ConversionKind,
    ConversionRead,
    EventIn,
    MemberIn,
    MemberRead,
    ReferralCodeRead,
)

members = Blueprint("members", __name__, url_prefix="/members")
events = Blueprint("events", __name__, url_prefix="/events")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, as Stripe's are


@members.post("")
@endpoint(
    "Make (or find) the member your systems know by external_id",
    body=MemberIn,
    response=MemberRead,
    status=201,
    also=(200,),  # 200: known already
    permission=Permission.WRITE_CONTENT,
)
def create():
    member, made = conversions.upsert_member(db(), actor(), g.body, now=runtime().clock())
    commit()
    return json_response(MemberRead.model_validate(member), 201 if made else 200)


@members.get("/<int:member_id>")
@endpoint("A member", response=MemberRead, permission=Permission.READ)
def show(member_id: int):
    return json_response(
        MemberRead.model_validate(conversions.get_member(db(), actor(), member_id))
    )


@members.post("/<int:member_id>/referral-code")
@endpoint(
    "The member's referral code (made on first ask, the same after)",
    response=ReferralCodeRead,
    permission=Permission.WRITE_CONTENT,
)
def referral_code(member_id: int):
    member = conversions.referral_code(db(), actor(), member_id)
    commit()
    return json_response(ReferralCodeRead(member_id=member.id, code=member.referral_code))


@members.get("/<int:member_id>/recruits")
@endpoint(
    "The members this one recruited (their code named on a sign-up)",
    query=PageQuery,
    response=list[MemberRead],
    permission=Permission.READ,
)
def recruits(member_id: int):
    q = g.query
    found = conversions.recruits(db(), actor(), member_id, limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, MemberRead.model_validate, next_position=lambda m: {"after": m.id})


@events.post("")
@endpoint(
    "Report a result (sign-up, referral, subscription, purchase, custom): send an "
    "Idempotency-Key header; the same key and report again is the same event (200)",
    body=EventIn,
    response=ConversionRead,
    status=201,
    also=(200,),
    permission=Permission.WRITE_CONTENT,
)
def report():
    who = actor()
    who.require(Permission.WRITE_CONTENT)
    key = request.headers.get("Idempotency-Key", "")
    if not _KEY.match(key):
        raise ValidationFailed(
            "send an Idempotency-Key header (1 to 200 printable characters, one per event)",
            [{"loc": ["header", "Idempotency-Key"], "msg": "required", "type": "missing"}],
        )
    conversion, made = conversions.record_event(db(), who, g.body, key=key, now=runtime().clock())
    commit()
    return json_response(ConversionRead.model_validate(conversion), 201 if made else 200)


class EventQuery(PageQuery):
    campaign_id: Id | None = None
    member_id: Id | None = None
    kind: ConversionKind | None = None
    after_id: int = Field(default=0, ge=0, le=2**31 - 1, description="Page on after this id")


@events.get("")
@endpoint(
    "Results reported, oldest first",
    query=EventQuery,
    response=list[ConversionRead],
    permission=Permission.READ,
)
def index():
    q = g.query
    found = conversions.list_conversions(
        db(),
        actor(),
        campaign_id=q.campaign_id,
        kind=q.kind,
        member_id=q.member_id,
        limit=q.limit + 1,
        after_id=max(q.after_id, after_id(q)),
    )
    return page(found, q, ConversionRead.model_validate, next_position=lambda c: {"after": c.id})

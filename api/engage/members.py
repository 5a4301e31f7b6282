"""/v1/members and /v1/events: the community's members (those the client's systems know
and those the networks brought), their referral codes and who they recruited; the
results those systems report (with an Idempotency-Key: a retried call counts once)."""

from __future__ import annotations

import re

from flask import Blueprint, g, request
from pydantic import Field, model_validator

from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.errors import ValidationFailed
from publisher.core.models import Conversion, Member, MemberIdentity
from publisher.core.schemas import Id
from publisher.core.workspaces import Permission
from publisher.engage import conversions
from publisher.engage import members as people
from publisher.engage.schemas import (
    ConversionKind,
    ConversionRead,
    EraseIn,
    EventIn,
    IdentityIn,
    IdentityRead,
    MemberIn,
    MemberRead,
    MemberSummaryRead,
    MemberUpdate,
    MergeIn,
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
    member, made = conversions.create_member(db(), actor(), g.body, now=runtime().clock())
    commit()
    return json_response(_read(member), 201 if made else 200)


class MemberQuery(PageQuery):
    external_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="Your id for them"
    )
    platform: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="Known on this network (with account_id or handle: as that account)",
    )
    account_id: str | None = Field(default=None, min_length=1, max_length=190)
    handle: str | None = Field(
        default=None, min_length=1, max_length=190, pattern=r"^@?[A-Za-z0-9_.]+$"
    )
    named: bool | None = Field(
        default=None,
        description="true: those your systems named (an external_id); false: those only met "
        "on the networks so far",
    )
    after_id: int = Field(default=0, ge=0, le=2**31 - 1, description="Page on after this id")

    @model_validator(mode="after")
    def _account_on_a_network(self) -> MemberQuery:
        if (self.account_id or self.handle) and not self.platform:
            raise ValueError("account_id and handle need the platform they are on")
        if self.account_id and self.handle:
            raise ValueError("give account_id or handle, one of the two")
        return self


@members.get("", endpoint="index")
@endpoint(
    "Members, oldest first: those your systems named and those the networks brought "
    "(their first interaction), by your id or by an account on a network",
    query=MemberQuery,
    response=list[MemberRead],
    permission=Permission.READ,
)
def member_index():
    q: MemberQuery = g.query
    account = None
    if q.account_id or q.handle:
        account = IdentityIn(platform=q.platform, account_id=q.account_id, handle=q.handle)
    found = people.list_members(
        db(),
        actor(),
        external_id=q.external_id,
        platform=q.platform,
        account=account,
        named=q.named,
        limit=q.limit + 1,
        after_id=max(q.after_id, after_id(q)),
    )
    known = people.identities_of(db(), [m.id for m in found])
    return page(
        found, q, lambda m: _read(m, known.get(m.id)), next_position=lambda m: {"after": m.id}
    )


@members.get("/<int:member_id>")
@endpoint("A member", response=MemberRead, permission=Permission.READ)
def show(member_id: int):
    return json_response(_read(conversions.get_member(db(), actor(), member_id)))


@members.patch("/<int:member_id>")
@endpoint(
    "Say a member opted out (or came back): dated, audited",
    body=MemberUpdate,
    response=MemberRead,
    permission=Permission.WRITE_CONTENT,
)
def update(member_id: int):
    member = people.update_opt_out(
        db(), actor(), member_id, g.body.opted_out, now=runtime().clock()
    )
    commit()
    return json_response(_read(member))


@members.post("/<int:member_id>/identities")
@endpoint(
    "Know the member on a network too: their account id or @handle there (their "
    "interactions there are then theirs); one a member the networks brought holds folds "
    "that member into this one (audited as a merge); 409 if a member your systems named "
    "has it",
    body=IdentityIn,
    response=MemberRead,
    status=201,
    permission=Permission.WRITE_CONTENT,
)
def identify(member_id: int):
    actor().require(Permission.WRITE_CONTENT)  # refused before anything is looked up
    member = people.current(db(), conversions.get_member(db(), actor(), member_id))
    people.create_identities(db(), actor(), member, [g.body], now=runtime().clock())
    commit()
    return json_response(_read(member), 201)


@members.post("/<int:member_id>/merge")
@endpoint(
    "Merge another member into this one (the same person): their identities, results and "
    "recruits become this one's, and what named them names this one; audited",
    body=MergeIn,
    response=MemberRead,
    permission=Permission.MANAGE_MEMBERS,
)
def merge(member_id: int):
    body = g.body
    member = people.merge_members(
        db(), actor(), member_id, body.member_id, reason=body.reason, now=runtime().clock()
    )
    commit()
    return json_response(_read(member))


@members.post("/<int:member_id>/erase")
@endpoint(
    "Erase a member's personal data on their request (and that of members merged into "
    "them): names, your ids, identities, referral code, what they wrote; the rows stay, "
    "anonymous, so every count stays true; audited without personal data",
    body=EraseIn,
    response=MemberRead,
    permission=Permission.MANAGE_MEMBERS,
)
def erase(member_id: int):
    member = people.erase_member(
        db(), actor(), member_id, reason=g.body.reason, now=runtime().clock()
    )
    commit()
    return json_response(_read(member))


@members.get("/<int:member_id>/summary")
@endpoint(
    "What a member did: interactions on the networks, results, the campaigns those served, "
    "recruits, when first and last seen",
    response=MemberSummaryRead,
    permission=Permission.READ,
)
def summary(member_id: int):
    found = people.get_summary(db(), actor(), member_id)
    return json_response(
        MemberSummaryRead(
            member_id=found.member.id,
            first_seen_at=found.member.first_seen_at,
            last_seen_at=found.last_seen_at,
            interactions=found.interactions,
            conversions=found.conversions,
            clicks=found.clicks,
            campaigns=found.campaigns,
            recruits=found.recruits,
            opted_out_at=found.member.opted_out_at,
        )
    )


def _read(member: Member, identities: list[MemberIdentity] | None = None) -> MemberRead:
    if identities is None:
        identities = people.identities_of(db(), [member.id])[member.id]
    shown = [
        IdentityRead(
            platform=i.platform,
            account_id=i.key.removeprefix("id:") if i.key.startswith("id:") else None,
            handle=i.key if i.key.startswith("@") else None,
        )
        for i in identities
    ]
    return MemberRead.model_validate(member).model_copy(update={"identities": shown})


@members.post("/<int:member_id>/referral-code")
@endpoint(
    "The member's referral code (made on first ask, the same after)",
    response=ReferralCodeRead,
    permission=Permission.WRITE_CONTENT,
)
def referral_code(member_id: int):
    member = conversions.create_referral_code(db(), actor(), member_id)
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
    found = conversions.list_recruits(
        db(), actor(), member_id, limit=q.limit + 1, after_id=after_id(q)
    )
    known = people.identities_of(db(), [m.id for m in found])
    return page(
        found, q, lambda m: _read(m, known.get(m.id)), next_position=lambda m: {"after": m.id}
    )


@events.post("")
@endpoint(
    "Report a result (sign-up, referral, subscription, purchase, custom): send an "
    "Idempotency-Key header; the same key and report again is the same event (200)",
    body=EventIn,
    response=ConversionRead,
    status=201,
    also=(200,),
    permission=Permission.WRITE_CONTENT,
    errors=(409,),  # the key used for another report
    headers=(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "One per event, chosen by you: the same key and report again is "
            "the same event (200); the same key for another report is a 409",
            "schema": {"type": "string", "pattern": _KEY.pattern},
            "example": "signup-crm-42",
        },
    ),
)
def report():
    who = actor()
    who.require(Permission.WRITE_CONTENT)
    key = request.headers.get("Idempotency-Key", "")
    if not _KEY.match(key):
        said = (
            ("required", "missing")
            if not key
            else ("at most 200 characters", "string_too_long")
            if len(key) > 200
            else ("printable characters, no spaces", "value_error")
        )
        raise ValidationFailed(
            "send an Idempotency-Key header (1 to 200 printable characters, one per event)",
            [{"loc": ["header", "Idempotency-Key"], "msg": said[0], "type": said[1]}],
        )
    conversion, made = conversions.record_event(db(), who, g.body, key=key, now=runtime().clock())
    commit()
    read = _conversion(conversion, conversions.link_codes(db(), [conversion]))
    return json_response(read, 201 if made else 200)


def _conversion(conversion: Conversion, codes: dict[int, str]) -> ConversionRead:
    return ConversionRead.model_validate(
        {
            **conversion.model_dump(),
            "link_code": codes.get(conversion.link_id) if conversion.link_id else None,
            "click": conversion.click_key,
        }
    )


class EventQuery(PageQuery):
    campaign_id: Id | None = None
    member_id: Id | None = None
    publication_id: Id | None = Field(
        default=None, description="Those that came through the publication's short links"
    )
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
        publication_id=q.publication_id,
        limit=q.limit + 1,
        after_id=max(q.after_id, after_id(q)),
    )
    codes = conversions.link_codes(db(), found)
    return page(found, q, lambda c: _conversion(c, codes), next_position=lambda c: {"after": c.id})

"""An erased person stays erased (issue 15, part 5): what their account does on the
network again is counted, anonymous, and makes no member of them, until your systems
give one of their identities to a member again. A handle that changed hands names its
new holder, not them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from publisher.core.models import ForgottenIdentity, Interaction, Member
from tests.integration import test_members, test_network_members

FAN, _event = test_members.FAN, test_members._event
_reply, _by_account = test_network_members._reply, test_network_members._by_account
published = test_members.published  # the fixture: a published X post of a campaign


def _erase(api, member_id: int) -> None:
    path = f"/v1/members/{member_id}/erase"
    api.call("POST", path, {"reason": "asked"}, as_="admin", expect=200)


def _stored(runtime, reply_id: str) -> Interaction:
    with runtime.session() as session:
        return session.scalar(select(Interaction).where(Interaction.external_id == reply_id))


def _window(now: datetime) -> str:
    return (
        f"from={now - timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
        f"&to={now + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    )


def test_an_erased_person_who_replies_again_is_counted_and_not_collected(
    api, runtime, at, published
):
    now = at(datetime.now(UTC))
    _reply(api, published, "557001", FAN, now - timedelta(minutes=10))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    _reply(api, published, "557002", FAN, now - timedelta(minutes=5))
    again = _stored(runtime, "557002")
    assert (again.author_id, again.author_handle, again.author_name, again.text) == (
        None,
        None,
        None,
        None,
    )
    assert again.member_id is None and again.publication_id == published["pub"]["id"]
    assert _by_account(api, account_id=FAN[0]) == _by_account(api, handle=FAN[1]) == []
    with runtime.session() as session:
        assert session.scalar(select(Member.id).where(Member.erased_at.is_(None))) is None
        kept = session.scalars(select(ForgottenIdentity.digest)).all()
    assert len(kept) == 2 and not any(FAN[0] in d or FAN[1] in d for d in kept)
    report = api.get(f"/v1/campaigns/{published['campaign']['id']}/report?{_window(now)}")
    assert report["totals"]["new_members"] == 1  # the erased one, counted once


def test_a_handle_that_changed_hands_names_its_new_holder(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "557011", FAN, now - timedelta(minutes=10))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    newcomer = ("8118", FAN[1], "Another Camille")
    _reply(api, published, "557012", newcomer, now - timedelta(minutes=5))
    stored = _stored(runtime, "557012")
    assert (stored.author_id, stored.author_handle, stored.text) == ("8118", "camille", "Yes!")
    (holder,) = _by_account(api, account_id="8118")
    assert stored.member_id == holder["id"]


def test_a_person_known_only_by_handle_is_forgotten_under_any_account(api, runtime, at, published):
    now = at(datetime.now(UTC))
    member = api.post(
        "/v1/members",
        {"external_id": "crm-7", "identities": [{"platform": "x", "handle": "@Camille"}]},
        expect=201,
    )
    _erase(api, member["id"])
    _reply(api, published, "557021", FAN, now - timedelta(minutes=5))
    stored = _stored(runtime, "557021")
    assert (stored.author_id, stored.author_handle, stored.member_id) == (None, None, None)
    assert _by_account(api, account_id=FAN[0]) == []


def test_your_systems_giving_the_identity_again_lifts_it(api, runtime, at, published):
    now = at(datetime.now(UTC))
    _reply(api, published, "557031", FAN, now - timedelta(minutes=20))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    _reply(api, published, "557032", FAN, now - timedelta(minutes=15))  # forgotten
    back = api.post(
        "/v1/members",
        {"external_id": "crm-back", "identities": [{"platform": "x", "account_id": FAN[0]}]},
        expect=201,
    )
    _reply(api, published, "557033", FAN, now - timedelta(minutes=5))
    stored = _stored(runtime, "557033")
    assert (stored.author_id, stored.member_id, stored.text) == (FAN[0], back["id"], "Yes!")
    assert _stored(runtime, "557032").member_id is None  # what was forgotten stays so
    summary = api.get(f"/v1/members/{back['id']}/summary")
    assert summary["interactions"] == {"reply": 1}
    # Their handle is lifted with their account: another account writing with it is
    # whoever holds it now (the member known by 7007 is not the author, nor forgotten).
    _reply(api, published, "557034", ("8228", FAN[1], "Cam"), now - timedelta(minutes=1))
    stored = _stored(runtime, "557034")
    assert (stored.author_id, stored.author_handle) == ("8228", "camille")
    assert stored.member_id not in (None, back["id"])


def test_a_reply_stored_while_its_author_is_erased_is_forgotten_too(api, runtime, at, published):
    """A delivery that found the member by an identity an erasure was deleting waits on
    the member's row, then finds them erased: as it would then see them (erased, the
    identity not yet gone from its view), the reply is stored anonymous and untied."""
    now = at(datetime.now(UTC))
    _reply(api, published, "557041", FAN, now - timedelta(minutes=10))
    (met,) = _by_account(api, account_id=FAN[0])
    with runtime.session() as session:
        session.get(Member, met["id"]).erased_at = now - timedelta(minutes=8)
        session.commit()
    _reply(api, published, "557042", FAN, now - timedelta(minutes=5))
    stored = _stored(runtime, "557042")
    assert (stored.author_id, stored.author_handle, stored.text, stored.member_id) == (
        None,
        None,
        None,
        None,
    )

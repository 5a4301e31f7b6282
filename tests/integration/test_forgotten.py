"""An erased person stays erased (issue 15, part 5): what their account does on the
network again is counted, anonymous, and makes no member of them, until your systems
give one of their identities to a member again. A handle that changed hands names its
new holder, not them; nothing more is kept on the erased member's row."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from publisher.core.models import Channel, Event, ForgottenIdentity, Interaction, Member
from publisher.engage import forgotten
from tests.integration import test_members, test_network_members

FAN = test_members.FAN
_reply, _by_account = test_network_members._reply, test_network_members._by_account
published = test_members.published  # the fixture: a published X post of a campaign


def _erase(api, member_id: int) -> None:
    path = f"/v1/members/{member_id}/erase"
    api.call("POST", path, {"reason": "asked"}, as_="admin", expect=200)


def _stored(runtime, reply_id: str) -> Interaction:
    """The interaction the platform knows as `reply_id` (as kept: a forgotten one's id is
    a digest)."""
    with runtime.session() as session:
        ids = (reply_id, forgotten.opaque(reply_id))
        return session.scalar(select(Interaction).where(Interaction.external_id.in_(ids)))


def _kept(runtime) -> list[tuple[str, bool]]:
    with runtime.session() as session:
        rows = session.execute(select(ForgottenIdentity.digest, ForgottenIdentity.by_handle))
        return sorted(tuple(row) for row in rows)


def _digest(runtime, published, key: str) -> str:
    with runtime.session() as session:
        workspace = session.get(Channel, published["x"]["id"]).workspace_id
    return hashlib.sha256(f"{workspace}\nx\n{key}".encode()).hexdigest()


def _window(now: datetime) -> str:
    return (
        f"from={now - timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
        f"&to={now + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    )


def _unnamed(stored: Interaction) -> tuple:
    return (stored.author_id, stored.author_handle, stored.author_name, stored.text)


def test_an_erased_person_who_replies_again_is_counted_and_not_collected(
    api, runtime, at, published
):
    now = at(datetime.now(UTC))
    _reply(api, published, "557001", FAN, now - timedelta(minutes=10))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    assert _kept(runtime) == sorted(
        [
            (_digest(runtime, published, "id:7007"), False),
            (_digest(runtime, published, "@camille"), True),
        ]
    )
    first = _stored(runtime, "557001")
    assert first.external_id == forgotten.opaque("557001")  # its id: a digest now
    _reply(api, published, "557002", FAN, now - timedelta(minutes=5))
    again = _stored(runtime, "557002")
    assert _unnamed(again) == (None, None, None, None)
    assert again.external_id == "sha256:" + hashlib.sha256(b"557002").hexdigest()
    assert again.member_id is None and again.publication_id == published["pub"]["id"]
    assert _by_account(api, account_id=FAN[0]) == _by_account(api, handle=FAN[1]) == []
    with runtime.session() as session:
        assert session.scalar(select(Member.id).where(Member.erased_at.is_(None))) is None
    # The same delivery again (a new body: a platform's retry) is known: stored once.
    _reply(api, published, "557002", FAN, now - timedelta(minutes=4))
    with runtime.session() as session:
        assert len(session.scalars(select(Interaction.id)).all()) == 2
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


def test_your_systems_giving_their_account_again_lifts_them(api, runtime, at, published):
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
    assert _kept(runtime) == []  # their account and their handle there
    _reply(api, published, "557033", FAN, now - timedelta(minutes=5))
    stored = _stored(runtime, "557033")
    assert (stored.author_id, stored.member_id, stored.text) == (FAN[0], back["id"], "Yes!")
    assert _stored(runtime, "557032").member_id is None  # what was forgotten stays so
    summary = api.get(f"/v1/members/{back['id']}/summary")
    assert summary["interactions"] == {"reply": 1}


def test_their_handle_given_to_someone_leaves_their_account_forgotten(api, runtime, at, published):
    """The handle changed hands: your systems give it to its new holder; the erased
    person's account, writing under another handle, is still forgotten."""
    now = at(datetime.now(UTC))
    _reply(api, published, "557051", FAN, now - timedelta(minutes=20))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    api.post(
        "/v1/members",
        {"external_id": "crm-new", "identities": [{"platform": "x", "handle": "camille"}]},
        expect=201,
    )
    assert _kept(runtime) == [(_digest(runtime, published, "id:7007"), False)]
    _reply(api, published, "557052", (FAN[0], "cam_again", "C."), now - timedelta(minutes=5))
    stored = _stored(runtime, "557052")
    assert _unnamed(stored) == (None, None, None, None) and stored.member_id is None


def test_their_account_under_a_handle_a_member_holds_is_still_forgotten(
    api, runtime, at, published
):
    """Their account id names them: a member your systems know by the handle they now
    write under is not them."""
    now = at(datetime.now(UTC))
    _reply(api, published, "557061", FAN, now - timedelta(minutes=20))
    (met,) = _by_account(api, account_id=FAN[0])
    _erase(api, met["id"])
    other = api.post(
        "/v1/members",
        {"external_id": "crm-cam2", "identities": [{"platform": "x", "handle": "cam2"}]},
        expect=201,
    )
    _reply(api, published, "557062", (FAN[0], "cam2", "C."), now - timedelta(minutes=5))
    stored = _stored(runtime, "557062")
    assert _unnamed(stored) == (None, None, None, None)
    assert stored.member_id is None
    assert api.get(f"/v1/members/{other['id']}/summary")["interactions"] == {}


def test_nothing_more_is_kept_on_an_erased_member(api, runtime, at, published):
    member = api.post("/v1/members", {"external_id": "crm-9", "name": "Camille"}, expect=201)
    _erase(api, member["id"])
    erased = f"erased:{member['id']}"
    for body in (
        {"external_id": erased, "name": "Camille again"},
        {"external_id": erased, "identities": [{"platform": "x", "account_id": "7007"}]},
    ):
        status, problem = api.call("POST", "/v1/members", body)
        assert status == 422 and problem["errors"][0]["loc"] == ["external_id"], problem
    path = f"/v1/members/{member['id']}"
    assert api.call("POST", f"{path}/identities", {"platform": "x", "account_id": "7"})[0] == 409
    assert api.call("POST", f"{path}/referral-code")[0] == 409
    assert api.call("PATCH", path, {"opted_out": True})[0] == 409
    again = api.get(path)
    assert (again["name"], again["identities"], again["referral_code"]) == (None, [], None)
    assert again["opted_out_at"] is None
    # Erased again (a retried call): the same answer, one erasure in the audit log.
    api.call("POST", f"{path}/erase", {"reason": "asked"}, as_="admin", expect=200)
    assert api.get(path)["erased_at"] == again["erased_at"]
    with runtime.session() as session:
        kinds = session.scalars(select(Event.kind).where(Event.kind == "member.erased")).all()
    assert kinds == ["member.erased"]


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
    assert _unnamed(stored) == (None, None, None, None) and stored.member_id is None


def test_an_erased_members_results_keep_nothing_of_yours_that_names_them(api, runtime):
    """The Idempotency-Key your systems chose ("signup-camille@example.org") and the digest
    of a body holding their name stayed after the erasure; a retry is still known (counted
    once)."""
    from publisher.core.models import Conversion

    key = "signup-camille@example.org"
    body = {"kind": "signup", "member": {"external_id": "crm-cam", "name": "Camille"}}

    def report():
        answer = api.client.post(
            "/v1/events",
            json=body,
            headers={"Authorization": f"Bearer {api.keys['automation']}", "Idempotency-Key": key},
        )
        return answer.status_code, answer.get_json()

    status, made = report()
    assert status == 201
    _erase(api, made["member_id"])
    with runtime.session() as session:
        (kept,) = session.scalars(select(Conversion)).all()
        assert "camille" not in kept.idempotency_key and kept.request_digest == ""
        assert (kept.kind, kept.member_id) == ("signup", made["member_id"])  # counted still
    status, again = report()  # the client's retry, its answer lost before the erasure
    assert (status, again["id"]) == (200, made["id"])
    with runtime.session() as session:
        assert len(session.scalars(select(Conversion)).all()) == 1

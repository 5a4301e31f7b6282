"""What Meta's Page deliveries become: a post or a comment naming the Page is a mention
by its author (sender_id and sender_name, or Workplace's `from`); a comment on the
Page's own post that names it is the comment on it the `feed` field also reports."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.sandbox import hooks_out
from publisher.engage.hooks import read_meta

PAGE = "1000001"
FAN = ("9001", "Camille Martin")
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _one(payload) -> tuple:
    [event] = read_meta(payload)
    return event.kind, event.external_id, event.post_id, event.author_id, event.author_name


def test_a_post_naming_the_page_is_a_mention_by_its_author():
    payload = hooks_out.meta_mention(PAGE, "5005_77", FAN, "Thanks @Acme!", AT)
    assert _one(payload) == ("mention", "5005_77", "5005_77", "9001", "Camille Martin")
    [event] = read_meta(payload)
    assert (event.text, event.occurred_at, event.platform) == ("Thanks @Acme!", AT, "facebook")


def test_a_comment_naming_the_page_on_someone_elses_post_is_a_mention():
    payload = hooks_out.meta_mention(PAGE, "5005_77", FAN, "ask @Acme", AT, comment_id="77_8")
    assert _one(payload) == ("mention", "77_8", "5005_77", "9001", "Camille Martin")


def test_a_comment_naming_the_page_on_its_own_post_is_the_comment_the_feed_reports():
    post = f"{PAGE}_42"
    mention = hooks_out.meta_mention(PAGE, post, FAN, "@Acme which room?", AT, comment_id="42_9")
    comment = hooks_out.meta_comment(PAGE, post, "42_9", FAN, "@Acme which room?", AT)
    assert _one(mention) == _one(comment) == ("comment", "42_9", post, "9001", "Camille Martin")


def test_workplace_names_the_author_with_from():
    payload = hooks_out.meta_mention(PAGE, "5005_77", FAN, "hi @Acme", AT)
    value = payload["entry"][0]["changes"][0]["value"]
    del value["sender_id"], value["sender_name"]
    value["from"] = {"id": "9002", "name": "Dana"}
    assert _one(payload)[3:] == ("9002", "Dana")


def test_the_page_naming_itself_and_edits_or_removals_are_not_mentions():
    own = hooks_out.meta_mention(PAGE, f"{PAGE}_3", (PAGE, "Acme"), "We are @Acme", AT)
    assert read_meta(own) == []
    for verb in ("edited", "remove"):
        payload = hooks_out.meta_mention(PAGE, "5005_77", FAN, "x", AT)
        payload["entry"][0]["changes"][0]["value"]["verb"] = verb
        assert read_meta(payload) == []

"""What X's Account Activity deliveries become: a retweet relays the post it carries,
whatever else its top level carries (a retweeted quote's fields are the quote's); a post
naming the account is a mention, a reply only when it answers the account."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.sandbox import hooks_out
from publisher.engage.hooks import read_x

US = "4001"
FAN = ("8001", "ana", "Ana")
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _one(payload) -> tuple[str, str | None, str | None]:
    [event] = read_x(payload)
    return event.kind, event.post_id, event.text


def test_a_retweet_is_a_repost_of_the_post_it_carries():
    assert _one(hooks_out.x_repost(US, "900", "100", FAN, AT)) == ("repost", "100", None)


def test_a_quote_is_a_repost_of_the_post_it_quotes_with_its_words():
    quote = hooks_out.x_repost(US, "901", "100", FAN, AT, quote="Come along")
    assert _one(quote) == ("repost", "100", "Come along")


def test_a_retweet_of_a_quote_relays_the_quote_not_what_it_quoted():
    """v1.1 puts a retweeted quote's quoted_status_id_str (and is_quote_status) at the
    retweet's top level too: the retweet relays our quote tweet 200, not the post 100 it
    quoted."""
    payload = hooks_out.x_repost(US, "902", "200", FAN, AT)
    [tweet] = payload["tweet_create_events"]
    tweet.update(is_quote_status=True, quoted_status_id_str="100", in_reply_to_status_id_str="7")
    assert _one(payload) == ("repost", "200", None)


def test_a_reply_is_a_reply_with_its_words():
    payload = hooks_out.x_reply(US, "903", "100", FAN, "See you", AT)
    assert _one(payload) == ("reply", "100", "See you")


def test_a_post_naming_the_account_is_a_mention():
    payload = hooks_out.x_mention(US, "acme", "904", FAN, "Thanks @acme for the day!", AT)
    assert _one(payload) == ("mention", None, "Thanks @acme for the day!")
    [tweet] = payload["tweet_create_events"]
    assert tweet["entities"]["user_mentions"][0]["indices"] == [7, 12]


def test_a_reply_to_someone_else_that_names_the_account_is_a_mention_not_a_reply():
    """The post it answers is someone else's: nothing of ours to tie it to."""
    payload = hooks_out.x_mention(
        US, "acme", "905", FAN, "@bob ask @acme", AT, in_reply_to=("300", "8002")
    )
    assert _one(payload) == ("mention", None, "@bob ask @acme")


def test_a_relay_of_someone_elses_post_naming_the_account_is_a_mention():
    payload = hooks_out.x_repost(US, "906", "300", FAN, AT, quote="Look @acme")
    [tweet] = payload["tweet_create_events"]
    tweet["quoted_status"]["user"] = {"id_str": "8002"}  # the quoted post is Bob's
    assert _one(payload) == ("mention", None, "Look @acme")

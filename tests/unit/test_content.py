"""The content an approval is bound to, alone: the hash changes with anything a reader would
see and with nothing else; variants layer platform then channel; links get the campaign's
tracking once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from publisher.core.models import Campaign, Channel, Post
from publisher.plan.content import _indexed_layers, content_hash, tag_links, tagged, wording

BASE = dict(text="Open day", link="https://acme.example/join")
VARIANTS = [
    {"platform": "x", "text": "Open day on X"},
    {"channel_id": 7, "text": "Open day, careers page", "link": "https://acme.example/jobs"},
]


def test_what_a_reader_sees_changes_the_hash_and_nothing_else_does():
    base = content_hash(**BASE, variants=VARIANTS)
    assert content_hash(**BASE, variants=list(reversed(VARIANTS))) == base  # order of variants
    assert content_hash(**BASE) == content_hash(**BASE, variants=[], thread=[], media=[])
    changed = [
        content_hash(text="Open day!", link=BASE["link"], variants=VARIANTS),
        content_hash(text=BASE["text"], link=None, variants=VARIANTS),
        content_hash(**BASE, variants=[VARIANTS[0], {**VARIANTS[1], "text": "Other"}]),
        content_hash(**BASE, variants=[VARIANTS[0], {**VARIANTS[1], "no_link": True}]),
        content_hash(**BASE, variants=[{**VARIANTS[0], "media": [{"media_id": 1}]}, VARIANTS[1]]),
        content_hash(**BASE, variants=VARIANTS, thread=["part 2"]),
        content_hash(**BASE, variants=VARIANTS, media=[{"media_id": 1}]),
        content_hash(**BASE, variants=VARIANTS, media=[{"media_id": 1, "alt_text": "a"}]),
        content_hash(**BASE, variants=VARIANTS, quote_of="1234"),
    ]
    assert base not in changed and len(set(changed)) == len(changed)


@given(st.text(max_size=40), st.text(max_size=40))
def test_two_texts_share_a_hash_only_when_equal(one, other):
    assert (content_hash(one, None) == content_hash(other, None)) == (one == other)


def test_variants_layer_the_platforms_then_the_channels_own():
    post = Post(
        text="t", variants=[VARIANTS[1], VARIANTS[0], {"platform": "facebook", "text": "f"}]
    )
    x_channel = Channel(id=7, platform="x", name="n", external_account_id="1", workspace_id=1)
    layers = [index for index, _ in _indexed_layers(post, x_channel)]
    assert layers == [1, 0]  # X's platform variant first, the channel's own last (it wins)
    other_x = Channel(id=8, platform="x", name="n", external_account_id="2", workspace_id=1)
    assert [i for i, _ in _indexed_layers(post, other_x)] == [1]


def test_the_most_specific_wording_wins_field_by_field():
    """The channel's own variant over its platform's over the post, each only for what it
    sets: a text, a thread, a link, or no link at all; the source names the text's."""
    post = Post(
        text="post",
        link="https://a.example/post",
        thread=["post 2"],
        variants=[
            {"channel_id": 7, "text": "channel", "no_link": True},
            {"platform": "x", "text": "x", "link": "https://a.example/x", "thread": ["x 2"]},
            {"platform": "facebook", "text": "f"},
            {"channel_id": 9, "link": "https://a.example/nine", "text": ""},
        ],
    )

    def on(id_: int, platform: str):
        channel = Channel(
            id=id_, platform=platform, name="n", external_account_id="1", workspace_id=1
        )
        return wording(post, channel)

    assert on(7, "x") == ("channel", None, ["x 2"], 0)  # its own text, no link; X's thread
    assert on(8, "x") == ("x", "https://a.example/x", ["x 2"], 1)
    assert on(9, "x") == ("x", "https://a.example/nine", ["x 2"], 1)  # an empty text sets none
    assert on(5, "facebook") == ("f", "https://a.example/post", ["post 2"], 2)
    assert on(6, "instagram") == ("post", "https://a.example/post", ["post 2"], None)
    assert wording(
        Post(text="t"),
        Channel(id=1, platform="x", name="n", external_account_id="1", workspace_id=1),
    ) == ("t", None, [], None)


def test_links_get_the_campaigns_tracking_once_and_keep_their_own():
    campaign = Campaign(
        id=3,
        name="w",
        objective="recruitment",
        workspace_id=1,
        tracking={"utm_source": "{platform}", "utm_campaign": "c{campaign_id}"},
    )
    channel = Channel(id=7, platform="x", name="n", external_account_id="1", workspace_id=1)
    link = tagged("https://acme.example/join?utm_source=mail", campaign, channel)
    assert link == "https://acme.example/join?utm_source=mail&utm_campaign=c3"
    text = tag_links("See acme.fr/join and https://acme.com/a.", campaign, channel)
    assert text == (  # a bare domain is a link too; the full stop stays outside
        "See acme.fr/join?utm_campaign=c3&utm_source=x and "
        "https://acme.com/a?utm_campaign=c3&utm_source=x."
    )
    assert tagged("https://acme.example", None, channel) == "https://acme.example"


def test_tracking_fills_the_channel_and_keeps_a_blank_parameter_the_link_has():
    campaign = Campaign(
        id=3,
        name="w",
        objective="recruitment",
        workspace_id=1,
        tracking={"utm_content": "ch{channel_id}", "ref": "{platform}"},
    )
    channel = Channel(id=7, platform="facebook", name="n", external_account_id="1", workspace_id=1)
    # "ref=" is the link's own, blank: kept as it is, and not filled in.
    link = tagged("https://acme.example/join?ref=&a=1", campaign, channel)
    assert link == "https://acme.example/join?ref=&a=1&utm_content=ch7"

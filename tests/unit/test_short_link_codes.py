"""Short-link codes: one per link per publication, the same on every attempt."""

from __future__ import annotations

from publisher.plan.links import CODE_LENGTH, LinkMaker, Shortener


def test_a_code_is_the_publications_and_the_links_and_the_same_every_time():
    maker = LinkMaker.of("https://go.acme.fr/")
    code = maker.code(7, "https://acme.fr/a")
    assert code == maker.code(7, "https://acme.fr/a")
    assert len(code) == CODE_LENGTH and code.isalnum() and code == code.lower()
    assert code != maker.code(8, "https://acme.fr/a")  # another publication
    assert code != maker.code(7, "https://acme.fr/b")  # another link
    # The address is not part of it, nor any key: a rotation or a move keeps every code.
    assert code == LinkMaker.of("https://elsewhere.example").code(7, "https://acme.fr/a")
    assert maker.url(code) == f"https://go.acme.fr/l/{code}"


def test_no_public_address_no_short_links():
    assert LinkMaker.of("") is None


def test_a_shortener_keeps_what_it_made_and_leaves_its_own_links_alone():
    maker = LinkMaker.of("https://go.acme.fr")
    short = Shortener(maker, 7)
    first = short("lumiere.paris?utm_source=x")
    assert short(first) == first
    assert short.links == {first.rsplit("/", 1)[1]: "https://lumiere.paris?utm_source=x"}

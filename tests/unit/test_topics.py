"""Webhook topics: one list, and which audit events publish under each."""

from typing import get_args

from publisher.record import topics
from publisher.record.schemas import Topic


def test_the_subscription_schema_takes_exactly_the_published_topics():
    assert set(get_args(Topic)) == set(topics.TOPICS)
    assert len(topics.TOPICS) == len(set(topics.TOPICS))


def test_a_transition_publishes_under_its_new_status_topic():
    assert topics.topic_of("publication.transition", "published") == "publication.published"
    assert topics.topic_of("publication.transition", "in_review") == "review.requested"
    assert topics.topic_of("publication.transition", "expired") == "review.expired"
    # A move no subscriber can ask for publishes nothing.
    assert topics.topic_of("publication.transition", "queued") is None
    assert topics.topic_of("publication.transition", None) is None


def test_other_events_publish_under_their_kind_and_the_rest_under_none():
    assert topics.topic_of("review.voted", None) == "review.decided"
    assert topics.topic_of("channel.needs_reauth", None) == "channel.needs_reauth"
    # A status alone does not make a non-transition event a status topic.
    assert topics.topic_of("post.edited", "published") is None


def test_every_topic_is_published_by_some_event():
    published = {topics.topic_of("publication.transition", s) for s in topics._STATUS_TOPICS}
    published |= {topics.topic_of(kind, None) for kind in topics._KIND_TOPICS}
    assert published == set(topics.TOPICS)

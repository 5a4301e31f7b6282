"""What a post must satisfy before it is stored: times ahead, rules that can happen,
references (campaign, channels, media) of the actor's workspace, variants that speak to
a target."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from publisher.core.errors import ValidationFailed, field_error
from publisher.core.localtime import intended_local, to_local
from publisher.core.models import Campaign, Channel, Media
from publisher.core.workspaces import Actor, mine
from publisher.plan import rules, slots
from publisher.plan.post_schemas import PostCreate, TargetIn, VariantIn
from publisher.plan.schemas import MediaRef

# How far in the past a one-off time may be given ("now" from a clock a little behind).
PAST_GRACE = timedelta(minutes=5)


def rule_problem(target: TargetIn, now: datetime) -> str | None:
    """Why a recurrence cannot run, or None: it must start within the last year and
    have an occurrence ahead."""
    if target.scheduled_at < now - timedelta(days=366):
        return "the first occurrence (scheduled_at) is more than a year in the past"
    starts = intended_local(target.scheduled_at, target.time_zone)
    try:
        rule = rules.parse(target.recurrence, starts, target.time_zone)
    except ValueError as exc:  # an UNTIL the zone cannot show, a rule dateutil refuses
        return str(exc)
    after = max(starts, to_local(now, target.time_zone))
    try:
        ahead = rules.first_occurrence(rule, after_local=after)
    except (OverflowError, ValueError):  # stepping past the year 9999
        ahead = None
    if ahead is None:
        return "the rule has no occurrence ahead"
    return None


def check_references(session: Session, actor: Actor, data: PostCreate, now: datetime) -> None:
    """Campaign and channels must exist in the actor's workspace; one 422 lists every miss."""
    errors = []
    if data.campaign_id is not None and mine(session, Campaign, data.campaign_id, actor) is None:
        errors.append(field_error("campaign_id", f"no campaign {data.campaign_id} here"))
    for i, target in enumerate(data.targets):
        channel = mine(session, Channel, target.channel_id, actor)
        if channel is None:
            errors.append(
                field_error(["targets", i, "channel_id"], f"no channel {target.channel_id} here")
            )
        elif target.queue and not slots.has_slots(channel):
            errors.append(
                field_error(
                    ["targets", i, "queue"],
                    f"channel {channel.name!r} has no posting slots: set them with "
                    f"PUT /v1/channels/{channel.id}/slots",
                )
            )
        elif target.recurrence is not None and (problem := rule_problem(target, now)):
            errors.append(field_error(["targets", i, "recurrence"], problem))
        elif target.recurrence is None and not target.queue and is_past(target.scheduled_at, now):
            errors.append(field_error(["targets", i, "scheduled_at"], past_message(now)))
    channels = [session.get(Channel, t.channel_id) for t in data.targets]
    errors += variant_errors(data.variants, [c for c in channels if c is not None])
    errors += media_errors(session, actor, data.media, data.variants)
    if errors:
        raise ValidationFailed("the post cannot be planned as given", errors)


def is_past(when: datetime, now: datetime) -> bool:
    """A one-off time already gone (beyond a little clock disagreement): it would only
    expire unseen."""
    return when < now - PAST_GRACE


def past_message(now: datetime) -> str:
    return (
        f"is in the past (now is {now.replace(microsecond=0).isoformat()}): choose a time "
        "ahead, or queue: true for the channel's next posting slot"
    )


def media_errors(
    session: Session, actor: Actor, refs: list[MediaRef], variants: list[VariantIn] = ()
) -> list[dict]:
    """Every attachment, the post's and its variants', must be media of this workspace."""
    places = [(["media", i], ref) for i, ref in enumerate(refs)]
    places += [
        (["variants", v, "media", i], ref)
        for v, variant in enumerate(variants)
        for i, ref in enumerate(variant.media or [])
    ]
    errors = []
    for loc, ref in places:
        if mine(session, Media, ref.media_id, actor) is None:
            errors.append(field_error([*loc, "media_id"], f"no media {ref.media_id} here"))
    return errors


def stored_media(refs: list[MediaRef]) -> list[dict] | None:
    return [{"media_id": r.media_id, "alt_text": r.alt_text} for r in refs] or None


def variant_errors(variants: list[VariantIn], targets: list[Channel]) -> list[dict]:
    """A variant must speak to one of the post's targets: a channel it targets, or the
    platform of one (a variant nothing would use is a mistake, not a no-op)."""
    errors = []
    ids, platforms = {c.id for c in targets}, {c.platform for c in targets}
    for i, variant in enumerate(variants):
        if variant.channel_id is not None and variant.channel_id not in ids:
            errors.append(
                field_error(
                    ["variants", i, "channel_id"],
                    f"channel {variant.channel_id} is not a target of this post",
                )
            )
        if variant.platform is not None and variant.platform not in platforms:
            errors.append(
                field_error(
                    ["variants", i, "platform"],
                    f"no target of this post is on {variant.platform!r}",
                )
            )
    return errors

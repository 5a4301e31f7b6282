"""/v1/channels: the accounts content goes out on. Credentials are write-only."""

from __future__ import annotations

from flask import Blueprint, g

from api.context import actor, commit, db, runtime
from api.spec import endpoint, json_response
from publisher import channels, slots
from publisher.schemas import (
    ChannelCheckRead,
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    SlotsIn,
    SlotsRead,
)

bp = Blueprint("channels", __name__, url_prefix="/channels")


@bp.post("")
@endpoint("Create a channel", body=ChannelCreate, response=ChannelRead, status=201)
def create():
    rt = runtime()
    channel = channels.create_channel(
        db(), actor(), g.body, registry=rt.registry, box=rt.box, now=rt.clock()
    )
    commit()
    return json_response(ChannelRead.model_validate(channel), 201)


@bp.get("")
@endpoint("List channels", response=list[ChannelRead])
def index():
    return json_response(
        [ChannelRead.model_validate(c) for c in channels.list_channels(db(), actor())]
    )


@bp.get("/<int:channel_id>")
@endpoint("Get a channel", response=ChannelRead)
def show(channel_id: int):
    return json_response(
        ChannelRead.model_validate(channels.get_channel(db(), actor(), channel_id))
    )


@bp.patch("/<int:channel_id>")
@endpoint("Rename a channel or replace its credentials", body=ChannelUpdate, response=ChannelRead)
def update(channel_id: int):
    rt = runtime()
    channel = channels.update_channel(
        db(), actor(), channel_id, g.body, registry=rt.registry, box=rt.box, now=rt.clock()
    )
    commit()
    rt.queue.wake()  # a channel back from needs_reauth has publications to send
    return json_response(ChannelRead.model_validate(channel))


@bp.post("/<int:channel_id>/check")
@endpoint("Verify a channel's credentials with its platform", response=ChannelCheckRead)
def check(channel_id: int):
    """A read-only call to the platform. A refusal marks the channel needs_reauth; a pass
    brings a needs_reauth channel back into service."""
    rt = runtime()
    verdict = channels.check_channel(
        db(), actor(), channel_id, adapter_for=rt.adapter_for, clock=rt.clock
    )
    commit()
    if verdict.result == "ok":
        rt.queue.wake()  # a channel back in service has publications to send
    return json_response(verdict)


def _slots_read(channel) -> SlotsRead:
    timetable = channel.slots or {}
    free = slots.free_slots(db(), channel, after=runtime().clock(), count=5)
    return SlotsRead(
        channel_id=channel.id,
        time_zone=timetable.get("time_zone"),
        slots=timetable.get("slots", []),
        next_free=free,
    )


@bp.get("/<int:channel_id>/slots")
@endpoint("The channel's weekly posting slots and its next free ones", response=SlotsRead)
def show_slots(channel_id: int):
    return json_response(_slots_read(channels.get_channel(db(), actor(), channel_id)))


@bp.put("/<int:channel_id>/slots")
@endpoint(
    "Set the weekly posting slots that 'add to queue' (a target with queue: true) fills",
    body=SlotsIn,
    response=SlotsRead,
)
def set_slots(channel_id: int):
    channel = slots.set_slots(db(), actor(), channel_id, g.body, now=runtime().clock())
    commit()
    return json_response(_slots_read(channel))

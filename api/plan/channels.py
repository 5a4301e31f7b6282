"""/v1/channels: the accounts content goes out on. Credentials are write-only."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, g, request

from adapters.errors import AdapterError
from api.http.context import actor, commit, db, runtime
from api.http.paging import PageQuery, after_id, page
from api.http.spec import endpoint, json_response
from publisher.core.workspaces import Permission
from publisher.plan import channels, connect, slots
from publisher.plan.schemas import (
    ChannelCheckRead,
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    ConnectedRead,
    ConnectStarted,
    OAuthCallbackQuery,
    SlotsIn,
    SlotsRead,
)
from publisher.runtime import adapter_config

bp = Blueprint("channels", __name__, url_prefix="/channels")


@bp.post("")
@endpoint(
    "Create a channel",
    body=ChannelCreate,
    response=ChannelRead,
    status=201,
    permission=Permission.MANAGE_CHANNELS,
)
def create():
    rt = runtime()
    channel = channels.create_channel(
        db(), actor(), g.body, registry=rt.registry, box=rt.box, now=rt.clock()
    )
    commit()
    return json_response(ChannelRead.model_validate(channel), 201)


@bp.get("")
@endpoint("List channels", query=PageQuery, response=list[ChannelRead], permission=Permission.READ)
def index():
    q = g.query
    found = channels.list_channels(db(), actor(), limit=q.limit + 1, after_id=after_id(q))
    return page(found, q, ChannelRead.model_validate, next_position=lambda c: {"after": c.id})


@bp.get("/<int:channel_id>")
@endpoint("Get a channel", response=ChannelRead, permission=Permission.READ)
def show(channel_id: int):
    return json_response(
        ChannelRead.model_validate(channels.get_channel(db(), actor(), channel_id))
    )


@bp.patch("/<int:channel_id>")
@endpoint(
    "Rename a channel or replace its credentials",
    body=ChannelUpdate,
    response=ChannelRead,
    permission=Permission.MANAGE_CHANNELS,
)
def update(channel_id: int):
    rt = runtime()
    channel = channels.update_channel(
        db(), actor(), channel_id, g.body, registry=rt.registry, box=rt.box, now=rt.clock()
    )
    commit()
    rt.queue.wake()  # a channel back from needs_reauth has publications to send
    return json_response(ChannelRead.model_validate(channel))


@bp.post("/<int:channel_id>/check")
@endpoint(
    "Verify a channel's credentials with its platform",
    response=ChannelCheckRead,
    permission=Permission.MANAGE_CHANNELS,
    errors=(503,),
)
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
@endpoint(
    "The channel's weekly posting slots and its next free ones",
    response=SlotsRead,
    permission=Permission.READ,
)
def show_slots(channel_id: int):
    return json_response(_slots_read(channels.get_channel(db(), actor(), channel_id)))


@bp.put("/<int:channel_id>/slots")
@endpoint(
    "Set the weekly posting slots that 'add to queue' (a target with queue: true) fills",
    body=SlotsIn,
    response=SlotsRead,
    permission=Permission.MANAGE_CHANNELS,
)
def set_slots(channel_id: int):  # its operationId (channels_set_slots) is published
    channel = slots.update_slots(db(), actor(), channel_id, g.body, now=runtime().clock())
    commit()
    return json_response(_slots_read(channel))


def _connect_base() -> str:
    """Where the platform sends the person back: PUBLISHER_PUBLIC_URL, else this host."""
    return runtime().settings.public_url or request.host_url


@bp.post("/connect/<platform>")
@endpoint(
    "Connect an account through the platform's consent page (OAuth)",
    response=ConnectStarted,
    status=201,
    permission=Permission.MANAGE_CHANNELS,
)
def connect_start(platform: str):
    rt, who = runtime(), actor()
    who.require(Permission.MANAGE_CHANNELS)  # before saying anything of the OAuth set-up
    app = connect.oauth_app(
        rt.registry, platform, rt.settings.oauth_client(platform), _connect_base()
    )
    grant, url = connect.start_connect(
        db(),
        who,
        platform,
        registry=rt.registry,
        app=app,
        box=rt.box,
        config=adapter_config(rt.settings, base_url=rt.settings.api_base_urls.get(platform)),
        now=rt.clock(),
    )
    commit()
    return json_response(ConnectStarted(authorization_url=url, expires_at=grant.expires_at), 201)


callback = Blueprint("oauth_callback", __name__, url_prefix="/v1/oauth")


@callback.get("/callback/<platform>")
@endpoint(
    "Where the platform sends the person back: the channel is created or revived",
    query=OAuthCallbackQuery,
    response=ConnectedRead,
    public=True,
)
def connect_callback(platform: str):
    """No API key: the unguessable, single-use `state` of a grant made by one is the proof.
    A GET that writes: it uses write sessions of its own, none open while the platform is
    asked."""
    rt, query = runtime(), g.query
    with rt.session() as session:
        grant = connect.take_grant(session, platform, query.state, now=rt.clock())
        session.commit()  # used, whatever happens next: a replayed callback changes nothing
    if query.error or not query.code:
        reason = query.error_description or query.error or "no code came back"
        raise connect.InvalidGrant(f"{platform} did not authorise the account: {reason}")
    # The redirect_uri the platform saw when the grant was made, whatever host this is.
    app = connect.oauth_app(
        rt.registry, platform, rt.settings.oauth_client(platform), _connect_base()
    )
    app = replace(app, redirect_uri=grant.redirect_uri)
    config = adapter_config(rt.settings, base_url=rt.settings.api_base_urls.get(platform))
    try:
        accounts = rt.registry[platform].complete_authorization(
            app, code=query.code, verifier=connect.verifier_of(grant, rt.box), config=config
        )
    except AdapterError as exc:
        raise connect.InvalidGrant(f"{platform} refused the authorization: {exc.reason}") from exc
    except (KeyError, TypeError, ValueError) as exc:  # an answer we cannot read, a lost key
        raise connect.InvalidGrant(
            f"{platform}'s answer could not be read ({type(exc).__name__}): start again"
        ) from exc
    with rt.session() as session:
        saved = connect.save_accounts(
            session, grant, accounts, registry=rt.registry, box=rt.box, now=rt.clock()
        )
        session.commit()
        answer = ConnectedRead(channels=[ChannelRead.model_validate(c) for c in saved])
    rt.queue.wake()  # a revived channel has publications to send
    return json_response(answer)

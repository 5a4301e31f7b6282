"""/v1/media: upload a file or import one by URL; attach it to posts by id."""

from __future__ import annotations

from flask import Blueprint, request, send_file
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from api.http.bodies import parse_body
from api.http.context import actor, commit, db, runtime
from api.http.spec import endpoint, json_response
from publisher.core.errors import ValidationFailed, field_error
from publisher.core.workspaces import Permission
from publisher.plan import media
from publisher.plan.schemas import MediaImport, MediaRead

bp = Blueprint("media", __name__, url_prefix="/media")


@bp.post("")
@endpoint(
    "Upload a file (multipart `file`) or import one by URL",
    response=MediaRead,
    status=201,
    request_body={
        "multipart/form-data": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        },
        "application/json": MediaImport,
    },
    permission=Permission.WRITE_CONTENT,
)
def create():
    """The type is sniffed from the bytes; anything but JPEG, PNG, GIF, WebP, MP4 or MOV
    is a 415. Imports fetch public addresses only and follow at most 3 redirects."""
    rt = runtime()
    limit = rt.settings.media_max_bytes
    if request.mimetype == "multipart/form-data":
        # Files may be large; a JSON body (an import) keeps the 1 MB cap of every body.
        request.max_content_length = limit + 64 * 1024  # the multipart envelope
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("send the file in a multipart field named `file`")
        if "\x00" in (upload.filename or ""):
            raise ValidationFailed(
                "NUL characters are not accepted", [field_error("file", "its name holds NUL")]
            )
        item = media.create_media(
            db(),
            actor(),
            upload.stream,
            filename=upload.filename,
            store=rt.media,
            max_bytes=limit,
            now=rt.clock(),
        )
    elif request.is_json:
        body = parse_body(MediaImport)
        item = media.import_media(
            db(),
            actor(),
            body.url,
            store=rt.media,
            max_bytes=limit,
            allow_private=rt.settings.allow_private_urls,
            now=rt.clock(),
        )
    else:
        raise UnsupportedMediaType("send multipart/form-data with `file`, or JSON with `url`")
    commit()
    return json_response(MediaRead.model_validate(item), 201)


@bp.get("/<int:media_id>")
@endpoint("Get a media item", response=MediaRead, permission=Permission.READ)
def show(media_id: int):
    return json_response(MediaRead.model_validate(media.get_media(db(), actor(), media_id)))


@bp.get("/<int:media_id>/content")
@endpoint("The media item's bytes", permission=Permission.READ)
def content(media_id: int):
    item = media.get_media(db(), actor(), media_id)
    return send_file(runtime().media.path(item.sha256), mimetype=item.content_type)


public = Blueprint("public_media", __name__)


@public.get("/public/media/<int:media_id>")
def public_content(media_id: int):
    """The bytes behind a signed, expiring link (no key: platforms fetch these)."""
    from werkzeug.exceptions import Forbidden, NotFound

    rt = runtime()
    args = request.args
    if not rt.media.link_is_valid(
        media_id, args.get("expires", ""), args.get("sig", ""), now=rt.clock()
    ):
        raise Forbidden("the link is not valid or has expired")
    item = media.linked(db(), media_id)
    if item is None:
        raise NotFound("no such media")
    return send_file(rt.media.path(item.sha256), mimetype=item.content_type)

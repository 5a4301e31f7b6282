"""X media upload as published (X API v2 2.167, x_spec.json; docs.x.com/x-api/media/
quickstart/media-upload-chunked): `POST /2/media/upload/initialize` (JSON), `POST /2/media/
upload/{id}/append` (multipart `media` + `segment_index`), `POST /2/media/upload/{id}/
finalize`, `GET /2/media/upload?command=STATUS&media_id=` while processing, and `POST /2/
media/upload` alone as a one-shot upload (`media` and `media_category` required). The
deprecated `command=INIT/APPEND/FINALIZE` form on `POST /2/media/upload` is refused, as X
refuses it since its migration deadline (30 May 2025): the one-shot schema allows none of
its fields. Every route needs the OAuth 2.0 scope `media.write`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from adapters.sandbox.ledger import Ledger, sniff
from adapters.sandbox.x_common import admit, invalid, json_body, problem
from adapters.sandbox.x_spec import spec

MEDIA_ID_BASE = 1_870_000_000_000_000_000
SEGMENT_BYTES = 5 * 1024 * 1024
UPLOAD = "/2/media/upload"
INITIALIZE = "/2/media/upload/initialize"
APPEND = "/2/media/upload/{id}/append"
FINALIZE = "/2/media/upload/{id}/finalize"


def _status(upload: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = {
        "id": upload["media_id"],
        "media_key": f"3_{upload['media_id']}",
        "expires_after_secs": 86400,
    }
    if upload.get("size") is not None:
        status["size"] = upload["size"]
    if upload["state"] != "succeeded" or upload["content_type"].startswith("video/"):
        status["processing_info"] = {"state": upload["state"], "progress_percent": 0}
        if upload["state"] in ("pending", "in_progress"):
            status["processing_info"]["check_after_secs"] = 1
    return status


def _form_or_json(path: str) -> tuple[dict[str, Any] | None, bytes | None, Response | None]:
    """A multipart or JSON body (media base64-encoded), checked against the operation's
    schema; the media's bytes apart."""
    if (request.content_type or "").startswith("multipart/form-data"):
        fields: dict[str, Any] = dict(request.form)
        chunk = request.files.get("media")
        if chunk is not None:
            fields["media"] = "<binary>"
        fields = spec().form("post", path, fields)
        problems = spec().body_problems("post", path, fields, "multipart/form-data")
        if problems:
            return None, None, invalid([("body", p) for p in problems])
        return fields, chunk.read() if chunk is not None else None, None
    body, refused = json_body("post", path)
    if refused is not None:
        return None, None, refused
    try:
        data = base64.b64decode(body.get("media", ""), validate=True)
    except (binascii.Error, ValueError):
        return None, None, invalid([("media", "media must be base64 in a JSON body")])
    return body, data, None


def x_media_blueprint(ledger: Ledger) -> Blueprint:
    bp = Blueprint("sandbox_x_media", __name__)

    def new_upload(user_id: str, content_type: str, category: str | None, total: int) -> dict:
        media_id = str(MEDIA_ID_BASE + ledger.next_id())
        upload = {
            "media_id": media_id,
            "account": user_id,
            "content_type": content_type,
            "category": category,
            "total": total,
            "segments": {},
            "state": "uploading",
            "alt_text": None,
            "size": None,
        }
        ledger.uploads[media_id] = upload
        return upload

    def finish(upload: dict[str, Any], data: bytes, segments: int) -> None:
        upload.update(
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            segment_count=segments,
            segments={},
        )
        video = upload["content_type"].startswith("video/")
        if video and ledger.media_processing_s > 0:
            upload["state"] = "pending"
            upload["ready_at"] = time.monotonic() + ledger.media_processing_s
        else:
            upload["state"] = "succeeded"

    def enter(path: str) -> tuple[str, Response | None]:
        """The caller's X user id, or the refusal: X's own checks, then an injected fault."""
        user_id, refused = admit(ledger, "post", path)
        if refused is not None:
            return user_id, refused
        injected = ledger.take_fault("x", on="media", account=user_id)
        if injected is not None and injected.hold_s:
            time.sleep(injected.hold_s)  # a slow answer (then served normally)
        if injected is not None and injected.status is not None:
            return user_id, problem(injected.status, "Injected", "Injected fault")
        return user_id, None

    def mine(media_id: str, user_id: str) -> dict[str, Any] | None:
        upload = ledger.uploads.get(media_id)
        return upload if upload is not None and upload["account"] == user_id else None

    @bp.post(UPLOAD)
    def one_shot():
        user_id, refused = enter(UPLOAD)
        if refused is not None:
            return refused
        fields, data, refused = _form_or_json(UPLOAD)
        if refused is not None:
            return refused
        upload = new_upload(
            user_id,
            sniff(data or b"") or "application/octet-stream",
            fields["media_category"],
            len(data),
        )
        finish(upload, data or b"", 1)
        return jsonify({"data": _status(upload)})

    @bp.post(INITIALIZE)
    def initialize():
        user_id, refused = enter(INITIALIZE)
        if refused is not None:
            return refused
        body, refused = json_body("post", INITIALIZE)
        if refused is not None:
            return refused
        # The schema lists no required field; the upload guide says both are needed.
        missing = [f for f in ("media_type", "total_bytes") if f not in body]
        if missing:
            return invalid([(f, f"The `{f}` field is required") for f in missing])
        upload = new_upload(
            user_id, body["media_type"], body.get("media_category"), body["total_bytes"]
        )
        return jsonify(
            {
                "data": {
                    "id": upload["media_id"],
                    "media_key": f"3_{upload['media_id']}",
                    "expires_after_secs": 86400,
                }
            }
        )

    @bp.post("/2/media/upload/<media_id>/append")
    def append(media_id: str):
        user_id, refused = enter(APPEND)
        if refused is not None:
            return refused
        fields, data, refused = _form_or_json(APPEND)
        if refused is not None:
            return refused
        upload = mine(media_id, user_id)
        if upload is None or upload["state"] != "uploading":
            return invalid([("id", f"{media_id} is not an upload in progress")])
        if len(data or b"") > SEGMENT_BYTES:
            return invalid([("media", "a segment is at most 5 MB")])
        upload["segments"][int(fields["segment_index"])] = data
        return jsonify({"data": {"expires_at": int(time.time()) + 86400}})

    @bp.post("/2/media/upload/<media_id>/finalize")
    def finalize(media_id: str):
        user_id, refused = enter(FINALIZE)
        if refused is not None:
            return refused
        upload = mine(media_id, user_id)
        if upload is None or upload["state"] != "uploading":
            return invalid([("id", f"{media_id} is not an upload in progress")])
        segments = upload["segments"]
        data = b"".join(segments[i] for i in sorted(segments))
        if len(data) != upload["total"]:
            return invalid([("id", f"got {len(data)} bytes, initialize said {upload['total']}")])
        finish(upload, data, len(segments))
        return jsonify({"data": _status(upload)})

    @bp.get(UPLOAD)
    def status():
        user_id, refused = admit(ledger, "get", UPLOAD)
        if refused is not None:
            return refused
        upload = mine(request.args.get("media_id", ""), user_id)
        if upload is None:
            return invalid([("media_id", "media_id is not a known upload")])
        if upload["state"] in ("pending", "in_progress"):
            ready = time.monotonic() >= upload.get("ready_at", 0)
            upload["state"] = "succeeded" if ready else "in_progress"
        return jsonify({"data": _status(upload)})

    @bp.post("/2/media/metadata")
    def metadata():
        user_id, refused = admit(ledger, "post", "/2/media/metadata")
        if refused is not None:
            return refused
        body, refused = json_body("post", "/2/media/metadata")
        if refused is not None:
            return refused
        upload = mine(str(body.get("id", "")), user_id)
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if upload is None or not isinstance(alt, str):
            return invalid([("id", "id and metadata.alt_text.text are required")])
        if len(alt) > 1000:
            return invalid([("metadata", "alt text is at most 1000 characters")])
        upload["alt_text"] = alt
        return jsonify(
            {"data": {"id": upload["media_id"], "associated_metadata": {"alt_text": {"text": alt}}}}
        )

    return bp

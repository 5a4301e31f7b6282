"""The Instagram Graph API subset the Instagram adapter uses: media containers (one image
or a carousel), media_publish within the account's 24-hour quota, content_publishing_limit
and the account's media list (instagram-api/reference/ig-user)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request

from adapters.sandbox.ledger import Ledger

CONTAINER_ID_BASE = 17_890_000_000_000_000
IG_MEDIA_ID_BASE = 17_900_000_000_000_000


def container_state(container: dict[str, Any]) -> str:
    if container["published"]:
        return "PUBLISHED"
    return "FINISHED" if time.monotonic() >= container["ready_at"] else "IN_PROGRESS"


def ig_media(posted: Any) -> dict[str, Any]:
    return {
        "id": posted.external_id,
        "caption": posted.text,
        "timestamp": posted.received_at,
        "permalink": f"https://www.instagram.com/p/{posted.external_id}/",
        "like_count": posted.metrics.get("like_count", 0),
        "comments_count": posted.metrics.get("comments_count", 0),
    }


def instagram_blueprint(
    ledger: Ledger,
    error: Callable[..., Any],
    refused_token: Callable[[], Any],
    failure_after_accept: Callable[[Any], Any],
) -> Blueprint:
    """Graph's Instagram routes, answering errors as the Graph app does (`error`)."""
    bp = Blueprint("sandbox_instagram", __name__)

    @bp.post("/<version>/<ig_user>/media")
    def ig_container(version: str, ig_user: str):
        """An Instagram media container from an image URL (or a carousel of them)."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fault = ledger.take_fault("instagram", on="media", account=ig_user)
        if fault is not None and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        form = request.form
        container_id = str(CONTAINER_ID_BASE + ledger.next_id())
        record: dict[str, Any] = {
            "media_id": container_id,
            "kind": "ig_container",
            "account": ig_user,
            "caption": form.get("caption", ""),
            "carousel_item": form.get("is_carousel_item") == "true",
            "ready_at": time.monotonic() + ledger.media_processing_s,
            "published": False,
        }
        if form.get("media_type") == "CAROUSEL":
            children = [c for c in form.get("children", "").split(",") if c]
            items = [ledger.uploads.get(c) for c in children]
            if not 2 <= len(children) <= 10 or any(
                i is None or not i.get("carousel_item") or i["account"] != ig_user for i in items
            ):
                return error(400, 100, "(#100) children: 2 to 10 carousel item containers")
            record["items"] = [
                {"image_url": i["image_url"], "alt_text": i.get("alt_text")} for i in items
            ]
        else:
            url = form.get("image_url", "")
            if not url.startswith(("http://", "https://")):
                return error(400, 9004, "(#9004) The media could not be fetched from this URI")
            record.update(image_url=url, alt_text=form.get("alt_text"))
            record["items"] = [{"image_url": url, "alt_text": form.get("alt_text")}]
        ledger.uploads[container_id] = record
        return jsonify({"id": container_id})

    @bp.post("/<version>/<ig_user>/media_publish")
    def ig_publish(version: str, ig_user: str):
        arrived = datetime.now(UTC)
        ledger.delay("instagram", ig_user)
        if (refused := refused_token()) is not None:
            return refused
        container = ledger.uploads.get(request.form.get("creation_id", ""))
        if (
            container is None
            or container.get("kind") != "ig_container"
            or (container["account"] != ig_user or container["carousel_item"])
        ):
            return error(400, 100, "(#100) creation_id is not a container of this account")
        if container["published"]:
            return error(400, 9007, "(#9007) The media has already been published")
        if container_state(container) != "FINISHED":
            return error(400, 9007, "(#9007) Media ID is not available", subcode=2207027)
        if ig_usage(ig_user) >= ledger.ig_quota_total:
            return error(
                400,
                9,
                "Application request limit reached: the account has published the maximum "
                "number of posts allowed in 24 hours",
                subcode=2207042,
            )
        fault = ledger.take_fault("instagram", account=ig_user)
        if fault and not fault.accept and fault.status is not None:
            return error(fault.status, fault.code or 2, "Injected fault", subcode=fault.subcode)
        media_id = str(IG_MEDIA_ID_BASE + ledger.next_id())
        container["published"] = True
        ledger.accept(
            "instagram",
            ig_user,
            media_id,
            container["caption"],
            None,
            received_at=arrived,
            media=container["items"],
        )
        if (failed := failure_after_accept(fault)) is not None:
            return failed
        return jsonify({"id": media_id})

    def ig_usage(ig_user: str) -> int:
        since = datetime.now(UTC).timestamp() - 86400
        return sum(
            1
            for a in ledger.accepted("instagram")
            if a.account == ig_user and datetime.fromisoformat(a.received_at).timestamp() > since
        )

    @bp.get("/<version>/<ig_user>/content_publishing_limit")
    def ig_publishing_limit(version: str, ig_user: str):
        """instagram-api/reference/ig-user/content_publishing_limit: quota_usage by default,
        config (quota_total, quota_duration) when asked."""
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        fields = set(request.args.get("fields", "quota_usage").split(","))
        entry: dict[str, Any] = {"quota_usage": ig_usage(ig_user)}
        if "config" in fields:
            entry["config"] = {"quota_total": ledger.ig_quota_total, "quota_duration": 86400}
        return jsonify({"data": [entry]})

    @bp.get("/<version>/<ig_user>/media")
    def ig_media_list(version: str, ig_user: str):
        ledger.delay("facebook")
        if (refused := refused_token()) is not None:
            return refused
        mine = [
            ig_media(a)
            for a in reversed(ledger.accepted("instagram"))
            if a.account == ig_user and a.deleted_at is None
        ]
        limit = min(int(request.args.get("limit", 25)), 100)
        return jsonify({"data": mine[:limit], "paging": {"cursors": {"before": "b", "after": "a"}}})

    return bp

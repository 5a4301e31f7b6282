"""X media upload on tweepy's own session and credentials (tweepy's v2 Client has none)."""

from __future__ import annotations

import time
from typing import Any

import tweepy

from adapters.errors import OutcomeUnknown, Rejected, Transient
from adapters.types import MediaFile
from adapters.x_errors import raise_like_tweepy, translate_errors

API_HOST = "https://api.twitter.com"
# Media upload (docs.x.com/x-api/media/quickstart/media-upload-chunked; X API v2 OpenAPI
# initializeMediaUpload, appendMediaUpload, finalizeMediaUpload, getMediaUploadStatus):
# /initialize (JSON), /{id}/append in segments of at most 5 MB, /{id}/finalize, then STATUS
# until processing is done. The old `command=INIT/APPEND/FINALIZE` form is refused since
# 30 May 2025. OAuth 2.0 tokens need the `media.write` scope.
MEDIA_ROUTE = "/2/media/upload"
CHUNK_BYTES = 4 * 1024 * 1024
MEDIA_WAIT_S = 60.0  # longer than this processing, and the publication is retried later
CATEGORY = {"image": "tweet_image", "gif": "tweet_gif", "video": "tweet_video"}


class XMediaUpload:
    """The chunked upload an X adapter mixes in (it provides `_client` and `_oauth1`)."""

    _client: tweepy.Client
    _oauth1: bool

    def _upload(self, item: MediaFile) -> str:
        """Chunked upload on tweepy's own session and credentials (tweepy's v2 Client has
        no media upload): initialize, append each segment, finalize, wait while X
        processes, then alt text. Returns the media id."""
        try:
            with translate_errors():
                init = self._media_call(
                    "POST",
                    f"{MEDIA_ROUTE}/initialize",
                    json={
                        "media_type": item.content_type,
                        "total_bytes": item.size_bytes,
                        "media_category": CATEGORY[item.kind],
                    },
                )
                media_id = str(init["data"]["id"])
                with open(item.path, "rb") as fh:
                    segment = 0
                    while chunk := fh.read(CHUNK_BYTES):
                        self._media_call(
                            "POST",
                            f"{MEDIA_ROUTE}/{media_id}/append",
                            data={"segment_index": str(segment)},
                            files={"media": ("chunk", chunk, "application/octet-stream")},
                        )
                        segment += 1
                done = self._media_call("POST", f"{MEDIA_ROUTE}/{media_id}/finalize")
                self._wait_for_processing(media_id, done["data"].get("processing_info"))
                if item.alt_text and item.kind != "video":
                    self._media_call(
                        "POST",
                        "/2/media/metadata",
                        json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
                    )
        except (OutcomeUnknown, Transient) as exc:
            raise Transient(f"media upload: {exc.reason}") from exc
        return media_id

    def _wait_for_processing(self, media_id: str, info: dict | None) -> None:
        """Poll STATUS as X says (check_after_secs) until the media is ready."""
        waited = 0.0
        while info and info.get("state") in ("pending", "in_progress"):
            pause = min(float(info.get("check_after_secs", 1)), 5.0)
            if waited + pause > MEDIA_WAIT_S:
                raise Transient(f"media {media_id} still processing after {waited:.0f} s")
            time.sleep(pause)
            waited += pause
            status = self._media_call(
                "GET", MEDIA_ROUTE, params={"command": "STATUS", "media_id": media_id}
            )
            info = status["data"].get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error", {})
            raise Rejected(f"X could not process media {media_id}: {error.get('message', error)}")

    def _media_call(self, method: str, route: str, **kwargs: Any) -> dict:
        """One media request, authenticated exactly as tweepy authenticates its own."""
        client = self._client
        headers = {"User-Agent": client.user_agent}
        auth = None
        if self._oauth1:
            auth = tweepy.OAuth1UserHandler(
                client.consumer_key,
                client.consumer_secret,
                client.access_token,
                client.access_token_secret,
            ).apply_auth()
        else:
            headers["Authorization"] = f"Bearer {client.bearer_token}"
        response = client.session.request(
            method, API_HOST + route, headers=headers, auth=auth, **kwargs
        )
        raise_like_tweepy(response)
        return response.json() if response.content else {}

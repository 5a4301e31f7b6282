"""What a Page post's metrics are read as: its reaction, comment and share counts, and the
insights Graph still answers in 2026 (graph-api/reference/post, pages-api/changelog)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from adapters.errors import Rejected

COUNTS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
# Page post insights as of 2026: post_impressions (gone 2025-11-15) and
# post_impressions_unique (gone 2026-06-15) were replaced by post_media_view and
# post_total_media_view_unique (pages-api/changelog). One invalid metric fails the whole
# request with (#100), which falls back to the counts alone.
INSIGHTS = "insights.metric(post_media_view,post_total_media_view_unique,post_clicks)"
_INSIGHT_NAMES = {
    "post_media_view": "impressions",
    "post_total_media_view_unique": "reach",
    "post_clicks": "link_clicks",
}


def graph_metrics(post: dict[str, Any]) -> dict[str, int]:
    def total(edge: str) -> int | None:
        return ((post.get(edge) or {}).get("summary") or {}).get("total_count")

    metrics = {
        name: int(value)
        for name, value in (
            ("likes", total("reactions")),
            ("replies", total("comments")),
            ("shares", (post.get("shares") or {}).get("count", 0)),
        )
        if value is not None
    }
    for insight in (post.get("insights") or {}).get("data", []):
        name = _INSIGHT_NAMES.get(insight.get("name"))
        values = insight.get("values") or []
        if name and values and isinstance(values[0].get("value"), int):
            metrics[name] = values[0]["value"]
    return metrics


Read = Callable[[list[str], str], dict[str, dict[str, Any]]]  # ids and fields: objects by id


def read_posts(
    post_ids: Sequence[str], read: Read, gone: Callable[[Rejected], bool], *, batch: int = 50
) -> dict[str, dict[str, int]]:
    """Each post's metrics, `batch` ids a request: counts and insights; the counts alone
    where the token may not read insights (once seen, not asked again in this read). A
    multiple-id read fails whole when one post is gone: then each alone, the gone left out
    (the caller says so) and the others whole, insights included. A refusal that is not a
    post gone (a permission lost) is raised: the pull records it and asks again later,
    never a hole that looks like a post gone."""
    found: dict[str, dict[str, int]] = {}
    reader = _Reader(read, gone)
    for start in range(0, len(post_ids), batch):
        ids = list(post_ids[start : start + batch])
        objects = reader.first(ids) if len(ids) > 1 else None
        if objects is None:
            objects = {}
            for post_id in ids:
                objects.update(reader.first([post_id]) or {})  # None: gone
        found |= {str(post_id): graph_metrics(post) for post_id, post in objects.items()}
    return found


class _Reader:
    def __init__(self, read: Read, gone: Callable[[Rejected], bool]) -> None:
        self.read, self.gone, self.insights = read, gone, True

    def first(self, ids: list[str]) -> dict | None:
        """The posts with insights (while the token may read them), else their counts
        alone; None when (one of) them is gone. What refuses the counts, and is no post
        gone, is raised."""
        if self.insights:
            try:
                return self.read(ids, f"{COUNTS},{INSIGHTS}")
            except Rejected:  # no permission for insights, or a post gone: the counts alone
                pass
        try:
            found = self.read(ids, COUNTS)
        except Rejected as exc:
            if len(ids) > 1 or self.gone(exc):
                return None
            raise
        if len(ids) == 1:  # the post is there and its insights were refused: not asked again
            self.insights = False
        return found

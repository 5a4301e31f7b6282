"""What a Page post's metrics are read as: its reaction, comment and share counts, and the
insights Graph still answers in 2026 (graph-api/reference/post, pages-api/changelog)."""

from __future__ import annotations

from typing import Any

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

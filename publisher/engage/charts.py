"""A campaign report as a picture (PNG, drawn by matplotlib without a display): what
happened day by day, and what each channel got."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # no display: draw into memory
# Names are text, never TeX: "$5 off $10" must not be parsed as math (it raised).
matplotlib.rcParams["text.parse_math"] = False

from matplotlib.figure import Figure  # noqa: E402

from publisher.engage.reports import Report  # noqa: E402

WIDTH_IN, HEIGHT_IN, DPI = 10, 8, 100


def title_of(report: Report) -> str:
    """The campaign and its window, in the zone the days are counted in (and said)."""
    zone = ZoneInfo(report.time_zone)
    start, end = report.start.astimezone(zone), report.end.astimezone(zone)
    return f"{report.campaign.name}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {zone.key}"


def report_png(report: Report, channel_names: dict[int, str]) -> bytes:
    """Two panels: per day, the publications, clicks and results; per channel, the
    impressions and engagements (each on its own scale)."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    daily, channels = figure.subplots(2, 1)
    figure.suptitle(title_of(report))

    days = list(report.by_day)
    labels = [f"{day:%d %b}" for day in days]
    positions = list(range(len(days)))
    width = 0.27
    daily.bar(
        [p - width for p in positions],
        [report.by_day[d].publications for d in days],
        width,
        label="publications",
    )
    daily.bar(positions, [report.by_day[d].clicks for d in days], width, label="clicks")
    daily.bar(
        [p + width for p in positions],
        [sum(report.by_day[d].conversions.values()) for d in days],
        width,
        label="results",
    )
    daily.set_xticks(positions, labels, rotation=45 if len(days) > 10 else 0)
    daily.set_title(f"By day ({report.time_zone})")
    daily.legend(loc="upper right")
    if not days:
        daily.text(0.5, 0.5, "nothing in this window", ha="center", transform=daily.transAxes)

    ids = list(report.by_channel)
    names = [channel_names.get(i, str(i)) for i in ids]
    spots = list(range(len(ids)))
    channels.bar(
        [s - 0.2 for s in spots],
        [report.by_channel[i].metrics.get("impressions", 0) for i in ids],
        0.4,
        label="impressions",
        color="tab:blue",
    )
    engaged = channels.twinx()
    engaged.bar(
        [s + 0.2 for s in spots],
        [report.by_channel[i].engagements for i in ids],
        0.4,
        label="engagements",
        color="tab:orange",
    )
    channels.set_xticks(spots, names)
    channels.set_ylabel("impressions")
    engaged.set_ylabel("engagements")
    channels.set_title("By channel")
    handles = channels.get_legend_handles_labels()[0] + engaged.get_legend_handles_labels()[0]
    channels.legend(handles=handles, loc="upper right")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()

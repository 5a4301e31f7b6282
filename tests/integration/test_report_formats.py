"""A campaign report as CSV (one line per publication, the same figures as the JSON) and
as a PNG of charts (opened and looked at), its window said in the report's zone."""
# ruff: noqa: F811 - the `campaign` fixture is test_reports' (imported, then asked for)

from __future__ import annotations

import csv
import io

from PIL import Image

from tests.integration.test_reports import DAY, T0, _iso, campaign  # noqa: F401


def test_the_same_figures_as_csv_one_line_per_publication(api, campaign):
    c = campaign["campaign"]["id"]
    query = f"from={_iso(T0)}&to={_iso(T0 + 3 * DAY)}"
    report = api.get(f"/v1/campaigns/{c}/report?{query}")
    answer = api.client.get(
        f"/v1/campaigns/{c}/report?{query}&format=csv",
        headers={"Authorization": f"Bearer {api.keys['editor']}"},
    )
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert len(rows) == report["totals"]["publications"]
    assert sum(int(r["impressions"]) for r in rows) == report["totals"]["impressions"]
    assert sum(int(r["clicks"]) for r in rows) == report["totals"]["clicks"]
    assert {r["reach"] for r in rows if r["platform"] == "x"} == {""}  # X counts no reach
    assert all(r["published_at"].endswith("Z") for r in rows)  # as the JSON writes times
    by_accept = api.client.get(
        f"/v1/campaigns/{c}/report?{query}",
        headers={"Authorization": f"Bearer {api.keys['editor']}", "Accept": "text/csv"},
    )
    assert by_accept.get_data() == answer.get_data()


def test_the_report_as_a_chart(api, campaign):
    c = campaign["campaign"]["id"]
    query = f"from={_iso(T0)}&to={_iso(T0 + 3 * DAY)}"
    answer = api.client.get(
        f"/v1/campaigns/{c}/report?{query}&format=png",
        headers={"Authorization": f"Bearer {api.keys['editor']}"},
    )
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    image = Image.open(io.BytesIO(answer.get_data()))
    assert image.format == "PNG" and image.size == (1000, 800)
    pixels = image.convert("L")
    low, high = pixels.getextrema()
    assert high - low > 128  # drawn on: not one flat colour
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colours) > 16  # bars, text and axes in several colours
    empty = api.client.get(
        f"/v1/campaigns/{c}/report?from={_iso(T0 - 30 * DAY)}&to={_iso(T0 - 20 * DAY)}",
        headers={"Authorization": f"Bearer {api.keys['editor']}", "Accept": "image/png"},
    )
    assert empty.status_code == 200 and Image.open(io.BytesIO(empty.get_data())).size == (1000, 800)


def test_the_charts_window_is_said_in_the_reports_zone(api, runtime, campaign):
    """The chart's title printed the window's UTC times with "UTC" whatever the zone its
    days were counted in."""
    from publisher.core.workspaces import Actor
    from publisher.engage import charts, reports

    with runtime.session() as session:
        found = reports.get_campaign_report(
            session,
            Actor(workspace_id=1, key_id=None, role="reviewer"),
            campaign["campaign"]["id"],
            start=T0,
            end=T0 + DAY,
            now=T0 + 3 * DAY,
            time_zone="Europe/Paris",
        )
        name = found.campaign.name
    assert charts.title_of(found) == f"{name}: 2027-03-01 10:00 to 2027-03-02 10:00 Europe/Paris"

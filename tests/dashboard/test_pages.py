"""The producer's pages: overview with traffic lights (live partial), a day, trends with SVG charts."""

from __future__ import annotations

import re

import pytest
from defusedxml import ElementTree as ET
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ShootDay
from dashboard.charts import Point, chart
from ingest.models import OffloadJob
from restore.models import RestoreDrill
from tests.dashboard.conftest import Site, build_site
from tests.fixtures import World


def row_of(page: str, day: int) -> str:
    match = re.search(rf'<tr class="state-(\w+)" data-day="{day}">(.*?)</tr>', page, re.S)
    assert match, f"no row for day {day}"
    return f"{match.group(1)} {match.group(2)}"


def test_the_overview_shows_each_day_as_a_row_with_its_light(site: Site) -> None:
    page = site.world.client("producer").get("/p/FILM/dashboard/").content.decode()
    assert row_of(page, 1).startswith("green") and "Ready to sign off" in row_of(page, 1)
    assert row_of(page, 2).startswith("amber") and "C002" in row_of(page, 2) and "1 short" in row_of(page, 2)
    assert (
        row_of(page, 3).startswith("red")
        and "1 failed" in row_of(page, 3)
        and "1 running (25%)" in row_of(page, 3)
    )
    assert row_of(page, 4).startswith("grey")
    assert 'hx-trigger="every 5s"' in page and "/p/FILM/dashboard/live/" in page


def test_the_live_partial_follows_an_offload_as_it_runs(site: Site) -> None:
    client = site.world.client("producer")
    assert "1 running (25%)" in row_of(client.get("/p/FILM/dashboard/live/").content.decode(), 3)
    OffloadJob.objects.filter(label="B003").update(bytes_done=900)
    live = client.get("/p/FILM/dashboard/live/").content.decode()
    assert "1 running (90%)" in row_of(live, 3) and "<html" not in live
    day_live = client.get("/p/FILM/days/3/live/?unit=main").content.decode()
    assert 'value="90"' in day_live and "Not ready to sign off" in day_live


def test_the_overview_costs_the_same_queries_whatever_the_number_of_days(world: World) -> None:
    site = build_site(world, days=2)
    client = site.world.client("producer")
    client.get("/p/FILM/dashboard/")
    with CaptureQueriesContext(connection) as small:
        client.get("/p/FILM/dashboard/")
    for number in range(3, 16):
        ShootDay.objects.create(project=site.project, number=number, date=site.days[1].date)
        site.days[number] = ShootDay.objects.get(project=site.project, number=number)
        site.clip(f"Y{number:03d}C001", day=number, card=f"Y{number:03d}", copies={"RAID-A": "verified"})
    with CaptureQueriesContext(connection) as large:
        response = client.get("/p/FILM/dashboard/")
    assert response.content.decode().count('data-day="') == 15
    assert len(large) == len(small), [q["sql"][:100] for q in large.captured_queries]


@pytest.mark.parametrize(("persona", "expected"), [("viewer", 200), ("editor", 200), ("outsider", 404)])
def test_who_sees_the_dashboard(site: Site, persona: str, expected: int) -> None:
    client = site.world.client(persona)
    for url in ("/p/FILM/dashboard/", "/p/FILM/days/1/", "/p/FILM/trends/", "/p/FILM/reports/"):
        assert client.get(url).status_code == expected, url


def test_the_front_page_counts_days_per_light_for_each_project(site: Site) -> None:
    admin = site.world.users["admin"]
    admin.is_superuser = True  # member of every project: the list, not a redirect
    admin.save()
    page = site.world.client("admin").get("/dashboard/").content.decode()
    assert "FILM" in page and "OTHER" in page
    one_project = site.world.client("producer").get("/dashboard/")
    assert one_project.status_code == 302 and one_project["Location"] == "/p/FILM/dashboard/"


def test_trends_draw_nine_svg_charts_with_the_numbers(site: Site) -> None:
    drill = RestoreDrill.objects.create(project=site.project, tier="hot", state="passed", seconds=42.0)
    RestoreDrill.objects.filter(pk=drill.pk).update(finished_at=drill.created_at)
    page = site.world.client("producer").get("/p/FILM/trends/").content.decode()
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 9  # drills per scenario (restore) after the restore times; incidents (recovery) last
    for svg in svgs:
        ET.fromstring(svg)  # well-formed
    tb, rate, failures, restore, passed, per_scenario, backlog, _per_month, _per_cause = svgs
    # The axis and the values share the unit the largest day calls for (0.4 TB: gigabytes).
    assert "1: 400.0 GB" in tb and "3: 100.0 GB" in tb and ">500.0 GB</text>" in tb
    assert "1: 100%" in rate and "3: 0%" in rate
    assert "3: 2</title>" in failures
    assert ": 42 s</title>" in restore
    assert "Random sample of one tier: 100%</title>" in passed
    assert "Random sample of one tier: 42 s</title>" in per_scenario
    assert "1</title>" in backlog  # the open review item counts on today's date
    assert "cdn" not in page.lower() and '<script src="http' not in page


def test_chart_labels_are_escaped() -> None:
    svg = chart(title='<script>"x"</script>', points=[Point("<b>", 1.0), Point("gap", None)])
    assert "<script>" not in svg and "&lt;b&gt;" in svg
    ET.fromstring(str(svg))
    assert "No data yet" in chart(title="t", points=[])

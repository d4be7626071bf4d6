"""Seeing protection: the tiers (kinds of media) reached per clip and per day, and what is still missing."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ShootDay
from catalog.policy import tiers_by_day
from tests.dashboard.conftest import FULL, Site
from tests.dashboard.test_pages import row_of


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<br>", " / ", re.sub(r"<(?!br>)[^>]+>", "", html)))


def test_the_clip_page_shows_the_tiers_reached_and_what_is_missing(site: Site) -> None:
    site.volumes["LTO-1"].worm = True
    site.volumes["LTO-1"].save()
    clip = site.clip(
        "T001C001",
        day=2,
        card="T001",
        copies=[
            {"T001": "verified", "RAID-A": "verified", "SHUTTLE-1": "verified", "LTO-1": "verified"},
            {"T001": "verified", "RAID-A": "verified", "SHUTTLE-1": "copying", "LTO-1": "verified"},
            {"T001": "verified", "RAID-A": "verified", "NAS-1": "corrupt", "LTO-1": "pending"},
        ],
    )
    page = _text(site.world.client("viewer").get(f"/clips/{clip.pk}/").content.decode())
    tiers = page.split("Tiers reached", 1)[1].split("Still missing", 1)[0]
    # Camera cards never count; kinds in a fixed order; LTO-1 is WORM.
    assert tiers.strip() == "RAID ✓, NAS 1 failed, shuttle 1 of 3, 1 pending, LTO 2 of 3 (2 WORM), 1 pending"
    missing = page.split("Still missing", 1)[1].split("Notes", 1)[0]
    assert "1 of 3 verified copies" in missing  # the third file: RAID alone
    assert "internal" not in page.lower() and "kind" not in tiers


def test_a_clip_that_meets_the_policy_says_so(site: Site) -> None:
    clip = site.clip("M001C001", day=1, card="M001", copies=FULL)
    page = _text(site.world.client("editor").get(f"/clips/{clip.pk}/").content.decode())
    assert "nothing: the storage policy is met" in page
    assert "RAID ✓, NAS ✓, LTO ✓" in page


def test_a_clip_with_no_copy_beyond_its_card(site: Site) -> None:
    clip = site.clip("N001C001", day=2, card="N001", copies={"N001": "verified"})
    page = _text(site.world.client("viewer").get(f"/clips/{clip.pk}/").content.decode())
    assert "no copy beyond the camera card" in page and "0 of 3 verified copies" in page


def test_the_day_row_shows_progress_per_tier(site: Site) -> None:
    site.volumes["SHUTTLE-1"].worm = True
    site.volumes["SHUTTLE-1"].save()
    site.clip("W004C001", day=4, card="W004", copies=[{"RAID-A": "verified", "SHUTTLE-1": "verified"}] * 2)
    site.clip("W004C002", day=4, card="W004", copies={"RAID-A": "verified", "SHUTTLE-1": "pending"})
    client = site.world.client("producer")
    row = _text(row_of(client.get("/p/FILM/dashboard/").content.decode(), 4))
    assert "RAID ✓ / shuttle 2 of 3 (2 WORM), 1 pending" in row
    day = _text(client.get("/p/FILM/days/4/?unit=main").content.decode())
    assert "Tiers reached: RAID ✓, shuttle 2 of 3 (2 WORM), 1 pending" in day


def test_the_tiers_of_many_days_are_one_query(site: Site) -> None:
    ids = list(ShootDay.objects.filter(project=site.project).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        tiers = tiers_by_day(day_ids=ids)
    assert len(queries) == 1
    # Day 1 meets the policy on RAID, NAS and LTO: every tier it reached holds every file.
    assert tiers[site.days[1].pk] and all(t.complete for t in tiers[site.days[1].pk])
    assert site.days[4].pk not in tiers  # nothing shot yet

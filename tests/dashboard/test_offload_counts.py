""" "Offloads done" agrees with "cards offloaded": one definition, whatever the offloads' history.

A card counts once when an offload of it completed or its clips are in the catalog; offloading it
again does not count it twice; a failed offload counts as failed until the card is offloaded again;
an offload recorded without a shoot day counts on the day of its card's clips, and one that belongs
to no day at all is listed on the overview instead of vanishing.
"""

from __future__ import annotations

import re

from tests.dashboard.conftest import FULL, Site


def overview_row(site: Site, number: int) -> str:
    page = site.world.client("producer").get("/p/FILM/dashboard/").content.decode()
    match = re.search(rf'<tr class="state-\w+" data-day="{number}">(.*?)</tr>', page, re.S)
    assert match, page
    return re.sub(r"<[^>]+>", " ", match.group(1))


def test_repeated_failed_and_dayless_offloads_count_each_card_once(site: Site) -> None:
    # Day 1: A001 offloaded a second time, B001 once failed before its successful offload.
    site.job("A001", day=1, state="completed", safe_to_format=True)
    failed = site.job("B001", day=1, state="failed", error="card pulled")
    type(failed).objects.filter(pk=failed.pk).update(created_at=failed.created_at.replace(year=2020))
    # An older offload recorded without a day, of a card whose clips are of day 1.
    site.card("C001")
    site.clip("C001C001", day=1, card="C001", copies=FULL)
    dayless = site.job("C001", day=1, state="completed", safe_to_format=True)
    type(dayless).objects.filter(pk=dayless.pk).update(day=None)

    days = {d["day"]: d for d in site.world.client("producer").get("/api/projects/FILM/days/").json()}
    assert days[1]["cards"]["offloaded"] == ["A001", "B001", "C001"]
    assert days[1]["jobs"]["failing_cards"] == []  # B001's failure was superseded
    row = overview_row(site, 1)
    assert "3 offloaded" in row and "all 3 done" in row

    day_page = site.world.client("producer").get("/p/FILM/days/1/").content.decode()
    assert f'href="/offloads/{dayless.pk}/"' in day_page  # the day-less offload is listed on its day


def test_an_offload_of_no_day_is_listed_on_the_overview_not_dropped(site: Site) -> None:
    stray = site.job("D009", day=1, state="completed")
    type(stray).objects.filter(pk=stray.pk).update(day=None)
    page = site.world.client("producer").get("/p/FILM/dashboard/").content.decode()
    assert "1 offload belongs to no shoot day" in page and f'href="/offloads/{stray.pk}/"' in page
    assert "all 2 done" in overview_row(site, 1)  # D009 is not counted on a day it does not belong to


def test_a_failed_card_not_offloaded_again_counts_as_failed_not_done(site: Site) -> None:
    row = overview_row(site, 3)
    assert "1 failed" in row and "done" not in row

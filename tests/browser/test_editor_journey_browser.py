"""The editor's journey in a real Chromium: search → select → restore request → the request page.

At 1280 px and at tablet width (820 px): the editor searches, ticks a clip and
asks for it back, then selects every match of the search (not just the rows on
screen), opens the selection as a list and asks for all of it. Each request
page must show the clips by name with scene/take, the tier and volume each
comes from and an estimated time, and no internals (ids, dicts). Screenshots
go to ``artifacts/editor-journey-<width>-*.png``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from catalog.models import Clip
from restore.models import RestoreRequest
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import ClipFactory, World
from tests.restore.conftest import Media, build_media

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def host(settings: Any) -> str:
    name = f"ej-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name
    return name


@pytest.fixture
def media(transactional_db: None, world: World, tmp_path: Path, host: str) -> Media:
    built = build_media(
        world, tmp_path / "media", host=host, sizes=[[3_000_000, 70_000], [1_500_000], [900_000]]
    )
    # update(), not save(): a save of this stale instance would also write back its old
    # trigger-maintained verified-copy count.
    Clip.objects.filter(pk=built.clips[0].pk).update(
        cast=["Ava Stone", "Ben Okafor", "Chloé Martin", "Dev Patel"], take="3", circled=True
    )
    # Clips the search below does not match: "select all" must not take them.
    ClipFactory(project=world.project, scene="7", name="B002C001_X")
    Clip.objects.filter(pk=world.clip.pk).update(name="Z009C999_X")
    return built


def shot(page: Page, width: int, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"editor-journey-{width}-{name}.png"), full_page=True)


def no_internals(page: Page) -> None:
    html = page.content()
    assert "{'" not in html and "': [" not in html, "a raw dict on the page"
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", page.inner_text("main")), "an ISO timestamp"


@pytest.mark.parametrize("width", [1280, 820])
def test_editor_searches_selects_and_requests_restores(
    media: Media, live_server: Any, browser: Browser, width: int
) -> None:
    try:
        journey(media, live_server.url, browser, width)
    finally:
        connections.close_all()  # the sync API's thread has connections of its own


def journey(media: Media, base_url: str, browser: Browser, width: int) -> None:
    first, second, third = media.clips
    page = log_in(browser, base_url, "editor")
    page.set_viewport_size({"width": width, "height": 1000})

    # 1. Search by part of the clip names: three clips of scene 42 match.
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Search", exact=True).fill("A001C00")
    page.get_by_label("Search", exact=True).press("Enter")
    results = page.locator("#search-results a.clip-link")
    expect(results).to_have_text([first.name, second.name, third.name])
    # Typing also searches 400 ms after the last key: let that second swap land before ticking,
    # or it replaces the rows (and their ticks) under the cursor.
    page.wait_for_load_state("networkidle")
    # Marks read as words; the cast stays on one line with the rest counted.
    row = page.locator("#search-results tbody tr").first
    expect(row).to_contain_text("Ava Stone, Ben Okafor +2 more")
    expect(row.locator("td.cast")).to_have_css("white-space", "nowrap")
    expect(row.locator("td.copies-cell")).to_have_text("2 of 2 required")
    expect(row.locator("td.copies-cell")).to_be_in_viewport()
    expect(page.locator("#results-legend")).to_contain_text("circled take")
    expect(page.locator("#results-legend")).to_be_visible()

    # 2. Tick one clip and ask for it back.
    page.get_by_label(f"Select {second.name}").check()
    expect(page.locator("#selection-count")).to_have_text("1 ticked")
    shot(page, width, "1-search-ticked")
    page.get_by_role("button", name="Request restore…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request a restore — FILM")
    expect(page.get_by_label("The selected clips")).to_be_checked()
    preview = page.locator("#selection-preview")
    expect(preview).to_contain_text("1 chosen clip: 1 clip, 1.5 MB")
    expect(preview).to_contain_text(f"{second.name} — scene 42")
    assert page.locator("input:visible[name=clips], input:visible[name=clip]").count() == 0
    page.get_by_label("Target").select_option("editorial")
    page.get_by_label("Reason").fill("the conform needs the camera originals")
    shot(page, width, "2-request-form")
    page.get_by_role("button", name="Request restore").click()
    expect(page).to_have_url(re.compile(r"/restores/\d+/$"))
    clips = page.locator("#restore-clips")
    expect(clips.locator("tbody th")).to_have_text([second.name])
    expect(clips.locator("tbody tr").first).to_contain_text("Hot (online disk): RAID-A")
    expect(clips).to_contain_text("Estimated time: under a minute")
    no_internals(page)

    # 3. Back to the search: select every match (the search, not only the visible rows), open as a list.
    page.go_back()
    page.go_back()
    # The whole search page comes back (not the partial htmx fetched for the same URL).
    expect(page.get_by_role("heading", name="Search clips")).to_be_visible()
    page.get_by_label("Select all 3 matches").check()
    expect(page.locator("#selection-count")).to_have_text("Every match is selected")
    page.get_by_role("button", name="Open as list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Selected clips")
    expect(page.locator("#selection-summary")).to_have_text("All 3 clips matching “A001C00”.")
    expect(page.locator("table.results tbody th")).to_have_text([first.name, second.name, third.name])
    shot(page, width, "3-selection-list")
    page.get_by_role("link", name="Request restore…").click()
    expect(page.locator("#selection-preview")).to_contain_text(
        "Every clip matching “A001C00”: 3 clips, 5.5 MB"
    )
    page.get_by_label("Target").select_option("editorial")
    page.get_by_label("Reason").fill("the whole sequence for the recut")
    page.get_by_role("button", name="Request restore").click()
    expect(page).to_have_url(re.compile(r"/restores/\d+/$"))
    expect(page.locator("main dl.meta").first).to_contain_text("Every clip matching “A001C00”")
    rows = page.locator("#restore-clips tbody tr")
    expect(rows.locator("th")).to_have_text([first.name, second.name, third.name])
    expect(rows.first).to_contain_text("42 / 3 ● circled")
    expect(rows.first).to_contain_text("3.1 MB")
    expect(page.locator("#restore-clips")).to_contain_text(
        "5.5 MB from hot (online disk) at an assumed 200 MB/s"
    )
    no_internals(page)
    # Nothing overflows the window sideways at this width.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, width, "4-request-page")

    restores = RestoreRequest.objects.order_by("pk")
    assert [r.selection for r in restores] == [{"clips": [second.pk]}, {"search": "q=A001C00"}]
    assert restores.last() is not None and restores.last().file_count == 4


@pytest.mark.parametrize("width", [1280, 820])
def test_editor_reads_camera_settings_and_why_nothing_matched(
    media: Media, live_server: Any, browser: Browser, width: int
) -> None:
    first = media.clips[0]
    Clip.objects.filter(pk=first.pk).update(
        iso=800, white_balance_k=5600, shutter="172.8°", iris="T2.3", look="Show_709.cube"
    )
    try:
        page = log_in(browser, live_server.url, "editor")
        page.set_viewport_size({"width": width, "height": 1000})
        # A search that finds nothing says which filter excluded the clips, with a way to drop it.
        page.goto(f"{live_server.url}/search/?q=A001C00&iso=1600")
        hint = page.locator("#no-results")
        expect(hint).to_contain_text("No clips match “A001C00” at ISO 1600.")
        expect(hint).to_contain_text("Without the ISO filter there are 3 clips")
        shot(page, width, "5-no-results")
        hint.get_by_role("link", name="show them").first.click()
        expect(page.locator("#search-results a.clip-link")).to_have_count(3)
        # The clip page labels its camera settings and shows no metadata blob.
        page.get_by_role("link", name=first.name, exact=True).click()
        settings = page.locator("#camera-settings")
        for label, value in [
            ("ISO", "800"),
            ("White balance", "5600 K"),
            ("Shutter", "172.8°"),
            ("Iris", "T2.3"),
        ]:
            expect(settings.locator(f"dt:text-is('{label}') + dd")).to_have_text(value)
        expect(settings.locator("dt:text-is('Look / LUT') + dd")).to_have_text("Show_709.cube")
        no_internals(page)
        shot(page, width, "6-clip-camera-settings")
    finally:
        connections.close_all()

"""The editor's search in a real Chromium, driven by Playwright.

Chromium is launched as ``tests/browser/conftest.py`` says; the tests skip when
it is absent. A screenshot of the search page is saved as
``artifacts/search-page.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.catalog.search_world import (
    B003,
    B010,
    C001,
    C002,
    C003,
    WORLD_CLIP,
    SearchWorld,
    build_search_world,
)
from tests.fixtures import World

pytestmark = [
    pytest.mark.browser,
    requires_chromium,
]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def sw(transactional_db: None, world: World) -> SearchWorld:
    return build_search_world(world)


def result_names(page: Any) -> list[str]:
    return [name.strip() for name in page.locator("#search-results a.clip-link").all_inner_texts()]


def expect_results(page: Any, names: list[str]) -> None:
    expect(page.locator("#search-results a.clip-link")).to_have_text(names)


def test_editor_searches_by_scene_and_actor_narrows_and_opens_a_clip(
    sw: SearchWorld, live_server: Any, browser: Any
) -> None:
    page = log_in(browser, live_server.url, "editor")
    page.get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Search clips")).to_be_visible()

    # By scene: type, press Enter; htmx swaps the results and pushes the URL.
    page.get_by_label("Scene", exact=True).fill("42")
    page.get_by_label("Scene", exact=True).press("Enter")
    expect_results(page, [C001, C002, WORLD_CLIP])
    expect(page).to_have_url(re.compile(r"/search/\?scene=42$"))

    # By actor instead.
    page.get_by_label("Scene", exact=True).fill("")
    page.get_by_label("Actor", exact=True).fill("ava stone")
    page.get_by_label("Actor", exact=True).press("Enter")
    expect_results(page, [C001, C002, WORLD_CLIP])
    expect(page.locator("#facet-location")).to_contain_text("Harbour")

    # Narrow with a filter: choosing "Circled" updates the results without a submit.
    page.get_by_label("Circled", exact=True).select_option("true")
    expect_results(page, [C002])
    expect(page).to_have_url(
        re.compile(r"cast=ava(\+|%20)stone.*circled=true|circled=true.*cast=ava(\+|%20)stone")
    )
    expect(page.locator(".results-count")).to_contain_text("1 clip")

    # The URL is the search: loading it again (a bookmark, a shared link) shows the same.
    page.reload()
    expect_results(page, [C002])
    expect(page.get_by_label("Circled", exact=True)).to_have_value("true")

    # Free text with a partial clip name, then a screenshot of the page as a CI artifact.
    page.goto(f"{live_server.url}/search/?q=A001C0")
    expect_results(page, [C001, C002, C003])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-page.png"), full_page=True)

    # Keyboard: "/" jumps to the search box; j moves to the first clip; Enter opens it.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("#search-results a.clip-link").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("#search-results a.clip-link").nth(1)).to_be_focused()
    page.keyboard.press("Enter")

    # The clip page: metadata and every copy of every file.
    expect(page.get_by_role("heading", level=1)).to_have_text(C002)
    copies = page.locator("table.copies tbody tr")
    expect(copies).to_have_count(2)
    expect(copies.nth(0)).to_contain_text("RAID-A")
    expect(copies.nth(0)).to_contain_text("Verified")
    expect(copies.nth(1)).to_contain_text("SHUTTLE-1")
    expect(copies.nth(1)).to_contain_text("Corrupt")
    expect(page.locator("#restore")).to_be_visible()


def test_viewer_sees_no_restore_action(sw: SearchWorld, live_server: Any, browser: Any) -> None:
    page = log_in(browser, live_server.url, "viewer")
    page.goto(f"{live_server.url}/search/?camera=B")
    expect_results(page, [B003, B010])
    page.get_by_role("link", name=B003).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(B003)
    expect(page.locator("table.copies tbody tr")).to_have_count(2)
    expect(page.locator("#restore")).to_have_count(0)
    expect(page.get_by_text(re.compile("restore", re.I))).to_have_count(0)


def test_user_of_another_project_finds_nothing_of_this_one(
    sw: SearchWorld, live_server: Any, browser: Any
) -> None:
    page = log_in(browser, live_server.url, "outsider")
    page.goto(f"{live_server.url}/search/")
    page.get_by_label("Search", exact=True).fill("A001C0")
    page.get_by_label("Search", exact=True).press("Enter")
    # Only OTHER's look-alike, never FILM's clips.
    expect_results(page, [C001])
    expect(page.locator("#search-results")).not_to_contain_text("FILM")
    page.goto(f"{live_server.url}/search/?project=FILM")
    expect(page.locator("#search-results")).to_contain_text("No clips match")
    page.goto(f"{live_server.url}/clips/{sw.clip(C002).pk}/")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(C002)


def test_search_works_without_javascript(sw: SearchWorld, live_server: Any, browser: Any) -> None:
    page = log_in(browser, live_server.url, "editor", java_script_enabled=False)
    page.goto(f"{live_server.url}/search/")
    page.get_by_label("Camera", exact=True).fill("B")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"camera=B"))
    expect_results(page, [B003, B010])


def test_search_page_is_usable_on_a_tablet(sw: SearchWorld, live_server: Any, browser: Any) -> None:
    page = log_in(browser, live_server.url, "editor")
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{live_server.url}/search/?reel=A001")
    expect_results(page, [C001, C002, C003, WORLD_CLIP])
    # Nothing wider than the screen but the results table, which scrolls in its own box.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820
    # The filters start folded so results show first, and open on demand.
    expect(page.get_by_label("Scene", exact=True)).to_be_hidden()
    page.locator("#filters-panel > summary").click()
    expect(page.get_by_label("Scene", exact=True)).to_be_visible()

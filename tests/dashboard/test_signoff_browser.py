"""The producer's journey in Debian's Chromium, at desk (1280 px) and tablet (820 px) widths.

Dashboard -> day 1 -> sign-off -> the cards released for reformat are shown and the editor's restore
that waited for the sign-off goes; reopen -> the cards are no longer released and the restore waits
again. Asserts what a person sees; screenshots go to ``artifacts/producer-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from catalog.models import Project
from restore.models import RestoreRequest
from restore.services import Selection, restore_request_approve, restore_request_create, restore_target_create
from tests.browser.conftest import ARTIFACTS, chromium_browser, requires_chromium
from tests.dashboard.conftest import Site, build_site
from tests.fixtures import PASSWORD, World

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium_browser(monkeypatch) as chromium:
        yield chromium


@pytest.fixture
def site(
    transactional_db: None, world: World, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Site:
    settings.REELVAULT_DASHBOARD_REFRESH_SECONDS = 60  # the journey, not the live refresh, is tested here
    settings.REELVAULT_RESTORE_ROOTS = [tmp_path]
    site = build_site(world)
    Project.objects.filter(pk=site.project.pk).update(restores_wait_for_signoff=True)
    site.project.refresh_from_db()
    (tmp_path / "editorial").mkdir()
    restore_target_create(
        actor=None, project=site.project, name="editorial", path=str(tmp_path / "editorial"), host="cart-2"
    )
    monkeypatch.setattr("restore.services.requests.job_enqueue", lambda task, *, args, queue: None)
    restore = restore_request_create(
        actor=world.users["editor"],
        project=site.project,
        selection=Selection(clips=(site.clips["A001C001"].pk,)),
        target="editorial",
        reason="director's cut, scene 1",
    )
    restore_request_approve(actor=world.users["admin"], restore=restore)
    return site


@pytest.mark.parametrize("width", [1280, 820])
def test_a_producer_signs_off_a_day_sees_its_cards_released_then_reopens_it(
    site: Site, live_server: Any, browser: Any, width: int
) -> None:
    try:
        journey(site, live_server, browser, width)
    finally:
        connections.close_all()  # the sync API's context has connections of its own


def journey(site: Site, live_server: Any, browser: Any, width: int) -> None:
    restore = RestoreRequest.objects.get()
    assert restore.state == "waiting"
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "producer")
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.get_by_role("link", name="Dashboard", exact=True).click()

    # The overview: the day's offloads agree with its cards, sizes in the unit they call for.
    day1 = page.locator('tr[data-day="1"]')
    expect(day1).to_contain_text("2 offloaded")
    expect(day1).to_contain_text("all 2 done")
    expect(day1).to_contain_text("400.0 GB")
    expect(page.locator("#cards-definition")).to_contain_text("A card counts once as offloaded")
    expect(page.locator("#restore-rule")).to_contain_text("editorial restores (editors, colourists, VFX)")

    page.get_by_role("link", name="Day 1", exact=True).click()
    expect(page.locator("#restore-rule")).to_contain_text("1 restore waits for this sign-off")
    expect(page.locator("#restore-rule")).to_contain_text(f"restore {restore.pk} by editor to editorial")
    page.get_by_role("button", name="Sign off day 1").click()
    expect(page.locator(".messages")).to_contain_text("signed off: its cards are released for reformat")
    released = page.locator("#released-cards")
    expect(released).to_contain_text("Released for reformat by producer's sign-off")
    expect(released).to_contain_text("A001, B001")
    expect(released).to_contain_text("The DITs were told these cards may be reformatted.")
    expect(page.locator("#restore-rule")).to_contain_text(
        "Editorial restores of this day's footage may start"
    )
    restore.refresh_from_db()
    assert restore.state == "queued"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"producer-signed-off-{width}.png"), full_page=True)

    page.get_by_label("Reason to reopen (required)").fill("LTO-1 failed its check")
    page.get_by_role("button", name="Reopen the day").click()
    expect(page.locator(".messages")).to_contain_text("reopened: its cards are no longer released")
    expect(released).to_contain_text("No card of this day is released for reformat.")
    expect(released).to_contain_text("do not reformat A001, B001")
    expect(page.locator("#restore-rule")).to_contain_text("1 restore waits for this sign-off")
    expect(page.get_by_role("button", name="Sign off day 1")).to_be_visible()
    restore.refresh_from_db()
    assert restore.state == "waiting"
    # Nothing of the page is wider than the window (no sideways scrolling at tablet width).
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"producer-reopened-{width}.png"), full_page=True)

    # The editor sees the same on the request, in words.
    editor = browser.new_page(viewport={"width": width, "height": 1000})
    editor.goto(f"{live_server.url}/login/")
    editor.fill("#id_username", "editor")
    editor.fill("#id_password", PASSWORD)
    editor.click("form.stack button[type=submit]")
    editor.goto(f"{live_server.url}/restores/{restore.pk}/")
    expect(editor.locator("#restore-state")).to_have_text("Waiting for sign-off")
    expect(editor.locator("#restore-waiting")).to_contain_text(
        "Approved, and waiting for the sign-off of day 1"
    )
    editor.screenshot(path=str(ARTIFACTS / f"producer-editor-restore-waiting-{width}.png"), full_page=True)
    editor.goto("about:blank")
    page.goto("about:blank")
    page.close()
    editor.close()

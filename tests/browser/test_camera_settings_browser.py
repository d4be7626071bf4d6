"""A DIT corrects a clip's camera settings on the edit page; the clip's history says what changed.

Screenshots: ``artifacts/camera-settings-edit.png``, ``artifacts/camera-settings-history.png``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from catalog.models import Clip
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import World

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.mark.django_db(transaction=True)
def test_a_dit_corrects_the_white_balance_and_the_history_shows_it(
    world: World, live_server: object, browser: Browser
) -> None:
    Clip.objects.filter(pk=world.clip.pk).update(white_balance_k=5600, shutter="180°", iris="T2.8", iso=800)
    page = log_in(browser, str(live_server), "dit")
    page.goto(f"{live_server}/clips/{world.clip.pk}/edit/")
    page.get_by_label("White balance (K)").fill("3200")
    page.get_by_label("Look / LUT").fill("Show LUT v2")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "camera-settings-edit.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.goto(f"{live_server}/clips/{world.clip.pk}/")
    expect(page.get_by_text("White balance: 5600 → 3200")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "camera-settings-history.png"), full_page=True)

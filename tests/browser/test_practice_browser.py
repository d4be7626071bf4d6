"""The practice page in a real Chromium: a trainer resets a fixed scenario; a trainee reads it at 820 px.

On the project ``seed_practice`` makes: the corrupted copy is mended (fixed, with
its time and who), the DIT is on the missing shuttle (being fixed), the failed
drive waits (broken). The admin resets the fixed one at 1280 px; the DIT reads the
page on a tablet (820 px), where it has no reset button and no sideways scrolling.
Screenshots: ``artifacts/practice-*.png``.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import xxhash
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog.copies import CopyCheck, Found, copies_record
from catalog.models import AuditEvent, Copy
from custody.models import Handoff
from custody.services import handoff_receive
from recovery.models import PracticeScenario
from reelvault.management.commands.seed_demo import demo_content
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import PASSWORD, ensure_roles

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
TABLET = {"width": 820, "height": 1180}


def test_a_trainer_resets_a_fixed_scenario_and_a_trainee_reads_the_page_on_a_tablet(
    transactional_db: None, live_server: Any, browser: Browser, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.REELVAULT_DEMO_PASSWORD = PASSWORD
    ensure_roles()  # an earlier transactional test may have flushed the roles the migrations made
    call_command("seed_practice", "--clips", "4", stdout=StringIO())
    corrupt = PracticeScenario.objects.select_related("volume", "media_file").get(kind="corrupt_copy")
    assert corrupt.media_file is not None
    copy = Copy.objects.get(media_file=corrupt.media_file, volume=corrupt.volume)
    good = demo_content(corrupt.media_file.clip.name if corrupt.media_file.clip else "")
    (Path(corrupt.volume.location) / copy.path).write_bytes(good)
    dit = get_user_model().objects.get(username="dit")
    copies_record(
        actor=dit,
        volume=corrupt.volume,
        checks=[
            CopyCheck(
                media_file=corrupt.media_file,
                path=copy.path,
                found=Found.PROVEN,
                hash_found=xxhash.xxh3_128(good).hexdigest(),
            )
        ],
        source="trainee",
    )
    shuttle = PracticeScenario.objects.select_related("volume").get(kind="missing_shuttle").volume
    # The DIT found the shuttle and received it, but has not brought it back online yet.
    handoff_receive(
        actor=dit, handoff=Handoff.objects.get(volume=shuttle, state="in_transit"), seals_found=[]
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page = log_in(browser, live_server.url, "admin")
    page.goto(f"{live_server.url}/p/PRACTICE/practice/")
    fixed = page.locator("#scenario-corrupt_copy")
    expect(fixed.locator(".state")).to_have_text("fixed")
    expect(fixed).to_contain_text("Recovery took")
    expect(fixed.locator(".people")).to_have_text("dit")
    expect(page.locator("#scenario-missing_shuttle .state")).to_have_text("being fixed")
    expect(page.locator("#scenario-missing_shuttle .people")).to_have_text("dit")
    expect(page.locator("#scenario-failed_drive .state")).to_have_text("broken")
    page.screenshot(path=str(ARTIFACTS / "practice-1280.png"), full_page=True)

    fixed.get_by_role("button", name="Reset scenario").click()
    expect(page.locator(".messages")).to_contain_text("broken again, the clock restarted")
    expect(page.locator("#scenario-corrupt_copy .state")).to_have_text("broken")
    expect(page.locator("#scenario-corrupt_copy")).to_contain_text("(reset 1 time)")
    page.screenshot(path=str(ARTIFACTS / "practice-1280-after-reset.png"), full_page=True)
    assert Copy.objects.get(pk=copy.pk).state == "corrupt"
    assert AuditEvent.objects.filter(action="practice.reset", actor_name="admin").count() == 1

    trainee = log_in(browser, live_server.url, "dit")
    trainee.set_viewport_size(TABLET)
    trainee.goto(f"{live_server.url}/p/PRACTICE/practice/")
    expect(trainee.locator(".practice > li")).to_have_count(3)
    expect(trainee.get_by_role("button", name="Reset scenario")).to_have_count(0)
    assert trainee.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    trainee.screenshot(path=str(ARTIFACTS / "practice-820.png"), full_page=True)

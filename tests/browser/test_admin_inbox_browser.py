"""The admin's journey in a real Chromium with a real Celery worker, at desk and tablet width.

Three restore requests wait (two by the editor, one by the producer) and one
of the admin's own, which they may never approve. The admin sees the count in
the header, opens "Approvals", ticks every request with the select-all box,
approves them at once, and follows each to "Verified" on its page (htmx, no
reload) while the worker restores the files. The bell counts what the admin
was told; the requester got one notification per state change. Screenshots:
``artifacts/admin-inbox-<width>.png``, ``admin-approved-<width>.png`` and
``admin-notifications-<width>.png``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.db import connections

from alerts.models import Notification
from restore import services
from restore.models import RestoreRequest
from tests.browser.conftest import ARTIFACTS, log_in, requires_chromium
from tests.fixtures import WorkerProcess, World
from tests.restore.conftest import Media, build_media

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration, requires_chromium]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

WORKER_TIMEOUT = 60_000  # ms: the machine is shared


@pytest.fixture
def host(settings: Any) -> str:
    name = f"ai-{uuid.uuid4().hex[:8]}"
    settings.REELVAULT_HOSTNAME = name
    return name


@pytest.fixture
def media(transactional_db: None, world: World, tmp_path: Path, host: str) -> Media:
    return build_media(world, tmp_path / "media", host=host, sizes=[[300_000], [200_000], [100_000, 50_000]])


@pytest.fixture
def waiting(media: Media) -> list[RestoreRequest]:
    """Three requests the admin may decide on, oldest first, and one of the admin's own."""
    users = media.world.users
    made = []
    for who, clip in (("editor", 0), ("producer", 1), ("editor", 2), ("admin", 0)):
        made.append(
            services.restore_request_create(
                actor=users[who],
                project=media.world.project,
                selection=services.Selection(clips=(media.clips[clip].pk,)),
                target="editorial",
                reason=f"{who} needs {media.clips[clip].name} for the conform",
            )
        )
    return made


def _fits(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


@pytest.mark.parametrize("width", [1280, 820])
def test_the_admin_approves_several_requests_from_the_inbox_and_they_reach_verified(
    media: Media,
    waiting: list[RestoreRequest],
    celery_worker_proc: WorkerProcess,
    live_server: Any,
    browser: Browser,
    width: int,
) -> None:
    try:
        _journey(media, waiting, live_server.url, browser, width)
    finally:
        connections.close_all()


def _journey(
    media: Media, waiting: list[RestoreRequest], base_url: str, browser: Browser, width: int
) -> None:
    theirs, own = waiting[:3], waiting[3]
    ARTIFACTS.mkdir(exist_ok=True)
    admin = log_in(browser, base_url, "admin")
    admin.set_viewport_size({"width": width, "height": 1000})

    # 1. The header says three requests wait for this admin; the link leads to them.
    approvals = admin.locator("header.top").get_by_role("link", name=re.compile(r"^Approvals"))
    expect(approvals).to_have_text("Approvals 3")
    approvals.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Awaiting my approval")
    rows = admin.locator("form.inbox tbody tr")
    expect(rows).to_have_count(3)
    for restore in theirs:
        row = rows.filter(has=admin.get_by_role("link", name=f"Restore {restore.pk}", exact=True))
        expect(row).to_contain_text(restore.requester.username if restore.requester else "")
        expect(row).to_contain_text("editorial")
        expect(row).to_contain_text(re.compile(r"\d+ files?, \d+(\.\d+)? [KM]B"))
    expect(admin.get_by_role("link", name=f"Restore {own.pk}", exact=True)).to_have_count(0)
    assert _fits(admin), "the inbox is wider than the window"
    admin.screenshot(path=str(ARTIFACTS / f"admin-inbox-{width}.png"), full_page=True)

    # 2. Select all, approve at once.
    admin.get_by_label("Select every request").check()
    for restore in theirs:
        expect(admin.get_by_label(f"Select restore {restore.pk}")).to_be_checked()
    admin.get_by_label("Comment").fill("approved for the conform")
    admin.get_by_role("button", name="Approve selected").click()
    numbers = ", ".join(str(r.pk) for r in theirs)
    expect(admin.locator(".messages")).to_have_text(f"Approved 3 requests: {numbers}.")
    expect(admin.get_by_text("Nothing is waiting for you.")).to_be_visible()
    expect(approvals).to_have_text("Approvals")  # no count left
    admin.screenshot(path=str(ARTIFACTS / f"admin-approved-{width}.png"), full_page=True)

    # 3. Each request goes through the worker to verified; its page follows without a reload.
    for restore in theirs:
        admin.goto(f"{base_url}/restores/{restore.pk}/")
        expect(admin.locator("#restore-state")).to_have_text("Verified", timeout=WORKER_TIMEOUT)
        expect(admin.locator("#progress")).to_contain_text("100%")
    own.refresh_from_db()
    assert own.state == RestoreRequest.State.REQUESTED

    # 4. The bell counts what the admin was told and leads to it.
    bell = admin.locator("header.top a.bell")
    expect(bell.locator(".count")).to_have_text(re.compile(r"^\d+ unread$"))
    bell.click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Notifications")
    for restore in theirs:
        expect(
            admin.get_by_role("link", name=re.compile(rf"Restore {restore.pk} of FILM: verified"))
        ).to_be_visible()
    admin.screenshot(path=str(ARTIFACTS / f"admin-notifications-{width}.png"), full_page=True)
    assert _fits(admin), "the notifications page is wider than the window"
    admin.close()

    # 5. The requester was told once per change: requested, approved (and queued), verified.
    editor = media.world.users["editor"]
    kinds = Notification.objects.filter(user=editor, link=f"/restores/{theirs[0].pk}/").order_by(
        "created_at", "pk"
    )
    assert list(kinds.values_list("kind", flat=True)) == [
        "restore.requested",
        "restore.approved",
        "restore.verified",
    ]
